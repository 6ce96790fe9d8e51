import pytest

from console.replay.checks import CheckSpecError, _subset_errors, is_refusal, parse_checks, run_checks, schema_errors
from console.replay.judge import parse_judge_reply

SCHEMA = {
    "type": "object",
    "required": ["total", "currency"],
    "properties": {"total": {"type": "number", "minimum": 0}, "currency": {"enum": ["EUR", "USD"]}, "lines": {"type": "array", "maxItems": 2}},
    "additionalProperties": False,
}


def results(specs, text, expected=None):
    return [(r.name, r.passed) for r in run_checks(parse_checks(specs), text, expected)]


def test_json_and_schema_checks():
    assert results(["json"], '```json\n{"a": 1}\n```') == [("json", True)]
    assert results(["json"], "total: 5") == [("json", False)]
    good = '{"total": 5.5, "currency": "EUR"}'
    assert results([{"type": "json_schema", "schema": SCHEMA}], good) == [("json_schema", True)]
    bad = run_checks(parse_checks([{"type": "json_schema", "schema": SCHEMA}]), '{"total": -1, "currency": "GBP", "x": 1}')[0]
    assert not bad.passed and "total" in bad.detail


def test_builtin_schema_subset_agrees_with_jsonschema():
    cases = [
        {"total": 5, "currency": "EUR"},
        {"total": -1, "currency": "EUR"},
        {"total": "5", "currency": "EUR"},
        {"currency": "EUR"},
        {"total": 1, "currency": "GBP"},
        {"total": 1, "currency": "EUR", "extra": True},
        {"total": 1, "currency": "EUR", "lines": [1, 2, 3]},
        [1, 2],
    ]
    for value in cases:
        assert bool(_subset_errors(value, SCHEMA, "$")) == bool(schema_errors(value, SCHEMA)), value


def test_text_checks():
    text = "The total is 42 EUR."
    assert results([{"type": "contains", "value": "TOTAL"}], text) == [("contains", True)]
    assert results([{"type": "contains", "value": "TOTAL", "case_sensitive": True}], text) == [("contains", False)]
    assert results([{"type": "not_contains", "value": "USD", "name": "no-dollars"}], text) == [("no-dollars", True)]
    assert results([{"type": "regex", "pattern": r"\d+ EUR"}], text) == [("regex", True)]
    assert results([{"type": "length", "max": 5, "unit": "words"}], text) == [("length", True)]
    assert results([{"type": "length", "min": 100}], text) == [("length", False)]
    assert results([{"type": "similar", "min": 0.5}, "equals"], text, "the total is 42  EUR.") == [("similar", True), ("equals", False)]
    assert results(["equals"], "a  b\n", "a b") == [("equals", True)]
    assert results(["similar"], text) == [("similar", False)]  # nothing to compare with
    assert not run_checks(parse_checks([{"type": "regex", "pattern": "("}]), text)[0].passed
    with pytest.raises(CheckSpecError, match="unknown check type"):
        parse_checks([{"type": "sentiment"}])


@pytest.mark.parametrize(
    ("text", "refusal"),
    [
        ("I'm sorry, but I can't help with that request.", True),
        ("I cannot assist with creating malware.", True),
        ("As an AI language model, I cannot browse.", True),
        ("I must decline to answer.", True),
        ("I’m sorry, but I can’t provide that.", True),
        ("The total is 42 EUR.", False),
        ("Sorry for the delay! Here is the summary: ...", False),
        ("Step 1: ... If the file is missing, I can't continue, so check the path." + " x" * 200, False),
    ],
)
def test_refusal_detection(text, refusal):
    assert is_refusal(text) is refusal
    assert results(["not_refusal"], text) == [("not_refusal", not refusal)]


@pytest.mark.parametrize(
    ("reply", "score"),
    [
        ('{"score": 0.8, "reason": "good"}', 0.8),
        ('```json\n{"score": 7, "reason": "ok"}\n```', 0.7),
        ('Here you go: {"rating": "85%", "explanation": "fine"} done', 0.85),
        ('{"score": "4/5", "reason": "x"}', 0.8),
        ('{"score": 62, "reason": "x"}', 0.62),
        ('{"verdict": "PASS"}', 1.0),
        ("Score: 3/10. The answer is wrong.", 0.3),
        ("**Rating**: 9", 0.9),
        ("rating = 0.25", 0.25),
        ("FAIL", 0.0),
        ("I think it is decent.", None),
        ('{"score": 1.7}', 0.17),
    ],
)
def test_judge_replies_are_read_tolerantly(reply, score):
    value, reason = parse_judge_reply(reply)
    assert value == pytest.approx(score) if score is not None else value is None
    assert reason
