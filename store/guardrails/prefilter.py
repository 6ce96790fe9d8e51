"""The cheap first tier: whether a detector could fire on a text at all.

Ordinary traffic is clean, and the detectors' regexes cost tens of µs per
text; a few substring searches, one byte translation and one set of words
cost one or two. Every check here is a necessary condition of the detector it
stands for (a text that fails it gets no finding from that detector), so the
tier never changes what is found, only how fast nothing is found:

- PII: an ``@`` for emails, enough ASCII digits for the number detectors;
- secrets: the literal markers their patterns start with;
- injection rules: the words each rule's regex needs (derived from the regex by
  ``literals.requirement``), and enough rule weight among the rules that could
  match to reach the flagging threshold; encoded payloads: a long base64-like
  run, ``\\x`` escapes, spaced hex or a word about ciphers; padding: spaces
  every other character for a long stretch;
- invisible Unicode: a non-ASCII character;
- refusals: the words the refusal regex needs.

``TextFacts`` computes what the checks share once per text, lazily.
"""

from __future__ import annotations

import re
from typing import Iterable

from store.guardrails.literals import Atom, Formula, compile_check, index_clause, is_common, lowercase, requirement
from store.guardrails.textutil import lowered_text

# Non-ASCII characters that lowercase to, or case-insensitively match, ASCII
# letters: where one occurs, lowercased literals may miss an IGNORECASE match.
CASE_FOLDS_TO_ASCII = "\u0130\u0131\u017f\u212a"


def _table(keep: str, to: bytes, other: bytes) -> bytes:
    return bytes(to[0] if chr(b) in keep else other[0] for b in range(256))


_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
# word bytes stay, every other byte becomes a space: split() then gives the words
_WORD_BYTES = bytes(b if chr(b) in _ALNUM + "_" else 0x20 for b in range(256))
_WORD_OR_HIGH_BYTES = bytes(b if b >= 0x80 or chr(b) in _ALNUM + "_" else 0x20 for b in range(256))
_NOT_DIGITS = bytes(b for b in range(256) if chr(b) not in "0123456789")
_TOKEN_BYTES = _table(_ALNUM + "+/=_-", b"t", b" ")  # injection._TOKEN's class
_HEX_BYTES = bytes(
    ord("h") if chr(b) in "0123456789abcdefABCDEF" else ord("s") if chr(b) in " :" else ord(".") for b in range(256)
)
_TOKEN_RUN = b"t" * 24
_SPACED_HEX_RUN = b"hhs" * 15 + b"hh"
_WORD = re.compile(r"\w+")


def _encode(text: str) -> bytes:
    # non-ASCII characters become bytes >= 0x80, outside every ASCII class here
    return text.encode("utf-8", "surrogatepass")


def words_of(text: str) -> frozenset[str]:
    """The maximal runs of ``\\w`` characters of ``text`` (what ``\\b`` bounds)."""
    if text.isascii():
        return frozenset(text.encode("ascii").translate(_WORD_BYTES).decode("ascii").split())
    # split at ASCII non-word characters in C (UTF-8 sequences are never cut:
    # their bytes are all >= 0x80; splitting the decoded text also cuts at
    # Unicode spaces, never word characters), then the regex only on the
    # tokens that hold other characters, which may or may not be word
    # characters. One decode and a C-level filter: no Python loop per token.
    tokens = set(_encode(text).translate(_WORD_OR_HIGH_BYTES).decode("utf-8", "surrogatepass").split())
    words = set(filter(str.isascii, tokens))
    for token in tokens.difference(words):
        words.update(_WORD.findall(token))
    return frozenset(words)


class TextFacts:
    """What the checks of one text share, computed on first use."""

    __slots__ = ("text", "_lowered", "_digits", "_words_lowered", "_memo")

    def __init__(self, text: str) -> None:
        self.text = text
        self._lowered: str | None = None
        self._digits = -1
        self._words_lowered: frozenset[str] | None = None
        self._memo: dict | None = None

    def memo(self, key: str, compute):  # noqa: ANN001, ANN201 - a detector's own derived value
        if self._memo is None:
            self._memo = {}
        if key not in self._memo:
            self._memo[key] = compute(self.text)
        return self._memo[key]

    @property
    def lowered(self) -> str:
        if self._lowered is None:
            self._lowered = lowered_text(self.text)
        return self._lowered

    @property
    def digits(self) -> int:
        """How many ASCII digits (the PII patterns match ``[0-9]`` only)."""
        if self._digits < 0:
            self._digits = len(_encode(self.text).translate(None, _NOT_DIGITS))
        return self._digits

    @property
    def words_lowered(self) -> frozenset[str]:
        if self._words_lowered is None:
            self._words_lowered = words_of(self.lowered)
        return self._words_lowered


# Characters by how often they turn up in ordinary text, most often first.
_OFTEN = " etaoinsrhldcumfpgwybv.,kTAISCBMPHWDN'-\nEFGLORxjqz0123456789"


class Markers:
    """Substrings any of which may be in a text, looked up by their rarest
    character first: one scan for a character (a ``memchr``) rules out every
    marker that holds it, where a substring search each would cost far more
    on long texts. Where the character is there a few times only, the markers
    are checked at those places (a ``startswith`` each) instead of searched
    for in the whole text."""

    WALK = 4  # occurrences of a rare character checked in place before searching for its markers

    def __init__(self, markers: Iterable[str]) -> None:
        kept = _shortest(set(markers))
        buckets: dict[str, list[tuple[str, int]]] = {}
        for marker in kept:
            rarest = max(marker, key=lambda ch: _OFTEN.find(ch) if ch in _OFTEN else len(_OFTEN))
            buckets.setdefault(rarest, []).append((marker, marker.index(rarest)))
        self.markers = kept
        # a character of ordinary text ("c" of "decode"): its markers are
        # searched for at once; a rare one ("_" of "hf_"): walked first
        self._common = tuple((ch, tuple(m for m, _ in group)) for ch, group in buckets.items() if ch in _OFTEN)
        self._rare = tuple((ch, tuple(group)) for ch, group in buckets.items() if ch not in _OFTEN)

    def in_text(self, text: str) -> bool:
        for ch, group in self._common:
            if ch in text:
                for marker in group:
                    if marker in text:
                        return True
        for ch, places in self._rare:
            pos = text.find(ch)
            walked = 0
            while pos >= 0:
                if walked == self.WALK:  # there many times after all: search for the markers instead
                    for marker, _ in places:
                        if marker in text:
                            return True
                    break
                for marker, offset in places:
                    if pos >= offset and text.startswith(marker, pos - offset):
                        return True
                walked += 1
                pos = text.find(ch, pos + 1)
        return False


def _shortest(substrings: set[str]) -> tuple[str, ...]:
    """Those no other one is inside (where a longer one is, so is the shorter), shortest first."""
    kept: list[str] = []
    for s in sorted(substrings, key=len):
        if not any(k in s for k in kept):
            kept.append(s)
    return tuple(kept)


class PatternGate:
    """What an IGNORECASE (or lowercase-text) regex needs, on lowered text."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.need: Formula | None = lowercase(requirement(pattern))
        self._check = compile_check(self.need)
        self.ignorecase = bool(pattern.flags & re.IGNORECASE)

    def possible(self, facts: TextFacts) -> bool:
        if self.need is None:
            return True
        text = facts.text
        if self.ignorecase and not text.isascii() and any(ch in text for ch in CASE_FOLDS_TO_ASCII):
            return True
        return self._check(facts.lowered, facts.words_lowered)


def _substrings(formula: Formula | None) -> int:
    """How many substring atoms a formula has: what its check costs."""
    if formula is None:
        return 0
    if isinstance(formula, Atom):
        return 0 if formula.word else 1
    return sum(_substrings(p) for p in formula.parts)


class ScoredRulesGate:
    """Whether a set of weighted rules could reach ``threshold`` on a text.

    Each rule is indexed by atoms one of which it needs; a rule whose index
    atom is in the text is checked against its whole requirement, and the
    weights of the rules that pass add up. A text whose possible rules weigh
    less than the threshold cannot be flagged, however the rules would match.

    Weak rules whose index atoms are common words ("you", "model") are not
    indexed as long as their weights together stay under the threshold: a
    flagged text then needs some other rule too, and only when one holds are
    they checked."""

    def __init__(self, rules: Iterable, threshold: float) -> None:  # rules: injection.Rule
        self.rules = tuple(rules)
        self.threshold = threshold - 1e-9  # float sums: 0.3 + 0.5 must reach 0.8
        self.needs: list[Formula | None] = [requirement(r.pattern) for r in self.rules]
        self.checks = [compile_check(n) for n in self.needs]  # per rule: (normalized text, words) -> may match
        self.unindexed = self._unindexed()
        self._by_word: dict[str, list[int]] = {}
        self._by_mixed: list[tuple[int, frozenset[str], Markers]] = []
        self._always: list[int] = []
        for index, need in enumerate(self.needs):
            if index in self.unindexed:
                continue
            clause = index_clause(need)
            if clause is None:
                self._always.append(index)
            elif all(a.word for a in clause):
                for atom in clause:
                    self._by_word.setdefault(atom.text, []).append(index)
            else:
                words = frozenset(a.text for a in clause if a.word)
                self._by_mixed.append((index, words, Markers(a.text for a in clause if not a.word)))
        self._index_words = frozenset(self._by_word)
        # cheapest checks first (a word is a set lookup, a substring a search
        # of the whole text), then the heaviest rules: a text that can reach
        # the threshold (long texts mostly can) is told so sooner
        order = sorted(range(len(self.rules)), key=lambda i: (_substrings(self.needs[i]), -self.rules[i].weight, i))
        self._rank = [0] * len(self.rules)
        for rank, index in enumerate(order):
            self._rank[index] = rank

    def _unindexed(self) -> frozenset[int]:
        """The weakest rules indexed by common words, while their weights add up to less than the threshold."""
        commonly_indexed = []
        for index, rule in enumerate(self.rules):
            clause = index_clause(self.needs[index])
            if clause is None or any(is_common(a) for a in clause):
                commonly_indexed.append((rule.weight, index))
        chosen, total = [], 0.0
        for weight, index in sorted(commonly_indexed):
            if total + weight >= self.threshold:
                break
            chosen.append(index)
            total += weight
        return frozenset(chosen)

    def index_clauses(self) -> list[tuple[int, tuple]]:
        """(rule index, atoms) of the indexed rules, rarest atoms first: what a
        coarser first pass (a batch regex) may look for."""
        return [(i, index_clause(self.needs[i], words_first=False)) for i in range(len(self.rules)) if i not in self.unindexed]

    def candidates(self, normalized: str, words: frozenset[str]) -> list[int]:
        """Indexed rules whose index atom is in the text, cheapest checks first."""
        found = set(self._always)
        for word in words & self._index_words:
            found.update(self._by_word[word])
        for index, index_words, substrings in self._by_mixed:
            if not words.isdisjoint(index_words) or substrings.in_text(normalized):
                found.add(index)
        return sorted(found, key=self._rank.__getitem__)

    def possible(self, normalized: str, words: frozenset[str], untrusted: bool) -> bool:
        total = 0.0
        counted: set[str] = set()  # rules in parts (entries with one id) count once
        for index in self.candidates(normalized, words):
            rule = self.rules[index]
            if (rule.untrusted_only and not untrusted) or rule.id in counted:
                continue
            if self.checks[index](normalized, words):
                total += rule.weight
                counted.add(rule.id)
                if total >= self.threshold:
                    return True
        if total == 0.0:
            return False  # the unindexed rules alone weigh less than the threshold
        for index in sorted(self.unindexed):
            rule = self.rules[index]
            if (untrusted or not rule.untrusted_only) and rule.id not in counted and self.checks[index](normalized, words):
                total += rule.weight
                counted.add(rule.id)
                if total >= self.threshold:
                    return True
        return False


def encoded_shapes(text: str) -> tuple[bool, bool, bool]:
    """Which shapes of encoded payload the text has: a run of 24 base64 or
    base64url characters, ``\\x`` escapes, 16 spaced hex pairs. Each is what a
    decoder loop of ``InjectionDetector._encoded`` needs to find anything."""
    raw = _encode(text)
    token = _TOKEN_RUN in raw.translate(_TOKEN_BYTES)
    escapes = b"\\x" in raw
    spaced = len(text) >= 47 and _SPACED_HEX_RUN in raw.translate(_HEX_BYTES)  # 16 pairs, spaces or colons between
    return token, escapes, spaced


FLOOD_TOKENS = 64  # one-character tokens in a run of padding: decorative rules ("* * * *") are shorter
_FLOOD_SPACES = " " * (FLOOD_TOKENS - 1)


def token_flood_possible(text: str) -> bool:
    """Whether ``text`` could hold a run of ``FLOOD_TOKENS`` one-character
    tokens separated by single spaces (what ``injection.token_flood`` looks
    for). Its spaces are then every other character: the characters at even
    places, or those at odd places, hold ``FLOOD_TOKENS - 1`` spaces in a row.
    Two C-level slices and searches: ~2 µs on 4 KB, where a search for the
    alternating shape itself costs five times as much."""
    return len(text) >= 2 * FLOOD_TOKENS - 1 and (_FLOOD_SPACES in text[1::2] or _FLOOD_SPACES in text[::2])


def encoded_payload_possible(text: str, lowered: str, cues: Markers) -> bool:
    """Whether ``InjectionDetector._encoded`` could decode anything: one of
    the encoded shapes, or a word about ciphers (rot13)."""
    if len(text) < 24:
        return False
    return any(encoded_shapes(text)) or cues.in_text(lowered)
