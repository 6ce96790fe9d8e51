"""PII detectors: email, phone, payment card, IBAN, US SSN, IP address.

Each one pairs a permissive candidate pattern with a validator (checksum,
numbering rules, context words), because the cheap pattern alone flags order
numbers, dates and version strings.
"""

from __future__ import annotations

import ipaddress
import re

from store.guardrails.model import BaseDetector, DetectionContext, Finding
from store.guardrails.prefilter import TextFacts
from store.guardrails.textutil import CodeRegions, after, before, char_classes, lowered_text, luhn_ok, shape_matches

# _DIGIT_FIRST: the number patterns below start with one digit class on its
# own ("[0-9][0-9]{2}", not "[0-9]{3}"). Python's engine skips to the next
# character of a leading class in a tight loop, where a leading repeat makes
# it try a match at every position: half the cost on 4 KB of text.

# what an address has right before and right after its "@" (EmailDetector._pattern)
_LOCAL_PART_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_%+'-")
_DOMAIN_FIRST_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")


class EmailDetector(BaseDetector):
    """Email addresses.

    Policy for examples and code: addresses at reserved documentation domains
    (example.com/.net/.org, *.example, *.test, *.invalid, *.localhost; RFC 2606
    and 6761) are never reported, wherever they are. A real-looking address
    inside a code block or inline code is still reported (a real address in a
    config file is still personal data) but at confidence 0.5 with
    ``details["in_code"] = True``, so a UI or a threshold can treat it apart.
    Patterns in regex literals do not match at all: ``\\w+@\\w+\\.com`` has no
    valid domain.
    """

    name = "pii.email"
    category = "pii"
    severity = "medium"
    version = "1"

    _pattern = re.compile(
        r"(?<![\w.%+'\-])"
        r"([A-Za-z0-9_%+'\-]+(?:\.[A-Za-z0-9_%+'\-]+)*)"
        r"@((?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24})"
        r"(?![\w\-]|\.[A-Za-z0-9])"
    )
    _reserved = re.compile(r"(?:^|\.)(?:example\.(?:com|net|org)|example|test|invalid|localhost)$", re.I)
    _file_tlds = frozenset(
        "png jpg jpeg gif svg webp bmp ico js mjs ts tsx jsx css scss py rb go rs java md txt json yaml yml".split()
    )

    def _around_at(self, text: str) -> list[re.Match[str]]:
        """Matches found near each '@' only: scanning the whole text with a
        pattern that starts at every word is what makes email regexes slow."""
        found: list[re.Match[str]] = []
        at = text.find("@")
        n = len(text)
        while at >= 0:
            if not (0 < at < n - 1 and text[at - 1] in _LOCAL_PART_CHARS and text[at + 1] in _DOMAIN_FIRST_CHARS):
                at = text.find("@", at + 1)  # no address has this "@" (a run of "@$@&@" costs no search)
                continue
            start = max(0, at - 65, found[-1].end() if found else 0)
            m = self._pattern.search(text, start, min(len(text), at + 256))
            while m and m.end() <= at:
                m = self._pattern.search(text, m.end(), min(len(text), at + 256))
            if m and m.start() < at:
                found.append(m)
                at = text.find("@", m.end())
            else:
                at = text.find("@", at + 1)
        return found

    family = "values"
    batch_pattern = "@"

    def prefilter(self, facts: TextFacts, ctx: DetectionContext) -> bool:
        return "@" in facts.text

    def detect(self, text: str, ctx: DetectionContext) -> list[Finding]:
        if "@" not in text:
            return []
        out: list[Finding] = []
        code: CodeRegions | None = None
        for m in self._around_at(text):
            local, domain = m.group(1), m.group(2)
            if len(local) > 64 or self._reserved.search(domain):
                continue
            if domain.rsplit(".", 1)[-1].lower() in self._file_tlds:
                continue  # image@2x.png, module@1x.js
            if local == "git" and text[m.end() : m.end() + 1] == ":":
                continue  # git@github.com:org/repo, an SSH remote
            code = code or CodeRegions(text)
            in_code = code.contains(m.start())
            out.append(
                self.finding(
                    m.start(), m.end(), "email", 0.5 if in_code else 0.95, ctx, details={"in_code": True} if in_code else None
                )
            )
        return out


_PHONE_CONTEXT = re.compile(
    r"\b(?:phone|ph|tel|telephone|mobile|mob|cell|cellphone|fax|call(?:ed|ing)?|text|sms|whatsapp|signal|"
    r"contact|reach|dial|ring|landline|hotline|answering|messages?|registered)\b|\b(?:desk|office|home|work)\s*:"
)
_STREET_AFTER = re.compile(r"^\s+[A-Z][a-z]+\s+(?:St|Street|Ave|Avenue|Rd|Road|Blvd|Lane|Ln|Dr|Drive|Way|Court|Ct|Place|Pl)\b")
_PHONE_LABEL_AFTER = re.compile(r"^\s*[-(]?\s*(?:office|fax|mobile|cell|home|work|desk|tel|phone)\b")
_NOT_PHONE_CONTEXT = re.compile(
    r"\b(?:order|invoice|tracking|ref|reference|id|account|acct|iban|isbn|sku|serial|zip|postal|postcode|ticket|case|"
    r"pin|card|cc|ssn|social security|version|build|port|amount|total|price|usd|eur|gbp|licen[cs]e|passport)\b[^\n]{0,12}$"
)
_DATE_LIKE = re.compile(
    r"^(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$"
)
# compiled once: the module-level re functions look their pattern up in a cache on every call
_NON_DIGITS = re.compile(r"\D")
_SSN_SHAPE = re.compile(r"\d{3}-\d{2}-\d{4}")
_PHONE_SEPARATORS = re.compile(r"[ ()\-.]+")
_NANP = re.compile(r"^(?:(?:\+?1|001)[ .\-]?)?\(?[2-9]\d{2}\)?[ .\-]?[2-9]\d{2}[ .\-]\d{4}$")


class PhoneDetector(BaseDetector):
    """Phone numbers: E.164 and international forms, NANP, national forms.

    Strong shapes (a leading ``+`` or ``00``, a North American number with
    separators, a national number with a trunk ``0`` and separators) are
    reported on their own. Weaker shapes (``467 3395``, ``60-56-85-91``, ten
    bare digits) only next to a phone word ("call me at", "Fax:", "... office").
    Dates, times, decimals, dotted quads and numbers after "order", "invoice",
    "id" and the like are not phones.
    """

    name = "pii.phone"
    category = "pii"
    severity = "medium"
    version = "1"

    _candidate = re.compile(
        r"[+(0-9][0-9()\-. ]{5,24}[0-9]\)?(?:\s?(?:x|ext\.?|extension)\s?[0-9]{1,5})?(?![\w@/]|[.,][0-9]|[\-:][0-9])"
    )
    _ext = re.compile(r"\s?(?:x|ext\.?|extension)\s?\d{1,5}$")

    family = "values"
    batch_pattern = r"[0-9][0-9()\-. ]{5,}[0-9]"  # 7+ digits joined by separators

    def prefilter(self, facts: TextFacts, ctx: DetectionContext) -> bool:
        return facts.digits >= 7  # 7 to 15 digits

    def detect(self, text: str, ctx: DetectionContext) -> list[Finding]:
        out: list[Finding] = []
        for m in self._candidate.finditer(text):
            start, end = m.span()
            if start and (text[start - 1].isalnum() or text[start - 1] in "_@/.,:+-"):
                continue
            raw = m.group(0)
            if raw[0] == "(" and not raw[1:2].isdigit():
                continue
            # trim separators the greedy class may have taken at the ends
            while raw and raw[-1] in " .-(":
                raw, end = raw[:-1], end - 1
            if raw.endswith(")") and "(" not in raw:
                raw, end = raw[:-1], end - 1
            confidence = self._score(text, start, end, raw)
            if confidence:
                out.append(self.finding(start, end, "phone", confidence, ctx))
        return out

    def _score(self, text: str, start: int, end: int, raw: str) -> float:
        core = self._ext.sub("", raw) if "x" in raw else raw  # every extension has an "x"
        digits = _NON_DIGITS.sub("", core)
        n = len(digits)
        if not 7 <= n <= 15 or "  " in core or core.count("(") != core.count(")"):
            return 0.0
        if _DATE_LIKE.match(core) or _SSN_SHAPE.fullmatch(core):
            return 0.0  # dates and the SSN shape belong elsewhere
        groups = [g for g in _PHONE_SEPARATORS.split(core) if g]
        if "." in core and len(groups) == 4 and all(len(g) <= 3 for g in groups) and not core.startswith("0"):
            return 0.0  # dotted quad: an IP address or a version
        if len(groups) == 2 and "." in core and " " not in core and "-" not in core:
            return 0.0  # a decimal number
        if any(len(g) > 5 for g in groups[1:]) and len(groups) > 1 and not core.startswith("+"):
            if not (len(groups) == 2 and len(groups[-1]) <= 8):
                return 0.0
        separated = len(groups) > 1
        if not separated and not core.startswith("+") and not 10 <= n <= 12:
            return 0.0  # no score below is possible, whatever the context says: spare its searches
        lead = before(text, start, 40)
        if _NOT_PHONE_CONTEXT.search(lead) and not _PHONE_CONTEXT.search(lead[-14:]):
            return 0.0
        # a phone word around: looked up only where it decides
        if _STREET_AFTER.match(text[end : end + 40]) and not _phone_word_near(text, lead, end):
            return 0.0  # a house number: "17031 2202 Rissik St"
        if core.startswith("+") and n >= 8:
            return 0.95
        if core.startswith("00") and n >= 10 and separated:
            return 0.85
        if _NANP.match(core) and separated:
            return 0.9
        if core.startswith(("0", "(0")) and separated and 9 <= n <= 12:
            return 0.85 if _phone_word_near(text, lead, end) else 0.7
        if (separated or 10 <= n <= 12) and _phone_word_near(text, lead, end):
            return 0.75
        return 0.0


def _phone_word_near(text: str, lead: str, end: int) -> bool:
    """A phone word before the number ("call me at") or a label after it ("(office)")."""
    return bool(_PHONE_CONTEXT.search(lead) or _PHONE_LABEL_AFTER.match(after(text, end, 16)))


# Issuer prefixes (IIN ranges) and lengths of the card schemes in use.
_CARD_SCHEMES: tuple[tuple[re.Pattern[str], frozenset[int]], ...] = tuple(
    (re.compile(p), frozenset(lengths))
    for p, lengths in (
        (r"^4", (13, 16, 19)),  # Visa
        (r"^(?:5[1-5]|2(?:2[2-9]|[3-6]\d|7[01]|720))", (16,)),  # Mastercard
        (r"^3[47]", (15,)),  # Amex
        (r"^(?:6011|65|64[4-9]|622)", (16, 19)),  # Discover, UnionPay co-brand
        (r"^(?:35|2131|1800)", (15, 16, 19)),  # JCB
        (r"^3(?:0[0-59]|[689])", (14, 16, 19)),  # Diners
        (r"^(?:5[06-9]|6\d)", (12, 13, 14, 15, 16, 17, 18, 19)),  # Maestro
        (r"^62", (16, 17, 18, 19)),  # UnionPay
    )
)
_CARD_SEPARATOR = re.compile(r"[ \-]")
_CARD_CONTEXT = re.compile(r"\b(?:card|cc|credit|debit|visa|mastercard|amex|maestro|pan|cvv|expir\w*|billing|payment)\b")
_NOT_CARD_CONTEXT = re.compile(
    r"\b(?:order|invoice|tracking|ref|reference|id|account|acct|isbn|sku|serial|ticket|case|transaction|phone|tel|fax)\b[^\n]{0,12}$"
)


class CreditCardDetector(BaseDetector):
    """Payment card numbers (PAN), bare or in groups of 4 with spaces or dashes.

    A candidate must pass the Luhn check and fit a scheme's prefix and length.
    Even then one random number in ten passes Luhn, so a number right after
    "order", "invoice", "tracking", "id" and the like needs a card word nearby.
    """

    name = "pii.credit_card"
    category = "pii"
    severity = "high"
    version = "1"

    _candidate = re.compile(r"[0-9](?:[ \-]?[0-9]){11,18}(?![\w]|[.\-][0-9])")

    family = "values"
    batch_pattern = r"[0-9](?:[ \-]?[0-9]){11}"

    def prefilter(self, facts: TextFacts, ctx: DetectionContext) -> bool:
        return facts.digits >= 12  # 12 to 19 digits

    def detect(self, text: str, ctx: DetectionContext) -> list[Finding]:
        out: list[Finding] = []
        for m in self._candidate.finditer(text):
            if m.start() and (text[m.start() - 1].isalnum() or text[m.start() - 1] in "_.-"):
                continue
            raw = m.group(0)
            if " " in raw or "-" in raw:
                seps = set(_CARD_SEPARATOR.findall(raw))
                lengths = tuple(len(g) for g in _CARD_SEPARATOR.split(raw))
                # cards are written 4-4-4-4(-3), Amex 4-6-5, Diners 4-6-4
                fours = all(n == 4 for n in lengths[:-1]) and 1 <= lengths[-1] <= 4
                if len(seps) > 1 or not (fours or lengths in ((4, 6, 5), (4, 6, 4))):
                    continue
            digits = raw.replace(" ", "").replace("-", "")
            if len(set(digits)) < 2 or not luhn_ok(digits):
                continue
            if not any(len(digits) in lengths and p.match(digits) for p, lengths in _CARD_SCHEMES):
                continue
            lead = before(text, m.start(), 40)
            card_word = bool(_CARD_CONTEXT.search(lead))
            if _NOT_CARD_CONTEXT.search(lead) and not card_word:
                continue
            if len(digits) == 12 and not card_word:
                continue
            out.append(self.finding(m.start(), m.end(), "credit_card", 0.95 if card_word else 0.85, ctx))
        return out


# ISO 13616 IBAN lengths by country.
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HN": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21,
    "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28,
    "NL": 18, "NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22,
    "RU": 33, "SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25,
    "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip


def iban_checksum_ok(iban: str) -> bool:
    rearranged = iban[4:] + iban[:4]
    number = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(number) % 97 == 1


class IbanDetector(BaseDetector):
    """IBANs, compact or in groups of four, checked by country length and mod-97."""

    name = "pii.iban"
    category = "pii"
    severity = "high"
    version = "1"

    # matched at the check digits, after two ASCII letters ("aadd" in char_classes)
    _candidate = re.compile(r"[0-9][0-9](?:[ ]?[A-Za-z0-9]){11,30}")

    family = "values"
    batch_pattern = r"[A-Za-z]{2}[0-9]{2}(?:[ ]?[A-Za-z0-9]){11}"

    def prefilter(self, facts: TextFacts, ctx: DetectionContext) -> bool:
        return facts.digits >= 2  # two check digits

    def detect(self, text: str, ctx: DetectionContext) -> list[Finding]:
        out: list[Finding] = []
        # tried where a country code and check digits are ("aadd"), not along the
        # candidates of one scan: a candidate that starts in another run of digits would
        # swallow the IBAN after it ("ref 12345 DE89 3704 ...")
        classes = char_classes(text)
        at, end = classes.find(b"aadd"), 0
        while at >= 0:
            begin, at = at, classes.find(b"aadd", at + 1)
            if begin < end or (begin and text[begin - 1].isalnum()):
                continue
            m = self._candidate.match(text, begin + 2)
            if m is None:
                continue
            country = text[begin : begin + 2].upper()  # "aa": two ASCII letters
            length = IBAN_LENGTHS.get(country)
            if length is None:
                continue
            # walk the match until `length` alphanumerics: the greedy pattern
            # may have run into the next word
            count, stop = 2, m.start()
            for i in range(m.start(), m.end()):
                if text[i] != " ":
                    count += 1
                    if count == length:
                        stop = i + 1
                        break
            if count != length:
                continue
            if stop < len(text) and text[stop].isalnum():
                continue  # the token goes on: not an IBAN of this length
            compact = text[begin:stop].replace(" ", "").upper()
            if iban_checksum_ok(compact):
                out.append(self.finding(begin, stop, "iban", 0.95, ctx))
                end = stop
        return out


_SSN_CONTEXT = re.compile(r"\b(?:ssn|social security|social sec|ss#|ss no|taxpayer|tin)\b")


def ssn_valid(area: str, group: str, serial: str) -> bool:
    a = int(area)
    return a != 0 and a != 666 and a < 900 and group != "00" and serial != "0000"


class SsnDetector(BaseDetector):
    """US Social Security numbers: AAA-GG-SSSS (dash or space), valid by the
    SSA's rules (no area 000, 666 or 9xx; no group 00; no serial 0000). Nine
    bare digits only next to "SSN" / "social security"."""

    name = "pii.us_ssn"
    category = "pii"
    severity = "high"
    version = "1"

    # ASCII digits, no backreference and a first digit of its own (see
    # _DIGIT_FIRST): all keep the regex engine's fast scan
    _grouped = re.compile(r"([0-9][0-9]{2})(?:-([0-9]{2})-| ([0-9]{2}) )([0-9]{4})(?![\w\-]|\.[0-9])")
    _bare = re.compile(r"([0-9][0-9]{2})([0-9]{2})([0-9]{4})(?![\w\-]|\.[0-9])")

    family = "values"
    batch_pattern = r"[0-9]{3}[ \-]?[0-9]{2}[ \-]?[0-9]{4}"

    def prefilter(self, facts: TextFacts, ctx: DetectionContext) -> bool:
        return facts.digits >= 9  # nine digits

    def detect(self, text: str, ctx: DetectionContext) -> list[Finding]:
        out: list[Finding] = []
        # each pattern tried only where its shape is: a few byte searches, not a regex scan of the text
        for m in shape_matches(self._grouped, text, (b"ddd-dd-dddd", b"ddd dd dddd")):
            if m.start() and (text[m.start() - 1].isalnum() or text[m.start() - 1] in "_-."):
                continue
            if ssn_valid(m.group(1), m.group(2) or m.group(3), m.group(4)):
                context = bool(_SSN_CONTEXT.search(before(text, m.start(), 40)))
                out.append(self.finding(m.start(), m.end(), "us_ssn", 0.95 if context else 0.8, ctx))
        if b"ddddddddd" not in char_classes(text):
            return out
        low = lowered_text(text)
        if not any(cue in low for cue in ("ssn", "social sec", "ss#", "ss no", "taxpayer", " tin")):
            return out
        for m in shape_matches(self._bare, text, (b"ddddddddd",)):
            if m.start() and (text[m.start() - 1].isalnum() or text[m.start() - 1] in "_-."):
                continue
            if ssn_valid(m.group(1), m.group(2), m.group(3)) and _SSN_CONTEXT.search(before(text, m.start(), 30)):
                out.append(self.finding(m.start(), m.end(), "us_ssn", 0.85, ctx))
        return out


_VERSION_CONTEXT = re.compile(r"(?:\bv|\bversion|\bver\.?|\brelease|\bbuild|\bfirmware|==|>=|<=|~=|@)\s*$")


class IpAddressDetector(BaseDetector):
    """IPv4 and IPv6 addresses. Dotted quads right after "version", "v",
    "release", "build" or a pin operator (``==1.2.3.4``) are versions, not
    addresses; so is a quad inside a longer dotted run (1.2.3.4.5)."""

    name = "pii.ip_address"
    category = "pii"
    severity = "low"
    version = "1"

    _v4 = re.compile(r"[0-9][0-9]{0,2}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}(?![\w\-]|\.[0-9])")  # see _DIGIT_FIRST
    # IPv6: find ':hex:' anchors (a fast scan), then widen to the whole token
    _v6_anchor = re.compile(r":[0-9A-Fa-f]{0,4}:")
    _v6_chars = frozenset("0123456789abcdefABCDEF:.")

    family = "values"
    batch_pattern = r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|:[0-9A-Fa-f]{0,4}:"

    def prefilter(self, facts: TextFacts, ctx: DetectionContext) -> bool:
        return facts.digits >= 1  # an IPv6 address has a digit, an IPv4 one four

    def detect(self, text: str, ctx: DetectionContext) -> list[Finding]:
        out: list[Finding] = []
        if b"d.d" in char_classes(text) and text.count(".") >= 3:
            for m in self._v4.finditer(text):
                if m.start() and (text[m.start() - 1].isalnum() or text[m.start() - 1] in "_.-"):
                    continue
                octets = m.group(0).split(".")
                if any(int(o) > 255 or (len(o) > 1 and o[0] == "0") for o in octets):
                    continue
                if _VERSION_CONTEXT.search(before(text, m.start(), 12)):
                    continue
                addr = ipaddress.IPv4Address(m.group(0))
                out.append(self._ip(m.start(), m.end(), addr, ctx))
        if "::" in text or text.count(":") >= 5:
            for start, end in self._v6_tokens(text):
                candidate = text[start:end]
                groups = [g for g in candidate.split(":") if g]
                if len(groups) < 2 or not any(c.isdigit() for c in candidate):
                    continue
                if "::" not in candidate and len(groups) < 8 and "." not in groups[-1]:
                    continue  # 12:30:45 and other colon runs
                try:
                    addr6 = ipaddress.IPv6Address(candidate)
                except ValueError:
                    continue
                out.append(self._ip(start, end, addr6, ctx))
        return out

    def _v6_tokens(self, text: str) -> list[tuple[int, int]]:
        spans: list[tuple[int, int]] = []
        pos = 0
        while True:
            m = self._v6_anchor.search(text, pos)
            if not m:
                return spans
            start, end = m.start(), m.end()
            while start > 0 and text[start - 1] in self._v6_chars:
                start -= 1
            while end < len(text) and text[end] in self._v6_chars:
                end += 1
            while end > start and text[end - 1] == ".":
                end -= 1  # a sentence's full stop
            if not (start and (text[start - 1].isalnum() or text[start - 1] == "_")) and not (
                end < len(text) and (text[end].isalnum() or text[end] == "_")
            ):
                spans.append((start, end))
            pos = max(end, m.end())

    def _ip(self, start: int, end: int, addr: ipaddress.IPv4Address | ipaddress.IPv6Address, ctx: DetectionContext) -> Finding:
        public = addr.is_global
        return self.finding(
            start,
            end,
            "ip_address",
            0.9 if public else 0.6,
            ctx,
            details={"version": addr.version, "public": public},
        )


PII_DETECTORS = (EmailDetector, PhoneDetector, CreditCardDetector, IbanDetector, SsnDetector, IpAddressDetector)
