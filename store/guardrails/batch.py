"""The first tier over a whole batch of texts: one vectorized regex pass per
detector family, instead of the per-text checks of ``prefilter``.

Each pattern holds on every text its family could report on, so a text that
fails it skips the family; the runner's own prefilters then run on what is
left. Arrow compiles its pattern on every call (the value pattern: ~0.1 ms,
worth it from ``MIN_VALUE_TEXTS`` texts); polars keeps the large ones compiled,
so a call costs about half a millisecond; the whole pass is worth it from
``MIN_TEXTS`` texts.

- values (PII, secrets), Arrow's RE2: the union of the detectors'
  ``batch_pattern``; it also holds on JSON-escaped text (the redaction pass
  runs it over raw JSON columns), where any ``\\u`` escape counts as a hit;
- injection rules, Rust's regex through polars: for each rule outside
  ``RULES_GATE.unindexed`` (whose weights together stay under the threshold),
  the chains of literal phrases its regex needs (``literals.required_phrases``)
  on the text as the rules see it (lowercased, ``-`` and ``_`` as spaces), or,
  for a rule with too many phrases, words it needs; ``\\b`` at a phrase's edge
  holds because a rule's window never ends inside a word. Plus the shapes of
  encoded payloads and of a flood of one-character tokens. Characters that
  Arrow and Python lowercase differently, zero-width characters and
  whitespace RE2 does not know count as hits;
- refusals: the phrases of the refusal regex, on lowercased text.
"""

from __future__ import annotations

import re
from typing import Sequence

import pyarrow as pa
import pyarrow.compute as pc

from store.guardrails.literals import BREAK, Atom, index_clause, required_phrases
from store.guardrails.model import Detector

# polars keeps compiled patterns: after the first call (~0.2 s to build the
# injection pattern, once per process) a call still costs ~0.5 ms; with the
# rest, a batch pass pays from about fifty spans (~130 texts) on
MIN_TEXTS = 128
MIN_VALUE_TEXTS = 16  # the value pattern compiles in ~0.1 ms
MAX_PHRASES = 160  # literals per rule in the injection pattern: more make RE2 slow to compile and to run
# Lowercase differently in Arrow and Python, vanish before the rules run, or
# are whitespace to Python's \\s but not to RE2's.
_UNSURE_CHARS = (
    "[\\x{130}\\x{131}\\x{17f}\\x{212a}\\x{200b}-\\x{200d}\\x{2060}\\x{180e}\\x{feff}"
    "\\x{0b}\\x{1c}-\\x{1f}\\x{85}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}]"
)
_JSON_UNICODE_ESCAPE = r"\\u"
# encoded payloads' shapes, and the start of a flood of one-character tokens
# (prefilter.token_flood_possible): eight of them, not FLOOD_TOKENS, as RE2
# unrolls a counted repeat and is compiled again on every call
_ENCODED = r"[A-Za-z0-9+/=_\-]{24}|\\x|(?:[0-9A-Fa-f]{2}[ :]){15}[0-9A-Fa-f]{2}|(?:\S ){8}\S"


def _alternation(literals: Sequence[str]) -> str:
    return "|".join(re.escape(s) for s in sorted(set(literals), key=lambda s: (-len(s), s)))


def _phrase_tokens(phrase: str) -> tuple[str, ...]:
    """Regex tokens of a phrase: a BREAK (a word break the regex asked for:
    whitespace, \\b, ^ or $) is any whitespace or none (texts with whitespace
    RE2's \\s does not know count as hits anyway), and a word boundary where a
    word character is next to it (never one between two other characters,
    where \\b cannot hold)."""
    tokens: list[str] = []
    for i, ch in enumerate(phrase):
        if ch != BREAK:
            tokens.append(re.escape(ch))
            continue
        before = phrase[i - 1] if i else ""
        after = phrase[i + 1] if i + 1 < len(phrase) else ""
        if before and after:
            # between two word characters a break is whitespace; next to "," it may be nothing
            tokens.append(r"\s+" if _is_word(before) and _is_word(after) else r"\s*")
        elif (before or after) and _is_word(before or after):
            tokens.append(r"\b")  # at an edge, next to a word character
    return tuple(t for t in tokens if t)


def _trie(sequences: list[tuple[str, ...]]) -> str:
    """One alternation for many token sequences, sharing their prefixes: RE2
    compiles it in a fraction of the time of the flat list."""
    root: dict = {}
    for seq in sequences:
        node = root
        for tok in seq:
            node = node.setdefault(tok, {})
        node[""] = {}

    def emit(node: dict) -> str:
        ends = "" in node
        branches = [tok + emit(child) for tok, child in sorted(node.items()) if tok]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if ends else body

    return emit(root)


def _phrases_pattern(chains: set) -> str:
    """One alternation for chains of literal sets (literals.required_phrases):
    the sets of a chain follow one another, maybe with whitespace between."""
    out = []
    for chain in sorted(chains, key=lambda c: [sorted(s) for s in c]):
        links = [_trie([_phrase_tokens(p) for p in strings]) for strings in chain]
        out.append(r"\s*".join(f"(?:{link})" for link in links) if len(links) > 1 else links[0])
    return "|".join(out)


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _atoms_pattern(atoms: Sequence[Atom]) -> str:
    """Whole words between ``\\b`` (RE2's is ASCII: a word next to a non-ASCII
    letter counts too, which only widens the check), substrings as they are."""
    words = sorted({a.text for a in atoms if a.word})
    subs = sorted({a.text for a in atoms if not a.word})
    parts = ([rf"\b(?:{_alternation(words)})\b"] if words else []) + ([_alternation(subs)] if subs else [])
    return "|".join(parts)


def values_pattern(detectors: Sequence[Detector]) -> str | None:
    """The union of the value detectors' batch patterns; None when one has none."""
    members = [d for d in detectors if getattr(d, "family", "") == "values"]
    if not members or any(getattr(d, "batch_pattern", None) is None for d in members):
        return None
    return "|".join(f"(?:{d.batch_pattern})" for d in members) + "|" + _JSON_UNICODE_ESCAPE


def injection_pattern() -> str:
    from store.guardrails.detectors.injection import _ROT13_CUES, RULES_GATE

    atoms: set[Atom] = set()
    phrases: set[str] = set()
    for index, clause in RULES_GATE.index_clauses():
        if clause is None:
            return "(?s:.)"  # a rule that needs nothing: every text is a candidate
        # whole phrases say more than single words ("no filter" than "filter"),
        # whatever the words: clean text is full of "filter", "mode" and "user"
        found = required_phrases(RULES_GATE.rules[index].pattern)
        if found and sum(len(s) for chain in found for s in chain) <= MAX_PHRASES:
            phrases.update(found)
        else:
            atoms.update(clause)
    atoms.update(Atom(False, cue.replace("-", " ")) for cue in _ROT13_CUES)  # as normalized text spells them
    parts = [_atoms_pattern(sorted(atoms))] + ([_phrases_pattern(phrases)] if phrases else []) + [_UNSURE_CHARS]
    return "|".join(parts)


def refusal_pattern() -> str:
    from store.guardrails.detectors.output import RefusalDetector

    from store.guardrails.detectors.output import _REFUSAL

    found = required_phrases(_REFUSAL)
    if found:
        lowered = {tuple(frozenset(p.lower() for p in s) for s in chain) for chain in found}
        return _phrases_pattern(lowered) + "|" + _UNSURE_CHARS
    clause = index_clause(RefusalDetector._gate.need, words_first=False)
    if clause is None:
        return "(?s:.)"
    return _atoms_pattern(clause) + "|" + _UNSURE_CHARS


Texts = Sequence[str] | pa.Array


def strings(texts: Texts) -> pa.Array:
    return texts if isinstance(texts, pa.Array) else pa.array(texts, type=pa.large_string())


def matches(texts: Texts, pattern: str) -> list[bool]:
    return pc.match_substring_regex(strings(texts), pattern).fill_null(False).to_pylist()


def matches_large(texts: Texts, pattern: str) -> list[bool]:
    """``matches`` for the large patterns (injection phrases, refusals): Rust's
    regex engine (through polars) compiles them in a third of RE2's time. Its
    ``\\b`` is made ASCII, like RE2's, where a Unicode one could be narrower
    than Python's; the patterns use nothing else the engines read apart."""
    try:
        import polars as pl
    except ImportError:  # pragma: no cover - polars is a dependency; RE2 gives the same answers
        return matches(texts, pattern)
    series = pl.from_arrow(strings(texts))
    return series.str.contains(pattern.replace(r"\b", r"(?-u:\b)")).fill_null(False).to_list()  # type: ignore[union-attr]


def normalized(texts: Texts) -> pa.Array:
    """What the injection rules see: lowercased, hyphens and underscores as spaces."""
    lowered = pc.utf8_lower(strings(texts))
    return pc.replace_substring(pc.replace_substring(lowered, "-", " "), "_", " ")


def non_ascii(texts: Texts) -> list[bool]:
    return pc.invert(pc.string_is_ascii(strings(texts))).to_pylist()


class BatchPrefilter:
    """The batch patterns of one runner's detectors, built once. Each method
    takes the texts (a list or an Arrow string array) and says, per text,
    whether the family could fire on it."""

    def __init__(self, detectors: Sequence[Detector]) -> None:
        families = {getattr(d, "family", "") for d in detectors}
        self.values = values_pattern(detectors) if "values" in families else None
        self.injection = injection_pattern() if "injection" in families else None
        self.encoded = _ENCODED if "injection" in families else None
        self.refusal = refusal_pattern() if "refusal" in families else None

    def values_hits(self, texts: Texts) -> list[bool]:
        if self.values is None:
            return [True] * len(texts)
        return matches(texts, self.values)

    def injection_hits(self, texts: Texts) -> list[bool]:
        if self.injection is None or not len(texts):
            return [False] * len(texts)
        array = strings(texts)
        rules = matches_large(normalized(array), self.injection)
        encoded = matches(array, self.encoded)  # type: ignore[arg-type]
        return [a or b for a, b in zip(rules, encoded)]

    def refusal_hits(self, texts: Texts) -> list[bool]:
        if self.refusal is None or not len(texts):
            return [False] * len(texts)
        return matches_large(pc.utf8_lower(strings(texts)), self.refusal)
