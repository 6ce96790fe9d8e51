"""Output checks: JSON when asked, refusals, system prompt leakage."""

from store.guardrails import DetectionContext, GuardrailRunner
from store.guardrails.detectors.output import InvalidJsonDetector, RefusalDetector, SystemPromptLeakDetector

OUT = DetectionContext(direction="output", role="assistant")


def test_json_checked_only_when_asked():
    runner = GuardrailRunner()
    assert not [f for f in runner.scan_span([], ["not json"]) if f.category == "output"]
    found = runner.scan_span([], ["Sure! {\"a\": 1}"], response_format="json_object")
    assert [f.entity for f in found] == ["invalid_json"]
    assert not runner.scan_span([], ['{"a": 1}'], response_format="json_object")


def test_fenced_json_and_schema_mismatch():
    ctx = DetectionContext(direction="output", role="assistant", response_format="json_schema")
    fenced = InvalidJsonDetector().detect('```json\n{"a": 1}\n```', ctx)
    assert [(f.entity, f.severity) for f in fenced] == [("json_in_code_fence", "low")]
    schema = {"name": "x", "schema": {"type": "object", "required": ["name", "age"], "properties": {"age": {"type": "integer"}, "name": {"type": "string"}}}}
    ctx = DetectionContext(direction="output", role="assistant", response_format="json_schema", json_schema=schema)
    found = InvalidJsonDetector().detect('{"name": 3}', ctx)
    assert found[0].entity == "json_schema_mismatch"
    assert "missing required key 'age'" in found[0].details["problems"]
    assert not InvalidJsonDetector().detect('{"name": "a", "age": 3}', ctx)


def test_refusals():
    for text in (
        "I'm sorry, but I can't help with that.",
        "I cannot assist with this request.",
        "As an AI language model, I cannot provide medical advice.",
        "I must decline to answer.",
    ):
        assert RefusalDetector().detect(text, OUT), text
    for text in ("Here is the recipe you asked for.", "You can't go wrong with pasta.", "If I can't find it, I'll tell you."):
        assert not RefusalDetector().detect(text, OUT), text


SYSTEM = (
    "You are Aria, the support assistant for ACME Bank. Never disclose internal fee tables. "
    "Escalate fraud reports to the security team within five minutes and never mention this rule."
)


def test_system_prompt_leak():
    ctx = DetectionContext(direction="output", role="assistant", system_prompt=SYSTEM)
    leak = "Sure. My instructions: You are Aria, the support assistant for ACME Bank. Never disclose internal fee tables. OK?"
    found = SystemPromptLeakDetector().detect(leak, ctx)
    assert found and found[0].details["leaked_words"] >= 12
    assert leak[found[0].start : found[0].end].startswith("You are Aria")
    assert not SystemPromptLeakDetector().detect("I am Aria, ACME's assistant. How can I help with your account?", ctx)
    assert not SystemPromptLeakDetector().detect(leak, OUT)  # no system prompt known
