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
from dataclasses import dataclass, replace

from store.guardrails.model import UNTRUSTED_ROLES, BaseDetector, DetectionContext, Finding, raise_severity

THRESHOLD = 1.0


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    category: str  # injection | jailbreak
    weight: float
    pattern: re.Pattern[str]
    untrusted_only: bool = False


def _r(id: str, category: str, weight: float, pattern: str, untrusted_only: bool = False) -> Rule:
    return Rule(id, category, weight, re.compile(pattern, re.S), untrusted_only)


_QUAL = r"(?:previous|prior|above|earlier|preceding|initial|original|old|former|past|existing|foregoing|system|developer|given|current|preset|default|all)"
_OBJ = (
    r"(?:instructions?|prompts?|rules|directions|directives|guidelines|commands|tasks|messages|orders|constraints|"
    r"programming|polic(?:y|ies)|training|settings|restrictions|guidance|context|conversation|text|inputs?)"
)
_IGNORE = r"(?:ignore|disregard|forget|bypass|override|overrule|discard|abandon|neglect|dismiss|set aside|throw out|skip)"

# Rules run on lowercased text with zero-width characters removed.
RULES: tuple[Rule, ...] = (
    # --- direct injection: override the instructions
    _r("override", "injection", 1.0, rf"\b{_IGNORE}\s+(?:(?:all|any|each|every|the|your|my|these|those|of|everything)\s+){{0,3}}{_QUAL}\s+(?:\w+\s+)?{_OBJ}\b"),
    _r("override_bare", "injection", 0.6, rf"\b{_IGNORE}\s+(?:(?:all|any|the|your|my|these|those)\s+){{1,2}}{_OBJ}\b"),
    _r("forget_everything", "injection", 1.0, r"\b(?:forget|ignore|disregard)\s+(?:about\s+)?(?:everything|all(?: of)? (?:that|this|the above))\b(?:\s+(?:above|before|previously|you (?:were|have been) told|i (?:said|told you)))?"),
    _r("do_not_follow", "injection", 0.8, rf"\b(?:do not|don't|stop|no longer)\s+(?:follow|obey|adhere to|listen to)\s+(?:(?:any|the|your|my|these)\s+)*(?:{_QUAL}\s+)?{_OBJ}"),
    _r("new_instructions", "injection", 0.5, r"\b(?:new|real|actual|updated|revised|true|different)\s+(?:instructions?|tasks?|rules|objective|goal|directives?|orders)\s*(?:follow|are|is|:)|\byour (?:new|real|true|actual) (?:task|goal|purpose|instructions?|job|role)\b|\bnow (?:focus on|your task is|you (?:must|will) only)\b"),
    _r("instead_do", "injection", 0.4, r"\binstead(?:,)? (?:you (?:will|must|should)|say|write|respond|output|print|reply)\b"),
    _r("precedence", "injection", 0.5, r"\b(?:takes?|has|have|with) (?:precedence|priority) over\b|\b(?:supersedes?|overrides?) (?:all|any|every|the|your) (?:previous|prior|other|existing)\b|\bhighest priority (?:instruction|task|directive)"),
    # --- direct injection: get the system prompt out
    _r("extract_prompt", "injection", 1.0, r"\b(?:reveal|show|print|output|repeat|display|tell|give|leak|write(?: out| down)?|list|dump|recite|spell out|share|disclose|expose|paste|copy|translate|summari[sz]e|what (?:is|are|was|were))\b[^.?!\n]{0,40}?\b(?:system ?prompt|pre-?prompt|initial prompt|hidden prompt|secret prompt|original prompt|system (?:message|instructions?)|(?:your|the) (?:initial|original|hidden|secret|full|first|complete|exact|above|previous|prior) (?:instructions?|prompts?|directives|rules|guidelines|message)|(?:instructions?|prompt|text|words|content|everything|all) (?:above|so far|before this|given to you|you (?:were|have been) given))"),
    _r("extract_instructions", "injection", 0.6, r"\b(?:reveal|show|print|output|repeat|display|tell me|give me|dump|recite|what (?:are|were))\b[^.?!\n]{0,25}?\byour (?:instructions|prompt|rules|guidelines|programming|configuration|directives)\b"),
    _r("repeat_above", "injection", 1.0, r"\b(?:repeat|print|output|echo|rewrite|write)\b[^.?!\n]{0,30}?\b(?:above|so far|verbatim|word for word|everything before)\b"),
    _r("secret_value", "injection", 0.6, r"\b(?:tell|give|reveal|say|print|output|what is|what's|spell)\b[^.?!\n]{0,20}?\b(?:the|your) (?:password|passphrase|secret(?: key| word)?|access code|passcode|magic ?word)\b"),
    _r("begin_with", "injection", 0.35, r"\b(?:begin|start|prefix|preface) your (?:reply|response|answer|output|message) with\b"),
    _r("fake_delimiter", "injection", 0.6, r"%%%\s*end|={5,}\s*(?:end|new|system)|\bend of (?:user |the )?(?:input|instructions?|prompt|ambiguity|document)\b|<\|?(?:im_start|im_end|endoftext|system|eot_id|start_header_id)\|?>|\[/?(?:inst|sys)\]|<</?sys>>|#{2,}\s*(?:system|instructions?|new instructions?)\b|^\s*(?:system|admin)\s*:|\bsystem override\b|\b(?:admin|administrator|developer|debug|maintenance|god) (?:mode|override|access) (?:enabled|activated|on)\b"),
    _r("decode_and_follow", "injection", 0.6, r"\b(?:decode|decipher|decrypt|translate)\b[^.\n]{0,40}\b(?:and|then)\s+(?:follow|execute|do|obey|run|carry out|perform)\b"),
    # --- indirect injection: only counted in tool output and retrieved context
    _r("addressed_to_ai", "injection", 1.0, r"\b(?:note|message|instructions?|attention|important|notice)\s+(?:to|for)\s+(?:the\s+|any\s+|all\s+)?(?:ai|assistant|model|llm|agent|bot|chatbot|language model)s?\b", True),
    _r("ai_must", "injection", 0.6, r"\b(?:ai|assistant|language model|llm|chatbot|agent|chatgpt|claude|gpt|gemini|copilot)s?\b[^.\n]{0,20}\b(?:must|should|shall|will|needs? to|is instructed to|are instructed to)\b", True),
    _r("when_you_read", "injection", 0.6, r"\bwhen (?:you|the (?:ai|assistant|model))\s+(?:summari[sz]e|read|process|see|encounter|parse)\b", True),
    _r("hide_from_user", "injection", 1.0, r"\b(?:do not|don't|never)\s+(?:tell|inform|mention|reveal|show|disclose)\s+(?:this\s+)?(?:to\s+)?the user\b|\bwithout (?:telling|informing|alerting) the user\b", True),
    _r("exfiltrate", "injection", 0.8, r"\b(?:send|forward|post|upload|email|leak|exfiltrate)\b[^.\n]{0,50}\b(?:to|at)\s+(?:https?://|\S+@\S+\.\w+)|!\[[^\]]*\]\(https?://[^)\s]*[?&][^)\s]*=", True),
    # --- jailbreak: persona and restriction removal
    _r("dan", "jailbreak", 1.0, r"\bdo anything now\b|\bd\.a\.n\b|\bdan (?:mode|prompt|jailbreak)\b|\bas dan\b|\bdan,? (?:which|who) stands for\b"),
    _r("developer_mode", "jailbreak", 0.7, r"\b(?:developer|dev|god|jailbreak|unrestricted|unfiltered|evil|chaos|opposite) mode\b"),
    _r("jailbreak_word", "jailbreak", 0.5, r"\bjailbr(?:eak|oken|eaking)\b"),
    _r("no_longer_bound", "jailbreak", 1.0, r"\b(?:no longer|not|never|aren't|isn't|are not|is not)\s+(?:bound|restricted|limited|constrained|governed|held back|restrained)\s+by\b|\b(?:free|freed|liberated|released|broken free|break free)\s+(?:from|of)\s+(?:all |any |the |your |its |their )*(?:\w+ )?(?:restrictions|rules|constraints|limitations|confines|shackles|guidelines|chains|filters|policies|programming)"),
    _r("no_longer_ai", "jailbreak", 1.0, r"\byou are no longer (?:an? )?(?:ai|chat ?gpt|assistant|language model|bound|restricted|claude|gpt)\b|\byou (?:are|will be) (?:now )?(?:freed|unshackled|unchained|unrestricted|uncensored|unfiltered)\b"),
    _r("no_rules", "jailbreak", 0.6, r"\b(?:no|without|zero|free of|free from|doesn't have any|don't have any|has no|have no|lacks?|ignores?)\s+(?:any\s+)?(?:rules|restrictions|limits|limitations|boundaries|filters?|filtering|censorship|guidelines|constraints|safeguards|content polic(?:y|ies)|programming to)\b"),
    _r("no_morals", "jailbreak", 0.6, r"\b(?:no|without|zero|free of|doesn't have any|don't have any|has no|have no|lacks?|devoid of|regardless of|ignores?|disregards?|not care about|doesn't care about|don't care about)\s+(?:any\s+)?(?:morals?|morality|ethics|ethical|legal(?:ity)?|moral|principles|scruples|conscience)\b|\b(?:ethics|morals|morality|legality|laws)\b[^.\n]{0,30}\b(?:don't|do not|doesn't|does not|never)\s+(?:matter|apply|exist)"),
    _r("policy_break", "jailbreak", 1.0, r"\b(?:ignore|bypass|break|violate|disregard|not follow|doesn't follow|does not follow|don't follow|do not follow|not adhere to|free from|not bound by)\b[^.\n]{0,30}\b(?:openai|anthropic|content|safety|usage|ethical|moral)\s+(?:content\s+)?(?:polic(?:y|ies)|guidelines|rules|filters?|restrictions)"),
    _r("content_policy", "jailbreak", 0.3, r"\b(?:openai|anthropic)(?:'s)?\s+(?:content\s+)?(?:polic(?:y|ies)|guidelines|rules)"),
    _r("uncensored", "jailbreak", 0.5, r"\b(?:uncensored|unfiltered|unrestricted|amoral|immoral|unethical|unhinged|no filters?)\b"),
    _r("answer_anything", "jailbreak", 0.5, r"\b(?:answer|respond to|reply to|do|say|write|generate)\s+(?:absolutely\s+)?(?:anything|everything|any (?:question|request|prompt))\b|\b(?:will|would|must|should|can|could) (?:never|not) (?:refuse|decline|reject|deny)\b|\bnever (?:refuses?|declines?|says? no)\b|\bno matter how (?:immoral|unethical|illegal|dangerous|harmful|offensive|explicit)\b|\beven if (?:it(?:'s| is)|they are) (?:illegal|harmful|unethical|immoral|dangerous)\b"),
    _r("stay_in_character", "jailbreak", 0.5, r"\b(?:stay|remain|keep)(?:ing)? in character\b|\bbreak(?:ing)? character\b|\bout of character\b"),
    _r("from_now_on", "jailbreak", 0.4, r"\bfrom now on,?\s+(?:you\b|we\b|act\b|respond\b|answer\b|pretend\b)|\bfor the rest of (?:this|the|our) conversation\b"),
    _r("dual_response", "jailbreak", 0.6, r"\b(?:two|2) (?:different |separate )?(?:responses|answers|paragraphs|ways)\b[^.\n]{0,80}\b(?:normal|classic|jailbr\w*|unfiltered|standard|censored|filtered|developer)|\[?(?:🔒|🔓)|\b(?:classic|jailbreak)\]"),
    _r("pretend_unrestricted", "jailbreak", 0.5, r"\b(?:pretend|imagine|act as if|suppose|simulate|roleplay|role-play|role play|act as)\b[^.\n]{0,60}\b(?:no (?:rules|restrictions|limits|filters|guidelines|ethics|morals)|unrestricted|uncensored|unfiltered|evil|without (?:restrictions|limits|rules|filters))"),
    _r("persona_ai", "jailbreak", 0.3, r"\byou (?:are|will be|are going to (?:be|act as|pretend to be)|will (?:act|pretend) (?:as|to be))\s+(?:now\s+)?(?:an?\s+)?(?:\w+\s+){0,3}(?:ai|bot|chatbot|gpt|model|assistant)\b"),
    _r("insert_prompt", "jailbreak", 0.4, r"\[(?:insert )?(?:your )?prompt(?: here)?\]|\{prompt\}|\[insert[^\]]{0,30}\]"),
    _r("harmful_enablement", "jailbreak", 0.3, r"\b(?:illegal|harmful|dangerous|offensive|explicit|nsfw|unethical|malicious)\s+(?:content|information|requests?|activities|things|questions|material)\b"),
    _r("addresses_model", "jailbreak", 0.15, r"\b(?:chat ?gpt|gpt-?[34]|openai|language model|ai model|large language model)\b"),
)

# Cheap gate: when none of these stems occurs, no rule can match.
_GATE = re.compile(
    r"ignor|disregard|forget|bypass|overrid|overrul|discard|abandon|neglect|dismiss|set aside|throw out|skip|"
    r"follow|obey|adhere|instruction|prompt|task|rule|directive|goal|objective|instead|priorit|precedence|supersed|"
    r"reveal|repeat|password|secret|passcode|access code|magic|begin your|start your|prefix your|preface your|"
    r"%%%|====|end of|<\||\[inst|\[sys|<<sys|##|system|admin|decode|decipher|decrypt|"
    r"\bai\b|assistant|model|llm|agent|bot\b|gpt|claude|gemini|copilot|when you|the user|send|forward|upload|email|leak|!\[|"
    r"dan\b|d\.a\.n|mode\b|jailbr|bound|restrict|limit|constrain|free|liberat|releas|rules|filter|censor|guideline|"
    r"moral|ethic|legal|principle|scruple|conscience|polic|amoral|unhinged|anything|everything|refus|declin|"
    r"no matter|even if|character|from now on|rest of th|two|2 |🔒|🔓|classic|pretend|imagine|act as|suppose|"
    r"simulat|role|you are|you will|\[insert|\{prompt|harmful|dangerous|offensive|explicit|nsfw|unethical|malicious|"
    r"illegal"
)

_QUESTION_CUE = re.compile(
    r"\b(?:what (?:does|do|is|are|'s)|what's|meaning of|mean(?:s|ing)?\b|explain|definition|define|example of|examples of|"
    r"how (?:do|does|can|could|would|should|to)\b[^?]{0,60}\b(?:detect|prevent|defend|mitigate|stop|protect|block|work|handle)|"
    r"is it (?:safe|possible|dangerous)|why do|phrases? like|such as|the phrase|the string|the sentence|a sentence like|"
    r"classif(?:y|ier)|detect(?:ion|or)?s?\b|research|in (?:an? )?(?:article|paper|blog|talk))"
)
_QUOTE_OPEN = "\"'“‘«`"
_QUOTE_PAIRS = {'"': '"', "'": "'", "“": "”", "‘": "’", "«": "»", "`": "`"}

_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\u180e\ufeff]")
_TAGS = re.compile("[\U000e0000-\U000e007f]+")
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
_B64 = re.compile(r"(?<![A-Za-z0-9+/=_\-])[A-Za-z0-9+/_\-]{24,}={0,2}(?![A-Za-z0-9+/=_\-])")
_HEX = re.compile(r"(?<![0-9A-Fa-f])(?:[0-9A-Fa-f]{2}[ :]?){16,}(?![0-9A-Fa-f])")


def _quoted(text: str, start: int, end: int) -> bool:
    """Whether [start, end) sits inside a quotation on its line."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    head, tail = text[line_start:start], text[end:line_end]
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


def score_text(lowered: str, untrusted: bool) -> tuple[Score, list[str]]:
    """Score lowercased text; returns the score and the ids of matched rules."""
    score = Score()
    hits: list[str] = []
    if not _GATE.search(lowered):
        return score, hits
    questioning = _QUESTION_CUE.search(lowered) is not None
    for rule in RULES:
        if rule.untrusted_only and not untrusted:
            continue
        m = rule.pattern.search(lowered)
        if not m:
            continue
        weight = rule.weight
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
    if not decoded or sum(ch.isprintable() or ch in "\n\t" for ch in decoded) / len(decoded) < 0.95:
        return None
    return decoded if re.search(r"[A-Za-z]{3,}\s+[A-Za-z]{2,}", decoded) else None


class InjectionDetector(BaseDetector):
    """Direct and indirect prompt injection and jailbreaks on input text."""

    name = "injection.rules"
    category = "injection"
    severity = "medium"
    version = "1"

    def applies_to(self, ctx: DetectionContext) -> bool:
        return ctx.direction == "input" and ctx.role != "system" and ctx.role != "assistant"

    def detect(self, text: str, ctx: DetectionContext) -> list[Finding]:
        untrusted = ctx.role in UNTRUSTED_ROLES
        cleaned = _ZERO_WIDTH.sub("", text) if _ZERO_WIDTH.search(text) else text
        out: list[Finding] = []
        score, hits = score_text(cleaned.lower(), untrusted)
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
        if len(text) >= 24:
            for m in _B64.finditer(text):
                decoded = _decode_base64(m.group(0))
                if decoded:
                    candidates.append((m.start(), m.end(), "base64", decoded))
            for m in _HEX.finditer(text):
                decoded = _decode_hex(m.group(0))
                if decoded:
                    candidates.append((m.start(), m.end(), "hex", decoded))
            rot = codecs.encode(text, "rot13")
            candidates.append((0, len(text), "rot13", rot))
        for start, end, encoding, decoded in candidates:
            score, hits = score_text(decoded.lower(), untrusted)
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

    def applies_to(self, ctx: DetectionContext) -> bool:
        return ctx.role != "system"

    def detect(self, text: str, ctx: DetectionContext) -> list[Finding]:
        if text.isascii():
            return []
        out: list[Finding] = []
        for m in _TAGS.finditer(text):
            hidden = "".join(chr(ord(ch) - 0xE0000) for ch in m.group(0) if 0x20 <= ord(ch) - 0xE0000 < 0x7F)
            score, hits = score_text(hidden.lower(), True)
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
