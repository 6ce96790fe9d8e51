"""Heuristic checks on an output, each a pass/fail with a reason.

Checks are written as small dicts, in a prompt file's ``checks:``, a dataset
row's ``checks``, or code::

    {"type": "json"}                                  # valid JSON (a ```json fence is allowed)
    {"type": "json_schema", "schema": {...}}          # valid JSON matching the schema
    {"type": "contains", "value": "total"}            # case-insensitive unless "case_sensitive": true
    {"type": "not_contains", "value": "sorry"}
    {"type": "regex", "pattern": "^\\d+$"}            # re.search, MULTILINE
    {"type": "length", "min": 10, "max": 500, "unit": "chars"}   # or "words"
    {"type": "not_refusal"}                           # fails on "I'm sorry, but I can't ..."
    {"type": "similar", "min": 0.8}                   # word similarity to the row's expected output
    {"type": "equals"}                                # equal to the expected output, whitespace-normalized

JSON schema: ``jsonschema`` when it is installed (LiteLLM brings it), otherwise a
small built-in subset (type, properties, required, additionalProperties: false,
items, enum, const, minimum/maximum, minLength/maxLength, minItems/maxItems).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from store.prompts.diff import similarity


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    detail: str = ""


@dataclass(frozen=True)
class Check:
    """One check, from its spec dict (see the module docstring)."""

    type: str
    spec: Mapping[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return str(self.spec.get("name") or self.type)

    def run(self, text: str, expected: str | None = None) -> CheckResult:
        handler = _HANDLERS.get(self.type)
        if handler is None:
            return CheckResult(self.name, False, f"unknown check type {self.type!r}")
        try:
            passed, detail = handler(text or "", self.spec, expected)
        except re.error as exc:
            return CheckResult(self.name, False, f"bad pattern: {exc}")
        return CheckResult(self.name, passed, detail)


class CheckSpecError(ValueError):
    pass


def parse_checks(specs: Sequence[Mapping[str, Any] | str] | None) -> list[Check]:
    """Checks from their specs; a bare string is a type with no options (``"json"``)."""
    checks = []
    for spec in specs or []:
        if isinstance(spec, str):
            spec = {"type": spec}
        if not isinstance(spec, Mapping) or "type" not in spec:
            raise CheckSpecError(f"a check needs a type: {spec!r}")
        if spec["type"] not in _HANDLERS:
            raise CheckSpecError(f"unknown check type {spec['type']!r}; known: {', '.join(sorted(_HANDLERS))}")
        checks.append(Check(str(spec["type"]), dict(spec)))
    return checks


def run_checks(checks: Sequence[Check], text: str, expected: str | None = None) -> list[CheckResult]:
    return [check.run(text, expected) for check in checks]


# -- JSON --------------------------------------------------------------------------

_FENCE = re.compile(r"^\s*```(?:json|JSON)?\s*\n(.*?)\n?```\s*$", re.DOTALL)


def extract_json(text: str) -> Any:
    """Parse ``text`` as JSON, allowing one surrounding Markdown code fence; raises ValueError."""
    fenced = _FENCE.match(text)
    return json.loads(fenced.group(1) if fenced else text)


def _json(text: str, spec: Mapping[str, Any], expected: str | None) -> tuple[bool, str]:
    try:
        extract_json(text)
    except ValueError as exc:
        return False, f"not JSON: {exc}"
    return True, "valid JSON"


def _json_schema(text: str, spec: Mapping[str, Any], expected: str | None) -> tuple[bool, str]:
    try:
        value = extract_json(text)
    except ValueError as exc:
        return False, f"not JSON: {exc}"
    problems = schema_errors(value, spec.get("schema") or {})
    return (not problems, "matches the schema" if not problems else "; ".join(problems[:3]))


def schema_errors(value: Any, schema: Mapping[str, Any]) -> list[str]:
    try:
        import jsonschema
    except ImportError:
        return _subset_errors(value, schema, "$")
    validator_class = jsonschema.validators.validator_for(schema)
    validator = validator_class(schema)
    return [f"{'/'.join(str(p) for p in error.absolute_path) or '$'}: {error.message}" for error in validator.iter_errors(value)]


_TYPES: dict[str, Any] = {
    "object": dict,
    "array": list,
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "null": type(None),
}


def _is_type(value: Any, name: str) -> bool:
    if name in ("integer", "number") and isinstance(value, bool):
        return False
    if name == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _TYPES.get(name, object))


def _bounds(size: float, schema: Mapping[str, Any], low: tuple[str, str], high: tuple[str, str], path: str) -> list[str]:
    """Errors for a size outside ``schema``'s (key, words) lower and upper bounds."""
    errors = []
    if low[0] in schema and size < schema[low[0]]:
        errors.append(f"{path}: {low[1]} {schema[low[0]]}")
    if high[0] in schema and size > schema[high[0]]:
        errors.append(f"{path}: {high[1]} {schema[high[0]]}")
    return errors


def _subset_errors(value: Any, schema: Mapping[str, Any], path: str) -> list[str]:
    errors: list[str] = []
    expected_type = schema.get("type")
    if expected_type is not None:
        names = expected_type if isinstance(expected_type, list) else [expected_type]
        if not any(_is_type(value, n) for n in names):
            return [f"{path}: expected {'/'.join(names)}"]
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: not one of {schema['enum']}")
    if "const" in schema and value != schema["const"]:
        errors.append(f"{path}: must be {schema['const']!r}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        errors.extend(_bounds(value, schema, ("minimum", "below"), ("maximum", "above"), path))
    if isinstance(value, str):
        errors.extend(_bounds(len(value), schema, ("minLength", "shorter than"), ("maxLength", "longer than"), path))
    if isinstance(value, dict):
        for name in schema.get("required", []):
            if name not in value:
                errors.append(f"{path}: missing {name!r}")
        properties = schema.get("properties", {})
        for name, item in value.items():
            if name in properties:
                errors.extend(_subset_errors(item, properties[name], f"{path}.{name}"))
            elif schema.get("additionalProperties") is False:
                errors.append(f"{path}: unexpected {name!r}")
    if isinstance(value, list):
        errors.extend(_bounds(len(value), schema, ("minItems", "fewer items than"), ("maxItems", "more items than"), path))
        if isinstance(schema.get("items"), Mapping):
            for index, item in enumerate(value):
                errors.extend(_subset_errors(item, schema["items"], f"{path}[{index}]"))
    return errors


# -- text --------------------------------------------------------------------------


def _contains(text: str, spec: Mapping[str, Any], expected: str | None) -> tuple[bool, str]:
    needle = str(spec.get("value", ""))
    found = needle in text if spec.get("case_sensitive") else needle.lower() in text.lower()
    return found, f"{'contains' if found else 'does not contain'} {needle!r}"


def _not_contains(text: str, spec: Mapping[str, Any], expected: str | None) -> tuple[bool, str]:
    found, detail = _contains(text, spec, expected)
    return not found, detail


def _regex(text: str, spec: Mapping[str, Any], expected: str | None) -> tuple[bool, str]:
    flags = re.MULTILINE | (re.IGNORECASE if spec.get("ignore_case") else 0)
    found = re.search(str(spec.get("pattern", "")), text, flags) is not None
    return found, f"{'matches' if found else 'does not match'} /{spec.get('pattern')}/"


def _length(text: str, spec: Mapping[str, Any], expected: str | None) -> tuple[bool, str]:
    unit = spec.get("unit", "chars")
    size = len(text.split()) if unit == "words" else len(text)
    low, high = spec.get("min"), spec.get("max")
    passed = (low is None or size >= low) and (high is None or size <= high)
    return passed, f"{size} {unit} (allowed {low if low is not None else 0}..{high if high is not None else '∞'})"


# Openings of a refusal, checked near the start of the answer: a refusal leads with it,
# while an answer that merely mentions "I can't" later on is not one.
_REFUSAL = re.compile(
    r"\b(I\s*(?:'m|am)\s+(?:sorry|afraid)[^.]{0,40}\b(?:can(?:'|no)t|cannot|unable|not able)"
    r"|I\s+(?:can(?:'|no)t|cannot|won't|will not|am unable to|'m unable to|am not able to|'m not able to)\s+"
    r"(?:help|assist|provide|comply|do that|fulfil|fulfill|support|answer|create|generate|share)"
    r"|as an AI(?: language model)?,? I\b"
    r"|I must (?:decline|refuse)"
    r"|(?:this|that) (?:request )?(?:goes against|violates) (?:my|our) (?:guidelines|policies|policy))",
    re.IGNORECASE,
)


def is_refusal(text: str) -> bool:
    return _REFUSAL.search(text.replace("’", "'")[:300]) is not None


def _not_refusal(text: str, spec: Mapping[str, Any], expected: str | None) -> tuple[bool, str]:
    refused = is_refusal(text)
    return not refused, "refusal" if refused else "not a refusal"


def _similar(text: str, spec: Mapping[str, Any], expected: str | None) -> tuple[bool, str]:
    if expected is None:
        return False, "no expected output to compare with"
    ratio = similarity(text, expected)
    low = float(spec.get("min", 0.8))
    return ratio >= low, f"similarity {ratio:.2f} (min {low:g})"


def _equals(text: str, spec: Mapping[str, Any], expected: str | None) -> tuple[bool, str]:
    if expected is None:
        return False, "no expected output to compare with"
    same = " ".join(text.split()) == " ".join(expected.split())
    return same, "equals the expected output" if same else "differs from the expected output"


_HANDLERS = {
    "json": _json,
    "json_schema": _json_schema,
    "contains": _contains,
    "not_contains": _not_contains,
    "regex": _regex,
    "length": _length,
    "not_refusal": _not_refusal,
    "similar": _similar,
    "equals": _equals,
}
