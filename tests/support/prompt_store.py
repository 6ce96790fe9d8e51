"""A deterministic prompts folder and a store whose LLM spans were made from it.

- ``support-answer``: spans carry ``prompt.id``/``prompt.version``/``prompt.variables``
  (the current file version, and an older version known only from traces);
- ``summarize``: spans carry no ``prompt.id``, only messages rendered from the file, so
  the fingerprint matcher must link them;
- a few LLM spans from no prompt at all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from store.prompts import parse_prompt, render, version_of
from tests.support.stores import T0, chat, hexid, span, write

SUPPORT = """\
id: support-answer
description: Support agent, one customer turn.
model: gpt-4o-mini
temperature: 0.2
max_tokens: 200
system: |
  You are Nori, the support assistant of Northwind Cloud.
  Be accurate and brief.
template: |
  Customer ({{plan}} plan) asks:
  {{question}}
variables:
  question: {default: "Where is my refund?"}
  plan: {default: "Team"}
"""

SUMMARIZE = """\
id: summarize
model: gpt-4o
template: |
  Summarize the following ticket in {{n}} words, plainly:

  {{ticket}}
"""

OLD_SUPPORT_VERSION = "0ld5upp0rt00"
QUESTIONS = ["Where is my refund?", "How do I rotate an API key?", "My deploy failed with OOM.",
             "Can I change my plan?", "Is the API down?", "Why was I charged twice?"]
ANSWERS = ["Your refund was sent on Monday; it takes 3 to 5 days.", "Open Settings, then API keys, then Rotate.",
           "Raise the memory limit in the build settings.", "Yes, from the Billing page.",
           "No, every service is up.", "The second charge is a pending hold; it drops in a day."]


@dataclass
class PromptStore:
    prompts_dir: Path
    store: Path
    support_version: str
    summarize_version: str
    linked_traces: list[str]  # support-answer, current version, newest first
    old_traces: list[str]
    fingerprint_traces: list[str]
    other_traces: list[str]


def write_prompts(folder: Path) -> tuple[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "support-answer.yaml").write_text(SUPPORT)
    (folder / "summarize.yaml").write_text(SUMMARIZE)
    return version_of(SUPPORT), version_of(SUMMARIZE)


def llm_trace(i: int, start: Any, messages: list[dict[str, Any]], answer: str, *, model: str = "gpt-4o-mini",
              provider: str = "openai", error: bool = False, root: str = "support turn", **kw: Any) -> list[dict[str, Any]]:
    tid = hexid("ptrace", i)
    root_id = hexid("proot", i, n=16)
    llm_id = hexid("pllm", i, n=16)
    out = [chat("assistant", answer, finish_reason="stop")]
    words_in = sum(len(str(m.get("content") or "").split()) for m in messages)
    return [
        span(tid, root_id, None, root, start, 1000 + i, kind="agent", service="support-bot"),
        span(tid, llm_id, root_id, f"chat {model}", start + timedelta(milliseconds=5), 800 + 10 * i, kind="llm",
             model=model, provider=provider, input_tokens=words_in, output_tokens=len(answer.split()),
             total_tokens=words_in + len(answer.split()), cost_usd=kw.pop("cost_usd", 0.0002 + i * 1e-5),
             cost_source="computed", ttft_ms=120.0 + i, status="error" if error else "ok",
             status_message="RateLimitError: 429" if error else None, input_messages=json.dumps(messages),
             output_messages=json.dumps(out), request_params=json.dumps({"temperature": 0.2, "max_tokens": 200}),
             **kw),
    ]


def build(root: Path, *, linked: int = 6, old: int = 2, fingerprinted: int = 3, others: int = 2) -> PromptStore:
    prompts_dir = root / "prompts"
    support_version, summarize_version = write_prompts(prompts_dir)
    support, _ = parse_prompt(SUPPORT)
    summarize, _ = parse_prompt(SUMMARIZE)
    assert support is not None and summarize is not None
    rows: list[dict[str, Any]] = []
    ids: dict[str, list[str]] = {"linked": [], "old": [], "fp": [], "other": []}
    i = 0

    def add(kind: str, trace_rows: list[dict[str, Any]]) -> None:
        nonlocal i
        rows.extend(trace_rows)
        ids[kind].append(trace_rows[0]["trace_id"])
        i += 1

    for k in range(old):
        values = {"question": QUESTIONS[k % 6], "plan": "Hobby"}
        messages = [chat("system", "You are a support bot."), chat("user", values["question"])]
        add("old", llm_trace(i, T0 + timedelta(minutes=i), messages, ANSWERS[k % 6], prompt_id="support-answer",
                             prompt_version=OLD_SUPPORT_VERSION, prompt_vars=json.dumps(values)))
    for k in range(linked):
        values = {"question": QUESTIONS[k % 6], "plan": ["Team", "Business"][k % 2]}
        add("linked", llm_trace(i, T0 + timedelta(minutes=i), render(support, values), ANSWERS[k % 6],
                                error=k == 3, prompt_id="support-answer", prompt_version=support_version,
                                prompt_vars=json.dumps(values)))
    for k in range(fingerprinted):
        values = {"n": str(20 + k), "ticket": f"Ticket {k}: {QUESTIONS[k]}"}
        add("fp", llm_trace(i, T0 + timedelta(minutes=i), render(summarize, values), f"Summary {k}.",
                            model="gpt-4o", root="summarize ticket"))
    for k in range(others):
        add("other", llm_trace(i, T0 + timedelta(minutes=i), [chat("user", f"Unrelated question {k}")], "Sure.",
                               root="misc"))
    write(root / "store", rows)
    return PromptStore(prompts_dir, root / "store", support_version, summarize_version,
                       list(reversed(ids["linked"])), ids["old"], ids["fp"], ids["other"])
