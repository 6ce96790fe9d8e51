"""Field readers for the ``from_dict()`` constructors of pricing and alert config.

Every error names the full path of the offending field (``budgets[2].period``) and
what was expected, because the person reading it is editing a YAML file.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any, NoReturn

_MISSING = object()


class ConfigError(ValueError):
    """A config value is missing or malformed; the message says where and why."""


def fail(path: str, message: str) -> NoReturn:
    raise ConfigError(f"{path}: {message}")


def as_mapping(data: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        fail(path, f"expected a mapping, got {type(data).__name__}")
    return data


def fields_of(cls: type, data: Any, path: str) -> Mapping[str, Any]:
    """``data`` as a mapping whose keys are all init fields of the dataclass ``cls``."""
    data = as_mapping(data, path)
    reject_unknown_keys(data, [f.name for f in dataclasses.fields(cls) if f.init], path)
    return data


def reject_unknown_keys(data: Mapping[str, Any], allowed: Iterable[str], path: str) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        fail(path, f"unknown field(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(sorted(allowed))}")


def get_str(data: Mapping[str, Any], key: str, path: str, default: Any = _MISSING) -> Any:
    value = data.get(key, default)
    if value is _MISSING:
        fail(f"{path}.{key}", "required")
    if value is not None and value is not default and not (isinstance(value, str) and value.strip()):
        fail(f"{path}.{key}", f"expected a non-empty string, got {value!r}")
    return value


def get_number(
    data: Mapping[str, Any],
    key: str,
    path: str,
    default: Any = _MISSING,
    *,
    minimum: float | None = None,
    positive: bool = False,
) -> Any:
    value = data.get(key, default)
    if value is _MISSING:
        fail(f"{path}.{key}", "required")
    if value is default:
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        fail(f"{path}.{key}", f"expected a number, got {value!r}")
    if positive and not value > 0:
        fail(f"{path}.{key}", f"must be > 0, got {value!r}")
    if minimum is not None and value < minimum:
        fail(f"{path}.{key}", f"must be >= {minimum}, got {value!r}")
    return float(value) if isinstance(value, float) else value


def get_choice(data: Mapping[str, Any], key: str, path: str, choices: Iterable[str], default: Any = _MISSING) -> Any:
    value = data.get(key, default)
    if value is _MISSING:
        fail(f"{path}.{key}", "required")
    choices = tuple(choices)
    if value is not default and value not in choices:
        fail(f"{path}.{key}", f"expected one of {', '.join(choices)}, got {value!r}")
    return value


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(value: Any, path: str) -> timedelta:
    """``"90s"``, ``"15m"``, ``"1h"``, ``"7d"``, ``"4w"``, or a number of seconds."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION.match(value)):
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    else:
        fail(path, f"expected a duration like '15m', '1h', '7d' or a number of seconds, got {value!r}")
    if seconds <= 0:
        fail(path, f"must be longer than zero, got {value!r}")
    return timedelta(seconds=seconds)


def get_duration(data: Mapping[str, Any], key: str, path: str, default: Any = _MISSING) -> Any:
    value = data.get(key, default)
    if value is _MISSING:
        fail(f"{path}.{key}", "required")
    if value is default:
        return value
    return parse_duration(value, f"{path}.{key}")


def get_list(data: Mapping[str, Any], key: str, path: str) -> list[Any]:
    value = data.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list):
        fail(f"{path}.{key}", f"expected a list, got {type(value).__name__}")
    return value
