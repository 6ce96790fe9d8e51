"""One OTLP span into one normalized row (a dict keyed by store.schema.SPANS columns)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable

import orjson

from store.collector.normalize import flat as F
from store.collector.normalize import keys as K
from store.collector.normalize import messages as M
from store.collector.normalize.kinds import classify
from store.collector.normalize.plan import plan_for
from store.collector.normalize.providers import canonical
from store.collector.normalize.values import (as_float, as_int, as_json, as_str, as_str_list, clip, clip_json,
                                              dumps, to_python)

STATUS = {0: "unset", 1: "ok", 2: "error"}
_EMPTY_PARENT = b""
_EARLIEST_NS = 946_684_800 * 10**9  # 2000-01-01: anything before is a clock that was never set
_SKEW_NS = 86_400 * 10**9  # how far ahead of arrival a sender's clock may run

# (model, provider, usage dict, reported cost, server address)
#   -> (cost_usd or None, source, the provider whose price applied or None)
PriceFn = Callable[[str | None, str | None, dict[str, int | None], float | None, str | None],
                   tuple[float | None, str, str | None]]


class InvalidSpan(ValueError):
    pass


def _dialect(found: dict[str, Any], families: dict[str, Any], raw_attrs: dict[str, Any]) -> str:
    if "kind_langfuse" in found or any(k.startswith("langfuse.") for k in raw_attrs):
        return "langfuse"
    if "litellm_hidden" in found or K.LITELLM_CALL_ID in raw_attrs:
        return "litellm"
    if "kind_openinference" in found:
        return "openinference"
    if "kind_traceloop" in found or K.OLL_PROMPT in families or K.OLL_COMPLETION in families:
        return "openllmetry"
    if "operation" in found or "provider" in found or "model" in found:
        return "genai"
    return "otel"


def _event_messages(events: list[dict[str, Any]]) -> tuple[list, list, list]:
    """GenAI content sent as span events instead of attributes."""
    inputs: list = []
    outputs: list = []
    system: list = []
    for ev in events:
        name, attrs = ev["name"], ev["attributes"]
        if name == "gen_ai.client.inference.operation.details":
            for key, bucket in ((K.INPUT_MESSAGES, inputs), (K.OUTPUT_MESSAGES, outputs)):
                if key in attrs:
                    bucket.extend(M.from_genai(_maybe_json(attrs[key])))
            if K.SYSTEM_INSTRUCTIONS in attrs:
                system.extend(M.from_genai(_maybe_json(attrs[K.SYSTEM_INSTRUCTIONS]), "system"))
        elif name in ("gen_ai.system.message", "gen_ai.user.message", "gen_ai.assistant.message",
                      "gen_ai.tool.message"):
            role = name.split(".")[1]
            msg = {"role": attrs.get("role", role), "content": attrs.get("content")}
            if "tool_calls" in attrs:
                msg["tool_calls"] = _maybe_json(attrs["tool_calls"])
            if "id" in attrs:
                msg["tool_call_id"] = attrs["id"]
            inputs.extend(M.from_genai([msg]))
        elif name == "gen_ai.choice":
            msg = _maybe_json(attrs.get("message", {}))
            if isinstance(msg, dict):
                msg = {"role": "assistant", **msg, "finish_reason": attrs.get("finish_reason")}
                outputs.extend(M.from_genai([msg]))
        elif name == "gen_ai.content.prompt" and "gen_ai.prompt" in attrs:
            inputs.extend(M.from_genai(_maybe_json(attrs["gen_ai.prompt"])))
        elif name == "gen_ai.content.completion" and "gen_ai.completion" in attrs:
            outputs.extend(M.from_genai(_maybe_json(attrs["gen_ai.completion"]), "assistant"))
    return system, inputs, outputs


def _seconds_after(value: Any, start_ns: int) -> float | None:
    """Langfuse sends completion_start_time as an ISO timestamp: TTFT is its distance
    from the span's start."""
    x = to_python(value)
    try:
        if isinstance(x, str):
            ts = datetime.fromisoformat(x.replace("Z", "+00:00"))
            if ts.tzinfo is None:
                ts = ts.replace(tzinfo=timezone.utc)
            ns = int(ts.timestamp() * 1e9)
        elif isinstance(x, (int, float)):
            ns = int(x * 1e9) if x < 1e11 else int(x * 1e6) if x < 1e14 else int(x * 1e3) if x < 1e17 else int(x)
        else:
            return None
    except (ValueError, OverflowError):
        return None
    delta = (ns - start_ns) / 1e9
    return delta if 0 <= delta < 3600 else None


def _maybe_json(x: Any) -> Any:
    if isinstance(x, str) and x[:1] in ("[", "{"):
        try:
            return orjson.loads(x)
        except orjson.JSONDecodeError:
            return x
    return x


def _last_content(msgs: list[dict[str, Any]] | None, role: str | None = None) -> str | None:
    for m in reversed(msgs or ()):
        if role is None or m.get("role") == role:
            return m.get("content")
    return None


def normalize_span(span: Any, service: str, resource_json: str, base_tags: list[str], received_us: int,
                   price: PriceFn | None) -> dict[str, Any]:
    tid, sid, pid = span.trace_id, span.span_id, span.parent_span_id
    if len(tid) != 16 or not any(tid):
        raise InvalidSpan(f"traceId must be 16 non-zero bytes, got {len(tid)}")
    if len(sid) != 8 or not any(sid):
        raise InvalidSpan(f"spanId must be 8 non-zero bytes, got {len(sid)}")
    if pid != _EMPTY_PARENT and len(pid) != 8:
        raise InvalidSpan(f"parentSpanId must be empty or 8 bytes, got {len(pid)}")

    # The hot path: one dict of every attribute (C-level); the shape's plan says which
    # keys are mapped, flattened or raw, so each span only fetches and converts.
    attrs = {kv.key: kv.value for kv in span.attributes}
    plan = plan_for(tuple(attrs))
    found = {f: attrs[k] for f, k in plan.mapped}
    get = found.get

    raw_attrs = {k: to_python(attrs[k]) for k in plan.raw}
    events = [{"name": e.name, "time_unix_nano": e.time_unix_nano,
               "attributes": {a.key: to_python(a.value) for a in e.attributes}} for e in span.events]

    def s(field: str) -> str | None:
        v = get(field)
        return as_str(v) if v is not None else None

    model, response_model, provider, operation = s("model"), s("response_model"), s("provider"), s("operation")
    model = model or response_model
    usage = dict.fromkeys(USAGE_FIELDS)
    for f in plan.usage_fields:
        usage[f] = as_int(found[f])
    reported_cost = as_float(found["cost"]) if "cost" in found else None

    if "langfuse_usage" in found:
        _langfuse_usage(as_json(found["langfuse_usage"]), usage)
    if reported_cost is None and "langfuse_cost" in found:
        cd = as_json(found["langfuse_cost"])
        if isinstance(cd, dict) and isinstance(cd.get("total"), (int, float)):
            reported_cost = float(cd["total"])
    if reported_cost is None and "litellm_hidden" in found:
        hp = as_json(found["litellm_hidden"])
        if isinstance(hp, dict) and isinstance(hp.get("response_cost"), (int, float)) and hp["response_cost"] > 0:
            reported_cost = float(hp["response_cost"])

    in_msgs, out_msgs, tools = _messages(found, attrs, plan.families, events)

    input_value, output_value = s("input_value"), s("output_value")
    if "__documents" in found:  # OpenInference retrievers list their documents
        if output_value is None:
            output_value = dumps(found["__documents"])
        else:
            raw_attrs["retrieval.documents"] = found["__documents"]
    # Langfuse and OpenInference often carry the chat as their input/output value.
    if not in_msgs and input_value and input_value[:1] in "[{":
        parsed = _maybe_json(input_value)
        if isinstance(parsed, dict) and M.looks_like_messages(parsed.get("messages")):
            parsed = parsed["messages"]
        if M.looks_like_messages(parsed):
            in_msgs, input_value = M.from_genai(parsed), None
    if not out_msgs and output_value and output_value[:1] in "[{":
        parsed = _maybe_json(output_value)
        if isinstance(parsed, dict) and "role" in parsed:
            parsed = [parsed]
        if M.looks_like_messages(parsed):
            out_msgs, output_value = M.from_genai(parsed, "assistant"), None
    # The same text twice (messages and input.value) is stored once.
    if in_msgs and input_value is not None and input_value == _last_content(in_msgs, "user"):
        input_value = None
    if out_msgs and output_value is not None and output_value == _last_content(out_msgs):
        output_value = None

    params: dict[str, Any] = {}
    for f in ("param_json0", "param_json1"):
        if f in found:
            p = as_json(found[f])
            if isinstance(p, dict):
                params.update(p)
    for f in plan.param_fields:
        params[f[6:]] = to_python(found[f])
    stream = params.get("stream")
    if isinstance(stream, str):  # LiteLLM sends llm.is_streaming as the text "False"
        params["stream"] = stream.strip().lower() == "true"
    if tools:
        params["tools"] = tools

    finish = None
    if "finish_reasons" in found:
        fr = as_str_list(found["finish_reasons"])
        finish = fr[0] if fr else None
    if finish is None and out_msgs:
        finish = out_msgs[-1].get("finish_reason")

    ttft = as_float(found["ttft"]) if "ttft" in found else None
    server = s("server_address")
    if server and "server_port" in found:
        port = as_int(found["server_port"])
        if port:
            server = f"{server}:{port}"

    tags = list(base_tags)
    for f in ("tags0", "tags1", "tags2"):
        if f in found:
            tags.extend(t for t in as_str_list(found[f]) if t not in tags)

    kind = classify(s("kind_openinference"), s("kind_langfuse") if plan.has_langfuse_kind else None, operation,
                    s("kind_traceloop") if plan.has_traceloop_kind else None,
                    model is not None and (usage["input_tokens"] is not None or usage["output_tokens"] is not None))

    status = STATUS.get(span.status.code, "unset")
    status_message = span.status.message or None
    if s("langfuse_level") == "ERROR":
        status = "error"
        status_message = status_message or s("langfuse_status_message")
    if "error.type" in raw_attrs and status != "error":
        status, status_message = "error", status_message or str(raw_attrs["error.type"])

    start_ns, end_ns = span.start_time_unix_nano, span.end_time_unix_nano
    received_ns = received_us * 1000
    if not start_ns:
        # Missing timestamps: stored at arrival, and said so.
        start_ns = received_ns
        raw_attrs["llmops.missing_start_time"] = True
    elif start_ns < _EARLIEST_NS or start_ns > received_ns + _SKEW_NS:
        # A clock that is not set (1970) or garbage (year 586912) would put the trace in a
        # partition retention drops at once, or on top of "newest first" forever: stored at
        # arrival, with the duration kept and the original time said.
        raw_attrs["llmops.implausible_start_time_unix_nano"] = start_ns
        duration = end_ns - start_ns if start_ns < end_ns <= start_ns + _SKEW_NS else 0
        start_ns = received_ns
        end_ns = start_ns + duration
    if end_ns < start_ns:
        if end_ns:
            raw_attrs["llmops.end_before_start"] = True
        end_ns = start_ns
    elif end_ns > received_ns + _SKEW_NS:
        raw_attrs["llmops.implausible_end_time_unix_nano"] = end_ns
        end_ns = start_ns

    if ttft is None and "completion_start" in found:
        ttft = _seconds_after(found["completion_start"], start_ns)

    cost, cost_source = None, None
    priced_provider = None
    if kind in ("llm", "embedding") or usage["input_tokens"] is not None or reported_cost is not None:
        if reported_cost is None and all(v is None for v in usage.values()):
            cost_source = "no_usage"  # nothing to price: the app sent no token counts (often a failed call)
        elif price is not None:
            cost, cost_source, priced_provider = price(response_model or model, provider, usage, reported_cost,
                                                       server)
        elif reported_cost is not None:
            cost, cost_source = reported_cost, "reported"
        else:
            cost_source = "unknown"

    return {
        "trace_id": tid.hex(),
        "span_id": sid.hex(),
        "parent_id": pid.hex() if pid else None,
        "name": clip(span.name) or "(unnamed)",
        "kind": kind,
        "otel_kind": span.kind if 0 <= span.kind <= 5 else 0,  # an open enum: junk must not overflow int8
        "service": service,
        "start_time": start_ns // 1000,
        "end_time": end_ns // 1000,
        "duration_ms": (end_ns - start_ns) / 1e6,
        "status": status,
        "status_message": clip(status_message),
        "operation": operation,
        "model": model,
        "provider": canonical(provider or priced_provider),
        "server_address": server,
        **usage,
        "cost_usd": cost,
        "cost_source": cost_source,
        "ttft_ms": ttft * 1000 if ttft is not None else None,
        "finish_reason": finish,
        "input_messages": clip_json(in_msgs) if in_msgs else None,
        "output_messages": clip_json(out_msgs) if out_msgs else None,
        "input_value": clip(input_value),
        "output_value": clip(output_value),
        "request_params": clip_json(params) if params else None,
        "prompt_id": s("prompt_id"),
        "prompt_version": s("prompt_version"),
        "prompt_vars": _prompt_vars(found),
        "session_id": s("session_id"),
        "user_id": s("user_id"),
        "tags": tags,
        "dialect": _dialect(found, plan.families, raw_attrs),
        "attributes": clip_json(raw_attrs) if raw_attrs else None,
        "resource": resource_json,
        "events": clip_json(events) if events else None,
        "received_at": received_us,
    }


USAGE_FIELDS = ("input_tokens", "output_tokens", "total_tokens", "cache_read_tokens", "cache_write_tokens",
                "reasoning_tokens")
_LANGFUSE_USAGE = (("input", "input_tokens"), ("prompt_tokens", "input_tokens"),
                   ("output", "output_tokens"), ("completion_tokens", "output_tokens"),
                   ("total", "total_tokens"), ("cache_read_input_tokens", "cache_read_tokens"),
                   ("input_cached_tokens", "cache_read_tokens"),
                   ("cache_creation_input_tokens", "cache_write_tokens"),
                   ("output_reasoning_tokens", "reasoning_tokens"), ("reasoning_tokens", "reasoning_tokens"))


def _langfuse_usage(ud: Any, usage: dict[str, int | None]) -> None:
    """Langfuse counts input without its cache details; the store counts them in."""
    if not isinstance(ud, dict):
        return
    had_input = usage["input_tokens"] is not None
    for src, dst in _LANGFUSE_USAGE:
        if usage[dst] is None and isinstance(ud.get(src), (int, float)):
            usage[dst] = int(ud[src])
    if not had_input and usage["input_tokens"] is not None:
        usage["input_tokens"] += (usage["cache_read_tokens"] or 0) + (usage["cache_write_tokens"] or 0)


def _messages(found: dict[str, Any], attrs: dict[str, Any], families: dict[str, Any],
              events: list[dict[str, Any]]) -> tuple[list | None, list | None, Any]:
    """Messages, in order of fidelity: structured GenAI, flattened families, legacy strings, events."""
    in_msgs: list | None = None
    out_msgs: list | None = None
    tools: Any = None
    if "input_messages" in found:
        in_msgs = M.from_genai(as_json(found["input_messages"]))
    if "output_messages" in found:
        out_msgs = M.from_genai(as_json(found["output_messages"]), "assistant")
    if families:
        if K.OI_INPUT in families and not in_msgs:
            in_msgs = F.openinference_messages(attrs, families[K.OI_INPUT])
        if K.OI_OUTPUT in families and not out_msgs:
            out_msgs = F.openinference_messages(attrs, families[K.OI_OUTPUT])
        if K.OLL_PROMPT in families and not in_msgs:
            in_msgs = F.openllmetry_messages(attrs, families[K.OLL_PROMPT])
        if K.OLL_COMPLETION in families and not out_msgs:
            out_msgs = F.openllmetry_messages(attrs, families[K.OLL_COMPLETION])
        if K.OI_DOCUMENTS in families:
            docs = [d.get("document", d) if isinstance(d, dict) else d
                    for d in F.generic(attrs, families[K.OI_DOCUMENTS])]
            found["__documents"] = docs
        if K.OI_TOOLS in families:
            tools = [_maybe_json(t.get("tool", {}).get("json_schema", t))
                     for t in F.generic(attrs, families[K.OI_TOOLS]) if isinstance(t, dict)]
        elif K.OLL_FUNCTIONS in families:
            tools = [{"type": "function", "function": {**f, "parameters": _maybe_json(f.get("parameters"))}}
                     for f in F.generic(attrs, families[K.OLL_FUNCTIONS]) if isinstance(f, dict)]
    if not in_msgs and "legacy_prompt" in found:
        in_msgs = M.from_genai(as_json(found["legacy_prompt"]))
    if not out_msgs and "legacy_completion" in found:
        out_msgs = M.from_genai(as_json(found["legacy_completion"]), "assistant")
    if events:
        ev_system, ev_in, ev_out = _event_messages(events)
        if ev_in and not in_msgs:
            in_msgs = ev_system + ev_in
        if ev_out and not out_msgs:
            out_msgs = ev_out
    if "system_instructions" in found:
        in_msgs = M.from_genai(as_json(found["system_instructions"]), "system") + (in_msgs or [])
    if "tool_definitions" in found:
        tools = as_json(found["tool_definitions"])
    return in_msgs, out_msgs, tools


def _prompt_vars(found: dict[str, Any]) -> str | None:
    v = as_json(found["prompt_vars"]) if "prompt_vars" in found else None
    if v is None:
        return None
    return dumps(v) if not isinstance(v, str) else v
