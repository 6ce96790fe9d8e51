"""``llmops-console demo``: realistic synthetic LLM traffic, sent through the real
collector (OTLP/HTTP protobuf to ``/v1/traces``), so a new user sees a living console.

Headless: no Textual. The pieces, each with one job:

* ``spans``/``otlp``: a tiny span model and its ExportTraceServiceRequest encoding;
* ``models``/``llm``: the model catalog and one LLM call's tokens, cache and timing;
* ``dialects``: the same call written the way each instrumentation writes it
  (OTel GenAI new and old names, OpenInference, OpenLLMetry, Langfuse, LiteLLM);
* ``corpus``: the text (support questions, product docs, SQL, chats);
* ``scenarios``: one module per demo service, building whole traces;
* ``schedule``: when traces happen (days back, denser today, sessions) and the
  featured ones (the runaway loop, errors, PII, injections) that always appear;
* ``prompts``: the demo's prompt files, whose rendered text the spans carry;
* ``collector``/``send``/``run``: find or start a collector, send, summarize.

Everything is deterministic for a seed (and a given "now").
"""

from console.demo.collector import DemoError
from console.demo.run import DemoOptions, DemoReport, default_demo_dir, run_demo
from console.demo.schedule import Traffic, generate_traces

__all__ = ["DemoError", "DemoOptions", "DemoReport", "Traffic", "default_demo_dir", "generate_traces", "run_demo"]
