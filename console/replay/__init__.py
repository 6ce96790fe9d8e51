"""Replay: re-run recorded LLM calls (or a prompt over a dataset) as variants,
compare the outputs, check and judge them, and gate prompt changes in CI.

Headless: nothing here imports Textual, and LiteLLM is imported only when a
call is made (see :mod:`console.replay.llm`).

- :mod:`.request`: ``RecordedRequest.from_span(row)``, ``Variant``
- :mod:`.engine`: ``ReplayEngine.run(request, variant, on_token) -> ReplayResult``
- :mod:`.batch`: ``BatchRunner`` (concurrency, progress, cancellation, A/B rows)
- :mod:`.checks`, :mod:`.judge`: heuristic checks and LLM-as-judge
- :mod:`.estimate`: cost before spending; :mod:`.diff`: A/B word diff
- :mod:`.dataset`: JSONL datasets; :mod:`.ci`: ``run_ci``; :mod:`.cli`: click commands
- :mod:`.keys`: provider keys (env, then keyring); :mod:`.recording`: replays to the collector
"""

from console.replay.batch import BatchItem, BatchProgress, BatchReport, BatchRow, BatchRunner, BatchSummary
from console.replay.checks import Check, CheckResult, parse_checks
from console.replay.engine import ReplayEngine, ReplayResult, RetryPolicy
from console.replay.errors import ReplayError
from console.replay.judge import Judge, JudgeResult
from console.replay.request import CallPlan, RecordedRequest, Variant
from console.replay.usage import Usage

__all__ = [
    "BatchItem",
    "BatchProgress",
    "BatchReport",
    "BatchRow",
    "BatchRunner",
    "BatchSummary",
    "CallPlan",
    "Check",
    "CheckResult",
    "Judge",
    "JudgeResult",
    "RecordedRequest",
    "ReplayEngine",
    "ReplayError",
    "ReplayResult",
    "RetryPolicy",
    "Usage",
    "Variant",
    "parse_checks",
]
