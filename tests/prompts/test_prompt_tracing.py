import json

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from store.prompts import Prompt
from store.prompts.tracing import annotate_span, prompt_context, prompt_span_processor


def make_tracer():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(prompt_span_processor())
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider.get_tracer("test"), exporter


def test_prompt_context_stamps_current_and_child_spans():
    tracer, exporter = make_tracer()
    prompt = Prompt(id="extract-invoice", template="x", version="abcdef012345")
    with tracer.start_as_current_span("app"):
        with prompt_context(prompt, variables={"document": "D"}):
            with tracer.start_as_current_span("chat gpt"):
                pass
        with tracer.start_as_current_span("after"):
            pass
    spans = {s.name: s.attributes for s in exporter.get_finished_spans()}
    for name in ("app", "chat gpt"):
        assert spans[name]["prompt.id"] == "extract-invoice"
        assert spans[name]["prompt.version"] == "abcdef012345"
        assert json.loads(spans[name]["prompt.variables"]) == {"document": "D"}
    assert "prompt.id" not in spans["after"]


def test_annotate_span_sets_attributes_and_tolerates_no_span():
    tracer, exporter = make_tracer()
    with tracer.start_as_current_span("llm") as span:
        annotate_span(span, "p1", version="v1")
    annotate_span(None, "p1")  # no current span: nothing happens
    assert exporter.get_finished_spans()[0].attributes["prompt.version"] == "v1"
