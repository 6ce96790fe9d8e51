"""Where in a text each rule of a rule set is worth trying.

A rule is a regex. Most begin with literals ("ignore", "you are now"): those
are derived from the regex (``match_starts``) and the rule is tried, with one
anchored match each, only where one of them begins. The few that do not begin
with literals name keys, literals every match holds, and are searched for in
windows around them (``injection.Rule.search``).

``KeyIndex`` finds all those places in one go: one regex pass at word starts
for the literals that begin words (a trie of them: the engine follows one
branch a character), substring searches for the rest (nearly all of them
punctuation). It is exact: a rule gets every place where one of its literals
begins, and the rules that cannot count on the text are left out.
"""

from __future__ import annotations

import re
from re import _constants as sre_c  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Callable, Sequence

from store.guardrails.textutil import is_word_char

BOUNDARY = "\x00"  # marks a start that follows a word boundary
_MAX_STARTS = 400


def match_starts(pattern: re.Pattern[str]) -> tuple[str, ...]:
    """Literals one of which every match of ``pattern`` starts with, or ()
    when the pattern has no useful such set (it may start with a class, a
    line anchor, or a one-letter word)."""
    starts = _starts(list(sre_parse.parse(pattern.pattern, pattern.flags)), True)
    if any(not s.lstrip(BOUNDARY) or (len(s.lstrip(BOUNDARY)) < 2 and s.lstrip(BOUNDARY).isalnum()) for s in starts):
        return ()
    return tuple(sorted(starts))


def bounded(start: str) -> bool:
    """Whether a start follows a word boundary and begins with a word
    character: it then begins a word, and the scan only looks at word starts."""
    return start.startswith(BOUNDARY) and len(start) > 1 and is_word_char(start[1])


def _pure(items: list) -> bool:
    """Whether a parsed sequence matches literals only (alternatives of them)."""
    for op, av in items:
        if op is sre_c.LITERAL:
            continue
        if op is sre_c.BRANCH and all(_pure(list(alt)) for alt in av[1]):
            continue
        if op is sre_c.SUBPATTERN and _pure(list(av[3])):
            continue
        return False
    return True


def _starts(items: list, at_start: bool) -> set[str]:
    """Prefixes of every match of a parsed sequence: literals are appended
    while the sequence goes on with literals or groups of them; a shorter set
    (fewer literals taken) is always still right."""
    found = {""}

    def cross(tails: set[str]) -> set[str] | None:
        out = {head + tail for head in found for tail in tails}
        return out if len(out) <= _MAX_STARTS else None

    for index, (op, av) in enumerate(items):
        if op is sre_c.AT and av is sre_c.AT_BOUNDARY and at_start and found == {""}:
            found = {BOUNDARY}  # a word boundary before the start: the start itself is literal
            continue
        if op is sre_c.LITERAL:
            found = {head + chr(av) for head in found}
            continue
        if op is sre_c.SUBPATTERN or op is sre_c.BRANCH:
            alternatives = [list(av[3])] if op is sre_c.SUBPATTERN else [list(alt) for alt in av[1]]
            tails = set().union(*(_starts(alt, at_start and found == {""}) for alt in alternatives))
            grown = cross(tails)
            if grown is None:
                return found
            found = grown
            if not all(_pure(alt) for alt in alternatives):
                return found
            continue
        if op is sre_c.IN and found == {""} and len(av) <= 8 and all(o is sre_c.LITERAL for o, _ in av):
            return {chr(v) for _, v in av}
        if op is sre_c.MAX_REPEAT or op is sre_c.MIN_REPEAT:
            lo, hi, sub = av
            sub = list(sub)
            if lo == 0 and hi == 1:  # optional: the rest with it or without it
                rest = list(items[index + 1 :])
                first = at_start and found == {""}
                grown = cross(_starts(sub + rest, first) | _starts(rest, first))
                return found if grown is None else grown
            if lo >= 1 and len(sub) == 1 and sub[0][0] is sre_c.LITERAL:
                return {head + chr(sub[0][1]) * lo for head in found}
        return found
    return found


def trie_pattern(words: Sequence[str]) -> str:
    """A regex for a set of literals, factored by common prefixes, so the
    engine follows one branch per character instead of trying every word;
    longer words win where one is a prefix of another."""
    trie: dict = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = True

    def build(node: dict) -> str:
        ends = "" in node
        branches = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if ends else body

    return build(trie)


Check = Callable[[str, frozenset[str]], bool]


class KeyIndex:
    """The literals a rule set is tried at, and the rules of each.

    ``rules``: objects with ``anchors`` (from ``match_starts``), ``keys``
    (literals, anywhere), ``word_keys`` (literals every match has at a word
    start) and ``untrusted_only``; ``checks``: per rule, its requirement
    (``literals.compile_check``) on (text, words).

    A literal found maps to the anchored rules with a start it begins with
    (every start at that position is one of its prefixes) and to the other
    rules with a key in it (or, for word keys, that it begins with)."""

    def __init__(self, rules: Sequence, checks: Sequence[Check]) -> None:
        self.rules = tuple(rules)
        self.checks = tuple(checks)
        self.bounded_keys = sorted(
            {a[1:] for rule in rules for a in rule.anchors if bounded(a)}
            | {k for rule in rules if not rule.anchors for k in rule.word_keys},
            key=len,
            reverse=True,
        )
        self.free_keys = sorted(
            {a.lstrip(BOUNDARY) for rule in rules for a in rule.anchors if not bounded(a)}
            | {k for rule in rules if not rule.anchors for k in rule.keys},
            key=len,
            reverse=True,
        )
        trie = trie_pattern(self.bounded_keys)
        # Every bounded key starts with a word character, so a word boundary
        # before it is a character that is not a word character. Two scans
        # match that character first instead of trying \b at every position:
        # a space (a literal: the engine jumps from one to the next like
        # memchr), then any other non-word character (a class without the
        # letters and the space: the engine skips those in a tight loop; it
        # takes every non-ASCII character, and the lookbehind keeps those that
        # are not letters). A key at the very start of the text is looked for
        # apart. Together a third of the cost of the \b scan.
        self._after_space = re.compile(" (?=(" + trie + "))")
        self._after_other = re.compile(r"[\x00-\x1f!-/:-@\[-^`{-\U0010ffff](?<=\W)(?=(" + trie + "))")
        self._at_start = re.compile("(?=(" + trie + "))")
        self.key_rules = (
            {key: self._key_rules(key, False) for key in self.free_keys},
            {key: self._key_rules(key, True) for key in self.bounded_keys},
        )
        # the bounded keys' rules by context: in trusted text the rules for untrusted text only are left out
        self._bounded_rules = {
            False: {key: tuple(i for i in found if not rules[i].untrusted_only) for key, found in self.key_rules[1].items()},
            True: self.key_rules[1],
        }
        # Free keys by first character: one search for a punctuation mark (a
        # memchr) and a startswith per key where it is, instead of a substring
        # search per key. Keys that start with a letter are searched for whole
        # (their letter is everywhere).
        groups: dict[str, list[tuple[str, tuple[int, ...]]]] = {}
        for key in self.free_keys:
            lead = key if is_word_char(key[0]) else key[0]
            groups.setdefault(lead, []).append((key, self.key_rules[0][key]))
        self._free_groups = tuple((lead, tuple(keys)) for lead, keys in groups.items())

    def _key_rules(self, key: str, at_word_start: bool) -> tuple[int, ...]:
        out = []
        for index, rule in enumerate(self.rules):
            if rule.anchors:
                if any(key.startswith(a.lstrip(BOUNDARY)) for a in rule.anchors if bounded(a) == at_word_start):
                    out.append(index)
            elif at_word_start and any(key.startswith(k) for k in rule.word_keys):
                out.append(index)
            elif not at_word_start and any(k in key for k in rule.keys):
                out.append(index)
        return tuple(out)

    def positions(self, lowered: str, words: frozenset[str], untrusted: bool) -> dict[int, list[int]]:
        """For each rule that can count on this text, where it is to be tried
        (where its literals begin), in text order."""
        rules, checks = self.rules, self.checks
        # where each bounded key begins, then each key's places to its rules: a
        # key found again and again ("do", "your") costs an append, not a loop
        at_key: dict[str, list[int]] = {}
        if lowered[:1].isalnum() or lowered[:1] == "_":
            m = self._at_start.match(lowered)
            if m:
                at_key[m.group(1)] = [0]
        unsorted: set[str] = set()  # keys found by both scans
        for scan in (self._after_space, self._after_other):
            for km in scan.finditer(lowered):
                found = at_key.get(km.group(1))
                if found is None:
                    at_key[km.group(1)] = [km.end()]
                else:
                    if scan is self._after_other:
                        unsorted.add(km.group(1))
                    found.append(km.end())
        for key in unsorted:
            at_key[key].sort()
        rules_of = self._bounded_rules[untrusted]
        positions: dict[int, list[int]] = {}
        merged: set[int] = set()  # rules found at more than one key: their places to sort
        for key, starts in at_key.items():
            for index in rules_of[key]:
                found = positions.get(index)
                if found is None:
                    positions[index] = starts
                elif index not in merged:
                    positions[index] = found + starts  # never extend a list another rule shares
                    merged.add(index)
                else:
                    found.extend(starts)
        for index in merged:
            positions[index].sort()
        # per rule: whether it can count here (one without anchors needs the
        # words of its requirement, else no window of it can match)
        live: dict[int, bool] = {}
        for index in [i for i in positions if not rules[i].anchors]:
            live[index] = checks[index](lowered, words)
            if not live[index]:
                del positions[index]
        free: dict[int, list[int]] = {}
        find, startswith = lowered.find, lowered.startswith
        for lead, keys in self._free_groups:
            wanted = []
            for key, rule_indexes in keys:
                usable = []
                for index in rule_indexes:
                    ok = live.get(index)
                    if ok is None:
                        rule = rules[index]
                        ok = (untrusted or not rule.untrusted_only) and bool(rule.anchors or checks[index](lowered, words))
                        live[index] = ok
                    if ok:
                        usable.append(index)
                if usable:
                    wanted.append((key, usable))
            if not wanted:
                continue
            pos = find(lead)
            while pos >= 0:
                for key, usable in wanted:
                    if startswith(key, pos):
                        for index in usable:
                            found = free.get(index)
                            if found is None:
                                free[index] = [pos]
                            elif found[-1] != pos:  # keys at one position may share rules
                                found.append(pos)
                pos = find(lead, pos + 1)
        for index, found in free.items():
            earlier = positions.get(index)
            positions[index] = sorted(set(found).union(earlier)) if earlier else sorted(found)
        return positions
