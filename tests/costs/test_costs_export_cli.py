"""``llmops-console export costs``: the pane's numbers as CSV, JSON or Parquet, to a
file or stdout, with the documented columns."""

from __future__ import annotations

import io
import json
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from console.cli import main
from store.pricing.config import PricingConfig
from store.query import StoreReader
from store.query.costs import MEASURES, CostQueries, CostQuery
from tests.costs.cost_stores import T0, US, cost_store, us

DAY = 86_400 * US
DOCS = Path(__file__).resolve().parents[2] / "docs" / "costs.md"


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return cost_store(tmp_path_factory.mktemp("export") / "store")


def run(store: Path, *args: str):
    # no config file: LiteLLM's map alone (the default the explorer below uses too)
    return CliRunner().invoke(main, ["export", "costs", "--store", str(store), "--since", "2026-01-05",
                                     "--until", "2026-01-08", *args])


def test_csv_to_stdout_equals_the_explorer(store):
    result = run(store, "--by", "model,user", "--bucket", "day")
    assert result.exit_code == 0, result.output
    frame = pl.read_csv(io.StringIO(result.stdout))
    assert frame.columns == ["bucket_start", "model", "user", *MEASURES]
    report = CostQueries(StoreReader(store), PricingConfig.from_dict({}).pricer()).explore(
        CostQuery(us(T0), us(T0) + 3 * DAY, "day", ("model", "user")))
    assert frame.height == report.rows.height
    assert frame.get_column("cost_usd").sum() == pytest.approx(report.totals["cost_usd"], rel=1e-12)
    assert frame.get_column("calls").sum() == report.totals["calls"]
    assert frame.item(0, "bucket_start").startswith("2026-01-05T00:00:00")


@pytest.mark.parametrize("fmt", ["json", "jsonl", "parquet", "csv"])
def test_every_format_to_a_file(store, tmp_path, fmt):
    out = tmp_path / f"costs.{fmt}"
    result = run(store, "--by", "tag", "--format", fmt, "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output
    if fmt == "parquet":
        frame = pl.read_parquet(out)
    elif fmt == "json":
        frame = pl.DataFrame(json.loads(out.read_text()))
    elif fmt == "jsonl":
        frame = pl.read_ndjson(out)
    else:
        frame = pl.read_csv(out)
    assert frame.columns == ["bucket_start", "tag", *MEASURES]
    assert set(frame.get_column("tag").to_list()) == {"prod", "staging", "beta"}


def test_unknown_cost_is_empty_not_zero(store):
    frame = pl.read_csv(io.StringIO(run(store, "--by", "model").stdout))
    acme = frame.filter(pl.col("model") == "acme-ft")
    assert acme.get_column("cost_usd").null_count() == acme.height and acme.get_column("unknown_calls").min() > 0


def test_bad_arguments_say_how(store):
    result = run(store, "--by", "colour")
    assert result.exit_code == 2 and "cannot group by 'colour'" in result.output
    result = CliRunner().invoke(main, ["export", "costs", "--store", str(store), "--since", "yesterday"])
    assert result.exit_code == 2 and "since/until" in result.output


def test_the_documented_columns_are_the_exported_ones():
    text = DOCS.read_text()
    for column in ("bucket_start", *MEASURES):
        assert f"`{column}`" in text, column
