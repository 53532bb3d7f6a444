"""``procpilot bench redaction``: recall and precision of the redactor, per kind of personal data.

The sentences are written for procpilot as customers and employees write to an assistant, in
English and Chinese: templates in people's words with personal data put in from lists of made-up
values (names, addresses, phone numbers, ids...), and sentences with none that carry what looks
like it (order numbers, amounts, dates, product names, street-like words), so precision means
something. Where each value went is known, so scoring needs no labelling by hand.

A finding counts when it overlaps a planted value of the same kind. The known names the service
passes (the person's own) are not given here: names are found as they would be in a message
from a stranger.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from procpilot.bench.report import Figures

NAMES_EN = ["Noah Brown", "Ana Lopez", "Priya Raman", "Tom Fischer", "Grace O'Neill", "Samuel Okafor",
            "Mei Chen", "Lucas Martin", "Hannah Weber", "Omar Haddad", "Julia Novak", "Ethan Park"]  # fmt: skip
NAMES_ZH = ["王小明", "李娜", "张伟", "刘洋", "陈静", "赵磊", "孙丽", "周杰"]
EMAILS = ["noah.brown7922@example.com", "ana_lopez@mail.example.org", "p.raman@corp.example.net",
          "tom.fischer+shop@example.de", "g.oneill@example.co.uk", "sam.okafor@example.com"]  # fmt: skip
PHONES_EN = ["+1 415 555 0132", "(212) 555-0187", "415-555-0199", "+44 20 7946 0958", "020 7946 0321",
             "+49 30 901820", "+1 (646) 555-0143"]  # fmt: skip
PHONES_ZH = ["13812345678", "+86 139 1234 5678", "186-1234-5678", "15900001111"]
ADDRESSES_EN = ["1600 Pennsylvania Avenue", "221B Baker Street", "42 Elm Close, Flat 3", "77 Sunset Boulevard",
                "9 Kings Road", "350 Fifth Avenue, Suite 210", "18 Oak Lane", "5 Mill Hill"]  # fmt: skip
ADDRESSES_DE = ["Hauptstraße 5", "Berliner Allee 12a", "Am Markt 3", "Goethestraße 41", "Lindenweg 7"]
ADDRESSES_ZH = ["北京市朝阳区建国路88号", "上海市浦东新区世纪大道100号5楼", "广州市天河区体育西路12号",
                "杭州市西湖区文三路478号", "深圳市南山区科技园路1号"]  # fmt: skip
POSTCODES_US = ["Springfield, IL 62704", "Austin, TX 78701", "Seattle, WA 98101-2345"]
POSTCODES_UK = ["SW1A 1AA", "M1 1AE", "EC1A 1BB", "NW1 6XE"]
POSTCODES_DE = ["10115 Berlin", "80331 München", "50667 Köln"]
CARDS = ["4111 1111 1111 1111", "5500 0000 0000 0004", "4012888888881881", "3782 822463 10005"]
CARDS_ZH = ["6222 0212 3456 7894", "6217001234567893", "6225 8801 2345 6783", "6228480402564890018"]
IBANS = ["DE89 3704 0044 0532 0130 00", "GB82 WEST 1234 5698 7654 32", "FR14 2004 1010 0505 0001 3M02 606"]
IDS_ZH = [
    "11010519491231002X",
    "440308199901011234",
    "320106198512250017",
    "510104199203152234",
    "630102198808084561",
]
URLS = [
    "https://shop.example.com/orders/W7678072",
    "www.example.org/profile/anna",
    "http://example.net/u/4471",
]

# {kind} placeholders; each sentence may hold several.
TEMPLATES_EN = [
    "Hi, my name is {PERSON} and I want to return the keyboard from my last order.",
    "This is {PERSON}, my email is {EMAIL}.",
    "You can reach me at {PHONE} after 5pm.",
    "please send the replacement to {ADDRESS}, {POSTCODE_US}",
    "I moved, the new address is {ADDRESS}, London {POSTCODE_UK}.",
    "Ship it to {ADDRESS_DE}, {POSTCODE_DE} please",
    "my card is {CARD} but it keeps getting declined",
    "Refund to my IBAN {IBAN} instead of the card",
    "Can you update my email to {EMAIL}? the old one is dead",
    "It's {PERSON} again — did you get my message about order #W2378156?",
    "call {PHONE} and ask for {PERSON}",
    "I'm {PERSON}, I ordered a desk lamp on May 3 for $54.99",
    "my wife {PERSON} placed the order, her number is {PHONE}",
    "Regards, {PERSON}",
    "the link {URL} shows someone else's order!",
    "I live at {ADDRESS} and the parcel went to the neighbours",
    "zip code {ZIP}, the town is Springfield",
    "Please cancel. {PERSON}, {EMAIL}, {PHONE}",
    "Dr. {PERSON} will pick it up at {ADDRESS_DE}",
    "I need to change the delivery address to {ADDRESS}, {POSTCODE_UK}",
    "email me the receipt: {EMAIL}",
    "hey its {PERSON} lol can u check my order",
    "my phone number changed to {PHONE}",
    "the card ending in 4421 is mine, the full number is {CARD}",
    "Send the invoice to {PERSON}, {ADDRESS_DE}, {POSTCODE_DE}",
    "Mrs. {PERSON} from accounts asked me to follow up",
    "I paid with {CARD} on the 12th",
    "my IBAN is {IBAN}, name on the account {PERSON}",
    "Call me: {PHONE}. Email: {EMAIL}.",
    "Could {PERSON} approve my leave for next week?",
    "my profile is at {URL} if that helps",
    "I got a weird email linking to {URL}, is that you?",
    "tracking page {URL} says delivered but nothing came",
]
TEMPLATES_ZH = [
    "你好，我叫{PERSON_ZH}，想退掉上一个订单里的键盘。",
    "我的手机号是{PHONE_ZH}，有问题请打给我。",
    "请把货送到{ADDRESS_ZH}。",
    "收货地址改成{ADDRESS_ZH}，邮编{POSTCODE_ZH}",
    "我是{PERSON_ZH}，身份证号{ID_ZH}",
    "银行卡号{CARD_ZH}，退款打到这张卡上",
    "联系人：{PERSON_ZH}，电话{PHONE_ZH}",
    "我的邮箱是{EMAIL}，发票请发到这里",
    "麻烦帮我查一下，我叫{PERSON_ZH}，订单号W7678072",
    "新地址：{ADDRESS_ZH}，电话{PHONE_ZH}",
    "姓名：{PERSON_ZH}，身份证{ID_ZH}，手机{PHONE_ZH}",
    "请联系{PHONE_ZH}，我下午都在",
    "订单页面{URL}显示已送达，但我没收到",
]
NONE_EN = [
    "I want to return the keyboard from order #W7678072.",
    "The Apple Watch strap arrived broken on March 14.",
    "It cost $129.99 and I was charged twice.",
    "Can I exchange the Blue Hiking Boots size 10 for size 11?",
    "I need three days off next week, Monday to Wednesday.",
    "My expense: taxi in Berlin, 120 euros, yesterday.",
    "What is the daily limit for mobile check deposit on Gold Savings?",
    "Order 12345 never came, the tracking says 98765.",
    "The Main Street store was closed when I went.",
    "Please cancel the Grand Canyon Puzzle, item 6171, it's the wrong one.",
    "How long does a refund take to reach PayPal?",
    "Tell me about the Platinum Plus card fees.",
    "I'd like the Red variant instead of the Black one.",
    "The order was placed at 10:45 on 2024-05-17.",
    "Our London office needs access to the HR system.",
    "I spent 45.50 on lunch with a client on Friday.",
    "The lamp is 60 watts and 220 volts, not what I wanted.",
    "Is the Park Avenue collection still on sale?",
]
NONE_ZH = [
    "我想退掉订单W7678072里的键盘。",
    "我下周一到周三要请三天假。",
    "昨天打车花了120元，怎么报销？",
    "这个台灯是60瓦的，不是我要的。",
    "订单12345一直没到，物流单号98765。",
    "请问金卡储蓄的手机存款每日上限是多少？",
]


@dataclass
class Sentence:
    text: str
    language: str
    spans: list[tuple[str, int, int]]  # kind, start, end


def _values(rng: random.Random) -> dict[str, tuple[str, str]]:
    """A placeholder's value and the kind the redactor should name it."""
    pick = rng.choice
    return {
        "PERSON": (pick(NAMES_EN), "PERSON"),
        "PERSON_ZH": (pick(NAMES_ZH), "PERSON"),
        "EMAIL": (pick(EMAILS), "EMAIL"),
        "PHONE": (pick(PHONES_EN), "PHONE"),
        "PHONE_ZH": (pick(PHONES_ZH), "PHONE"),
        "ADDRESS": (pick(ADDRESSES_EN), "ADDRESS"),
        "ADDRESS_DE": (pick(ADDRESSES_DE), "ADDRESS"),
        "ADDRESS_ZH": (pick(ADDRESSES_ZH), "ADDRESS"),
        "POSTCODE_US": (pick(POSTCODES_US), "POSTCODE"),
        "POSTCODE_UK": (pick(POSTCODES_UK), "POSTCODE"),
        "POSTCODE_DE": (pick(POSTCODES_DE), "POSTCODE"),
        "POSTCODE_ZH": (pick(["100020", "200120", "510620"]), "POSTCODE"),
        "ZIP": (pick(["62704", "78701", "98101"]), "POSTCODE"),
        "CARD": (pick(CARDS), "CARD"),
        "CARD_ZH": (pick(CARDS_ZH), "CARD"),
        "IBAN": (pick(IBANS), "IBAN"),
        "ID_ZH": (pick(IDS_ZH), "ID"),
        "URL": (pick(URLS), "URL"),
    }


def _fill(template: str, values: dict[str, tuple[str, str]], language: str) -> Sentence:
    text, spans, last = "", [], 0
    for match in re.finditer(r"\{([A-Z_]+)\}", template):
        text += template[last : match.start()]
        value, kind = values[match.group(1)]
        # A postcode written with its town ("10115 Berlin", "Austin, TX 78701"): the code is the datum.
        code = (
            re.search(r"\d{5}(?:-\d{4})?|[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}", value)
            if kind == "POSTCODE"
            else None
        )
        start = len(text) + (code.start() if code else 0)
        end = len(text) + (code.end() if code else len(value))
        spans.append((kind, start, end))
        text += value
        last = match.end()
    text += template[last:]
    return Sentence(text, language, spans)


def sentences(count: int = 240, seed: int = 11) -> list[Sentence]:
    """``count`` sentences: about a fifth without personal data, a quarter in Chinese."""
    rng = random.Random(seed)
    made: list[Sentence] = []
    pools = [
        (TEMPLATES_EN, "en", 0.55),
        (TEMPLATES_ZH, "zh", 0.25),
        (NONE_EN, "en", 0.14),
        (NONE_ZH, "zh", 0.06),
    ]
    for index in range(count):
        draw, total = rng.random(), 0.0
        for templates, language, share in pools:  # noqa: B007 - the pool drawn stays bound
            total += share
            if draw <= total:
                break
        template = templates[index % len(templates)] if rng.random() < 0.5 else rng.choice(templates)
        made.append(_fill(template, _values(rng), language))
    return made


def run(count: int = 240, progress: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    from procpilot.redaction import POLICY_VERSION
    from procpilot.redaction.redactor import Redactor

    progress("loading the redactor")
    redactor = Redactor()
    data = sentences(count)
    found = truth = hits_recall = 0
    per: dict[str, dict[str, int]] = {}

    def bucket(kind: str) -> dict[str, int]:
        return per.setdefault(kind, {"planted": 0, "found": 0, "recalled": 0, "right": 0})

    started = time.perf_counter()
    leaks: list[str] = []
    for sentence in data:
        findings = redactor.find(sentence.text)
        for kind, start, end in sentence.spans:
            bucket(kind)["planted"] += 1
            truth += 1
            if any(f.kind == kind and f.start < end and start < f.end for f in findings):
                bucket(kind)["recalled"] += 1
                hits_recall += 1
            elif len(leaks) < 12:
                leaks.append(f"missed {kind}: {sentence.text[start:end]!r} in {sentence.text!r}")
        for finding in findings:
            bucket(finding.kind)["found"] += 1
            found += 1
            if any(k == finding.kind and finding.start < e and s < finding.end for k, s, e in sentence.spans):
                bucket(finding.kind)["right"] += 1
            elif len(leaks) < 24:
                leaks.append(f"wrongly {finding.kind}: {finding.text!r} in {sentence.text!r}")
    seconds = time.perf_counter() - started
    kinds = {
        kind: {
            "planted": row["planted"],
            "found": row["found"],
            "recall": round(row["recalled"] / row["planted"], 3) if row["planted"] else None,
            "precision": round(row["right"] / row["found"], 3) if row["found"] else None,
        }
        for kind, row in sorted(per.items())
    }
    right = sum(row["right"] for row in per.values())
    return {
        "policy": POLICY_VERSION,
        "sentences": len(data),
        "chinese": sum(s.language == "zh" for s in data),
        "without_personal_data": sum(not s.spans for s in data),
        "named_entity_model": redactor.ner,
        "kinds": kinds,
        "recall": round(hits_recall / truth, 3) if truth else None,
        "precision": round(right / found, 3) if found else None,
        "ms_per_sentence": round(seconds * 1000 / len(data), 2),
        "examples": leaks,
    }


def figures(report: dict[str, Any]) -> Figures:
    table = Figures(
        f"redaction: {report['sentences']} sentences ({report['chinese']} Chinese, "
        f"{report['without_personal_data']} without personal data), policy {report['policy']}, "
        f"named-entity model: {'yes' if report['named_entity_model'] else 'none'}",
        ["kind", "planted", "found", "recall", "precision"],
    )
    for kind, row in report["kinds"].items():
        table.add(kind, row["planted"], row["found"], row["recall"] if row["recall"] is not None else "-",
                  row["precision"] if row["precision"] is not None else "-")  # fmt: skip
    table.add("all", "", "", report["recall"], report["precision"])
    table.notes.append(f"{report['ms_per_sentence']} ms a sentence")
    table.notes += report["examples"]
    return table
