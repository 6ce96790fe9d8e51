"""``costs reprice``: stored costs follow a price change, through the single writer,
with the trace totals kept in step; directly or through a running collector."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from console.cli import main
from store.pricing.config import PricingConfig
from store.query import StoreReader
from store.query.costs import CostQueries, CostQuery
from store.segments.reprice import reprice_store
from store.segments.writer import SegmentWriter
from tests.costs.cost_stores import PRICING, T0, US, cost_store, us
from tests.support.collector import start_inprocess

DAY = 86_400 * US
NEW_PRICING = {
    "overrides": {"gpt-4o": {"input_per_million": 4.0, "output_per_million": 16.0},  # doubled
                  "acme-*": {"input_per_million": 1.0, "output_per_million": 1.0}},  # newly priced
    "gpu_endpoints": PRICING["gpu_endpoints"],
}


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    return cost_store(tmp_path_factory.mktemp("reprice") / "store")


@pytest.fixture
def store(template, tmp_path) -> Path:
    copy = tmp_path / "store"
    shutil.copytree(template, copy)
    return copy


def sums(store: Path) -> dict:
    r = StoreReader(store)
    spans = r.query(f"SELECT trace_id, sum(cost_usd) AS c, count(*) FILTER (WHERE cost_source = 'unknown') AS u "
                    f"FROM {r.scan('spans')} GROUP BY trace_id")
    parts = r.query(f"SELECT trace_id, sum(cost_usd) AS c, sum(unpriced_llm_calls)::BIGINT AS u "
                    f"FROM {r.scan('trace_parts')} GROUP BY trace_id")
    joined = spans.join(parts, on="trace_id", suffix="_p")
    assert joined.height == spans.height == parts.height
    for row in joined.iter_rows(named=True):  # every trace's total follows its spans
        assert (row["c"] is None) == (row["c_p"] is None), row
        assert row["c"] == pytest.approx(row["c_p"], abs=1e-12) and row["u"] == row["u_p"], row
    return {"cost": spans.get_column("c").sum(), "unknown": int(spans.get_column("u").sum())}


def test_reprice_rewrites_changed_days_and_trace_totals(store):
    before = sums(store)
    pricer = PricingConfig.from_dict(NEW_PRICING).pricer()
    report = reprice_store(SegmentWriter(store), pricer, us(T0), us(T0) + 3 * DAY)
    # gpt-4o (18 calls) doubled; acme-ft (12 calls) now priced at 50*1e-6 + 5*1e-6
    by_model = {(m.model, m.source_after): m for m in report.models}
    assert by_model[("gpt-4o", "override")].spans == 18
    assert by_model[("gpt-4o", "override")].cost_after == pytest.approx(2 * by_model[("gpt-4o", "override")].cost_before)
    acme = by_model[("acme-ft", "override")]
    assert (acme.source_before, acme.spans, acme.cost_before) == ("unknown", 12, None)
    assert acme.cost_after == pytest.approx(12 * 55e-6)
    # and the 18 llama calls get their GPU time (stored null at ingest)
    llama = by_model[("llama-3-70b", "gpu_time")]
    assert (llama.spans, llama.cost_before, llama.cost_after) == (18, None, pytest.approx(18 * 0.10))
    assert report.changed == 48 and [d.day for d in report.days] == ["2026-01-05", "2026-01-06", "2026-01-07"]
    after = sums(store)
    assert after["unknown"] == before["unknown"] - 12
    assert after["cost"] == pytest.approx(before["cost"] + report.cost_after - report.cost_before)
    # idempotent
    assert reprice_store(SegmentWriter(store), pricer, us(T0), us(T0) + 3 * DAY).changed == 0


def test_gpu_costs_stored_by_reprice_equal_the_explorer(store):
    pricer = PricingConfig.from_dict(PRICING).pricer()
    reprice_store(SegmentWriter(store), pricer, us(T0), us(T0) + 3 * DAY)
    reader = StoreReader(store)
    stored = reader.query(f"SELECT sum(cost_usd) FROM {reader.scan('spans')} WHERE cost_source = 'gpu_time'").item()
    report = CostQueries(reader, pricer).explore(CostQuery(us(T0), us(T0) + 3 * DAY, "day", ("model",)))
    assert stored == pytest.approx(report.totals["gpu_time_usd"], rel=1e-12)


def test_only_the_range_changes_and_dry_run_writes_nothing(store):
    pricer = PricingConfig.from_dict(NEW_PRICING).pricer()
    manifest = (store / "manifest.json").read_bytes()
    dry = reprice_store(SegmentWriter(store), pricer, us(T0 + timedelta(hours=12)), us(T0) + DAY, dry_run=True)
    assert dry.changed and (store / "manifest.json").read_bytes() == manifest
    report = reprice_store(SegmentWriter(store), pricer, us(T0 + timedelta(hours=12)), us(T0) + DAY)
    assert report.changed == dry.changed and len(report.days) == 1
    left = reprice_store(SegmentWriter(store), pricer, us(T0), us(T0) + 3 * DAY, dry_run=True)
    assert left.changed == 48 - report.changed
    sums(store)


def _run(store: Path, config: Path, *args: str):
    env = {"LLMOPS_CONFIG_FILE": str(config)}
    return CliRunner().invoke(main, ["costs", "reprice", "--store", str(store), *args], env=env)


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        '[pricing.overrides]\n'
        '"gpt-4o" = { input_per_million = 4.0, output_per_million = 16.0 }\n'
        '"acme-*" = { input_per_million = 1.0, output_per_million = 1.0 }\n'
        '[[pricing.gpu_endpoints]]\nname = "llama-box"\nmodel = "llama-*"\nusd_per_gpu_hour = 1.2\ngpu_count = 1\n')
    return path


def test_cli_reprices_the_store_directly(store, tmp_path):
    result = _run(store, _config(tmp_path), "--since", "2026-01-05", "--until", "2026-01-08")
    assert result.exit_code == 0, result.output
    assert "through the store directly" in result.output and "changed: 48" in result.output
    assert "acme-ft" in result.output and "unknown -> override" in result.output
    again = _run(store, _config(tmp_path), "--since", "2026-01-05", "--until", "2026-01-08", "--json")
    assert json.loads(again.output)["changed"] == 0


def test_cli_goes_through_the_running_collector(store, tmp_path):
    rc = start_inprocess(store, pricing=PRICING)
    try:
        result = _run(store, _config(tmp_path), "--since", "2026-01-05", "--until", "2026-01-08", "--json")
        assert result.exit_code == 0, result.output
        doc = json.loads(result.output)
        assert doc["via"].startswith("the collector at 127.0.0.1:") and doc["changed"] == 48
        assert doc["collector_pricing_differs"] is True
        # the collector's writer published it: readers see the new prices at once
        reader = StoreReader(store)
        unknown = reader.query(f"SELECT count(*) FROM {reader.scan('spans')} WHERE cost_source = 'unknown'").item()
        assert unknown == 0
        bad = httpx.post(rc.url + "/v1/admin/reprice", json={"since_us": "soon"})
        assert bad.status_code == 400
    finally:
        rc.stop()
    sums(store)


def test_admin_endpoint_needs_the_token(store):
    rc = start_inprocess(store, token="s3cret")
    try:
        r = httpx.post(rc.url + "/v1/admin/reprice", json={"since_us": us(T0), "until_us": us(T0) + DAY})
        assert r.status_code == 401
        r = httpx.post(rc.url + "/v1/admin/reprice", json={"since_us": us(T0), "until_us": us(T0) + DAY,
                                                           "dry_run": True},
                       headers={"Authorization": "Bearer s3cret"}, timeout=60)
        assert r.status_code == 200 and r.json()["dry_run"] is True
    finally:
        rc.stop()
