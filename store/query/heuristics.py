"""Agent heuristics over one trace's spans: how many LLM and tool calls, how deep,
whether a tool is being called again and again with the same arguments.

The runaway verdict is what the seed articles needed on the night an agent looped
until morning: too many LLM calls, or the same tool call repeating.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable

REPEAT_LIMIT = 3


@dataclass(frozen=True)
class AgentStats:
    llm_calls: int
    tool_calls: int
    max_depth: int
    repeated_tool_calls: int  # the most times one identical (tool, args) call was made
    repeated_tool: str | None
    runaway: bool
    reason: str


def depths(spans: list[dict[str, Any]]) -> list[int]:
    """Depth of each span (roots are 0; a span whose parent is missing counts as a root).
    Iterative, so a 500-level chain does not hit the recursion limit."""
    index = {s["span_id"]: i for i, s in enumerate(spans)}
    depth = [-1] * len(spans)
    for i in range(len(spans)):
        chain = []
        j = i
        while depth[j] < 0:
            chain.append(j)
            parent = spans[j].get("parent_id")
            k = index.get(parent) if parent else None
            if k is None or k in chain:  # a root, an orphan, or a cycle in bad data
                depth[j] = 0
                chain.pop()
                break
            j = k
        base = depth[j]
        for n, c in enumerate(reversed(chain), start=1):
            depth[c] = base + n
    return depth


def agent_stats(spans: Iterable[dict[str, Any]], runaway_llm_calls: int = 25) -> AgentStats:
    spans = list(spans)
    llm = sum(1 for s in spans if s.get("kind") == "llm")
    tools = [(s.get("name") or "", s.get("input_value") or "") for s in spans if s.get("kind") == "tool"]
    repeats = Counter(tools).most_common(1)
    rep_n, rep_tool = (repeats[0][1], repeats[0][0][0]) if repeats else (0, None)
    d = max(depths(spans), default=0)
    reasons = []
    if llm > runaway_llm_calls:
        reasons.append(f"{llm} LLM calls (limit {runaway_llm_calls})")
    if rep_n >= REPEAT_LIMIT:
        reasons.append(f"{rep_tool} called {rep_n}× with the same arguments")
    return AgentStats(llm, len(tools), d, rep_n if rep_n > 1 else 0, rep_tool if rep_n > 1 else None,
                      bool(reasons), "; ".join(reasons))
