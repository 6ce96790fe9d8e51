"""Property checks: no input makes parsing, derivation or quantiles raise."""

from __future__ import annotations

import math

from health_stub import fixture_text
from hypothesis import given, settings
from hypothesis import strategies as st

from store.health.histogram import histogram_quantile
from store.health.prometheus import parse_metrics
from store.health.vllm import VllmMetrics, derive

FIXTURE_LINES = fixture_text("metrics-datadog-mixed-v0.4.3-plus-v1-names.txt").splitlines()

junk_line = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["...", "$ curl http://0.0.0.0:8000/metrics", "# TYPE x bogus", "x{le=", '{}', "vllm:x{a=\"1\"} NaN"]),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(FIXTURE_LINES), junk_line), max_size=40))
def test_any_mix_of_real_and_junk_lines_parses(lines):
    snapshot = parse_metrics("\n".join(lines))
    metrics = VllmMetrics.from_snapshot(snapshot)
    derive(metrics, metrics, 5.0)
    assert snapshot.bad_lines >= 0


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0, 100), st.floats(0, 1000)), min_size=1, max_size=8),
    st.floats(0, 1),
)
def test_quantile_stays_inside_the_finite_bounds(finite, q):
    buckets = sorted(finite) + [(math.inf, max(c for _, c in finite) + 1)]
    value = histogram_quantile(q, buckets)
    assert value is None or 0 <= value <= max(le for le, _ in finite)
