"""Map every attribute dialect people send onto the normalized span (store.schema.SPANS).

Dialects: OTel GenAI semconv (old and new names, messages as arrays, JSON strings or
events), OpenInference (flattened ``llm.input_messages.N``), OpenLLMetry/Traceloop
(``gen_ai.prompt.N``), the Langfuse SDK (``langfuse.observation.*``) and LiteLLM's
otel callback in both its modes. Attributes no rule maps are kept raw.
"""

from store.collector.normalize.batch import SpanBatchBuilder

__all__ = ["SpanBatchBuilder"]
