"""Prompt injection and jailbreak detection: a scored rule set.

No single phrase decides. Each rule that matches adds its weight to its
category (injection or jailbreak); a text is flagged when the sum reaches 1.0.
Strong signals ("ignore all previous instructions", "Do Anything Now") weigh
1.0 on their own; weaker ones (a fake delimiter, "begin your reply with",
"from now on you are") need company. Context then moves the score:

- a phrase quoted inside a question about it ("what does 'ignore previous
  instructions' mean?") counts a tenth;
- text from a tool or a retriever (indirect injection) adds rules for
  instructions addressed to the AI and raises the severity a step;
- base64 / hex / rot13 blobs and Unicode tag characters are decoded and the
  decoded text scored again; zero-width characters are stripped first so they
  cannot split a keyword.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from dataclasses import dataclass, field, replace
from re import _constants as sre_c  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]

from store.guardrails.model import UNTRUSTED_ROLES, BaseDetector, DetectionContext, Finding, raise_severity
from store.guardrails.prefilter import Markers, ScoredRulesGate, TextFacts, encoded_payload_possible, encoded_shapes, words_of

THRESHOLD = 0.8
# how far before and after a rule's key word its pattern may reach
WINDOW_BACK = 110
WINDOW_AHEAD = 130


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    category: str  # injection | jailbreak
    weight: float
    pattern: re.Pattern[str]
    untrusted_only: bool = False
    # literals of which at least one must occur for the pattern to match: a
    # few substring searches spare most texts the regex
    keys: tuple[str, ...] = ()
    # literals one of which every match starts with (derived from the pattern;
    # empty when it has no such set): the rule is then tried only where one
    # starts, with one anchored match each, instead of searching windows
    anchors: tuple[str, ...] = field(default=(), compare=False)

    def search(self, text: str, positions: list[int]) -> re.Match[str] | None:
        """The first match (in text order) near the given key positions, or,
        for an anchored rule, at the given anchor positions."""
        if self.anchors:
            match = self.pattern.match
            for pos in positions:
                found = match(text, pos)
                if found:
                    return found
            return None
        # the windows are small, so a rule costs short regex runs instead of a
        # full scan; windows closer than their width merge into one
        width = WINDOW_BACK + WINDOW_AHEAD
        first = prev = positions[0]
        for pos in positions:
            if pos - prev > width:
                found = self._search_window(text, first, prev)
                if found:
                    return found
                first = pos
            prev = pos
        return self._search_window(text, first, prev)

    def _search_window(self, text: str, first: int, last: int) -> re.Match[str] | None:
        n = len(text)
        lo, hi = max(0, first - WINDOW_BACK), min(n, last + WINDOW_AHEAD)
        # never cut a word: a \b at the window's end would see a word end that is not there
        while hi < n and _is_word_char(text[hi - 1]) and _is_word_char(text[hi]):
            hi += 1
        return self.pattern.search(text, lo, hi)


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _r(id: str, category: str, weight: float, pattern: str, untrusted_only: bool = False, keys: str = "") -> Rule:
    compiled = re.compile(pattern, re.S)
    return Rule(id, category, weight, compiled, untrusted_only, tuple(k for k in keys.split("|") if k), match_starts(compiled))


_MAX_STARTS = 400


def match_starts(pattern: re.Pattern[str]) -> tuple[str, ...]:
    """Literals one of which every match of ``pattern`` starts with, or ()
    when the pattern has no useful such set (it may start with a class, a
    line anchor, or a one-letter word)."""
    starts = _starts(list(sre_parse.parse(pattern.pattern, pattern.flags)), True)
    if any(not s.lstrip(_BOUNDARY) or (len(s.lstrip(_BOUNDARY)) < 2 and s.lstrip(_BOUNDARY).isalnum()) for s in starts):
        return ()
    return tuple(sorted(starts))


_BOUNDARY = "\x00"  # marks a start that follows a word boundary


def _bounded(start: str) -> bool:
    """Whether a start follows a word boundary and begins with a word
    character: it then begins a word, and the scan only looks at word starts."""
    return start.startswith(_BOUNDARY) and len(start) > 1 and _is_word_char(start[1])


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
            found = {_BOUNDARY}  # a word boundary before the start: the start itself is literal
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


_QUAL = r"(?:previous|prior|above|earlier|preceding|initial|original|old|former|past|existing|foregoing|system|developer|given|current|preset|default|all|other|last|latest)"
_OBJ = (
    r"(?:instructions?|prompts?|rules|directions|directives|guidelines|commands|tasks|messages|orders|constraints|"
    r"programming|polic(?:y|ies)|training|settings|restrictions|guidance|context|conversation|text|inputs?)"
)
_SECRET = r"(?:password|passcode|pass ?phrase|pass ?word|access code|secret (?:word|code|key|phrase))"
_CREATIVE = r"(?:poem|rap|song|story|sonnet|haiku|limerick|ballad|riddle|acrostic|reddit post|tweet|essay|dialogue|screenplay|lyrics|verse|couplet)"
_CREATIVE_KEYS = "poem|rap|song|story|sonnet|haiku|limerick|ballad|riddle|acrostic|reddit post|tweet|essay|dialogue|screenplay|lyrics|verse|couplet"
# forms the instructions are asked in: a list, code, a poem
_FORMS = (
    r"(?:bullet(?:ed|s)?(?:\s+\w+)?|numbered\s+(?:points?|list)|list|python|pseudo ?code|code|json|yaml|xml|markdown|table|"
    r"simple terms|plain english|the style of|" + _CREATIVE + ")"
)
_FORM_KEYS = "bullet|list|python|pseudo|code|json|yaml|xml|markdown|table|simple terms|plain english|style of|" + _CREATIVE_KEYS
# whose instructions: the model's own (yours, the ones above or hidden), not a recipe's or a form's
_OWN = r"(?:your|all(?: of)? your|(?:all(?: of)? )?the (?:above|previous|prior|preceding|initial|original|hidden|secret|system))"
_IGNORE = r"(?:ignore|disregard|forget|bypass|override|overrule|discard|abandon|neglect|dismiss|set aside|throw out|skip)"

# Rules run on lowercased text with zero-width characters removed.
RULES: tuple[Rule, ...] = (
    # --- direct injection: override the instructions
    _r("override", "injection", 1.0, rf"\b{_IGNORE}\s+(?:(?:all|any|and|each|every|the|your|my|these|those|of|everything)\s+){{0,4}}{_QUAL}\s+(?:\w+\s+)?{_OBJ}\b", keys="ignor|disregard|forget|bypass|overrid|overrul|discard|abandon|neglect|dismiss|set aside|throw out|skip"),
    _r("override_bare", "injection", 0.6, rf"\b{_IGNORE}\s+(?:(?:all|any|the|your|my|these|those)\s+){{1,2}}{_OBJ}\b", keys="ignor|disregard|forget|bypass|overrid|overrul|discard|abandon|neglect|dismiss|set aside|throw out|skip"),
    _r("forget_everything", "injection", 1.0, r"\b(?:forget|ignore|disregard)\s+(?:about\s+)?(?:everything|all(?: of)? (?:that|this|the above)|what (?:you were|you've been|you have been|i) (?:told|said)(?: you)?)\b(?:\s+(?:above|before|previously|you (?:were|have been) told|i (?:said|told you)))?", keys="forget|ignor|disregard"),
    _r("do_not_follow", "injection", 0.8, rf"\b(?:do not|don't|stop|no longer)\s+(?:follow|obey|adhere to|listen to)\s+(?:(?:any|the|your|my|these)\s+)*(?:{_QUAL}\s+)?{_OBJ}", keys="follow|obey|adhere|listen to"),
    _r("new_instructions", "injection", 0.5, r"\b(?:new|real|actual|updated|revised|true|different)\s+(?:instructions?|tasks?|rules|objective|goal|directives?|orders)\s*(?:follow|are|is|:)|\byour (?:new|real|true|actual) (?:task|goal|purpose|instructions?|job|role)\b|\bnow (?:focus on|your task is|you (?:must|will) only)\b", keys="instruction|task|rules|objective|goal|directive|orders|focus on"),
    _r("instead_do", "injection", 0.4, r"\binstead(?:,)? (?:you (?:will|must|should)|say|write|respond|output|print|reply)\b|\binstead of (?:outputting|saying|responding|answering|replying|printing|writing)\b", keys="instead"),
    _r("precedence", "injection", 0.5, r"\b(?:takes?|has|have|with) (?:precedence|priority) over\b|\b(?:supersedes?|overrides?) (?:all|any|every|the|your) (?:previous|prior|other|existing)\b|\bhighest priority (?:instruction|task|directive)", keys="precedence|priority|supersede|overrid"),
    # --- direct injection: get the system prompt out
    _r("extract_prompt", "injection", 1.0, r"\b(?:reveal|show|print|output|repeat|display|tell|give|leak|clarify|explain|describe|elaborate on|write(?: out| down)?|list|dump|recite|spell out|share|disclose|expose|paste|copy|translate|summari[sz]e|what (?:is|are|was|were))\b[^.?!\n]{0,40}?\b(?:system ?prompt|pre ?prompt|initial prompt|hidden prompt|secret prompt|original prompt|system (?:message|instructions?)|(?:your|the) (?:initial|original|hidden|secret|full|first|complete|exact|above|previous|prior) (?:instructions?|prompts?|directives|rules|guidelines|message)|(?:instructions?|prompt|text|words|content|everything|all) (?:above|so far|before this|given to you|you (?:were|have been) given))", keys="prompt|instruction|message|directive|rules|guidelines|above|so far|before this|given to you|been given|were given"),
    _r("extract_instructions", "injection", 1.0, r"\b(?:reveal|show|print|output|repeat|display|tell me|give me|dump|recite|return|state|list|write out|spell out|what (?:are|were))\b[^.?!\n]{0,25}?\b(?:all )?your (?:previous |initial |original |system |secret |hidden |exact |full )?(?:instructions|prompt|rules|ruleset|guidelines|programming|configuration|directives)\b(?! (?:for|on how|about)\b)", keys="instructions|prompt|rules|ruleset|guidelines|programming|configuration|directives"),
    _r("transform_instructions", "injection", 1.0, r"\b(?:convert|translate|format|rewrite|summari[sz]e|explain|paraphrase|encode|put|turn|render|include|output|print|return|list|restate)\b[^.?!\n]{0,20}?\b(?:(?:all|the|your|all the|all your|all of your|all of the)\s+)?(?:(?:previous|prior|above|initial|original|preceding|secret|hidden|system)\s+)?(?:instructions|rules|ruleset|prompt|commands|directives)\s+(?:above|so far|in (?:the|your) prompt|given to you|you (?:were|have been) given|before this)\b|\b(?:convert|translate|format|rewrite|summari[sz]e|explain|paraphrase|encode|print|output|return|list|restate)\b[^.?!\n]{0,12}?\b(?:all\s+)?(?:your|the above|(?:all\s+|the\s+|your\s+)?(?:prior|previous|above|preceding|initial|original|secret|hidden))\s+(?:instructions|rules|ruleset|prompt|commands|directives)\b(?! (?:for|on how|about)\b)", keys="instruction|rules|ruleset|prompt|command|directive"),
    _r("your_instructions", "injection", 0.4, r"\byour (?:\w+ )?(?:instructions|system prompt|ruleset|directives|pre ?prompt)\b(?! (?:for|on how|about|were|was|are|worked|helped)\b)", keys="instructions|prompt|ruleset|directives"),
    _r("rework_instructions", "injection", 0.6, rf"\b(?:write|format|convert|explain|list|repeat|summari[sz]e|translate|rewrite|output|print|restate|return|share)\b[^.?!\n]{{0,16}}?\b{_OWN}\s+(?:instructions?|rules|ruleset|directives)\b(?!\s+(?:of|for|on|about|in the game)\b)", keys="instructions|rules|ruleset|directives"),
    _r("transform_rules_below", "injection", 0.6, r"\b(?:convert|translate|format|rewrite|summari[sz]e|explain|print|output|repeat)\b[^.?!\n]{0,12}?\bthe (?:rules|instructions|prompt) (?:above and below|below|\(?both before and after)\b", keys="below|before and after"),
    _r("keep_previous", "injection", 0.5, r"\bkeep (?:your |the |all )?(?:previous|prior|existing) (?:instructions|rules)\b|\byou (?:may|must|can|will) now (?:respond|answer|reply|say|speak|write)\b", keys="previous|prior|existing|may now|must now|can now|will now"),
    _r("read_back", "injection", 1.0, r"\b(?:repeat|read|recite|say|spell)\b[^.?!\n]{0,20}?\b(?:the|your|all(?: of)?(?: the| your)?)\s+(?:\w+\s+)?(?:rules|instructions|prompt|directives|guidelines)\s+back\b", keys="back"),
    _r("output_prompt", "injection", 0.6, r"\b(?:output|print|repeat|reveal|show|display|dump|echo)\s+(?:me\s+)?(?:the|your)\s+(?:(?:entire|full|whole|complete|exact|original|first)\s+)?prompt\b(?!\s+(?:for|on|about|of|to)\b)", keys="prompt"),
    _r("repeat_above", "injection", 1.0, r"\b(?:repeat|print|output|echo|rewrite|write)\b[^.?!\n]{0,30}?\b(?:above|so far|verbatim|word for word|everything before)\b", keys="above|so far|verbatim|word for word|everything before"),
    _r("secret_value", "injection", 0.6, r"\b(?:what is|what's|what was)\b[^.?!\n]{0,20}?\b(?:the|your) (?:password|pass ?phrase|secret(?: key| word| code| phrase)?|access code|passcode|magic ?word)(?=\s*[?.!,:;\"']|\s*$|\s+(?:is|was|for me)\b)", keys="password|pass phrase|passphrase|secret|access code|passcode|magic"),
    _r("secret_demand", "injection", 0.8, r"\b(?:tell(?: me)?|give(?: me)?|reveal|say|print|output|spell|write down|type)\b[^.?!\n]{0,20}?\b(?:the|your) (?:password|pass ?phrase|secret (?:key|word|code|phrase)|access code|passcode|magic ?word)(?=\s*[?.!,:;\"']|\s*$|\s+(?:is|was|for me)\b)", keys="password|pass phrase|passphrase|secret|access code|passcode|magic"),
    _r("begin_with", "injection", 0.35, r"\b(?:begin|start|prefix|preface) your (?:reply|response|answer|output|message) with\b", keys="begin your|start your|prefix your|preface your"),
    _r("fake_turns", "injection", 0.4, r"(?m:^[ \t]*(?:ai|assistant|gpt|bot|model)[ \t]*:[^\n]*\n(?:[ \t]*\n)*[ \t]*(?:system|admin|developer)[ \t]*:)|\b(?:system|admin|developer) (?:instructions?|messages?|prompts?|notes?) (?:begins?|starts?|follows?)\b|\b(?:user|human) (?:message|input|turn) (?:ends?|terminat\w*)\b", keys="system|admin|developer|begin|start|follow|ends|terminat|end"),
    _r("fake_delimiter", "injection", 0.6, r"%%%\s*end|={3,}\s*(?:end|new|system)\b|\bend (?:of )?(?:the )?(?:untrusted )?(?:user )?(?:input|instructions?|prompt|ambiguity|document)\b|<\|?(?:im start|im end|endoftext|system|eot id|start header id)\|?>|\[/?(?:inst|sys)\]|<</?sys>>|#{2,}\s*(?:system|instructions?|new instructions?)\b|(?m:^\s*(?:system|admin)\s*:)|\bsystem override\b|\b(?:admin|administrator|developer|debug|maintenance|god) (?:mode|override|access) (?:enabled|activated|on)\b", keys="%%%|===|end |im start|im end|endoftext|eot id|start header|[inst|[/inst|[sys|[/sys|<<sys|<</sys|##|system|admin|enabled|activated"),
    # --- direct injection: the instructions or the secret recast into another form
    _r("rework_as_format", "injection", 0.4, rf"\b(?:write|format|convert|explain|list|repeat|summari[sz]e|translate|rewrite|output|print|restate|return|share|put|turn|describe)\b[^.?!\n]{{0,20}}?\b(?:{_OWN}|(?:all(?: of)? )?the)\s+(?:(?:exact|specific|full|entire|complete|whole)\s+)?(?:system\s+)?(?:instructions?|rules|ruleset|directives|prompt)\b(?!\s+(?:of|for|on|about|in the game)\b)[^.?!\n]{{0,30}}?\b(?:as|in(?:to)?|using|with)\s+(?:an?\s+)?{_FORMS}\b", keys=_FORM_KEYS),
    _r("creative_about_secret", "injection", 0.8, rf"\b{_CREATIVE}s?\b[^.?!\n]{{0,30}}?\b(?:about|on|of|describing|explaining|summari[sz]ing|revealing|listing|that (?:includes?|contains?|reveals?|explains?|describes?|lists?))\s+(?:all\s+)?(?:(?:your|the)\s+(?:\w+\s+)?{_SECRET}|your\s+(?:\w+\s+)?(?:instructions|rules|ruleset|system prompt|prompt|directives))\b(?!\s+(?:of|for|in)\b)|\btl ?;? ?dr\b[^.?!\n]{{0,12}}?\b(?:your (?:instructions|rules|ruleset|prompt|system prompt)|the (?:system prompt|prompt above|instructions above))\b", keys=_CREATIVE_KEYS + "|tl"),
    _r("secret_in_output", "injection", 0.8, rf"\b(?:include|append|add|insert|put|place|store|embed|hide|write|spell|encode|inject|mention|output|print|reveal|leak)\b[^.?!\n]{{0,20}}?\b(?:the|your) (?:correct |secret |real |actual )?{_SECRET}\b[^.?!\n]{{0,30}}?\b(?:in|into|to|between|inside|within|after|before|at the end of)\s+(?:(?:your|each|every|all|two)\s+)(?:\w+\s+)?(?:responses?|repl(?:y|ies)|answers?|outputs?|messages?|{_CREATIVE}s?|brackets|quotes|sentences?|lines?)\b", keys="password|passcode|pass phrase|passphrase|pass word|access code|secret"),
    _r("prefill_extraction", "injection", 0.6, r"\b(?:begin|start|prefix|preface|open)\s+(?:your|the|each|every)\s+(?:reply|response|answer|output|message)s?\s+with\b[^\n]{0,80}?\b(?:instructions?|rules|prompt|password|passcode|pass ?phrase|access code|secret)\b", keys="begin|start|prefix|preface|open"),
    _r("decode_and_follow", "injection", 0.6, r"\b(?:decode|decipher|decrypt|translate)\b[^.\n]{0,40}\b(?:and|then)\s+(?:follow|execute|do|obey|run|carry out|perform)\b", keys="decod|deciph|decrypt|translat"),
    # --- indirect injection: only counted in tool output and retrieved context
    _r("addressed_to_ai", "injection", 1.0, r"\b(?:note|message|instructions?|attention|important|notice)\s+(?:to|for)\s+(?:the\s+|any\s+|all\s+)?(?:ai|assistant|model|llm|agent|bot|chatbot|language model)s?\b", True, "note to|note for|message to|message for|instructions to|instructions for|instruction to|instruction for|attention to|attention for|important to|important for|notice to|notice for"),
    _r("ai_must", "injection", 0.6, r"\b(?:ai|assistant|language model|llm|chatbot|agent|chatgpt|claude|gpt|gemini|copilot)s?\b[^.\n]{0,20}\b(?:must|should|shall|will|needs? to|is instructed to|are instructed to)\b", True, " ai|assistant|language model|llm|chatbot|agent|chatgpt|claude|gpt|gemini|copilot"),
    _r("when_you_read", "injection", 0.6, r"\bwhen (?:you|the (?:ai|assistant|model))\s+(?:summari[sz]e|read|process|see|encounter|parse)\b", True, "when you|when the ai|when the assistant|when the model"),
    _r("hide_from_user", "injection", 1.0, r"\b(?:do not|don't|never)\s+(?:tell|inform|mention|reveal|show|disclose)\s+(?:this\s+)?(?:to\s+)?the user\b|\bwithout (?:telling|informing|alerting) the user\b", True, "the user"),
    _r("exfiltrate", "injection", 0.8, r"\b(?:send|forward|post|upload|email|leak|exfiltrate)\b[^.\n]{0,50}\b(?:to|at)\s+(?:https?://|\S+@\S+\.\w+)|!\[[^\]]*\]\(https?://[^)\s]*[?&][^)\s]*=", True, "http|@|!["),
    # --- jailbreak: persona and restriction removal
    _r("dan", "jailbreak", 1.0, r"\bdo anything now\b|\bd\.a\.n\b|\bdan (?:mode|prompt|jailbreak)\b|\bas dan\b|\bdan,? (?:which|who) stands for\b", keys="do anything now|d.a.n|dan"),
    _r("developer_mode", "jailbreak", 0.7, r"\b(?:developer|dev|god|jailbreak|unrestricted|unfiltered|evil|chaos|opposite) mode\b", keys=" mode"),
    _r("jailbreak_word", "jailbreak", 0.5, r"\bjailbr(?:eak|oken|eaking)\b", keys="jailbr"),
    _r("no_longer_bound", "jailbreak", 1.0, r"\b(?:no longer|not|never|aren't|isn't|are not|is not)\s+(?:bound|restricted|limited|constrained|governed|held back|restrained)\s+by\b|\b(?:free|freed|liberated|released|broken free|break free)\s+(?:from|of)\s+(?:all |any |the |your |its |their )*(?:\w+ )?(?:restrictions|rules|constraints|limitations|confines|shackles|guidelines|chains|filters|policies|programming)", keys="bound by|restricted by|limited by|constrained by|governed by|held back by|restrained by|free from|free of|freed from|freed of|liberated from|liberated of|released from|released of|broken free|break free"),
    _r("no_longer_ai", "jailbreak", 1.0, r"\byou are no longer (?:an? )?(?:ai|chat ?gpt|assistant|language model|bound|restricted|claude|gpt)\b|\byou (?:are|will be) (?:now )?(?:freed|unshackled|unchained|unrestricted|uncensored|unfiltered)\b", keys="no longer|freed|unshackled|unchained|unrestricted|uncensored|unfiltered"),
    _r("no_rules", "jailbreak", 0.6, r"\b(?:no|without|zero|free of|free from|doesn't have any|don't have any|has no|have no|lacks?|ignores?)\s+(?:any\s+)?(?:rules|restrictions|limits|limitations|boundaries|filters?|filtering|censorship|guidelines|constraints|safeguards|prohibitions|taboos|content polic(?:y|ies)|programming to)\b", keys="rules|restriction|limit|boundar|filter|censor|guideline|constraint|safeguard|prohibition|taboo|polic|programming"),
    _r("no_morals", "jailbreak", 0.6, r"\b(?:no|without|sans|zero|free of|doesn't have any|don't have any|has no|have no|lacks?|devoid of|regardless of|ignores?|disregards?|not care about|doesn't care about|don't care about)\s+(?:(?:any|all|of|the|its|your|their)\s+)*(?:laws?,?\s+(?:and\s+)?)?(?:morals?|morality|ethics|ethical|legal(?:ity)?|moral|principles|scruples|conscience)\b|\b(?:ethics|morals|morality|legality|laws|rules|restrictions|guidelines|policies|filters)\b[^.\n]{0,30}\b(?:don't|do not|doesn't|does not|never|no longer)\s+(?:matter|apply|exist)", keys="moral|ethic|legal|principle|scruple|conscience|matter|apply|exist"),
    _r("policy_break", "jailbreak", 1.0, r"\b(?:ignore|bypass|break|violat(?:e|es|ing)|go(?:es|ing)? against|defy|defies|defying|circumvent|disregard|not follow|doesn't follow|does not follow|don't follow|do not follow|not adhere to|free from|not bound by)\b[^.\n]{0,30}\b(?:openai|anthropic|content|safety|usage|ethical|moral)\s+(?:content\s+)?(?:polic(?:y|ies)|guidelines|rules|filters?|restrictions|standards)", keys="polic|guideline|rules|filter|restriction|standards"),
    _r("content_policy", "jailbreak", 0.3, r"\b(?:openai|anthropic)(?:'s)?\s+(?:content\s+)?(?:polic(?:y|ies)|guidelines|rules)", keys="openai|anthropic"),
    _r("uncensored", "jailbreak", 0.5, r"\b(?:uncensored|unfiltered|unfiltred|unrestricted|amoral|immoral|unethical|unhinged|no filters?)\b", keys="uncensored|unfiltered|unfiltred|unrestricted|amoral|immoral|unethical|unhinged|no filter"),
    _r("answer_anything", "jailbreak", 0.5, r"\b(?:answer|respond to|reply to|do|say|write|generate)\s+(?:absolutely\s+)?(?:anything|everything|any (?:question|request|prompt))\b|\b(?:will|would|must|should|can|could) (?:never|not) (?:refuse|decline|reject|deny)\b|\bnever (?:refuses?|declines?|says? no)\b|\bany (?:kind|type|sort) of (?:content|request|question|information)\b|\bno matter how (?:immoral|unethical|illegal|dangerous|harmful|offensive|explicit)\b|\beven if (?:it(?:'s| is)|they are) (?:illegal|harmful|unethical|immoral|dangerous)\b", keys="anything|everything|any question|any request|any prompt|refus|declin|reject|deny|says no|say no|kind of|type of|sort of|no matter how|even if"),
    _r("no_refusal", "jailbreak", 0.5, r"\b(?:answering|responding to|replying to)\s+(?:absolutely\s+)?(?:anything|everything|any (?:question|request|prompt))\b|\b(?:can't|cannot|won't) (?:refuse|decline|reject|deny)\b|\beven if the (?:request|question|content|answer) is (?:illegal|harmful|unethical|immoral|dangerous)\b|\beven if (?:it|the (?:request|question|content|answer)) (?:harms|hurts|offends) (?:someone|somebody|people|others)\b", keys="anything|everything|any question|any request|any prompt|refuse|decline|reject|deny|even if"),
    _r("opposite_persona", "jailbreak", 0.4, r"\b(?:the )?(?:exact )?opposite of (?:what|everything)\b|\bexact opposite\b", keys="opposite"),
    _r("dan_label", "jailbreak", 0.6, r"(?m:^\s*dan\s*:)", keys="dan"),
    _r("stay_in_character", "jailbreak", 0.5, r"\b(?:stay|remain|keep)(?:ing)? in character\b|\bstay as (?!(?:long|much|far|close|soon|well|usual|possible|is|it|you|a|an|the|before)\b)[a-z]\w*\s*[!.]|\bbreak(?:ing)? character\b|\bout of character\b", keys="character|stay as"),
    _r("from_now_on", "jailbreak", 0.4, r"\b(?:from now on|from this (?:moment|point)(?: on(?:wards?)?| forward)?)(?: until [^,.\n]{1,30})?,?\s+(?:you\b|we\b|act\b|respond\b|answer\b|pretend\b)|\bfor the rest of (?:this|the|our) conversation\b", keys="from now on|from this moment|from this point|rest of th"),
    _r("dual_response", "jailbreak", 0.6, r"\b(?:two|2) (?:(?:different|separate|distinct) ){0,2}(?:responses|answers|paragraphs|ways)\b[^.\n]{0,80}\b(?:normal|classic|jailbr\w*|unfiltered|standard|censored|filtered|developer)|\[?(?:🔒|🔓)|\b(?:classic|jailbreak)\]|\bhow (?:you|chat ?gpt|gpt|the ai|an ai) would (?:normally|usually|typically) (?:respond|answer|reply)\b", keys="responses|answers|paragraphs|ways|🔒|🔓|classic]|jailbreak]|normally|usually|typically"),
    _r("pretend_unrestricted", "jailbreak", 0.5, r"\b(?:pretend|imagine|act as if|suppose|simulate|roleplay|role play|act as)\b[^.\n]{0,60}\b(?:no (?:rules|restrictions|limits|filters|guidelines|ethics|morals)|unrestricted|uncensored|unfiltered|evil|without (?:restrictions|limits|rules|filters))", keys="pretend|imagine|act as|suppose|simulate|roleplay|role play"),
    _r("persona_ai", "jailbreak", 0.3, r"\byou (?:are|will be|are going to (?:be|act as|pretend to be)|will (?:act|pretend) (?:as|to be))\s+(?:now\s+)?(?:an?\s+)?(?:\w+\s+){0,3}(?:ai|bot|chatbot|gpt|model|assistant)\b", keys="you are|you will"),
    _r("insert_prompt", "jailbreak", 0.5, r"[\[(<{](?:(?:insert|put|enter|type|your|write)\s+)*(?:your\s+)?(?:prompt|request|question)(?:\s+here)?[\])>}]|\[insert[^\]]{0,30}\]", keys="prompt|request|question|insert"),
    _r("you_are_now", "jailbreak", 0.4, r"\byou are now\b|\byou (?:will|shall) now (?:act|be|respond|answer)\b", keys="you are now|will now|shall now"),
    _r("hypothetical_frame", "jailbreak", 0.4, r"\b(?:purely|just|only|completely|entirely) (?:hypothetical|fictional|theoretical)\b|\bhypothetical(?:ly)?\b|\bfor (?:purely )?(?:educational|research|learning|informational|academic) purposes\b|\b(?:no|none of (?:your|the|its)|without|don't have|do not have) (?:\w+ )?(?:real world )?(?:actions? )?(?:will )?(?:have )?consequences\b|\b(?:fictional|imaginary|hypothetical|alternate|parallel) (?:world|universe|reality|setting)\b", keys="hypothetic|fictional|theoretical|purposes|consequences|imaginary|alternate|parallel"),
    _r("game_frame", "jailbreak", 0.3, r"\blet'?s play a (?:game|role ?play)\b|\bwe are going to (?:have|play) a (?:role ?play|game)\b", keys="game|play"),
    _r("dan_persona", "jailbreak", 0.6, r"\b(?:pretend to be|you are|you're|act as|acting as|play|become|emulate|simulate|stay as)\s+(?:chat ?)?dan\b", keys="dan"),
    _r("renamed", "jailbreak", 0.4, r"\byour (?:new )?name (?:is now|will (?:now )?be|is going to be)\b|\byour new name is\b|\byou (?:are|will be) (?:now )?(?:called|named|known as)\b|\b(?:which|that|who|it) stands for\b|\b(?:an? )?(?:ai|bot|chatbot)\s+(?:called|named)\b", keys="name|called|named|known as|stands for"),
    _r("gpt_persona", "jailbreak", 0.3, r"\b(?!chat ?gpt\b)[a-z0-9]+gpt\b", keys="gpt"),
    _r("dual_persona", "jailbreak", 0.4, r"\b(?:two|2|both) (?:\w+ )?(?:entities|personas|personalities|persons|alter egos|versions of (?:yourself|you))\b", keys="entities|persona|personalit|persons|alter ego|versions of"),
    _r("payload_split", "jailbreak", 0.6, r"\$[a-z]\w*\s*\+\s*\$[a-z]\w*", keys="$"),
    _r("greets_model", "jailbreak", 0.3, r"\b(?:hi|hello|hey|dear)\s*,?\s*(?:chat ?gpt|gpt|openai|bard|claude)\b", keys="gpt|openai|bard|claude"),
    _r("stays_in_mode", "jailbreak", 0.3, r"\b(?:stay|remain|enter|switch|activate|enable)\w*\s+(?:in(?:to)?\s+)?(?:\w+\s+){0,2}mode\b", keys="mode"),
    _r("in_character_as", "jailbreak", 0.4, r"\bin character as\b|\b(?:always )?(?:respond|answer|reply)\s+(?:only\s+)?as\s+\w+\b|\b(?:respond|answer|reply) to (?:all |any |every )?(?:of )?(?:my |the |your )?(?:questions|prompts|messages|requests) (?:only )?as \w+\b|\bassume the (?:persona|role|identity) of\b", keys="in character|respond|answer|reply|assume the"),
    _r("fake_authority", "jailbreak", 0.6, r"\bi(?:'m| am) (?:a |an |the )?(?:\w+ )?(?:developer|programmer|engineer|employee|researcher|admin\w*|creator) (?:at|from|of|for|with) (?:openai|anthropic|google|meta|microsoft)\b", keys="openai|anthropic|google|meta|microsoft"),
    _r("harmful_enablement", "jailbreak", 0.3, r"\b(?:illegal|harmful|dangerous|offensive|explicit|nsfw|unethical|malicious|extreme)\s+(?:and \w+ )?(?:content|information|requests?|activities|things|questions|material)\b", keys="illegal|harmful|dangerous|offensive|explicit|nsfw|unethical|malicious|extreme"),
    _r("addresses_model", "jailbreak", 0.15, r"\b(?:chat ?gpt|gpt-?[34]|openai|language model|ai model|large language model)\b", keys="gpt|openai|language model|ai model"),
)

# Two passes find, at every position (at every word start, for the starts
# that follow a word boundary), the longest of the literals the rules look for
# there: the starts of anchored rules, the keys of the others. A literal found
# maps to the anchored rules with a start it begins with (every start at that
# position is one of its prefixes) and to the other rules with a key in it.
_BOUNDED_KEYS = sorted({a[1:] for rule in RULES for a in rule.anchors if _bounded(a)}, key=len, reverse=True)
_FREE_KEYS = sorted(
    {a.lstrip(_BOUNDARY) for rule in RULES for a in rule.anchors if not _bounded(a)}
    | {k for rule in RULES if not rule.anchors for k in rule.keys},
    key=len,
    reverse=True,
)


def _trie_pattern(words: list[str]) -> str:
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


_SCANS = (
    (re.compile(r"\b(?=(" + _trie_pattern(_BOUNDED_KEYS) + "))"), True),
    (re.compile("(?=(" + _trie_pattern(_FREE_KEYS) + "))"), False),
)


def _key_rules(key: str, bounded: bool) -> tuple[int, ...]:
    out = []
    for index, rule in enumerate(RULES):
        if rule.anchors:
            if any(key.startswith(a.lstrip(_BOUNDARY)) for a in rule.anchors if _bounded(a) == bounded):
                out.append(index)
        elif not bounded and any(k in key for k in rule.keys):
            out.append(index)
    return tuple(out)


_KEY_RULES = ({key: _key_rules(key, False) for key in _FREE_KEYS}, {key: _key_rules(key, True) for key in _BOUNDED_KEYS})

_QUESTION_CUE = re.compile(
    r"\b(?:what (?:does|do|is|are|'s)|what's|meaning of|mean(?:s|ing)?\b|explain|definition|define|example of|examples of|"
    r"how (?:do|does|can|could|would|should|to)\b[^?]{0,60}\b(?:detect|prevent|defend|mitigate|stop|protect|block|work|handle)|"
    r"is it (?:safe|possible|dangerous)|why do|phrases? like|such as|the phrase|the string|the sentence|a sentence like|"
    r"classif(?:y|ier)|detect(?:ion|or)?s?\b|research|in (?:an? )?(?:article|paper|blog|talk))"
)
# a mention is a short quotation: quote marks this close to the matched phrase
# (a long passage in quotes, such as a persona's script, is said, not mentioned)
_QUOTE_REACH = 30
_QUOTE_OPEN = "\"'“‘«`"
_QUOTE_PAIRS = {'"': '"', "'": "'", "“": "”", "‘": "’", "«": "»", "`": "`"}

_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\u180e\ufeff]")
_TAGS = re.compile("[\U000e0000-\U000e007f]+")
_INVISIBLE = re.compile("[\u200b-\u200d\u2060\u180e\ufeff\u202a-\u202e\u2066-\u2069\U000e0000-\U000e007f]")
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
_TOKEN = re.compile(r"[A-Za-z0-9+/=_\-]{24,}")
_HEX_ESCAPED = re.compile(r"(?:\\x[0-9A-Fa-f]{2}){12,}")
_SPACED_HEX = re.compile(r"(?<![0-9A-Fa-f])(?:[0-9A-Fa-f]{2}[ :]){15,}[0-9A-Fa-f]{2}(?![0-9A-Fa-f])")
_HEXCHARS = frozenset("0123456789abcdefABCDEF")
# rot13 is tried only when the text speaks of it: a rot13 payload comes with a
# request to decode it, and decoding every text would double the cost
_ROT13_CUES = ("rot13", "rot 13", "rot-13", "caesar", "cipher", "decode", "decipher")


def _quoted(text: str, start: int, end: int) -> bool:
    """Whether [start, end) sits inside a short quotation on its line."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    head, tail = text[max(line_start, start - _QUOTE_REACH):start], text[end:min(line_end, end + _QUOTE_REACH)]
    for opener in _QUOTE_OPEN:
        closer = _QUOTE_PAIRS[opener]
        if opener == closer:
            if head.count(opener) % 2 == 1 and closer in tail:
                return True
        elif head.rfind(opener) > head.rfind(closer) and closer in tail:
            return True
    return False


@dataclass(slots=True)
class Score:
    injection: float = 0.0
    jailbreak: float = 0.0
    first: int = -1
    last: int = -1

    @property
    def total(self) -> float:
        return self.injection + self.jailbreak

    def category(self) -> str:
        return "injection" if self.injection >= self.jailbreak else "jailbreak"


def normalize(text: str) -> str:
    """Lowercase and turn hyphens and underscores into spaces (same length, so
    offsets still point into the original)."""
    return text.lower().replace("-", " ").replace("_", " ")


def score_text(lowered: str, untrusted: bool, words: frozenset[str] | None = None) -> tuple[Score, list[str]]:
    """Score lowercased text; returns the score and the ids of matched rules.
    ``words``: the words of ``lowered`` when the caller has them."""
    if words is None:
        words = words_of(lowered)
    checks = RULES_GATE.checks
    score = Score()
    hits: list[str] = []
    questioning: bool | None = None  # looked up on the first match only
    positions: dict[int, list[int]] = {}
    for scan, bounded in _SCANS:
        rules_of = _KEY_RULES[bounded]
        for km in scan.finditer(lowered):
            for index in rules_of[km.group(1)]:
                positions.setdefault(index, []).append(km.start())
    for found in positions.values():
        found.sort()  # two passes: back in text order
    for index in sorted(positions):
        rule = RULES[index]
        if rule.untrusted_only and not untrusted:
            continue
        if not rule.anchors and not checks[index](lowered, words):
            continue  # a word the rule needs is missing: no window can match
        m = rule.search(lowered, positions[index])
        if not m:
            continue
        weight = rule.weight
        if questioning is None:
            questioning = _QUESTION_CUE.search(lowered) is not None
        if questioning and _quoted(lowered, m.start(), m.end()):
            weight *= 0.1  # talked about, not said
        if rule.category == "injection":
            score.injection += weight
        else:
            score.jailbreak += weight
        hits.append(rule.id)
        score.first = m.start() if score.first < 0 else min(score.first, m.start())
        score.last = max(score.last, m.end())
    return score, hits


def _decode_base64(blob: str) -> str | None:
    try:
        raw = base64.b64decode(blob.replace("-", "+").replace("_", "/") + "=" * (-len(blob) % 4))
    except (binascii.Error, ValueError):
        return None
    return _printable(raw)


def _decode_hex(blob: str) -> str | None:
    try:
        raw = bytes.fromhex(re.sub(r"[ :]", "", blob))
    except ValueError:
        return None
    return _printable(raw)


def _printable(raw: bytes) -> str | None:
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not decoded or not decoded.replace("\n", " ").replace("\t", " ").replace("\r", " ").isprintable():
        return None
    return decoded if re.search(r"[A-Za-z]{3,}\s+[A-Za-z]{2,}", decoded) else None


def _cleaned(text: str) -> str:
    """Zero-width characters removed, so they cannot split a keyword."""
    return _ZERO_WIDTH.sub("", text) if not text.isascii() and _ZERO_WIDTH.search(text) else text


# Which rules could match a text, from the words their patterns need.
RULES_GATE = ScoredRulesGate(RULES, THRESHOLD)
_ROT13_MARKERS = Markers(_ROT13_CUES)


def _scored_view(text: str) -> tuple[str, frozenset[str]]:
    """What the rules see of a text, and its words; the last one is kept, as
    the prefilter and then the detector ask for the same text."""
    global _LAST_VIEW
    last = _LAST_VIEW
    if last[0] is text:
        return last[1]
    normalized = normalize(_cleaned(text))
    view = (normalized, words_of(normalized))
    _LAST_VIEW = (text, view)  # one assignment: safe across threads
    return view


_LAST_VIEW: tuple = (None, None)


def injection_possible(facts: TextFacts, untrusted: bool) -> bool:
    """Whether the rules could reach the threshold on the text, or an encoded
    payload could be decoded from it."""
    key = "injection.possible.untrusted" if untrusted else "injection.possible"
    return facts.memo(key, lambda text: _possible(facts, untrusted))  # the span's check and the text's agree


def _possible(facts: TextFacts, untrusted: bool) -> bool:
    normalized, words = facts.memo("injection.normalized", _scored_view)
    if RULES_GATE.possible(normalized, words, untrusted):
        return True
    return encoded_payload_possible(facts.text, facts.lowered, _ROT13_MARKERS)


class InjectionDetector(BaseDetector):
    """Direct and indirect prompt injection and jailbreaks on input text."""

    name = "injection.rules"
    category = "injection"
    severity = "medium"
    version = "1"
    family = "injection"

    def applies_to(self, ctx: DetectionContext) -> bool:
        return ctx.direction == "input" and ctx.role != "system" and ctx.role != "assistant"

    def prefilter(self, facts: TextFacts, ctx: DetectionContext) -> bool:
        return injection_possible(facts, ctx.role in UNTRUSTED_ROLES)

    def detect(self, text: str, ctx: DetectionContext) -> list[Finding]:
        untrusted = ctx.role in UNTRUSTED_ROLES
        cleaned = _cleaned(text)
        out: list[Finding] = []
        normalized, words = _scored_view(text)
        score, hits = score_text(normalized, untrusted, words)
        if score.total >= THRESHOLD:
            # offsets of `cleaned` match `text` only when nothing was stripped
            start, end = (score.first, score.last) if cleaned is text else (0, len(text))
            out.append(self._flag(score, hits, start, end, ctx, untrusted, {}))
        out.extend(self._encoded(text, ctx, untrusted))
        return out

    def _flag(
        self, score: Score, hits: list[str], start: int, end: int, ctx: DetectionContext, untrusted: bool, extra: dict
    ) -> Finding:
        category = score.category()
        severity = "high" if score.total >= 2.0 else "medium"
        if untrusted:
            severity = raise_severity(severity)
        entity = ("indirect_" if untrusted else "") + ("prompt_injection" if category == "injection" else "jailbreak")
        finding = self.finding(
            start,
            end,
            entity,
            min(0.99, 0.5 + 0.2 * score.total),
            ctx,
            severity=severity,
            details={"score": round(score.total, 2), "rules": hits, **extra},
        )
        if category == "jailbreak":
            return _with_category(finding, "jailbreak")
        return finding

    def _encoded(self, text: str, ctx: DetectionContext, untrusted: bool) -> list[Finding]:
        out: list[Finding] = []
        candidates: list[tuple[int, int, str, str]] = []
        if len(text) < 24:
            return out
        token_run, escapes, spaced_hex = encoded_shapes(text)  # loops whose shape is absent find nothing
        for m in _TOKEN.finditer(text) if token_run else ():
            token = m.group(0).rstrip("=")
            is_hex = len(token) >= 32 and len(token) % 2 == 0 and all(ch in _HEXCHARS for ch in token)
            decoded = _decode_hex(token) if is_hex else _decode_base64(token)
            if decoded:
                candidates.append((m.start(), m.end(), "hex" if is_hex else "base64", decoded))
        if escapes:
            for m in _HEX_ESCAPED.finditer(text):
                decoded = _decode_hex(m.group(0).replace("\\x", ""))
                if decoded:
                    candidates.append((m.start(), m.end(), "hex", decoded))
        if spaced_hex:
            for m in _SPACED_HEX.finditer(text):
                decoded = _decode_hex(m.group(0))
                if decoded:
                    candidates.append((m.start(), m.end(), "hex", decoded))
        if _ROT13_MARKERS.in_text(text.lower()):
            candidates.append((0, len(text), "rot13", codecs.encode(text, "rot13")))
        for start, end, encoding, decoded in candidates:
            score, hits = score_text(normalize(decoded), untrusted)
            if score.total >= THRESHOLD:
                f = self._flag(score, hits, start, end, ctx, untrusted, {"encoding": encoding})
                out.append(_with_entity(f, "encoded_" + f.entity, raise_severity(f.severity)))
        return out


class UnicodeSmugglingDetector(BaseDetector):
    """Invisible Unicode: tag characters (U+E0000..E007F, "ASCII smuggling"),
    runs of zero-width characters, and bidirectional overrides. Tag text is
    decoded and reported with what it says; decoded injection is critical."""

    name = "injection.unicode"
    category = "injection"
    severity = "high"
    version = "1"
    family = "unicode"

    def applies_to(self, ctx: DetectionContext) -> bool:
        return ctx.role != "system"

    def prefilter(self, facts: TextFacts, ctx: DetectionContext) -> bool:
        return not facts.text.isascii()

    def detect(self, text: str, ctx: DetectionContext) -> list[Finding]:
        if text.isascii() or not _INVISIBLE.search(text):
            return []
        out: list[Finding] = []
        for m in _TAGS.finditer(text):
            hidden = "".join(chr(ord(ch) - 0xE0000) for ch in m.group(0) if 0x20 <= ord(ch) - 0xE0000 < 0x7F)
            score, hits = score_text(normalize(hidden), True)
            severity = "critical" if score.total >= THRESHOLD else "high"
            out.append(
                self.finding(
                    m.start(), m.end(), "unicode_tag_smuggling", 0.99, ctx, severity=severity,
                    details={"hidden_chars": len(hidden), "rules": hits},
                )
            )  # fmt: skip
        zero_width = [m for m in _ZERO_WIDTH.finditer(text) if not _legit_joiner(text, m.start())]
        if len(zero_width) >= 3:
            out.append(
                self.finding(
                    zero_width[0].start(), zero_width[-1].end(), "zero_width_chars", 0.8, ctx, severity="medium",
                    details={"count": len(zero_width)},
                )
            )  # fmt: skip
        bidi = list(_BIDI.finditer(text))
        if any(m.group(0) in "\u202d\u202e" for m in bidi) or len(bidi) >= 3:
            out.append(
                self.finding(bidi[0].start(), bidi[-1].end(), "bidi_override", 0.7, ctx, severity="medium", details={"count": len(bidi)})
            )
        return out


def _legit_joiner(text: str, pos: int) -> bool:
    """ZWJ inside an emoji sequence and ZWNJ in Persian or Indic words are
    ordinary text, not smuggling."""
    ch = text[pos]
    if ch not in "\u200c\u200d":
        return False
    prev = text[pos - 1] if pos else ""
    nxt = text[pos + 1] if pos + 1 < len(text) else ""
    return bool(prev and nxt and not prev.isascii() and not nxt.isascii())


def _with_category(f: Finding, category: str) -> Finding:
    return replace(f, category=category)  # type: ignore[arg-type]


def _with_entity(f: Finding, entity: str, severity: str) -> Finding:
    return replace(f, entity=entity, severity=severity)  # type: ignore[arg-type]


INJECTION_DETECTORS = (InjectionDetector, UnicodeSmugglingDetector)
