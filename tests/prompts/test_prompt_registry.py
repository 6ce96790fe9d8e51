import hashlib
from pathlib import Path

import pytest

from store.prompts import Prompt, PromptError, PromptNotFound, PromptRegistry, dump_prompt, parse_prompt, validate
from store.prompts.template import MissingVariables

INVOICE = """\
id: extract-invoice
template: |
  Extract the total from this invoice:
  {{ document }}
system: You are a careful {{role}}.
model: claude-sonnet-4-6
temperature: 0.1
max_tokens: 500
variables:
  document: {default: "no document", description: "the invoice text"}
  role: accountant
"""


@pytest.fixture
def registry(tmp_path: Path) -> PromptRegistry:
    (tmp_path / "extract-invoice.yaml").write_text(INVOICE)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "chat.yml").write_text(
        "id: chat\nmessages:\n  - {role: system, content: 'Be brief.'}\n  - {role: user, content: 'Hi {{name}}'}\n"
        "template: Then answer {{question}}\ntop_p: 0.9\n"
    )
    (tmp_path / "broken.yaml").write_text("id: broken\ntemplate: [\n")
    return PromptRegistry(tmp_path)


def test_list_get_and_version_is_hash_of_bytes(registry: PromptRegistry, tmp_path: Path):
    assert [p.id for p in registry.list()] == ["chat", "extract-invoice"]
    prompt = registry.get("extract-invoice")
    assert prompt.version == hashlib.sha256(INVOICE.encode()).hexdigest()[:12]
    assert prompt.model == "claude-sonnet-4-6" and prompt.temperature == 0.1 and prompt.max_tokens == 500
    assert prompt.request_params() == {"temperature": 0.1, "max_tokens": 500}
    assert registry.get("chat").request_params() == {"top_p": 0.9}
    assert registry.load_file(tmp_path / "extract-invoice.yaml").version == prompt.version
    with pytest.raises(PromptNotFound):
        registry.get("nope")
    assert list(registry.problems()) == [tmp_path / "broken.yaml"]
    with pytest.raises(PromptError) as info:
        registry.load_file(tmp_path / "broken.yaml")
    assert info.value.issues[0].code == "yaml"


def test_render_orders_system_messages_then_template(registry: PromptRegistry):
    messages = registry.render(registry.get("chat"), {"name": "Ada", "question": "why?"})
    assert messages == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi Ada"},
        {"role": "user", "content": "Then answer why?"},
    ]
    invoice = registry.render(registry.get("extract-invoice"), {"document": "TOTAL 5"})
    assert invoice[0] == {"role": "system", "content": "You are a careful accountant."}
    assert invoice[1]["content"] == "Extract the total from this invoice:\nTOTAL 5\n"
    with pytest.raises(MissingVariables):
        registry.render(registry.get("chat"), {"name": "Ada"})


def test_variables_detected_with_defaults(registry: PromptRegistry):
    found = registry.variables(registry.get("extract-invoice"))
    assert list(found) == ["role", "document"]  # system comes first in the request
    assert found["document"].default == "no document" and found["document"].description == "the invoice text"
    chat = registry.variables(registry.get("chat"))
    assert [(v.name, v.declared, v.required) for v in chat.values()] == [("name", False, True), ("question", False, True)]


@pytest.mark.parametrize(
    ("text", "code", "line"),
    [
        ("id: x\ntemplate: 'a'\n  bad: [\n", "yaml", 3),
        ("template: hello\n", "missing-id", 1),
        ("id: x\nmodel: m\n", "missing-template", 1),
        ("id: x\ntemplate: hi\ntemperature: 7\n", "bad-value", 3),
        ("id: x\ntemplate: hi\nmax_tokens: many\n", "bad-type", 3),
        ("id: x\ntemplate: hi\nid: y\n", "duplicate-key", 3),
        ("id: x\nmessages:\n  - {role: robot, content: hi}\n", "bad-value", 2),
        ("id: x\ntemplate: |\n  one\n  two {{ undeclared }}\nvariables:\n  used: 1\n", "undefined-variable", 4),
        ("- just\n- a list\n", "not-mapping", 1),
    ],
)
def test_validation_errors_have_codes_and_lines(text: str, code: str, line: int):
    issues = validate(text)
    errors = [i for i in issues if i.severity == "error"]
    assert errors and errors[0].code == code, issues
    assert errors[0].line == line


def test_validation_warnings():
    issues = validate("id: x\ntemplate: 'hi {{a}} {{ oops'\ntemprature: 1\nvariables:\n  a: 1\n  unused: 2\n")
    assert all(i.severity == "warning" for i in issues)
    assert {i.code for i in issues} == {"unknown-key", "unused-variable", "stray-braces"}
    assert next(i for i in issues if i.code == "unknown-key").line == 3
    # without a variables: section, used variables are implicitly declared
    assert validate("id: x\ntemplate: 'hi {{a}}'\n") == []


def test_save_is_atomic_round_trip_and_refuses_errors(registry: PromptRegistry, tmp_path: Path):
    prompt = registry.get("extract-invoice")
    prompt.temperature = 0.3
    saved = registry.save(prompt)
    assert saved.path == tmp_path / "extract-invoice.yaml"
    assert saved.temperature == 0.3 and saved.version != prompt.version
    assert saved.template == prompt.template and saved.variables == prompt.variables
    assert "  Extract the total" in saved.text  # block style kept
    assert not list(tmp_path.glob(".*.tmp"))
    again, issues = parse_prompt(dump_prompt(saved))
    assert issues == [] and again.parts() == saved.parts()

    new = registry.save(Prompt(id="fresh", template="Say {{x}}"))
    assert new.path == tmp_path / "fresh.yaml" and registry.get("fresh").template == "Say {{x}}"
    with pytest.raises(PromptError):
        registry.save("id: bad\n", tmp_path / "bad.yaml")
    assert not (tmp_path / "bad.yaml").exists()


def test_drafts_survive_and_detect_staleness(registry: PromptRegistry, tmp_path: Path):
    base = registry.get("extract-invoice").version
    draft = registry.save_draft("extract-invoice", INVOICE + "# edit\n")
    assert draft.base_version == base
    assert (tmp_path / ".drafts").is_dir()
    assert [p.id for p in registry.list()] == ["chat", "extract-invoice"]  # drafts are not prompts

    reopened = PromptRegistry(tmp_path).load_draft("extract-invoice")
    assert reopened is not None and reopened.text.endswith("# edit\n") and not reopened.is_stale(base)
    (tmp_path / "extract-invoice.yaml").write_text(INVOICE.replace("0.1", "0.2"))
    assert reopened.is_stale(PromptRegistry(tmp_path).get("extract-invoice").version)

    registry.save(reopened.text, tmp_path / "extract-invoice.yaml")
    assert registry.load_draft("extract-invoice") is None  # saving discards the draft
    registry.save_draft("a/b", "id: a/b\n")
    assert [d.prompt_id for d in registry.list_drafts()] == ["a/b"]
    assert registry.discard_draft("a/b") and not registry.discard_draft("a/b")


def test_drafts_folder_is_configurable(tmp_path: Path):
    registry = PromptRegistry(tmp_path / "prompts", drafts_dir=tmp_path / "data" / "drafts")
    registry.save_draft("new-one", "id: new-one\n")
    assert (tmp_path / "data" / "drafts").is_dir() and registry.load_draft("new-one").base_version is None
