"""A fresh or failed call is not "from the recording" (the classmethod of that name
once shadowed the field's default)."""

from replay_helpers import span_row

from console.replay import RecordedRequest, ReplayError, ReplayResult
from console.replay.usage import Usage


def test_only_recorded_results_are_from_recording() -> None:
    assert ReplayResult("B", "", [], Usage(), None, None, None).from_recording is False
    assert ReplayResult.failed("B", ReplayError("timeout", "slow")).from_recording is False
    assert ReplayResult.from_recording(RecordedRequest.from_span(span_row())).from_recording is True
