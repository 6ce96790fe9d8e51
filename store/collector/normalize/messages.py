"""Chat messages from every dialect, into one normalized shape.

``{"role", "content", "tool_calls": [{"id", "name", "arguments"}], "tool_call_id", "name",
"finish_reason"}``; keys with no value are left out.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

import orjson

_DATA_URL = re.compile(r"data:([\w/+.-]+);base64,([A-Za-z0-9+/=]{64,})")


def _shrink_data_urls(s: str) -> str:
    # Inline images can be megabytes of base64: show what they are, not their bytes.
    return _DATA_URL.sub(lambda m: f"[{m.group(1)} data, {len(m.group(2)) * 3 // 4} bytes]", s)


def _text_of_parts(parts: Iterable[Any]) -> str:
    out = []
    for p in parts:
        if isinstance(p, str):
            out.append(p)
        elif isinstance(p, dict):
            t = p.get("type")
            if t in (None, "text", "input_text", "output_text"):
                txt = p.get("content", p.get("text"))
                if isinstance(txt, str):
                    out.append(txt)
                elif txt is not None:
                    out.append(orjson.dumps(txt).decode())
            elif t in ("image_url", "image", "input_image", "blob", "uri", "file"):
                out.append(f"[{t}]")
    return "\n".join(out)


def content_text(content: Any) -> str | None:
    if content is None:
        return None
    if isinstance(content, str):
        if content[:1] == "[" and '"type"' in content[:200]:
            try:
                parsed = orjson.loads(content)
            except orjson.JSONDecodeError:
                return _shrink_data_urls(content) if "base64," in content else content
            if isinstance(parsed, list):
                return _text_of_parts(parsed)
        return _shrink_data_urls(content) if "base64," in content else content
    if isinstance(content, list):
        return _text_of_parts(content)
    if isinstance(content, dict):
        return _text_of_parts([content])
    return str(content)


def _args_text(args: Any) -> str:
    if isinstance(args, str):
        return args
    return orjson.dumps(args).decode() if args is not None else ""


def _clean(m: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in m.items() if v not in (None, "", [])}


def from_genai(messages: Any, default_role: str | None = None) -> list[dict[str, Any]]:
    """OTel GenAI ``parts`` messages, OpenAI-style ``content`` messages, or a bare string."""
    if isinstance(messages, dict):
        messages = [messages]
    if isinstance(messages, str):
        return [{"role": default_role or "user", "content": messages}]
    if not isinstance(messages, list):
        return []
    out = []
    for m in messages:
        if isinstance(m, str):
            out.append({"role": default_role or "user", "content": m})
            continue
        if not isinstance(m, dict):
            continue
        role = m.get("role") or default_role
        tool_calls, texts, tool_call_id = [], [], m.get("tool_call_id")
        if "parts" in m and isinstance(m["parts"], list):
            for p in m["parts"]:
                if not isinstance(p, dict):
                    continue
                t = p.get("type")
                if t == "tool_call":
                    tool_calls.append(_clean({"id": p.get("id"), "name": p.get("name"),
                                              "arguments": _args_text(p.get("arguments"))}))
                elif t == "tool_call_response":
                    tool_call_id = tool_call_id or p.get("id")
                    r = p.get("response", p.get("result"))
                    texts.append(r if isinstance(r, str) else orjson.dumps(r).decode())
                else:
                    s = _text_of_parts([p])
                    if s:
                        texts.append(s)
            content = "\n".join(texts) if texts else None
        else:
            content = content_text(m.get("content"))
        for tc in m.get("tool_calls") or []:
            if isinstance(tc, dict):
                fn = tc.get("function") if isinstance(tc.get("function"), dict) else tc
                tool_calls.append(_clean({"id": tc.get("id"), "name": fn.get("name"),
                                          "arguments": _args_text(fn.get("arguments"))}))
        if role == "tool" and tool_call_id is None:
            tool_call_id = m.get("id")
        out.append(_clean({"role": role, "content": content, "tool_calls": tool_calls,
                           "tool_call_id": tool_call_id, "name": m.get("name"),
                           "finish_reason": m.get("finish_reason")}))
    return out


def unflatten(pairs: Iterable[tuple[str, Any]]) -> list[Any]:
    """``[("0.message.role", "user"), ...]`` into a list of nested dicts."""
    root: dict[Any, Any] = {}
    for path, value in pairs:
        node = root
        parts = path.split(".")
        for seg in parts[:-1]:
            key = int(seg) if seg.isdigit() else seg
            nxt = node.get(key)
            if not isinstance(nxt, dict):
                nxt = node[key] = {}
            node = nxt
        last = parts[-1]
        node[int(last) if last.isdigit() else last] = value
    return _listify(root) if root else []


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    if node and all(isinstance(k, int) for k in node):
        return [_listify(node[k]) for k in sorted(node)]
    return {k: _listify(v) for k, v in node.items()}


def from_openinference(items: list[Any]) -> list[dict[str, Any]]:
    out = []
    for item in items:
        m = item.get("message") if isinstance(item, dict) else None
        if not isinstance(m, dict):
            continue
        content = m.get("content")
        if content is None and isinstance(m.get("contents"), list):
            content = "\n".join(
                str(c.get("message_content", {}).get("text", ""))
                for c in m["contents"] if isinstance(c, dict)
            ) or None
        tool_calls = []
        for tc in m.get("tool_calls") or []:
            call = tc.get("tool_call", tc) if isinstance(tc, dict) else {}
            fn = call.get("function", {}) if isinstance(call.get("function"), dict) else {}
            tool_calls.append(_clean({"id": call.get("id"), "name": fn.get("name"),
                                      "arguments": _args_text(fn.get("arguments"))}))
        out.append(_clean({"role": m.get("role"), "content": content_text(content),
                           "tool_calls": tool_calls, "tool_call_id": m.get("tool_call_id"),
                           "name": m.get("name")}))
    return out


def from_openllmetry(items: list[Any]) -> list[dict[str, Any]]:
    out = []
    for m in items:
        if not isinstance(m, dict):
            continue
        tool_calls = [
            _clean({"id": tc.get("id"), "name": tc.get("name"), "arguments": _args_text(tc.get("arguments"))})
            for tc in (m.get("tool_calls") or []) if isinstance(tc, dict)
        ]
        out.append(_clean({"role": m.get("role"), "content": content_text(m.get("content")),
                           "tool_calls": tool_calls, "tool_call_id": m.get("tool_call_id"),
                           "finish_reason": m.get("finish_reason")}))
    return out


def clean_simple(msgs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Messages that hold only flat string fields (the common case of flattened families)."""
    out = []
    for m in msgs:
        c = m.get("content")
        if c is not None and (c[:1] == "[" or "base64," in c):
            m["content"] = content_text(c)
        out.append({k: v for k, v in m.items() if v})
    return out


def looks_like_messages(x: Any) -> bool:
    return isinstance(x, list) and bool(x) and all(isinstance(m, dict) and "role" in m for m in x)
