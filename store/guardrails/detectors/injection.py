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
  cannot split a keyword;
- a long run of one-character tokens (") ] } ) ] }", adversarial padding)
  flags on its own.

Rules are tried only where the literals they start with (or, for the few that
do not start with literals, their keys) are in the text; see
``rulekeys.KeyIndex``. A rule may come in parts (entries with one id): it counts
once, at the leftmost match of its parts.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from dataclasses import dataclass, field, replace

from store.guardrails.literals import compile_check, requirement
from store.guardrails.model import UNTRUSTED_ROLES, BaseDetector, DetectionContext, Finding, raise_severity
from store.guardrails.prefilter import (
    FLOOD_TOKENS,
    Markers,
    ScoredRulesGate,
    TextFacts,
    encoded_payload_possible,
    encoded_shapes,
    token_flood_possible,
    words_of,
)
from store.guardrails.rulekeys import KeyIndex, match_starts
from store.guardrails.textutil import is_word_char, kept_for_last_text, lowered_text

THRESHOLD = 0.8
# how far before and after a rule's key word its pattern may reach
WINDOW_BACK = 110
WINDOW_AHEAD = 130
# the reach of a rule about the whole text (\A ... \Z): its window is the text
_WHOLE_TEXT = (1 << 30, 1 << 30)


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    category: str  # injection | jailbreak
    weight: float
    pattern: re.Pattern[str]
    untrusted_only: bool = False
    # literals of which at least one must occur for the pattern to match: a
    # few substring searches spare most texts the regex. Written "\bkey" in
    # ``_r``: a key every match has at a word start, found by the one scan of
    # word starts (``word_keys``) instead of a substring search of its own
    keys: tuple[str, ...] = ()
    # literals one of which every match starts with (derived from the pattern;
    # empty when it has no such set): the rule is then tried only where one
    # starts, with one anchored match each, instead of searching windows
    anchors: tuple[str, ...] = field(default=(), compare=False)
    word_keys: tuple[str, ...] = ()
    # how far before and after a key a match may begin and end
    reach: tuple[int, int] = (WINDOW_BACK, WINDOW_AHEAD)

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
        width = self.reach[0] + self.reach[1]
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
        lo, hi = max(0, first - self.reach[0]), min(n, last + self.reach[1])
        # never cut a word: a \b at the window's end would see a word end that is not there
        while hi < n and is_word_char(text[hi - 1]) and is_word_char(text[hi]):
            hi += 1
        return self.pattern.search(text, lo, hi)


def _r(
    id: str, category: str, weight: float, pattern: str, untrusted_only: bool = False, keys: str = "",
    reach: tuple[int, int] = (WINDOW_BACK, WINDOW_AHEAD),
) -> Rule:  # fmt: skip
    compiled = re.compile(pattern, re.S)
    split = [k for k in keys.split("|") if k]
    free = tuple(k for k in split if not k.startswith("\\b"))
    at_word_start = tuple(k[2:] for k in split if k.startswith("\\b"))
    return Rule(id, category, weight, compiled, untrusted_only, free, match_starts(compiled), at_word_start, reach)


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
    # (a part of its own: one regex with both would be too many phrases for the batch prefilter)
    _r("transform_instructions", "injection", 1.0, r"\b(?:convert|translate|format|rewrite|summari[sz]e|explain|paraphrase|encode|put|turn|render|include|output|print|return|list|restate)\b[^.?!\n]{0,20}?\b(?:(?:all|the|your|all the|all your|all of your|all of the)\s+)?(?:instructions|rules|ruleset|prompt|commands|directives)\s+(?:(?:prior to|before) (?:the|this|my) (?:user )?(?:input|message|prompt|query)|(?:with which|that|which) you (?:have been|were|'ve been) (?:given|informed|instructed|told|programmed|provided))\b"),
    _r("your_instructions", "injection", 0.4, r"\byour (?:\w+ )?(?:instructions|system prompt|ruleset|directives|pre ?prompt)\b(?! (?:for|on how|about|were|was|are|worked|helped)\b)", keys="instructions|prompt|ruleset|directives"),
    _r("rework_instructions", "injection", 0.6, rf"\b(?:write|format|convert|explain|list|repeat|summari[sz]e|translate|rewrite|output|print|restate|return|share)\b[^.?!\n]{{0,16}}?\b{_OWN}\s+(?:instructions?|rules|ruleset|directives)\b(?!\s+(?:of|for|on|about|in the game)\b)", keys="instructions|rules|ruleset|directives"),
    _r("transform_rules_below", "injection", 0.6, r"\b(?:convert|translate|format|rewrite|summari[sz]e|explain|print|output|repeat)\b[^.?!\n]{0,12}?\bthe (?:rules|instructions|prompt|text|words|content) (?:above and below|below|\(?both before and after)\b", keys="below|before and after"),
    _r("keep_previous", "injection", 0.5, r"\bkeep (?:your |the |all )?(?:previous|prior|existing) (?:instructions|rules)\b|\byou (?:may|must|can|will) now (?:respond|answer|reply|say|speak|write)\b", keys="previous|prior|existing|may now|must now|can now|will now"),
    _r("read_back", "injection", 1.0, r"\b(?:repeat|read|recite|say|spell)\b[^.?!\n]{0,20}?\b(?:the|your|all(?: of)?(?: the| your)?)\s+(?:\w+\s+)?(?:rules|instructions|prompt|directives|guidelines)\s+back\b", keys="back"),
    _r("output_prompt", "injection", 0.6, r"\b(?:output|print|repeat|reveal|show|display|dump|echo)\s+(?:me\s+)?(?:the|your)\s+(?:(?:entire|full|whole|complete|exact|original|first)\s+)?prompt\b(?!\s+(?:for|on|about|of|to)\b)", keys="prompt"),
    _r("repeat_above", "injection", 1.0, r"\b(?:repeat|print|output|echo|rewrite|write)\b[^.?!\n]{0,30}?\b(?:above|so far|verbatim|word for word|everything before)\b", keys="above|so far|verbatim|word for word|everything before"),
    _r("secret_value", "injection", 0.6, r"\b(?:what is|what's|what was)\b[^.?!\n]{0,20}?\b(?:the|your) (?:password|pass ?phrase|secret(?: key| word| code| phrase)?|access code|passcode|magic ?word)(?=\s*[?.!,:;\"']|\s*$|\s+(?:is|was|for me)\b)", keys="password|pass phrase|passphrase|secret|access code|passcode|magic"),
    _r("secret_demand", "injection", 0.8, r"\b(?:tell(?: me)?|give(?: me)?|reveal|say|print|output|spell|write down|type)\b[^.?!\n]{0,20}?\b(?:the|your) (?:password|pass ?phrase|secret (?:key|word|code|phrase)|access code|passcode|magic ?word)(?=\s*[?.!,:;\"']|\s*$|\s+(?:is|was|for me)\b)", keys="password|pass phrase|passphrase|secret|access code|passcode|magic"),
    _r("begin_with", "injection", 0.35, r"\b(?:begin|start|prefix|preface) your (?:reply|response|answer|output|message) with\b", keys="begin your|start your|prefix your|preface your"),
    # fake_turns and fake_delimiter are each one rule in two parts (entries with one id count once, at the
    # leftmost match of their parts): the parts that start with literals are tried only where those begin,
    # the line-start parts in windows around their keys
    _r("fake_turns", "injection", 0.4, r"(?m:^[ \t]*(?:ai|assistant|gpt|bot|model)[ \t]*:[^\n]*\n(?:[ \t]*\n)*[ \t]*(?:system|admin|developer)[ \t]*:)", keys=r"\bsystem|\badmin|\bdeveloper"),
    _r("fake_turns", "injection", 0.4, r"\b(?:system|admin|developer) (?:instructions?|messages?|prompts?|notes?)\s+(?:begins?|starts?|follows?)\b|\b(?:user|human) (?:message|input|turn)\s+(?:ends?|terminat\w*)\b"),
    _r("fake_delimiter", "injection", 0.6, r"%%%\s*end|={3,}\s*(?:end|new|system)\b|\bend (?:of )?(?:the )?(?:untrusted )?(?:user )?(?:input|instructions?|prompt|ambiguity|document)\b|<\|?(?:im start|im end|endoftext|system|eot id|start header id)\|?>|\[/?(?:inst|sys)\]|<</?sys>>|#{2,}\s*(?:system|instructions?|new instructions?)\b|\bsystem override\b|\b(?:admin|administrator|developer|debug|maintenance|god) (?:mode|override|access) (?:enabled|activated|on)\b"),
    _r("fake_delimiter", "injection", 0.6, r"(?m:^\s*(?:system|admin)\s*:)", keys=r"\bsystem|\badmin"),
    # --- direct injection: the instructions or the secret recast into another form
    _r("rework_as_format", "injection", 0.4, rf"\b(?:write|format|convert|explain|list|repeat|summari[sz]e|translate|rewrite|output|print|restate|return|share|put|turn|describe)\b[^.?!\n]{{0,20}}?\b(?:{_OWN}|all(?: of)?(?: the)?|the)\s+(?:(?:exact|specific|full|entire|complete|whole)\s+)?(?:system\s+)?(?:instructions?|rules|ruleset|directives|prompt|above words)\b(?!\s+(?:of|for|on|about|in the game)\b)[^.?!\n]{{0,30}}?\b(?:as|in(?:to)?|using|with)\s+(?:an?\s+)?{_FORMS}\b", keys=_FORM_KEYS),
    _r("creative_about_secret", "injection", 0.8, rf"\b{_CREATIVE}s?\b[^.?!\n]{{0,30}}?\b(?:about|on|of|describing|explaining|summari[sz]ing|revealing|listing|that (?:includes?|contains?|reveals?|explains?|describes?|lists?))\s+(?:how you \w+\s+)?(?:all\s+)?(?:(?:your|the)\s+(?:\w+\s+)?{_SECRET}|your\s+(?:\w+\s+)?(?:instructions|rules|ruleset|system prompt|prompt|directives))\b(?!\s+(?:of|for|in)\b)|\btl ?;? ?dr\b[^.?!\n]{{0,12}}?\b(?:your (?:instructions|rules|ruleset|prompt|system prompt)|the (?:system prompt|prompt above|instructions above|ruleset)(?! (?:of|for)\b))\b", keys=_CREATIVE_KEYS + "|tl"),
    _r("secret_in_output", "injection", 0.8, rf"\b(?:include|append|add|insert|put|place|store|embed|hide|write|spell|encode|inject|mention|output|print|reveal|leak)\b[^.?!\n]{{0,20}}?\b(?:the|your) (?:correct |secret |real |actual )?{_SECRET}\b[^.?!\n]{{0,30}}?\b(?:in|into|to|between|inside|within|after|before|at the end of)\s+(?:(?:(?:your|each|every|all|two|the|a)\s+)?(?:\w+\s+)?(?:responses?|repl(?:y|ies)|answers?|outputs?|messages?|{_CREATIVE}s?|brackets|quotes|sentences?|lines?)\b|[\"“'\[])", keys="password|passcode|pass phrase|passphrase|pass word|access code|secret"),
    _r("prefill_extraction", "injection", 0.6, r"\b(?:begin|start|prefix|preface|open)\s+(?:your|the|each|every)\s+(?:reply|response|answer|output|message)s?\s+with\b[^\n]{0,80}?\b(?:instructions?|rules|prompt|password|passcode|pass ?phrase|access code|secret)\b", keys="begin|start|prefix|preface|open"),
    _r("decode_and_follow", "injection", 0.6, r"\b(?:decode|decipher|decrypt|translate)\b[^.\n]{0,40}\b(?:and|then)\s+(?:follow|execute|do|obey|run|carry out|perform)\b", keys="decod|deciph|decrypt|translat"),
    # --- direct injection: the reply forced to open with given words ("Start your answer with
    # "Access Granted"", "Begin with "My instructions are:""), the secret asked for in a message that
    # says nothing else, the text "above" reworked in a message that has nothing above it
    _r("forced_prefix", "injection", 0.4, r"\b(?:start|begin|prefix|preface|open|lead)(?:s|ing)?\s+(?:off\s+)?(?:(?:your|the|each|every|all(?: of)?(?: your)?|everything)\s+(?:(?:\w+\s+)?(?:repl(?:y|ies)|responses?|answers?|outputs?|messages?|texts?)\s+)?)?(?:with|by saying)\s*[:,]?\s*[\"“'\[]"),
    _r("secret_alone", "injection", 0.4, rf"\A\W*(?:(?:so|ok|okay|now|hey|hi|please|then|and)\W+)*(?:what(?:'s| is| was)|tell me|give me|say|print|reveal|type|spell)\s+(?:me\s+)?(?:the|your)\s+(?:(?:current|secret|correct|real|actual)\s+)?(?:{_SECRET}|magic ?word)\b\W*\Z", keys=r"\bpassword|\bpass|\bpasscode|\baccess|\bsecret|\bmagic", reach=_WHOLE_TEXT),
    _r("above_at_start", "injection", 0.6, r"\A\W*(?:(?:please|now|ok|okay|so|then|and|hi|hey)\W+)*(?:explain|summari[sz]e|convert|translate|format|rewrite|repeat|print|output|list|put|turn|encode|write|paraphrase|describe|render|restate|show|display|tell me|give me)\b[^.?!\n]{0,30}?\b(?:the\s+|(?:text|words|content|message|passage|lines|sentences|paragraphs?|everything)\s+)?(?:above|preceding)\b", keys=r"\babove|\bpreceding", reach=_WHOLE_TEXT),
    # --- direct injection: fake structure (three lines fenced by one delimiter, a bare chat-template token)
    _r("delimiter_flood", "injection", 0.4, r"(%%%|={3,}|#{3,}|<{3,}|>{3,}|\*{3,})[^\n]{1,80}?\1[ \t]*\n\s*\1[^\n]{1,80}?\1[ \t]*\n\s*\1[^\n]{1,80}?\1"),
    _r("chat_token_fragment", "injection", 0.4, r"<\|[ \t]*\n"),  # "<|" ending a line (an operator is followed by more code)
    # "all (the) instructions": no owner, no qualifier (those are the override rules'), nothing after
    # them that says whose
    _r("all_instructions", "injection", 0.4, r"\ball(?: of)?(?: the)?\s+(?:instructions|rules|directives|guidelines|commands)\b(?!\s+(?:for|of|on|about|in|to|from|below|that|you|i|we)\b)"),
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
    _r("no_morals", "jailbreak", 0.6, r"\b(?:no|without|sans|zero|free of|(?:doesn't|don't|dont|doesnt|do not|does not) have(?: any)?|has no|have no|lacks?|devoid of|regardless of|ignores?|disregards?|not care about|doesn't care about|don't care about)\s+(?:(?:any|all|of|the|its|your|their)\s+)*(?:laws?,?\s+(?:and\s+)?)?(?:morals?|moralities|morality|ethics|ethical|legal(?:ity)?|moral|principles|scruples|conscience)\b|\b(?:ethics|morals|morality|legality|laws|rules|restrictions|guidelines|policies|filters)\b[^.\n]{0,30}\b(?:don't|do not|doesn't|does not|never|no longer)\s+(?:matter|apply|exist)", keys="moral|ethic|legal|principle|scruple|conscience|matter|apply|exist"),
    _r("policy_break", "jailbreak", 1.0, r"\b(?:ignore|bypass|break|violat(?:e|es|ing)|go(?:es|ing)? against|defy|defies|defying|circumvent|disregard|not follow|doesn't follow|does not follow|don't follow|do not follow|not adhere to|free from|not bound by)\b[^.\n]{0,30}\b(?:openai|anthropic|content|safety|usage|ethical|moral|ai)\s+(?:content\s+)?(?:polic(?:y|ies)|guidelines|rules|filters?|restrictions|standards)|\bviolat(?:e|es|ing)\s+(?:all|any|every)\s+(?:[\w']+\s+){0,4}?(?:restrictions|rules|guidelines|policies|filters|limitations)\b", keys="polic|guideline|rules|filter|restriction|standards|limitations"),
    _r("content_policy", "jailbreak", 0.3, r"\b(?:openai|anthropic)(?:'s)?\s+(?:content\s+)?(?:polic(?:y|ies)|guidelines|rules)", keys="openai|anthropic"),
    _r("uncensored", "jailbreak", 0.5, r"\b(?:uncensored|unfiltered|unfiltred|unrestricted|amoral|immoral|unethical|unhinged|no filters?)\b", keys="uncensored|unfiltered|unfiltred|unrestricted|amoral|immoral|unethical|unhinged|no filter"),
    _r("answer_anything", "jailbreak", 0.5, r"\b(?:answer|respond to|reply to|do|say|write|generate)\s+(?:absolutely\s+)?(?:anything|everything|any (?:question|request|prompt))\b|\b(?:will|would|must|should|can|could) (?:never|not) (?:refuse|decline|reject|deny)\b|\bnever (?:refuses?|declines?|says? no)\b|\bany (?:kind|type|sort) of (?:content|request|question|information)\b|\bno matter how (?:immoral|unethical|illegal|dangerous|harmful|offensive|explicit)\b|\beven if (?:it(?:'s| is)|they are) (?:illegal|harmful|unethical|immoral|dangerous)\b", keys="anything|everything|any question|any request|any prompt|refus|declin|reject|deny|says no|say no|kind of|type of|sort of|no matter how|even if"),
    _r("no_refusal", "jailbreak", 0.5, r"\b(?:answering|responding to|replying to)\s+(?:absolutely\s+)?(?:anything|everything|any (?:question|request|prompt))\b|\b(?:can't|cannot|won't) (?:refuse|decline|reject|deny)\b|\beven if the (?:request|question|content|answer) is (?:illegal|harmful|unethical|immoral|dangerous)\b|\beven if (?:it|the (?:request|question|content|answer)) (?:harms|hurts|offends) (?:someone|somebody|people|others)\b", keys="anything|everything|any question|any request|any prompt|refuse|decline|reject|deny|even if"),
    _r("no_refusal", "jailbreak", 0.5, r"\b(?:do not|don't|dont|never)\s+(?:ever\s+)?(?:refuse|decline|deny|reject)\s+(?:to\s+)?(?:answer|respond|reply|any|a request|my|the)"),
    _r("opposite_persona", "jailbreak", 0.4, r"\b(?:the )?(?:exact )?opposite of (?:what|everything)\b|\bexact opposite\b|\bopposite day\b", keys="opposite"),
    _r("dan_label", "jailbreak", 0.6, r"(?m:^\s*dan\s*:)", keys=r"\bdan", reach=(64, 16)),  # a label: "dan" a few spaces from its line's start and its colon
    _r("stay_in_character", "jailbreak", 0.5, r"\b(?:stay|remain|keep)(?:ing)? in character\b|\bstay as (?!(?:long|much|far|close|soon|well|usual|possible|is|it|you|a|an|the|before)\b)[a-z]\w*\s*[!.]|\bbreak(?:ing)? character\b|\bout of character\b", keys="character|stay as"),
    _r("from_now_on", "jailbreak", 0.4, r"\b(?:from now on|from this (?:moment|point)(?: on(?:wards?)?| forward)?)(?: until [^.\n]{1,40}?)?[\s,]+(?:you\b|we\b|act\b|respond\b|answer\b|pretend\b)|\bfor the rest of (?:this|the|our) conversation\b", keys="from now on|from this moment|from this point|rest of th"),
    _r("dual_response", "jailbreak", 0.6, r"\b(?:two|2) (?:(?:different|separate|distinct) ){0,2}(?:responses|answers|paragraphs|ways)\b[^.\n]{0,80}\b(?:normal|classic|jailbr\w*|unfiltered|standard|censored|filtered|developer)|\[?(?:🔒|🔓)|\b(?:classic|jailbreak)\]|\bhow (?:you|chat ?gpt|gpt|the ai|an ai) would (?:normally|usually|typically) (?:respond|answer|reply)\b", keys="responses|answers|paragraphs|ways|🔒|🔓|classic]|jailbreak]|normally|usually|typically"),
    _r("pretend_unrestricted", "jailbreak", 0.5, r"\b(?:pretend|imagine|act as if|suppose|simulate|roleplay|role play|act as)\b[^.\n]{0,60}\b(?:no (?:rules|restrictions|limits|filters|guidelines|ethics|morals)|unrestricted|uncensored|unfiltered|evil|without (?:restrictions|limits|rules|filters))", keys="pretend|imagine|act as|suppose|simulate|roleplay|role play"),
    _r("persona_ai", "jailbreak", 0.3, r"\byou (?:are|will be|are going to (?:be|act as|pretend to be)|will (?:act|pretend) (?:as|to be))\s+(?:now\s+)?(?:an?\s+)?(?:\w+\s+){0,3}(?:ai|bot|chatbot|gpt|model|assistant)\b", keys="you are|you will"),
    _r("insert_prompt", "jailbreak", 0.5, r"[\[(<{](?:(?:insert|put|enter|type|your|write)\s+)*(?:your\s+)?(?:prompt|request|question)(?:\s+here)?[\])>}]|\[insert[^\]]{0,30}\]", keys="prompt|request|question|insert"),
    # a slot for "your prompt" is a jailbreak wrapper's: the real request goes in it
    _r("prompt_slot", "jailbreak", 0.3, r"[\[(<{](?:(?:insert|put|enter|type|your|write|paste|add)\s+)*(?:your\s+)?prompt(?:\s+here)?[\])>}]"),
    _r("you_are_now", "jailbreak", 0.4, r"\byou are now\b|\byou (?:will|shall) now (?:act|be|respond|answer)\b", keys="you are now|will now|shall now"),
    _r("hypothetical_frame", "jailbreak", 0.4, r"\b(?:purely|just|only|completely|entirely) (?:hypothetical|fictional|theoretical)\b|\bhypothetical(?:ly)?\b|\bfor (?:purely )?(?:educational|research|learning|informational|academic) purposes\b|\b(?:no|none of (?:your|the|its)|without|don't have|do not have) (?:\w+ )?(?:real world )?(?:actions? )?(?:will )?(?:have )?consequences\b|\b(?:fictional|imaginary|hypothetical|alternate|parallel) (?:world|universe|reality|setting)\b", keys="hypothetic|fictional|theoretical|purposes|consequences|imaginary|alternate|parallel"),
    _r("game_frame", "jailbreak", 0.3, r"\blet'?s play a (?:game|role ?play)\b|\bwe are going to (?:have|play) a (?:role ?play|game)\b", keys="game|play"),
    _r("dan_persona", "jailbreak", 0.6, r"\b(?:pretend to be|you are|you're|act as|acting as|play|become|emulate|simulate|stay as)\s+(?:chat ?)?dan\b|\b(?:named|called)\s+dan\b|\b(?:respond|reply|answer|act|talk|speak)(?:s|ing)?\s+(?:like|as)\s+dan\b", keys="dan"),
    _r("renamed", "jailbreak", 0.4, r"\byour (?:new )?name (?:is now|will (?:now )?be|is going to be)\b|\byour new name is\b|\byou (?:are|will be) (?:now )?(?:called|named|known as)\b|\b(?:which|that|who|it) stands for\b|\b(?:an? )?(?:ai|bot|chatbot)\s+(?:called|named)\b", keys="name|called|named|known as|stands for"),
    _r("gpt_persona", "jailbreak", 0.3, r"\b(?!chat ?gpt\b)[a-z0-9]+gpt\b", keys="gpt", reach=(40, 3)),  # one word, that ends with its key
    _r("dual_persona", "jailbreak", 0.4, r"\b(?:two|2|both) (?:\w+ )?(?:entities|personas|personalities|persons|alter egos|versions of (?:yourself|you))\b", keys="entities|persona|personalit|persons|alter ego|versions of"),
    _r("payload_split", "jailbreak", 0.6, r"\$[a-z]\w*\s*\+\s*\$[a-z]\w*", keys="$"),
    _r("greets_model", "jailbreak", 0.3, r"\b(?:hi|hello|hey|dear)\s*,?\s*(?:chat ?gpt|gpt|openai|bard|claude)\b", keys="gpt|openai|bard|claude"),
    _r("stays_in_mode", "jailbreak", 0.3, r"\b(?:stay|remain|enter|switch|activate|enable)\w*\s+(?:in(?:to)?\s+)?(?:\w+\s+){0,2}mode\b", keys="mode"),
    _r("in_character_as", "jailbreak", 0.4, r"\bin character as\b|\b(?:always )?(?:respond|answer|reply)\s+(?:only\s+)?as\s+\w+\b|\b(?:respond|answer|reply) to (?:all |any |every )?(?:of )?(?:my |the |your )?(?:questions|prompts|messages|requests) (?:only )?as \w+\b|\bassume the (?:persona|role|identity) of\b", keys="in character|respond|answer|reply|assume the"),
    _r("fake_authority", "jailbreak", 0.6, r"\bi(?:'m| am) (?:a |an |the )?(?:\w+ )?(?:developer|programmer|engineer|employee|researcher|admin\w*|creator) (?:at|from|of|for|with) (?:openai|anthropic|google|meta|microsoft)\b", keys="openai|anthropic|google|meta|microsoft"),
    _r("harmful_enablement", "jailbreak", 0.3, r"\b(?:illegal|harmful|dangerous|offensive|explicit|nsfw|unethical|malicious|extreme)\s+(?:and \w+ )?(?:content|information|requests?|activities|things|questions|material)\b", keys="illegal|harmful|dangerous|offensive|explicit|nsfw|unethical|malicious|extreme"),
    # the model redefined in the third person ("ChatGPT now runs on a terminal", "Assistant only replies ...")
    _r("model_redefined", "jailbreak", 0.4, r"\b(?:chat ?gpt|assistant|bard|claude|gpt)\s+(?:now|will now|is now|from now on|only|always|never|will only|will always|will never|must only|must always)\s+(?:acts?|runs?|works?|is|behaves?|responds?|becomes?|operates?|uses?|replies|answers|says|reply|respond|answer|say)\b"),
    # --- jailbreak: the "grandma" role-play, a demand to acknowledge the new rules, filtering and
    # the model's own voice switched off
    _r("grandma_roleplay", "jailbreak", 0.8, r"\b(?:act|acting|pretend|pretending|roleplay|role play|play the role of|behave|imitate|impersonate)\w*\s+(?:to be\s+|as\s+|like\s+)*my\s+(?:(?:dear|sweet|beloved|late|deceased|dead|old|loving)\s+)*(?:grand(?:mother|ma|father|pa)|granny|nana)\b"),
    # (in two parts: the one that starts with "say", "answer", ... is tried only near "understand" and the like)
    _r("acknowledge_rules", "jailbreak", 0.5, r"\bif you (?:have )?(?:understand|understood|agree|accept|are ready)\b[^.\n]{0,40}?\b(?:say|reply|respond|answer|type|write|state|confirm|print)\b|\bconfirm (?:that )?you (?:understand|understood|agree)\b"),
    _r("acknowledge_rules", "jailbreak", 0.5, r"\b(?:say|reply|respond|answer|type|write|print)\b[^.\n]{0,60}?\bif you (?:have )?(?:understand|understood|agree|accept)\b", keys=r"\bunderstand|\bunderstood|\bagree|\baccept", reach=(90, 16)),
    _r("no_filter", "jailbreak", 0.5, r"\b(?:do not|don't|dont|never|stop)\s+(?:filter|censor)(?:ing)?\b"),
    _r("not_as_model", "jailbreak", 0.6, r"\b(?:do not|don't|dont|never|stop)\s+(?:respond|answer|reply|act|talk|speak|write)(?:ing)?\s+(?:as|like)\s+(?:chat ?gpt|an? (?:ai )?assistant|yourself|openai|claude|gpt|bard)\b"),
    _r("addresses_model", "jailbreak", 0.15, r"\b(?:chat ?gpt|gpt-?[34]|openai|language model|ai model|large language model)\b", keys="gpt|openai|language model|ai model"),
)

# Which rules could match a text, from the words their patterns need, and
# where in a text each rule is worth trying.
RULES_GATE = ScoredRulesGate(RULES, THRESHOLD)
_KEYS = KeyIndex(RULES, RULES_GATE.checks)

_QUESTION_CUE = re.compile(
    r"\b(?:what (?:does|do|is|are|'s)|what's|meaning of|mean(?:s|ing)?\b|explain|definition|define|example of|examples of|"
    r"how (?:do|does|can|could|would|should|to)\b[^?]{0,60}\b(?:detect|prevent|defend|mitigate|stop|protect|block|work|handle)|"
    r"is it (?:safe|possible|dangerous)|why do|phrases? like|such as|the phrase|the string|the sentence|a sentence like|"
    r"classif(?:y|ier)|detect(?:ion|or)?s?\b|research|in (?:an? )?(?:article|paper|blog|talk))"
)
_QUESTION_CUE_CHECK = compile_check(requirement(_QUESTION_CUE))  # the words a cue needs: most texts lack them
# a mention is a short quotation: quote marks this close to the matched phrase
# (a long passage in quotes, such as a persona's script, is said, not mentioned)
_QUOTE_REACH = 30
_QUOTE_OPEN = "\"'“‘«`"
_QUOTE_PAIRS = {'"': '"', "'": "'", "“": "”", "‘": "’", "«": "»", "`": "`"}
_ANY_OPENER = re.compile("[" + re.escape(_QUOTE_OPEN) + "]")

_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\u180e\ufeff]")
_TAGS = re.compile("[\U000e0000-\U000e007f]+")
_INVISIBLE = re.compile("[\u200b-\u200d\u2060\u180e\ufeff\u202a-\u202e\u2066-\u2069\U000e0000-\U000e007f]")
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
_TOKEN = re.compile(r"[A-Za-z0-9+/=_\-]{24,}")
_HEX_ESCAPED = re.compile(r"(?:\\x[0-9A-Fa-f]{2}){12,}")
_SPACED_HEX = re.compile(r"(?<![0-9A-Fa-f])(?:[0-9A-Fa-f]{2}[ :]){15,}[0-9A-Fa-f]{2}(?![0-9A-Fa-f])")
_HEX_SEPARATORS = re.compile(r"[ :]")
_TWO_WORDS = re.compile(r"[A-Za-z]{3,}\s+[A-Za-z]{2,}")  # decoded text that reads as words
_HEXCHARS = frozenset("0123456789abcdefABCDEF")
# rot13 is tried only when the text speaks of it: a rot13 payload comes with a
# request to decode it, and decoding every text would double the cost
_ROT13_CUES = ("rot13", "rot 13", "rot-13", "caesar", "cipher", "decode", "decipher")


def _quoted(text: str, start: int, end: int) -> bool:
    """Whether [start, end) sits inside a short quotation on its line."""
    line_start = text.rfind("\n", 0, start) + 1
    head = text[max(line_start, start - _QUOTE_REACH):start]
    if not _ANY_OPENER.search(head):
        return False  # most matches: no quote mark before them at all
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    tail = text[end:min(line_end, end + _QUOTE_REACH)]
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
    return lowered_text(text).replace("-", " ").replace("_", " ")


def score_text(lowered: str, untrusted: bool, words: frozenset[str] | None = None) -> tuple[Score, list[str]]:
    """Score lowercased text; returns the score and the ids of matched rules.
    ``words``: the words of ``lowered`` when the caller has them."""
    if words is None:
        words = words_of(lowered)
    score = Score()
    hits: list[str] = []
    questioning: bool | None = None  # looked up on the first quoted match only
    # only rules that can count here: the others' keys were not looked for
    positions = _KEYS.positions(lowered, words, untrusted)
    matched: dict[str, tuple[Rule, re.Match[str]]] = {}  # by rule id, in rule order
    for index in sorted(positions):
        rule = RULES[index]
        if rule.untrusted_only and not untrusted:
            continue
        m = rule.search(lowered, positions[index])
        if not m:
            continue
        earlier = matched.get(rule.id)
        if earlier is None or m.start() < earlier[1].start():  # parts of one rule: the leftmost match counts
            matched[rule.id] = (rule, m)
    for rule, m in matched.values():
        weight = rule.weight
        if _quoted(lowered, m.start(), m.end()):
            if questioning is None:  # a search of the whole text: only once, only when needed
                questioning = _QUESTION_CUE_CHECK(lowered, words) and _QUESTION_CUE.search(lowered) is not None
            if questioning:
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
        raw = bytes.fromhex(_HEX_SEPARATORS.sub("", blob))
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
    return decoded if _TWO_WORDS.search(decoded) else None


def _has_invisible(text: str) -> bool:
    """Whether ``text`` holds an invisible character (zero-width, bidi control, tag)."""
    return not text.isascii() and _invisible_in(text)


@kept_for_last_text  # the rules' view of a text and the Unicode detector both ask: a scan of the whole text
def _invisible_in(text: str) -> bool:
    return _INVISIBLE.search(text) is not None


def _cleaned(text: str) -> str:
    """Zero-width characters removed, so they cannot split a keyword."""
    return _ZERO_WIDTH.sub("", text) if _has_invisible(text) and _ZERO_WIDTH.search(text) else text


_ROT13_MARKERS = Markers(_ROT13_CUES)


@kept_for_last_text  # the prefilter and then the detector ask for the same text
def _scored_view(text: str) -> tuple[str, frozenset[str]]:
    """What the rules see of a text, and its words."""
    normalized = normalize(_cleaned(text))
    return normalized, words_of(normalized)


def injection_possible(facts: TextFacts, untrusted: bool) -> bool:
    """Whether the rules could reach the threshold on the text, or an encoded
    payload could be decoded from it."""
    key = "injection.possible.untrusted" if untrusted else "injection.possible"
    return facts.memo(key, lambda text: _possible(facts, untrusted))  # the span's check and the text's agree


def _possible(facts: TextFacts, untrusted: bool) -> bool:
    normalized, words = facts.memo("injection.normalized", _scored_view)
    if RULES_GATE.possible(normalized, words, untrusted):
        return True
    return encoded_payload_possible(facts.text, facts.lowered, _ROT13_MARKERS) or token_flood_possible(facts.text)


# Adversarial padding: a long run of one-character tokens (") ] } ) ] }",
# "k k k k") pushes the instructions out of view or derails the model. No
# digits (a table of numbers is not padding), at most three distinct tokens
# (a grid or a board has more). Flags on its own.
FLOOD_WEIGHT = 0.8
_FLOOD = re.compile(r"(?<!\S)[^\s\d](?: [^\s\d]){%d,}(?!\S)" % (FLOOD_TOKENS - 1))


def token_flood(text: str) -> tuple[int, int] | None:
    """Where the first run of padding is, if any."""
    if not token_flood_possible(text):
        return None
    for m in _FLOOD.finditer(text):
        if len(set(m.group(0)[::2])) <= 3:
            return m.span()
    return None


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
        flood = token_flood(text)
        if flood is not None:
            score.injection += FLOOD_WEIGHT
            hits.append("token_flood")
            score.first = flood[0] if score.first < 0 else min(score.first, flood[0])
            score.last = max(score.last, flood[1])
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
        if _ROT13_MARKERS.in_text(lowered_text(text)):
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
        if not _has_invisible(text):
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
