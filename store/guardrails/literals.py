"""What a regular expression needs to find in a text before it can match: the
"prefilter" idea of RE2 and code search, derived from the pattern itself so it
cannot drift from the pattern when a rule changes.

``requirement(pattern)`` is a formula over atoms (``All`` / ``Any``) that holds
for every text the pattern matches anywhere in. An atom is a whole word (a
maximal run of ``\\w`` characters of the text: one set lookup) or a plain
substring. Checking it costs far less than running the pattern, and a text
where it fails cannot match.

Sound by construction: lookarounds count as empty; ``\\b``, ``^``, ``$`` and
whitespace count as word breaks; a repeat that may match nothing requires
nothing; an alternation requires one of its branches' requirements.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from re import _constants as C  # type: ignore[attr-defined]
from re import _parser as P  # type: ignore[attr-defined]
from typing import Callable, Union

BREAK = "\x00"  # a word break: \b, ^, $, whitespace
MAX_EXACT = 64  # largest set of exact strings kept while concatenating
MAX_CLASS = 8  # largest character class expanded to its characters
MAX_REPEAT_EXPAND = 3  # repeats up to this count are expanded
_BREAKS = re.compile("\x00+")
_WORD_RUN = re.compile(r"\w+")
_BREAK_AT = frozenset({C.AT_BOUNDARY, C.AT_BEGINNING, C.AT_BEGINNING_LINE, C.AT_BEGINNING_STRING, C.AT_END,
                       C.AT_END_LINE, C.AT_END_STRING})  # fmt: skip
_SPACE_CATEGORIES = frozenset({C.CATEGORY_SPACE, C.CATEGORY_UNI_SPACE})


@dataclass(frozen=True, slots=True, order=True)
class Atom:
    """A whole word of the text (``word``) or a substring of it."""

    word: bool
    text: str

    def score(self) -> int:
        """How telling: longer is rarer; a whole word or punctuation more so."""
        rare = sum(1 for ch in self.text if not ch.isalnum() and ch != " ")
        return len(self.text) + (2 if self.word else 0) + 2 * rare


@dataclass(frozen=True, slots=True)
class All:
    parts: tuple[Formula, ...]


@dataclass(frozen=True, slots=True)
class Any:
    parts: tuple[Formula, ...]


Formula = Union[Atom, All, Any]  # None stands for "always holds"


def all_of(parts: list[Formula | None]) -> Formula | None:
    flat: list[Formula] = []
    for p in parts:
        if p is None:
            continue
        for q in p.parts if isinstance(p, All) else (p,):
            if q not in flat:
                flat.append(q)
    if not flat:
        return None
    return flat[0] if len(flat) == 1 else All(tuple(flat))


def any_of(parts: list[Formula | None]) -> Formula | None:
    flat: list[Formula] = []
    for p in parts:
        if p is None:
            return None  # one branch needs nothing: the whole needs nothing
        for q in p.parts if isinstance(p, Any) else (p,):
            if q not in flat:
                flat.append(q)
    if not flat:
        return None
    return flat[0] if len(flat) == 1 else Any(tuple(flat))


def holds(formula: Formula | None, text: str, words: frozenset[str]) -> bool:
    """Whether ``formula`` holds on ``text`` whose words are ``words``."""
    if formula is None:
        return True
    if isinstance(formula, Atom):
        return formula.text in words if formula.word else formula.text in text
    if isinstance(formula, All):
        return all(holds(p, text, words) for p in formula.parts)
    return any(holds(p, text, words) for p in formula.parts)


def compile_check(formula: Formula | None) -> Callable[[str, frozenset[str]], bool]:
    """``holds`` as one Python expression: a few times faster than walking
    the formula, and the words of an ``Any`` become one ``isdisjoint`` call."""
    if formula is None:
        return lambda text, words: True
    constants: dict[str, object] = {}

    def const(value: object) -> str:
        name = f"_k{len(constants)}"
        constants[name] = value
        return name

    def expr(f: Formula) -> str:
        if isinstance(f, Atom):
            return f"({const(f.text)} in {'w' if f.word else 't'})"
        parts = [expr(p) for p in f.parts if not isinstance(p, Atom)]
        if isinstance(f, All):
            atoms = sorted((p for p in f.parts if isinstance(p, Atom)), key=lambda a: (not a.word, -a.score()))
            return "(" + " and ".join([expr(a) for a in atoms] + parts) + ")"
        words = frozenset(p.text for p in f.parts if isinstance(p, Atom) and p.word)
        subs = [p for p in f.parts if isinstance(p, Atom) and not p.word]
        head = [f"(not w.isdisjoint({const(words)}))"] if words else []
        return "(" + " or ".join(head + [expr(a) for a in subs] + parts) + ")"

    source = f"lambda t, w: {expr(formula)}"
    return eval(compile(source, "<requirement>", "eval"), constants)  # noqa: S307 - our own literals, repr-quoted


# Words in nearly every English or LLM text: a poor index (still correct).
COMMON_WORDS = frozenset("""
a about above after again all also am an and any are as at be been before being below between both but by
can could did do does doing down during each few for from further had has have having he her here hers him his
how i if in into is it its itself just me more most my no nor not now of off on once only or other our out over
own same she should so some such than that the their them then there these they this those through to too under
until up very was we were what when where which while who whom why will with would you your yours yourself
answer ask code content context data explain find get give help information input know like list make model
need new next output please question request response result say see show start task tell text thing time use
user want way work write
""".split())


def is_common(atom: Atom) -> bool:
    return atom.text in COMMON_WORDS or len(atom.text) < 3


def _index_key(clause: tuple[Atom, ...], words_first: bool) -> tuple:
    common = sum(1 for a in clause if is_common(a))
    all_words = all(a.word for a in clause)
    key = (common == 0, -common, -len(clause), min(a.score() for a in clause))
    return (all_words, *key) if words_first else key


def index_clause(formula: Formula | None, words_first: bool = True) -> tuple[Atom, ...] | None:
    """Atoms one of which every text the formula holds on contains, to index
    rules by: whole words first (a set lookup each) when ``words_first``,
    then no common word, then few atoms. None when there is none."""
    if formula is None:
        return None
    if isinstance(formula, Atom):
        return (formula,)
    if isinstance(formula, Any):
        atoms: list[Atom] = []
        for p in formula.parts:
            sub = index_clause(p, words_first)
            if sub is None:
                return None
            atoms.extend(a for a in sub if a not in atoms)
        return tuple(atoms)
    options = [c for c in (index_clause(p, words_first) for p in formula.parts) if c]
    if not options:
        return None
    return max(options, key=lambda c: _index_key(c, words_first))


def lowercase(formula: Formula | None) -> Formula | None:
    """The same formula for lowercased text (IGNORECASE patterns)."""
    if formula is None:
        return None
    if isinstance(formula, Atom):
        return Atom(formula.word, formula.text.lower())
    parts = tuple(lowercase(p) for p in formula.parts)  # type: ignore[misc]
    return All(parts) if isinstance(formula, All) else Any(parts)  # type: ignore[arg-type]


def _atoms(literal: str) -> set[Atom]:
    """Every atom a text containing ``literal`` (BREAKs: word breaks) has."""
    atoms: set[Atom] = set()
    pieces = literal.split(BREAK)
    for i, piece in enumerate(pieces):
        if not piece:
            continue
        atoms.add(Atom(False, piece))
        for m in _WORD_RUN.finditer(piece):
            # a whole word when something that is not a word character, or a break, is on both sides
            if (m.start() > 0 or i > 0) and (m.end() < len(piece) or i < len(pieces) - 1):
                atoms.add(Atom(True, m.group(0)))
    return atoms


def from_literals(literals: frozenset[str]) -> Formula | None:
    """A formula for "one of these literals is in the text": the atoms all of
    them share, and for each literal its two most telling atoms."""
    per_literal = [_atoms(s) for s in literals]
    if not per_literal or not all(per_literal):
        return None
    common = set.intersection(*per_literal)
    options: list[Formula | None] = []
    for atoms in per_literal:
        words = {a.text for a in atoms if a.word}
        distinct = [a for a in atoms if a.word or a.text not in words]  # w:'x' says more than s:'x'
        distinct.sort(key=lambda a: (a.score(), a.word), reverse=True)
        options.append(all_of(list(distinct[:2])))
    return all_of([*sorted(common, key=lambda a: -a.score()), any_of(options)])


@dataclass(frozen=True, slots=True)
class _Info:
    exact: frozenset[str] | None  # every string the node can match, when few
    need: Formula | None  # holds wherever the node matches
    nullable: bool = False  # may match the empty string
    # a non-empty match starts / ends with a character that is not a word
    # character (or a word break): a word next to it is whole on that side
    starts_break: bool = False
    ends_break: bool = False
    # chains of literal strings one of which every match contains (see
    # required_phrases): a coarser, regex-friendly form of ``need``
    phrases: frozenset[Chain] | None = None


Chain = tuple[frozenset[str], ...]  # one string of each set, one right after the other


def _useful(strings: frozenset[str]) -> bool:
    return bool(strings) and all(p.strip(BREAK) for p in strings)


def _chain_strength(chain: Chain) -> int:
    total = 0
    for strings in chain:
        cores = [p.strip(BREAK) for p in strings]
        total += min(len(c.replace(BREAK, "")) - (4 if len(chain) == 1 and c in COMMON_WORDS else 0) for c in cores)
    return total


def _best_phrases(*candidates: frozenset[Chain] | None) -> frozenset[Chain] | None:
    best, best_key = None, (0, 0)
    for c in candidates:
        if c and all(chain and all(_useful(s) for s in chain) for chain in c):
            # long enough (6 characters say little more than 8), then few strings
            size = sum(len(s) for chain in c for s in chain)
            key = (min(min(_chain_strength(chain) for chain in c), 6), -size)
            if key[0] > 0 and key > best_key:
                best, best_key = c, key
    return best


def _single(strings: frozenset[str]) -> frozenset[Chain] | None:
    return frozenset({(strings,)}) if _useful(strings) else None


def _is_break(ch: str) -> bool:
    return ch == BREAK or not (ch.isalnum() or ch == "_")


def _exact(strings: frozenset[str]) -> _Info:
    filled = [s for s in strings if s]
    return _Info(
        strings,
        None,
        nullable=len(filled) < len(strings),
        starts_break=bool(filled) and all(_is_break(s[0]) for s in filled),
        ends_break=bool(filled) and all(_is_break(s[-1]) for s in filled),
        phrases=_single(strings),
    )


_EMPTY = _Info(frozenset({""}), None, nullable=True)
_NOTHING = _Info(None, None)
_BREAK_INFO = _exact(frozenset({BREAK}))


def _need(info: _Info) -> Formula | None:
    return from_literals(info.exact) if info.exact is not None else info.need


def _collapse(s: str) -> str:
    return _BREAKS.sub(BREAK, s) if BREAK in s else s


def _cross(a: frozenset[str], b: frozenset[str]) -> frozenset[str] | None:
    if len(a) * len(b) > MAX_EXACT:
        return None
    return frozenset(_collapse(x + y) for x in a for y in b)


_NONWORD_CATEGORIES = frozenset({C.CATEGORY_SPACE, C.CATEGORY_UNI_SPACE, C.CATEGORY_NOT_WORD, C.CATEGORY_UNI_NOT_WORD})


def _class(items: list) -> _Info:
    chars: set[str] = set()
    nonword = True
    expandable = True
    for op, av in items:
        if op is C.LITERAL:
            ch = chr(av)
            chars.add(BREAK if ch.isspace() else ch)
            nonword = nonword and _is_break(ch)
        elif op is C.RANGE:
            lo, hi = av
            expandable = expandable and hi - lo + 1 <= MAX_CLASS
            chars.update(chr(c) for c in range(lo, min(hi, lo + MAX_CLASS) + 1))
            nonword = nonword and all(_is_break(chr(c)) for c in range(lo, hi + 1))
        elif op is C.CATEGORY and av in _SPACE_CATEGORIES:
            chars.add(BREAK)
        elif op is C.CATEGORY and av in _NONWORD_CATEGORIES:
            expandable = False
        else:  # NEGATE, other categories
            expandable = nonword = False
    if expandable and len(chars) <= MAX_CLASS:
        return _exact(frozenset(chars))
    return _Info(None, None, starts_break=nonword, ends_break=nonword)


def _edges(infos: list[_Info]) -> tuple[bool, bool, bool]:
    """nullable, starts_break, ends_break of a concatenation."""

    def edge(seq: list[_Info], attr: str) -> bool:
        for info in seq:
            if not getattr(info, attr):
                return False
            if not info.nullable:
                return True
        return False

    return all(i.nullable for i in infos), edge(infos, "starts_break"), edge(list(reversed(infos)), "ends_break")


def _sequence(items: list, run: frozenset[str] = frozenset({""})) -> _Info:
    """``run``: exact strings that come right before ``items`` (see _alternatives)."""
    parts: list[Formula | None] = []
    phrase_sets: list[frozenset[Chain] | None] = []
    chain: list[frozenset[str]] = []  # exact runs right after one another

    def close(last: frozenset[str]) -> None:
        links = [s for s in (*chain, last) if _useful(s)]
        if len(links) == len(chain) + 1 and links:
            phrase_sets.append(frozenset({tuple(links)}))
        phrase_sets.extend(_single(s) for s in links)
        chain.clear()

    infos: list[_Info] = [_exact(run)] if run != {""} else []
    whole = True
    after_break = infos[0].ends_break if infos else False  # what precedes the current position
    for op, av in items:
        info = _node(op, av)
        if op is C.BRANCH and info.exact is None and run != {""}:
            # the parser moves a prefix the branches share out of them ("\\b(?:a|b)"
            # for "\\ba|\\bb"); hand it back to each branch, words need their edges
            info = _alternatives([list(b) for b in av[1]], run)
            run = frozenset({""})
        infos.append(info)
        before = after_break
        after_break = info.ends_break if not info.nullable else (after_break and info.ends_break)
        if info.exact is not None:
            joined = _cross(run, info.exact)
            if joined is not None:
                run = joined
                continue
        whole = False
        if info.starts_break and not info.nullable:
            run = _cross(run, frozenset({BREAK})) or run  # what follows the run starts with a break
        parts.append(from_literals(run))
        if info.exact is not None:
            chain.append(run)  # the next run starts right where this one ends
            run = (_cross(frozenset({BREAK}), info.exact) or info.exact) if before else info.exact
        else:
            close(run)
            parts.append(info.need)
            phrase_sets.append(info.phrases)
            run = frozenset({BREAK}) if after_break else frozenset({""})
    nullable, starts, ends = _edges(infos)
    if whole:
        return _exact(run)
    parts.append(from_literals(run))
    close(run)
    return _Info(None, all_of(parts), nullable, starts, ends, _best_phrases(*phrase_sets))


def _alternatives(branches: list[list], prefix: frozenset[str] = frozenset({""})) -> _Info:
    infos = [_sequence(b, prefix) for b in branches]
    if all(i.exact is not None for i in infos):
        union = frozenset().union(*(i.exact for i in infos))  # type: ignore[misc]
        if len(union) <= MAX_EXACT:
            return _exact(union)
    phrases = None if any(i.phrases is None for i in infos) else frozenset().union(*(i.phrases for i in infos))  # type: ignore[misc]
    return _Info(
        None,
        any_of([_need(i) for i in infos]),
        nullable=any(i.nullable for i in infos),
        starts_break=all(i.starts_break for i in infos),
        ends_break=all(i.ends_break for i in infos),
        phrases=phrases,
    )


def _repeat(lo: int, hi: int, sub: list) -> _Info:
    info = _sequence(sub)
    if info.exact is not None and info.exact <= {BREAK}:
        return _exact(frozenset({BREAK}) if lo >= 1 else info.exact | {""})  # breaks collapse into one
    if info.exact is not None and hi <= MAX_REPEAT_EXPAND:
        powers: set[str] = set()
        current: frozenset[str] | None = frozenset({""})
        for count in range(hi + 1):
            if count >= lo:
                powers |= current  # type: ignore[arg-type]
            if count < hi:
                current = _cross(current, info.exact)  # type: ignore[arg-type]
                if current is None:
                    break
        if current is not None and len(powers) <= MAX_EXACT:
            return _exact(frozenset(powers))
    need = _need(info) if lo >= 1 else None
    phrases = info.phrases if lo >= 1 else None
    if lo >= 2 and info.exact is not None:
        copies: frozenset[str] | None = info.exact
        for _ in range(lo - 1):
            copies = _cross(copies, info.exact) if copies is not None else None
        if copies is not None:
            need = from_literals(copies)  # "={3,}" needs "==="
            phrases = _single(copies) or phrases
    return _Info(None, need, lo == 0 or info.nullable, info.starts_break, info.ends_break, phrases)


def _node(op, av) -> _Info:  # noqa: ANN001 - sre parser tuples
    if op is C.LITERAL:
        ch = chr(av)
        return _exact(frozenset({BREAK if ch.isspace() else ch}))
    if op is C.IN:
        return _class(av)
    if op is C.SUBPATTERN:
        return _sequence(list(av[-1]))
    if op is C.ATOMIC_GROUP:
        return _sequence(list(av))
    if op is C.BRANCH:
        return _alternatives([list(b) for b in av[1]])
    if op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
        lo, hi, sub = av
        return _repeat(lo, hi, list(sub))
    if op is C.AT:
        return _BREAK_INFO if av in _BREAK_AT else _EMPTY
    if op in (C.ASSERT, C.ASSERT_NOT):
        return _EMPTY  # zero-width: they only narrow what matches
    if op is C.NOT_LITERAL:
        return _NOTHING
    if op is C.CATEGORY:
        nonword = av in _NONWORD_CATEGORIES
        return _Info(None, None, starts_break=nonword, ends_break=nonword)
    return _NOTHING  # ANY, GROUPREF, ...


def requirement(pattern: str | re.Pattern[str]) -> Formula | None:
    """A formula that holds on every text ``pattern`` matches in (None: the
    pattern needs nothing). Atoms are as written: for an IGNORECASE pattern use
    ``lowercase(requirement(p))`` against lowercased text."""
    source = pattern.pattern if isinstance(pattern, re.Pattern) else pattern
    flags = pattern.flags if isinstance(pattern, re.Pattern) else 0
    return _need(_sequence(list(P.parse(source, flags))))


def required_phrases(pattern: str | re.Pattern[str]) -> frozenset[Chain] | None:
    """Chains of literal strings one of which every match of ``pattern``
    contains: a chain ``(A, B)`` holds where a string of A is right before a
    string of B; BREAK marks a word break the regex asked for (None: nothing
    found). Coarser than ``requirement`` but a plain regex of alternations:
    what a batch regex engine can look for in one pass. Case as written."""
    source = pattern.pattern if isinstance(pattern, re.Pattern) else pattern
    flags = pattern.flags if isinstance(pattern, re.Pattern) else 0
    return _sequence(list(P.parse(source, flags))).phrases


def describe(formula: Formula | None) -> str:
    """A readable form, for tests and debugging: ``w:`` words, ``s:`` substrings."""
    if formula is None:
        return "TRUE"
    if isinstance(formula, Atom):
        return ("w:" if formula.word else "s:") + repr(formula.text)
    joiner = " & " if isinstance(formula, All) else " | "
    return "(" + joiner.join(describe(p) for p in formula.parts) + ")"
