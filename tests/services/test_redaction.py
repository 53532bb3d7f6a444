"""The redactor's recognizers, one kind at a time, in English and Chinese; checksums; pseudonyms
that hold across a conversation; nothing fetched (the tests may reach loopback only)."""

from __future__ import annotations

import pytest

from procpilot.redaction import Pseudonyms
from procpilot.redaction.recognizers import luhn_valid, resident_id_valid
from procpilot.redaction.redactor import Redactor


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    return Redactor()


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("write to ana_lopez@mail.example.org today", "EMAIL", "ana_lopez@mail.example.org"),
        ("call me on (212) 555-0187 tonight", "PHONE", "(212) 555-0187"),
        ("my UK number is +44 20 7946 0958", "PHONE", "+44 20 7946 0958"),
        ("IBAN DE89 3704 0044 0532 0130 00 please", "IBAN", "DE89 3704 0044 0532 0130 00"),
        ("the card 4111 1111 1111 1111 was charged", "CARD", "4111 1111 1111 1111"),
        ("see https://shop.example.com/orders/W7678072", "URL", "https://shop.example.com/orders/W7678072"),
        ("ship it to 221B Baker Street, London", "ADDRESS", "221B Baker Street"),
        ("deliver to 350 Fifth Avenue, Suite 210", "ADDRESS", "350 Fifth Avenue, Suite 210"),
        ("Lieferung an Hauptstraße 5 bitte", "ADDRESS", "Hauptstraße 5"),
        ("Berliner Allee 12a ist richtig", "ADDRESS", "Berliner Allee 12a"),
        ("Springfield, IL 62704", "POSTCODE", "62704"),
        ("London SW1A 1AA", "POSTCODE", "SW1A 1AA"),
        ("10115 Berlin", "POSTCODE", "10115"),
        ("hi, my name is Priya Raman", "PERSON", "Priya Raman"),
        ("请送到北京市朝阳区建国路88号", "ADDRESS", "北京市朝阳区建国路88号"),
        ("我的手机号是13812345678", "PHONE", "13812345678"),
        ("身份证11010519491231002X", "ID", "11010519491231002X"),
        ("银行卡号6222 0212 3456 7894", "CARD", "6222 0212 3456 7894"),
        ("你好，我叫王小明，想退货", "PERSON", "王小明"),
        ("收货地址邮编100020", "POSTCODE", "100020"),
    ],
)
def test_each_kind_is_found(redactor: Redactor, text: str, kind: str, value: str) -> None:
    found = [(f.kind, f.text.strip(": ")) for f in redactor.find(text)]
    assert (kind, value) in found, found


@pytest.mark.parametrize(
    "text",
    [
        "I want to return the keyboard from order #W7678072.",
        "Order 12345 never came, the tracking says 98765.",
        "It cost $129.99 and I was charged twice on 2024-05-17.",
        "The Main Street store was closed.",
        "我想退掉订单W7678072里的键盘。",
        "身份证号码110105194912310021是错的",  # the checksum says this is no resident id
        "卡号6222021234567890",  # fails Luhn
    ],
)
def test_what_only_looks_like_personal_data_stays(redactor: Redactor, text: str) -> None:
    assert redactor.find(text) == []


def test_checksums() -> None:
    assert resident_id_valid("11010519491231002X") and not resident_id_valid("110105194912310021")
    assert luhn_valid("4111 1111 1111 1111") and not luhn_valid("4111 1111 1111 1112")


def test_pseudonyms_hold_across_a_conversation_and_known_names_are_found(redactor: Redactor) -> None:
    mask = Pseudonyms()
    known = ["Noah Brown"]
    first = redactor.redact("Hi, this is Noah Brown, noah.brown7922@example.com", mask, known)
    second = redactor.redact(
        "noah brown again; Noah wants a refund to noah.brown7922@example.com", mask, known
    )
    assert first == "Hi, this is <PERSON_1>, <EMAIL_1>"
    assert second == "<PERSON_1> again; <PERSON_1> wants a refund to <EMAIL_1>"
    other = Pseudonyms()
    assert redactor.redact("mail ana_lopez@mail.example.org", other) == "mail <EMAIL_1>"


def test_values_inside_json_are_redacted_and_keys_kept(redactor: Redactor) -> None:
    value = {"email": "tom.fischer+shop@example.de", "items": [{"note": "call +49 30 901820"}], "n": 3}
    out = redactor.redact_value(value, Pseudonyms())
    assert out == {"email": "<EMAIL_1>", "items": [{"note": "call <PHONE_1>"}], "n": 3}
