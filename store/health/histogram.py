"""Cumulative Prometheus histograms: window deltas and quantiles.

``histogram_quantile`` follows PromQL's ``histogram_quantile`` (Prometheus
``promql/quantile.go``, ``bucketQuantile``): buckets sorted by upper bound,
counts forced monotonic, the rank ``q * total`` located in the first bucket whose
cumulative count reaches it, and the value interpolated linearly inside that
bucket (the first bucket starts at 0).

Edge cases, all answered with ``None`` where PromQL answers NaN:

- no ``+Inf`` bucket: ``None``. (``Histogram`` in ``vllm.py`` adds a ``+Inf``
  bucket from ``_count`` when a capture left it out, which is exact because
  ``_count`` is the ``+Inf`` bucket by definition.)
- fewer than two buckets, or zero observations (an empty window): ``None``.
- the rank lands in the ``+Inf`` bucket: the highest finite upper bound, as
  PromQL does. The true value is larger; the caller cannot know by how much.
- the rank lands in the first bucket and its upper bound is <= 0: that bound.
- q < 0 gives -inf, q > 1 gives +inf (PromQL), NaN gives None.
"""

from __future__ import annotations

import math
from typing import Sequence

__all__ = ["Bucket", "histogram_quantile", "bucket_deltas"]

Bucket = tuple[float, float]  # (upper bound "le", cumulative count)


def histogram_quantile(q: float, buckets: Sequence[Bucket]) -> float | None:
    """The q-quantile of cumulative ``buckets`` (any order). See the module doc."""
    if math.isnan(q):
        return None
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    if len(buckets) < 2:
        return None
    ordered = sorted(buckets)
    if not math.isinf(ordered[-1][0]) or ordered[-1][0] < 0:
        return None
    ordered = _coalesce_monotonic(ordered)
    if len(ordered) < 2:
        return None
    total = ordered[-1][1]
    if total <= 0:
        return None
    rank = q * total
    last_finite = len(ordered) - 1
    index = next((i for i in range(last_finite) if ordered[i][1] >= rank), last_finite)
    if index == last_finite:
        return ordered[-2][0]
    upper, count = ordered[index]
    if index == 0 and upper <= 0:
        return upper
    lower = 0.0
    if index > 0:
        lower, below = ordered[index - 1]
        count -= below
        rank -= below
    if count <= 0:  # only for q == 0: the rank sits on the bucket's lower edge
        return lower
    return lower + (upper - lower) * (rank / count)


def _coalesce_monotonic(ordered: list[Bucket]) -> list[Bucket]:
    """Merge equal upper bounds (summing) and force counts non-decreasing, as
    PromQL does for scrapes that were not atomic."""
    merged: list[list[float]] = []
    for upper, count in ordered:
        if merged and merged[-1][0] == upper:
            merged[-1][1] += count
        else:
            merged.append([upper, count])
    highest = -math.inf
    out: list[Bucket] = []
    for upper, count in merged:
        highest = max(highest, count)
        out.append((upper, highest))
    return out


def bucket_deltas(prev: Sequence[Bucket] | None, cur: Sequence[Bucket]) -> tuple[tuple[Bucket, ...], bool]:
    """Per-bucket increase from ``prev`` to ``cur``; returns (deltas, reset).

    A reset is assumed when the bucket layout changed or any bucket went down
    (the server restarted): the window's observations are then ``cur`` itself,
    which is what PromQL's ``increase`` does with a counter reset. With no
    ``prev`` there is no window: the result is empty and not a reset.
    """
    if prev is None:
        return (), False
    if len(prev) != len(cur) or any(p[0] != c[0] for p, c in zip(prev, cur)):
        return tuple(cur), True
    deltas = []
    for (upper, before), (_, after) in zip(prev, cur):
        if after < before:
            return tuple(cur), True
        deltas.append((upper, after - before))
    return tuple(deltas), False
