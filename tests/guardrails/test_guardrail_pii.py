"""PII detectors: positives, and the negatives that make naive regexes noisy."""

import pytest

from store.guardrails import DetectionContext, GuardrailRunner
from store.guardrails.detectors.pii import (
    CreditCardDetector,
    EmailDetector,
    IbanDetector,
    IpAddressDetector,
    PhoneDetector,
    SsnDetector,
)

CTX = DetectionContext()


def values(detector, text):
    return [text[f.start : f.end] for f in detector.detect(text, CTX)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("write to jane.doe+news@acme-corp.co.uk today", ["jane.doe+news@acme-corp.co.uk"]),
        ("Mail: O'Brien@mail.ie.", ["O'Brien@mail.ie"]),
        ("user@example.com and admin@test.example are placeholders", []),
        ("an image@2x.png asset and git@github.com:org/repo.git", []),
        (r"the pattern \w+@\w+\.com matches addresses", []),
        ("no at sign here", []),
    ],
)
def test_email(text, expected):
    assert values(EmailDetector(), text) == expected


def test_email_in_code_is_reported_with_low_confidence():
    text = "config:\n```\nowner = real.person@gmail.com\n```\nand `ops@corp.io` inline"
    found = EmailDetector().detect(text, CTX)
    assert [text[f.start : f.end] for f in found] == ["real.person@gmail.com", "ops@corp.io"]
    assert all(f.confidence == 0.5 and f.details["in_code"] for f in found)
    prose = EmailDetector().detect("reach real.person@gmail.com", CTX)
    assert prose[0].confidence > 0.9


@pytest.mark.parametrize(
    "text",
    [
        "call me on +44 20 7946 0958",
        "+14155550132",
        "my number is (415) 555-0132",
        "415.555.0132",
        "Phone: 0494 92 82 32",
        "Fax: 9498777106",
        "They're not answering at 78 651 450",
        "0033 1 42 68 53 00",
        "desk: +1-604-696-5272x565",
    ],
)
def test_phone_positive(text):
    assert PhoneDetector().detect(text, CTX), text


@pytest.mark.parametrize(
    "text",
    [
        "order number 4155550132 shipped",
        "invoice 2023-0042-1177 is due",
        "born 1985-11-18 22:50:23",
        "on 12/06/2023 at 10:30",
        "pi is 3.14159265",
        "server 192.168.10.200",
        "total: 1234567 units",
        "SSN 123-45-6789",
        "the office is at 17031 2202 Rissik St",
        "id 1234 5678",
    ],
)
def test_phone_negative(text):
    assert not PhoneDetector().detect(text, CTX), text


@pytest.mark.parametrize(
    "text",
    [
        "card 4111 1111 1111 1111 exp 12/29",
        "visa 4111-1111-1111-1111",
        "4012888888881881",
        "amex 3782 822463 10005",
        "mc 5555555555554444",
    ],
)
def test_credit_card_positive(text):
    assert CreditCardDetector().detect(text, CTX), text


@pytest.mark.parametrize(
    "text",
    [
        "4111 1111 1111 1112",  # fails Luhn
        "order 4111111111111111 shipped",  # passes Luhn, but an order number
        "tracking id 5555555555554444",
        "1111111111111111",  # repeated digit
        "9999 9999 9999 9995",  # no scheme starts with 9
        "4111 11111 1111 111",  # not grouped like a card
        "version 4.111111111111111",
    ],
)
def test_credit_card_negative(text):
    assert not CreditCardDetector().detect(text, CTX), text


def test_iban():
    assert values(IbanDetector(), "pay GB82 WEST 1234 5698 7654 32 today") == ["GB82 WEST 1234 5698 7654 32"]
    assert values(IbanDetector(), "DE89370400440532013000") == ["DE89370400440532013000"]
    assert values(IbanDetector(), "lower gb82west12345698765432 too") == ["gb82west12345698765432"]
    assert not IbanDetector().detect("GB82 WEST 1234 5698 7654 33", CTX)  # bad checksum
    assert not IbanDetector().detect("DE8937040044053201300", CTX)  # wrong length for DE
    assert not IbanDetector().detect("ZZ82WEST12345698765432", CTX)  # no such country


def test_an_iban_after_another_run_of_digits_is_found():
    # the scan's candidate used to start in the first digits and swallow the IBAN after them
    assert values(IbanDetector(), "invoice 2024 GB82 WEST 1234 5698 7654 32 due") == ["GB82 WEST 1234 5698 7654 32"]
    assert values(IbanDetector(), "ref 12345 DE89370400440532013000, thanks") == ["DE89370400440532013000"]
    assert values(IbanDetector(), "GB82WEST12345698765432 and DE89 3704 0044 0532 0130 00") == [
        "GB82WEST12345698765432", "DE89 3704 0044 0532 0130 00"]
    assert not IbanDetector().detect("XDE89370400440532013000", CTX)  # inside a longer token
    assert not IbanDetector().detect("order 2024 GB82 WEST 1234 5698 7654 33", CTX)  # bad checksum


def test_ssn():
    assert values(SsnDetector(), "SSN: 123-45-6789") == ["123-45-6789"]
    assert values(SsnDetector(), "social security number 123456789") == ["123456789"]
    for invalid in ("000-12-3456", "666-12-3456", "912-12-3456", "123-00-4567", "123-45-0000", "123-45 6789"):
        assert not SsnDetector().detect(invalid, CTX), invalid
    assert not SsnDetector().detect("reference 123456789", CTX)  # bare digits need SSN words


def test_ip_addresses():
    found = IpAddressDetector().detect("from 8.8.8.8 and 10.0.0.1 via 2001:db8::ff00:42:8329", CTX)
    assert [f.details["version"] for f in found] == [4, 4, 6]
    assert found[0].details["public"] and not found[1].details["public"]
    for text in ("version 1.2.3.4", "v10.0.0.1", "pip install pkg==1.2.3.4", "1.2.3.4.5", "256.1.1.1", "at 12:30:45", "std::vector"):
        assert not IpAddressDetector().detect(text, CTX), text


def test_runner_keeps_one_finding_per_value():
    findings = GuardrailRunner().scan_span(["card 4111 1111 1111 1111"])
    assert [f.entity for f in findings] == ["credit_card"]
