import json

import pytest
from replay_helpers import span_row

from console.replay.dataset import DatasetError, DatasetRow, build_cases, load_dataset, rows_from_spans, save_dataset
from store.prompts import Prompt

PROMPT = Prompt(id="p", template="Say {{word}}", variables={}, version="v1")


def test_load_both_kinds_of_rows_and_round_trip(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text(
        "# a comment\n"
        + json.dumps({"id": "a", "variables": {"word": "hi"}, "expected": "hi", "checks": ["json"]}) + "\n\n"
        + json.dumps({"trace_id": "t1", "span_id": "s1"}) + "\n"
        + json.dumps({"vars": {"word": "yo"}, "expected": {"n": 1}}) + "\n"
    )
    rows = load_dataset(path)
    assert [(r.id, r.trace_id, r.variables, r.expected) for r in rows] == [
        ("a", None, {"word": "hi"}, "hi"),
        ("t1", "t1", None, None),
        ("row-5", None, {"word": "yo"}, '{"n": 1}'),
    ]
    save_dataset(tmp_path / "copy.jsonl", rows)
    assert [r.to_json() for r in load_dataset(tmp_path / "copy.jsonl")] == [r.to_json() for r in rows]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"variables": {"a": 1}}\n{not json\n', "line 2: not JSON"),
        ('[1, 2]\n', "line 1: each line must be a JSON object"),
        ('{"expected": "x"}\n', "line 1: needs trace_id, or variables"),
        ('{"variables": {}, "checks": [{"type": "vibes"}]}\n', "line 1: unknown check type"),
        ("\n# nothing\n", "no rows"),
    ],
)
def test_bad_datasets_name_the_line(tmp_path, text, message):
    path = tmp_path / "d.jsonl"
    path.write_text(text)
    with pytest.raises(DatasetError, match=message):
        load_dataset(path)


def test_build_cases_renders_variables_and_loads_spans():
    rows = [DatasetRow("a", variables={"word": "hi"}, checks=[{"type": "contains", "value": "hi"}]), DatasetRow("b", trace_id="t", span_id="s")]
    cases = build_cases(rows, prompt=PROMPT, model="echo", span_loader=lambda trace, span: span_row(trace_id=trace, span_id=span), extra_checks=["not_refusal"])
    assert cases[0].request.messages == [{"role": "user", "content": "Say hi"}] and cases[0].request.model == "echo"
    assert [c.type for c in cases[0].checks] == ["not_refusal", "contains"]
    assert cases[1].request.trace_id == "t" and cases[1].request.output_text == "recorded answer"
    with pytest.raises(DatasetError, match="need the trace store"):
        build_cases(rows[1:], prompt=PROMPT)
    with pytest.raises(DatasetError, match="missing value for"):
        build_cases([DatasetRow("c", variables={})], prompt=PROMPT)
    assert rows_from_spans([{"trace_id": "t", "span_id": "s"}])[0].to_json() == {"id": "s", "trace_id": "t", "span_id": "s"}
