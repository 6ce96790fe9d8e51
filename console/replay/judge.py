"""LLM-as-judge: a model scores an output against a rubric, 0..1 with a reason.

The judge is asked for ``{"score": <0..1>, "reason": "..."}`` and its reply is
read tolerantly: a JSON object anywhere in the text (code fence or not), keys
``score``/``rating``/``grade``, values like ``0.8``, ``"8/10"``, ``"80%"``, ``7``
(read as 7/10) or ``85`` (85/100), ``pass``/``fail``; failing that, "score: 7/10"
in prose. A reply with no score gives ``score=None`` and the reason says so.

Judge calls go through the :class:`ReplayEngine` (same keys, errors and retries)
at temperature 0, and are not recorded as replays.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from console.replay.errors import ReplayError

DEFAULT_RUBRIC = "The response correctly and completely does what the input asks, without inventing facts."
DEFAULT_THRESHOLD = 0.5
_MAX_INPUT_CHARS = 6000

_SYSTEM = (
    "You are a strict, fair evaluator. Judge the RESPONSE against the RUBRIC"
    " (and the EXPECTED answer, when one is given). Reply with only a JSON object:"
    ' {"score": <a number from 0 to 1>, "reason": "<one short sentence>"}.'
)


@dataclass(frozen=True)
class JudgeResult:
    score: float | None  # 0..1; None when the judge failed or gave no score
    reason: str
    raw: str = ""
    error: ReplayError | None = None
    model: str | None = None
    cost_usd: float | None = None

    @property
    def ok(self) -> bool:
        return self.score is not None


def _scaled(value: float, out_of: float | None = None) -> float:
    if out_of:
        value = value / out_of
    elif 1 < value <= 10:
        value = value / 10
    elif 10 < value <= 100:
        value = value / 100
    return min(max(value, 0.0), 1.0)


def _score_value(value: Any) -> float | None:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return _scaled(float(value))
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("pass", "passed", "yes", "true", "good", "correct"):
            return 1.0
        if text in ("fail", "failed", "no", "false", "bad", "incorrect"):
            return 0.0
        match = re.fullmatch(r"(-?\d+(?:\.\d+)?)\s*(?:/\s*(\d+(?:\.\d+)?)|(%))?", text)
        if match:
            number = float(match.group(1))
            if match.group(3):
                return _scaled(number, 100)
            return _scaled(number, float(match.group(2)) if match.group(2) else None)
    return None


def _json_objects(text: str) -> list[dict[str, Any]]:
    objects = []
    decoder = json.JSONDecoder()
    for start in (m.start() for m in re.finditer(r"\{", text)):
        try:
            value, _end = decoder.raw_decode(text, start)
        except ValueError:
            continue
        if isinstance(value, dict):
            objects.append(value)
    return objects


def parse_judge_reply(text: str) -> tuple[float | None, str]:
    """(score 0..1 or None, reason) from a judge's reply."""
    for obj in _json_objects(text):
        lowered = {str(k).lower(): v for k, v in obj.items()}
        for key in ("score", "rating", "grade", "value", "verdict"):
            if key in lowered:
                score = _score_value(lowered[key])
                if score is not None:
                    reason = next((str(lowered[k]) for k in ("reason", "explanation", "rationale", "justification") if lowered.get(k)), text.strip()[:300])
                    return score, reason
    match = re.search(r"(?:score|rating)[\s*:=]{0,6}(\d+(?:\.\d+)?)\s*(?:/\s*(\d+(?:\.\d+)?)|(%))?", text, re.IGNORECASE)
    if match:
        number = float(match.group(1))
        out_of = 100.0 if match.group(3) else (float(match.group(2)) if match.group(2) else None)
        return _scaled(number, out_of), text.strip()[:300]
    verdict = re.fullmatch(r"\W*(pass|fail)\W*", text.strip(), re.IGNORECASE)
    if verdict:
        return (1.0 if verdict.group(1).lower() == "pass" else 0.0), text.strip()
    return None, f"the judge gave no score: {text.strip()[:200]!r}"


def judge_messages(output: str, rubric: str, input_messages: Sequence[dict[str, Any]] = (), expected: str | None = None) -> list[dict[str, Any]]:
    shown_input = "\n\n".join(
        f"[{m.get('role')}] {m.get('content')}" for m in input_messages if isinstance(m.get("content"), str)
    )
    if len(shown_input) > _MAX_INPUT_CHARS:
        shown_input = "…" + shown_input[-_MAX_INPUT_CHARS:]  # the end holds the actual question
    body = f"RUBRIC:\n{rubric}\n\nINPUT:\n{shown_input or '(none)'}\n\n"
    if expected is not None:
        body += f"EXPECTED:\n{expected}\n\n"
    body += f"RESPONSE:\n{output}"
    return [{"role": "system", "content": _SYSTEM}, {"role": "user", "content": body}]


class Judge:
    """Scores outputs with ``model``. ``sample``: None for every row, a fraction
    (0 < f < 1) or a count (>= 1) of rows, chosen reproducibly by ``seed``."""

    def __init__(
        self,
        engine: Any,
        model: str,
        rubric: str | None = None,
        *,
        api_base: str | None = None,
        threshold: float = DEFAULT_THRESHOLD,
        sample: float | int | None = None,
        seed: int = 0,
        max_tokens: int = 300,
    ) -> None:
        self.engine = engine
        self.model = model
        self.rubric = rubric or DEFAULT_RUBRIC
        self.api_base = api_base
        self.threshold = threshold
        self.sample = sample
        self.seed = seed
        self.max_tokens = max_tokens

    def chosen_rows(self, total: int) -> set[int]:
        if self.sample is None or total == 0:
            return set(range(total))
        count = round(total * self.sample) if 0 < self.sample < 1 else int(self.sample)
        count = min(max(count, 1 if self.sample > 0 else 0), total)
        return set(random.Random(self.seed).sample(range(total), count))

    async def score(self, output: str, input_messages: Sequence[dict[str, Any]] = (), expected: str | None = None) -> JudgeResult:
        result = await self.engine.complete(
            judge_messages(output, self.rubric, input_messages, expected),
            self.model,
            {"temperature": 0, "max_tokens": self.max_tokens},
            api_base=self.api_base,
            label="judge",
        )
        if result.error is not None:
            return JudgeResult(None, f"judge call failed: {result.error.message}", result.text, result.error, self.model, result.cost_usd)
        score, reason = parse_judge_reply(result.text)
        return JudgeResult(score, reason, result.text, None, self.model, result.cost_usd)

    def passed(self, result: JudgeResult | None) -> bool | None:
        if result is None or result.score is None:
            return None
        return result.score >= self.threshold
