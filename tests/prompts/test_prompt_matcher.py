import time

from store.prompts import Prompt, PromptMatcher, PromptRegistry, render

INVOICE = Prompt(
    id="extract-invoice",
    system="You extract totals from invoices. Answer in {{lang}}.",
    template="Extract the total from this invoice:\n{{document}}\nReturn JSON.",
    version="aaaaaaaaaaaa",
)
SUMMARY = Prompt(id="summarize", template="Summarize the following text in {{n}} words:\n\n{{text}}", version="bbbbbbbbbbbb")


def test_match_recovers_prompt_version_and_variables():
    matcher = PromptMatcher.from_prompts([INVOICE, SUMMARY])
    messages = render(INVOICE, {"lang": "French", "document": "ACME\nTOTAL: 5 EUR\n{{weird}}"})
    found = matcher.match(messages)
    assert found == ("extract-invoice", "aaaaaaaaaaaa", {"lang": "French", "document": "ACME\nTOTAL: 5 EUR\n{{weird}}"})
    prompt_id, version, variables = found  # a plain tuple for callers
    assert prompt_id == "extract-invoice"


def test_match_tolerates_whitespace_extra_messages_and_rejects_others():
    matcher = PromptMatcher.from_prompts([INVOICE, SUMMARY])
    messages = [
        {"role": "system", "content": "You extract totals from invoices.  Answer in German.\n"},
        {"role": "assistant", "content": "earlier turn"},
        {"role": "user", "content": "  Extract the total from this invoice:\r\nX\nReturn JSON."},
        {"role": "tool", "content": "later"},
    ]
    assert matcher.match(messages).variables == {"lang": "German", "document": "X"}
    assert matcher.match([{"role": "user", "content": "Summarize the following text in 3 words: hi"}]).prompt_id == "summarize"
    assert matcher.match([{"role": "user", "content": "Something else entirely"}]) is None
    assert matcher.match([]) is None


def test_repeated_variable_must_repeat_its_value_and_vague_templates_are_skipped():
    twice = Prompt(id="twice", template="Compare {{a}} with {{a}} carefully", version="c")
    matcher = PromptMatcher.from_prompts([twice])
    assert matcher.match([{"role": "user", "content": "Compare x with x carefully"}]).variables == {"a": "x"}
    assert matcher.match([{"role": "user", "content": "Compare x with y carefully"}]) is None
    vague = PromptMatcher()
    assert vague.add(Prompt(id="vague", template="{{q}}")) is False and len(vague) == 0


def test_most_specific_prompt_wins():
    general = Prompt(id="general", template="Summarize the following text {{rest}}", version="g")
    matcher = PromptMatcher.from_prompts([general, SUMMARY])
    assert matcher.match([{"role": "user", "content": "Summarize the following text in 5 words:\n\nhello"}]).prompt_id == "summarize"


def test_registry_matcher_with_git_history(tmp_path):
    (tmp_path / "s.yaml").write_text("id: s\ntemplate: 'Translate to {{lang}}: {{text}}'\n")
    matcher = PromptMatcher(PromptRegistry(tmp_path), include_history=True)  # not a repo: current only
    assert matcher.match([{"role": "user", "content": "Translate to fr: cat"}]).variables == {"lang": "fr", "text": "cat"}


def test_thousands_of_spans_are_fast():
    prompts = [Prompt(id=f"p{i}", template=f"Task number {i} for the assistant: do {{{{thing}}}} now.", version=str(i)) for i in range(50)]
    matcher = PromptMatcher.from_prompts([*prompts, INVOICE, SUMMARY])
    spans = [
        [{"role": "system", "content": "You are helpful."}, {"role": "user", "content": f"Task number {i % 60} for the assistant: do item {i}" + " filler" * 200 + " now."}]
        for i in range(5000)
    ]
    started = time.perf_counter()
    results = [matcher.match(messages) for messages in spans]
    elapsed = time.perf_counter() - started
    assert sum(r is not None for r in results) == sum(1 for i in range(5000) if i % 60 < 50)
    assert elapsed < 5.0, elapsed  # ~0.3 s here; the bound only guards against a blow-up on a shared 2-core box
