"""Checks on the model's output: JSON when JSON was asked for, refusals, and
system prompt leakage."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

from store.guardrails.model import BaseDetector, DetectionContext, Finding
from store.guardrails.prefilter import PatternGate, TextFacts

_FENCED_JSON = re.compile(r"^\s*```(?:json|JSON)?\s*\n(.*?)\n?```\s*$", re.S)
_JSON_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


def _schema_problems(value: Any, schema: dict[str, Any]) -> list[str]:
    """The few schema rules worth checking cheaply: top-level type, required
    keys, and the types of declared properties. Not a full validator."""
    schema = schema.get("schema", schema) if isinstance(schema.get("schema"), dict) else schema
    problems: list[str] = []
    expected = schema.get("type")
    if isinstance(expected, str):
        if expected in ("number", "integer"):
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                problems.append(f"top level is not {expected}")
        elif expected in _JSON_TYPES and not isinstance(value, _JSON_TYPES[expected]):
            problems.append(f"top level is not {expected}")
    if isinstance(value, dict):
        for key in schema.get("required", []) or []:
            if key not in value:
                problems.append(f"missing required key {key!r}")
        for key, prop in (schema.get("properties") or {}).items():
            t = prop.get("type") if isinstance(prop, dict) else None
            if key in value and isinstance(t, str) and t in _JSON_TYPES and not isinstance(value[key], _JSON_TYPES[t]):
                problems.append(f"{key!r} is not {t}")
    return problems[:5]


class InvalidJsonDetector(BaseDetector):
    """The output is not JSON although response_format asked for it.

    A reply that is valid JSON only inside a ```json fence is reported as
    ``json_in_code_fence`` (low): many clients strip fences, strict parsers do
    not. With a json_schema, missing required keys and wrong property types are
    reported as ``json_schema_mismatch``.
    """

    name = "output.invalid_json"
    category = "output"
    severity = "medium"
    version = "1"
    family = "json"

    def applies_to(self, ctx: DetectionContext) -> bool:
        return ctx.direction == "output" and ctx.json_requested and ctx.role == "assistant"

    def detect(self, text: str, ctx: DetectionContext) -> list[Finding]:
        if not text.strip():
            return [self.finding(0, len(text), "invalid_json", 0.9, ctx, details={"error": "empty output"})]
        try:
            value = json.loads(text)
        except ValueError as exc:
            fenced = _FENCED_JSON.match(text)
            if fenced:
                try:
                    value = json.loads(fenced.group(1))
                except ValueError:
                    pass
                else:
                    return [self.finding(0, len(text), "json_in_code_fence", 0.9, ctx, severity="low")]
            return [self.finding(0, len(text), "invalid_json", 0.99, ctx, details={"error": str(exc)[:120]})]
        if ctx.json_schema:
            problems = _schema_problems(value, ctx.json_schema)
            if problems:
                return [self.finding(0, len(text), "json_schema_mismatch", 0.9, ctx, details={"problems": problems})]
        return []


_REFUSAL = re.compile(
    r"\b(?:i(?:'m| am)\s+(?:so\s+|really\s+|very\s+)?sorry,?\s+(?:but\s+)?i\s+(?:can(?:'|no)t|cannot|won't|will not|am not able to|am unable to)"
    r"|i\s+(?:can(?:'|no)t|cannot|won't|will not|am not able to|am unable to|must decline to|must respectfully decline to)\s+"
    r"(?:help|assist|comply|provide|fulfil+|support|do that|create|generate|write|engage|answer|continue|share|give)"
    r"|i(?:'m| am)\s+(?:not able|unable)\s+to\s+(?:help|assist|comply|provide|fulfil+|do that|answer|share)"
    r"|as an ai(?: language model)?,?\s+i\s+(?:can(?:'|no)t|cannot|do not|don't|am not able to|am unable to)"
    r"|i\s+(?:must|have to)\s+(?:respectfully\s+)?decline"
    r"|(?:this|that|your) request (?:goes against|violates|is against)"
    r"|i(?:'m| am) not (?:comfortable|going to) (?:help|assist|provid|writ|creat|generat)\w*)",
    re.I,
)


class RefusalDetector(BaseDetector):
    """The model refused ("I can't help with that", "As an AI, I cannot ...").

    A refusal in the first 300 characters is the reply's point (confidence
    0.9); later it is often a caveat inside a useful answer (0.5)."""

    name = "output.refusal"
    category = "output"
    severity = "low"
    version = "1"
    family = "refusal"
    _gate = PatternGate(_REFUSAL)  # the words a refusal needs ("sorry", "cannot", "decline", ...)

    def applies_to(self, ctx: DetectionContext) -> bool:
        return ctx.direction == "output" and ctx.role == "assistant"

    def prefilter(self, facts: TextFacts, ctx: DetectionContext) -> bool:
        return self._gate.possible(facts)

    def detect(self, text: str, ctx: DetectionContext) -> list[Finding]:
        m = _REFUSAL.search(text, 0, min(len(text), 2000))
        if not m:
            return []
        return [self.finding(m.start(), m.end(), "refusal", 0.9 if m.start() < 300 else 0.5, ctx)]


_WORD = re.compile(r"\w+")
SHINGLE = 6  # words per shingle
MIN_LEAK_WORDS = 12  # a run of this many shared words is a leak


# Where retrieved context starts inside a system prompt: answers quote context, which
# is not a leak of the prompt's instructions.
_CONTEXT_START = re.compile(
    r"^\s*(?:#+\s*)?(?:context|contexts|documents?|sources?|retrieved|excerpts?|knowledge|passages?|search results)"
    r"\b[^\n]{0,40}:?\s*$|<(?:context|documents?|sources?)>|^-{3,}\s*$",
    re.IGNORECASE | re.MULTILINE)
INSTRUCTION_WORDS = 400  # past this many words a system prompt is content, not instructions


def instructions_of(prompt: str) -> str:
    """The instruction part of a system prompt: up to retrieved context, if marked."""
    m = _CONTEXT_START.search(prompt)
    return prompt[: m.start()] if m and m.start() > 0 else prompt


@lru_cache(maxsize=64)
def _prompt_shingles(prompt: str) -> tuple[int, int, frozenset[tuple[str, ...]]]:
    """Shingles of a system prompt's instructions; cached because one prompt serves many spans."""
    words = [w.lower() for w in _WORD.findall(instructions_of(prompt))][:INSTRUCTION_WORDS]
    n = min(SHINGLE, len(words))
    return len(words), n, frozenset(tuple(words[i : i + n]) for i in range(len(words) - n + 1))


class SystemPromptLeakDetector(BaseDetector):
    """The output repeats the system prompt: runs of shared word 6-grams.

    A run of at least 12 shared words, or a copy of most of a short system
    prompt (8+ words), is reported with the share of the prompt leaked.
    """

    name = "output.system_prompt_leak"
    category = "output"
    severity = "high"
    version = "1"
    family = "leak"

    def applies_to(self, ctx: DetectionContext) -> bool:
        return ctx.direction == "output" and bool(ctx.system_prompt) and ctx.role == "assistant"

    def prefilter(self, facts: TextFacts, ctx: DetectionContext) -> bool:
        return _prompt_shingles(ctx.system_prompt or "")[0] >= 8  # shorter prompts are never reported

    def detect(self, text: str, ctx: DetectionContext) -> list[Finding]:
        prompt_len, n, shingles = _prompt_shingles(ctx.system_prompt or "")
        if prompt_len < 8:
            return []
        lowered = text.lower()
        words = _WORD.findall(lowered)  # the offsets are looked up only for a leak
        # zip over n shifted views builds every n-gram in C
        shared = [i for i, gram in enumerate(zip(*(words[k:] for k in range(n)))) if gram in shingles]
        if not shared:
            return []  # not one n-gram of the prompt: no run, no share
        covered = [False] * len(words)
        for i in shared:
            covered[i : i + n] = [True] * n
        runs: list[tuple[int, int]] = []
        i = 0
        while i < len(covered):
            if covered[i]:
                j = i
                while j < len(covered) and covered[j]:
                    j += 1
                runs.append((i, j))
                i = j
            else:
                i += 1
        leaked = sum(b - a for a, b in runs)
        share = leaked / prompt_len
        long_runs = [r for r in runs if r[1] - r[0] >= MIN_LEAK_WORDS]
        if not long_runs and share < 0.6:
            return []
        chosen = long_runs or runs
        tokens = list(_WORD.finditer(lowered))
        start, end = tokens[chosen[0][0]].start(), tokens[chosen[-1][1] - 1].end()
        return [
            self.finding(
                start, end, "system_prompt_leak", min(0.99, 0.6 + share), ctx,
                details={"leaked_words": leaked, "prompt_words": prompt_len, "share": round(min(share, 1.0), 2)},
            )
        ]  # fmt: skip


OUTPUT_DETECTORS = (InvalidJsonDetector, RefusalDetector, SystemPromptLeakDetector)
