"""Reading, checking and writing prompt YAML files.

Validation decides two things the format leaves open:

- A variable used in the text but not declared is an **error only when the file
  has a** ``variables:`` **section** (declaring some means the author meant to
  declare all, so a miss is likely a typo). Without one, every variable used is
  implicitly declared and required.
- A declared variable that no text uses is a **warning** (often left over from an edit).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import yaml

from store.prompts import template as tpl
from store.prompts.files import version_of
from store.prompts.model import EXTRA_KEYS, KNOWN_KEYS, PARAM_KEYS, ROLES, Issue, Prompt, PromptError, VariableSpec

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-/]*$")
_TEXT_KEYS = ("system", "messages", "template")


def _error(code: str, message: str, line: int | None = None, column: int | None = None) -> Issue:
    return Issue("error", code, message, line, column)


def _warning(code: str, message: str, line: int | None = None, column: int | None = None) -> Issue:
    return Issue("warning", code, message, line, column)


def _compose(text: str) -> tuple[Any, yaml.Node | None, list[Issue]]:
    """The YAML document and its node tree (for line numbers), or a syntax issue."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
        return data, node, []
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        return None, None, [_error("yaml", f"YAML syntax: {problem}", mark.line + 1 if mark else None, mark.column + 1 if mark else None)]
    except yaml.YAMLError as exc:
        return None, None, [_error("yaml", f"YAML: {exc}")]
    finally:
        loader.dispose()


def _key_nodes(node: yaml.Node | None) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {str(k.value): (k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode)}


def _duplicate_keys(node: yaml.Node | None) -> list[Issue]:
    """PyYAML keeps the last of two equal keys silently; an editor user wants to know."""
    issues: list[Issue] = []
    if not isinstance(node, yaml.MappingNode):
        return issues
    seen: set[str] = set()
    for key, value in node.value:
        if isinstance(key, yaml.ScalarNode):
            if key.value in seen:
                issues.append(_error("duplicate-key", f"key {key.value!r} appears twice; the last one wins", key.start_mark.line + 1, key.start_mark.column + 1))
            seen.add(key.value)
        if isinstance(value, yaml.MappingNode):
            issues.extend(_duplicate_keys(value))
    return issues


def _line_of(key: str, keys: dict[str, tuple[yaml.Node, yaml.Node]]) -> int | None:
    return keys[key][0].start_mark.line + 1 if key in keys else None


def _variable_line(name: str, text: str, keys: dict[str, tuple[yaml.Node, yaml.Node]]) -> int | None:
    """The first line of the file, inside a text part, that uses ``{{name}}``."""
    pattern = re.compile(r"\{\{\{?\s*" + re.escape(name) + r"\s*\}?\}\}")
    lines = text.splitlines()
    for key in _TEXT_KEYS:
        if key not in keys:
            continue
        value = keys[key][1]
        for index in range(value.start_mark.line, min(value.end_mark.line + 1, len(lines))):
            if pattern.search(lines[index]):
                return index + 1
    return None


def _parse_variables(raw: Any, line: int | None, issues: list[Issue]) -> dict[str, VariableSpec]:
    if raw is None:
        return {}
    if isinstance(raw, list):
        return {str(n): VariableSpec(str(n)) for n in raw}
    if not isinstance(raw, dict):
        issues.append(_error("bad-type", "variables: must be a mapping (name: default, or name: {default, description}) or a list of names", line))
        return {}
    specs: dict[str, VariableSpec] = {}
    for name, value in raw.items():
        name = str(name)
        if isinstance(value, dict):
            unknown = set(value) - {"default", "description"}
            if unknown:
                issues.append(_warning("unknown-key", f"variable {name!r}: unknown keys {sorted(unknown)}", line))
            default = value.get("default")
            specs[name] = VariableSpec(name, None if default is None else str(default), value.get("description"))
        else:
            specs[name] = VariableSpec(name, None if value is None else str(value))
    return specs


def _parse_messages(raw: Any, line: int | None, issues: list[Issue]) -> list[dict[str, str]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        issues.append(_error("bad-type", "messages: must be a list of {role, content}", line))
        return []
    messages: list[dict[str, str]] = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("content"), str):
            issues.append(_error("bad-type", f"messages[{index}]: needs a role and a text content", line))
            continue
        role = item.get("role")
        if role not in ROLES:
            issues.append(_error("bad-value", f"messages[{index}]: role must be one of {', '.join(ROLES)}, not {role!r}", line))
            continue
        messages.append({"role": role, "content": item["content"]})
    return messages


def _check_number(data: dict, key: str, keys: dict, issues: list[Issue], *, integer: bool, low: float, high: float) -> Any:
    value = data.get(key)
    if value is None:
        return None
    line = _line_of(key, keys)
    if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)):
        issues.append(_error("bad-type", f"{key}: must be {'an integer' if integer else 'a number'}, not {value!r}", line))
        return None
    if not (low <= value <= high) or (isinstance(value, float) and math.isnan(value)):
        issues.append(_error("bad-value", f"{key}: {value} is outside {low:g}..{high:g}", line))
        return None
    return value


def parse_prompt(text: str, path: Path | None = None, *, version: str | None = None) -> tuple[Prompt | None, list[Issue]]:
    """Read a prompt file's text. Returns the prompt (None when it has errors that make it unusable) and every issue."""
    data, node, issues = _compose(text)
    if issues:
        return None, issues
    if not isinstance(data, dict):
        return None, [_error("not-mapping", "a prompt file is a YAML mapping with at least id: and template:", 1)]
    keys = _key_nodes(node)
    issues.extend(_duplicate_keys(node))
    for key in data:
        if str(key) not in KNOWN_KEYS:
            issues.append(_warning("unknown-key", f"unknown key {key!r} (ignored)", _line_of(str(key), keys)))

    prompt_id = data.get("id")
    if prompt_id is None or prompt_id == "":
        issues.append(_error("missing-id", "missing id:", 1))
    elif not isinstance(prompt_id, str) or not _ID.match(prompt_id):
        issues.append(_error("bad-value", f"id: {prompt_id!r} must be letters, digits, '_', '-', '.', '/'", _line_of("id", keys)))

    texts: dict[str, str | None] = {}
    for key in ("template", "system", "model"):
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            issues.append(_error("bad-type", f"{key}: must be text", _line_of(key, keys)))
            value = None
        texts[key] = value
    messages = _parse_messages(data.get("messages"), _line_of("messages", keys), issues)
    if texts["template"] is None and not data.get("messages"):
        issues.append(_error("missing-template", "missing template: (or messages:)", 1))
    temperature = _check_number(data, "temperature", keys, issues, integer=False, low=0, high=2)
    max_tokens = _check_number(data, "max_tokens", keys, issues, integer=True, low=1, high=10_000_000)
    variables = _parse_variables(data.get("variables"), _line_of("variables", keys), issues)

    prompt = Prompt(
        id=prompt_id if isinstance(prompt_id, str) else str(prompt_id or ""),
        template=texts["template"],
        system=texts["system"],
        messages=messages,
        model=texts["model"],
        temperature=temperature,
        max_tokens=max_tokens,
        params={k: data[k] for k in PARAM_KEYS if data.get(k) is not None},
        variables=variables,
        extra={k: v for k, v in data.items() if str(k) in EXTRA_KEYS or str(k) not in KNOWN_KEYS},
        version=version or version_of(text),
        path=Path(path) if path else None,
        text=text,
        declares_variables="variables" in data,
    )
    issues.extend(_variable_issues(prompt, text, keys))
    if any(i.severity == "error" for i in issues):
        return None, issues
    return prompt, issues


def _variable_issues(prompt: Prompt, text: str, keys: dict) -> list[Issue]:
    issues: list[Issue] = []
    used: dict[str, None] = {}
    for _role, part in prompt.parts():
        parsed = tpl.parse(part)
        used.update(dict.fromkeys(parsed.names))
        if parsed.stray:
            line = _stray_line(part, text, keys)
            issues.append(_warning("stray-braces", "'{{' that is not a {{variable}} stays literal; write \\{{ to say so", line))
    if prompt.declares_variables:
        for name in used:
            if name not in prompt.variables:
                issues.append(_error("undefined-variable", f"{{{{{name}}}}} is used but not declared under variables:", _variable_line(name, text, keys)))
    for name in prompt.variables:
        if name not in used:
            issues.append(_warning("unused-variable", f"variable {name!r} is declared but never used", _line_of("variables", keys)))
    return issues


def _stray_line(part: str, text: str, keys: dict) -> int | None:
    lines = text.splitlines()
    for key in _TEXT_KEYS:
        if key in keys:
            value = keys[key][1]
            for index in range(value.start_mark.line, min(value.end_mark.line + 1, len(lines))):
                if "{{" in lines[index] and not re.search(r"\{\{\{?\s*" + tpl.NAME + r"\s*\}?\}\}", lines[index]):
                    return index + 1
    return None


def validate(text: str) -> list[Issue]:
    """Every problem in a prompt file's text: errors first, then warnings, each by line."""
    _prompt, issues = parse_prompt(text)
    return sorted(issues, key=lambda i: (i.severity != "error", i.line or 0))


def load_prompt(path: Path) -> Prompt:
    """Read a prompt file; raises :class:`PromptError` (with the issues) when it has errors."""
    path = Path(path)
    data = path.read_bytes()
    prompt, issues = parse_prompt(data.decode("utf-8-sig"), path, version=version_of(data))
    if prompt is None:
        raise PromptError(f"{path}: not a valid prompt", issues, path)
    return prompt


class _Dumper(yaml.SafeDumper):
    pass


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    # Block style keeps multi-line templates readable in the file and in git diffs.
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|" if "\n" in data else None)


_Dumper.add_representer(str, _represent_str)


def dump_prompt(prompt: Prompt) -> str:
    """The YAML text of a prompt, keys in a fixed order (id, model, params, system, messages, template, variables, extras)."""
    data: dict[str, Any] = {"id": prompt.id}
    if prompt.description is not None:
        data["description"] = prompt.description
    for key in ("model", "temperature", "max_tokens"):
        if getattr(prompt, key) is not None:
            data[key] = getattr(prompt, key)
    data.update(prompt.params)
    if prompt.system is not None:
        data["system"] = prompt.system
    if prompt.messages:
        data["messages"] = [dict(m) for m in prompt.messages]
    if prompt.template is not None:
        data["template"] = prompt.template
    if prompt.variables or prompt.declares_variables:
        data["variables"] = {
            name: ({"default": spec.default, "description": spec.description} if spec.description else spec.default)
            for name, spec in prompt.variables.items()
        }
    data.update({k: v for k, v in prompt.extra.items() if k != "description"})
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
