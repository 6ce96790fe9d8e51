"""The fast exposition reader gives exactly what prometheus_client gives, or steps aside."""

from __future__ import annotations

from health_stub import FIXTURES, fixture_text
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from store.health.prometheus import _build, _fast_families, parse_metrics
from tests.support.fake_vllm import MovingMetrics

MIXED = fixture_text("metrics-datadog-mixed-v0.4.3-plus-v1-names.txt")
LINES = [line for name in sorted(p.name for p in FIXTURES.glob("*.txt")) for line in fixture_text(name).splitlines()]


def slow(text: str):  # type: ignore[no-untyped-def]
    return _build(text_string_to_metric_families(text))


def same(a, b) -> bool:  # type: ignore[no-untyped-def]
    return repr(a) == repr(b)  # NaN values compare unequal; their reprs do not


def test_real_captures_take_the_fast_path_with_equal_results():
    for text in (MIXED, fixture_text("metrics-v0.4.3-gpu_cache_usage-datadog.txt"), MovingMetrics(MIXED, 2).body(60)):
        fast = _fast_families(text)
        assert fast is not None and same(fast, slow(text))
        assert list(fast) == list(slow(text))  # same order


def test_families_and_counter_names_follow_prometheus_client():
    text = ('# HELP a_total things\n# TYPE a_total counter\na_total{x="1"} 3\n'
            '# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_count 2\nh_sum 1.5\n'
            'loose 7 1700000000000\n'
            '# TYPE g gauge\ng{v="a\\\\b\\"c\\nd"} NaN\ng{v="z",} +Inf\n')
    fast = _fast_families(text)
    assert same(fast, slow(text))
    assert fast["a"].type == "counter" and fast["a"].samples[0].name == "a_total"
    assert fast["loose"].type == "unknown" and fast["g"].samples[0].labels["v"] == 'a\\b"c\nd'


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(
    st.sampled_from(LINES),
    st.text(alphabet=' #{}="\\,_:aelTYPEHLP019.+-\t', max_size=30),
    st.sampled_from(['# TYPE x counter', '# TYPE x bogus', 'x 1', 'x{a="1",a="2"} 1', 'x{__name__="y"} 1',
                     'x{a="}"} 1', 'x 1_0', '# HELP x', '#  HELP x y', 'x{} 1', 'x{a="1"}2']),
), max_size=30))
def test_fast_path_agrees_or_steps_aside(lines):
    text = "\n".join(lines)
    fast = _fast_families(text)
    if fast is not None:
        assert same(fast, slow(text))
    parse_metrics(text)  # never raises either way
