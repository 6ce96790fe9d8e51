"""Classifying a span into the console's kinds."""

from __future__ import annotations

KINDS = ("llm", "chain", "tool", "retriever", "agent", "embedding", "reranker", "guardrail", "evaluator",
         "prompt", "event", "unknown")

_OPENINFERENCE = {k.upper(): k for k in KINDS}
_LANGFUSE = {"generation": "llm", "span": "chain", "event": "event", "agent": "agent", "tool": "tool",
             "chain": "chain", "retriever": "retriever", "embedding": "embedding", "evaluator": "evaluator",
             "guardrail": "guardrail"}
_OPERATION = {"chat": "llm", "generate_content": "llm", "text_completion": "llm", "completion": "llm",
              "acompletion": "llm", "atext_completion": "llm", "responses": "llm", "aresponses": "llm",
              "embeddings": "embedding", "embedding": "embedding", "aembedding": "embedding",
              "execute_tool": "tool", "invoke_agent": "agent", "create_agent": "agent",
              "retrieval": "retriever", "invoke_workflow": "chain", "rerank": "reranker", "arerank": "reranker"}
_TRACELOOP = {"workflow": "chain", "task": "chain", "agent": "agent", "tool": "tool"}


def classify(openinference: str | None, langfuse: str | None, operation: str | None,
             traceloop: str | None, has_model_usage: bool) -> str:
    if openinference:
        return _OPENINFERENCE.get(openinference.upper(), "unknown")
    if langfuse:
        return _LANGFUSE.get(langfuse.lower(), "unknown")
    if operation:
        kind = _OPERATION.get(operation.lower())
        if kind:
            return kind
    if traceloop:
        kind = _TRACELOOP.get(traceloop.lower())
        if kind:
            return kind
    return "llm" if has_model_usage else "unknown"
