"""Slot types and the canonical values they hold.

A slot value is always plain JSON data, so conversation state serialises without custom codecs:
money is ``{"amount": "12.50", "currency": "USD"}``, dates are ISO strings.
Understanding extracts candidate values from text; ``coerce`` decides whether they fit.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from procpilot.domain.errors import SlotValueError

SLOT_TYPES = (
    "text",
    "integer",
    "number",
    "money",
    "date",
    "datetime",
    "boolean",
    "email",
    "phone",
    "choice",
)

_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
_PHONE = re.compile(r"^\+?[0-9]{7,15}$")
_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0"}


@dataclass(frozen=True)
class Option:
    """One allowed value of a choice slot, with the label shown to a person."""

    value: Any
    label: str
    synonyms: tuple[str, ...] = ()  # other words people use for it ("don't need it anymore")

    def as_dict(self) -> dict[str, Any]:
        return {"value": self.value, "label": self.label}


@dataclass(frozen=True)
class SlotDef:
    """A typed field that a flow fills.

    ``options`` are fixed choices; ``options_from`` names a slot holding a list (a tool's result),
    whose items become choices through ``option_value`` (a key) and ``option_label`` (a template).
    ``ties``: what to do when a person's words fit several options equally: ``ask`` (the default),
    or ``first`` when the options come ranked best first (a tool listing the closest variant first).
    """

    name: str
    type: str
    description: str = ""
    options: tuple[Option, ...] = ()
    options_from: str | None = None
    option_value: str | None = None
    option_label: str | None = None
    multiple: bool = False
    currency: str = "USD"
    pattern: str | None = None
    initial: Any = None
    ties: str = "ask"
    direction: str = "any"  # dates: "past" (an expense), "future" (leave) or "any"
    newest: str | None = None  # choices: "first" or "last" when listed by date ("my last order")

    @property
    def is_choice(self) -> bool:
        return self.type == "choice"


def coerce(slot: SlotDef, value: Any, options: tuple[Option, ...] | None = None) -> Any:
    """Return ``value`` in the slot's canonical form, or raise SlotValueError with a readable reason.

    ``options`` overrides the slot's own options (used for choices computed from a tool's result).
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        raise SlotValueError(f"{slot.name} needs a value")
    if slot.multiple:
        items = value if isinstance(value, list | tuple) else [value]
        out = []
        for item in items:
            canonical = _coerce_one(slot, item, options)
            if canonical not in out:
                out.append(canonical)
        return out
    return _coerce_one(slot, value, options)


def _coerce_one(slot: SlotDef, value: Any, options: tuple[Option, ...] | None) -> Any:
    kind = slot.type
    if kind == "text":
        text = str(value).strip()
        if slot.pattern and not re.fullmatch(slot.pattern, text):
            raise SlotValueError(f"{text!r} is not a valid {slot.name.replace('_', ' ')}")
        return text
    if kind == "integer":
        try:
            number = Decimal(str(value).replace(",", "").strip())
        except InvalidOperation:
            raise SlotValueError(f"{value!r} is not a whole number") from None
        if number != number.to_integral_value():
            raise SlotValueError(f"{value!r} is not a whole number")
        return int(number)
    if kind == "number":
        try:
            return float(Decimal(str(value).replace(",", "").strip()))
        except InvalidOperation:
            raise SlotValueError(f"{value!r} is not a number") from None
    if kind == "money":
        return _money(value, slot.currency)
    if kind == "date":
        if isinstance(value, dt.datetime):
            return value.date().isoformat()
        if isinstance(value, dt.date):
            return value.isoformat()
        try:
            return dt.date.fromisoformat(str(value).strip()).isoformat()
        except ValueError:
            raise SlotValueError(f"{value!r} is not a date") from None
    if kind == "datetime":
        if isinstance(value, dt.datetime):
            return value.isoformat()
        try:
            return dt.datetime.fromisoformat(str(value).strip()).isoformat()
        except ValueError:
            raise SlotValueError(f"{value!r} is not a date and time") from None
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise SlotValueError(f"{value!r} is not yes or no")
    if kind == "email":
        text = str(value).strip().lower()
        if not _EMAIL.match(text):
            raise SlotValueError(f"{value!r} is not an email address")
        return text
    if kind == "phone":
        text = re.sub(r"[\s().-]", "", str(value))
        if not _PHONE.match(text):
            raise SlotValueError(f"{value!r} is not a phone number")
        return text
    if kind == "choice":
        return _choice(slot, value, options if options is not None else slot.options)
    raise SlotValueError(f"unknown slot type {kind!r}")


def _money(value: Any, default_currency: str) -> dict[str, str]:
    if isinstance(value, dict):
        amount, currency = value.get("amount"), str(value.get("currency") or default_currency)
    else:
        text = str(value).strip().upper().replace(",", "")
        match = re.fullmatch(r"([A-Z]{3})?\s*[$€£]?\s*(-?[0-9]+(?:\.[0-9]+)?)\s*([A-Z]{3})?", text)
        if not match:
            raise SlotValueError(f"{value!r} is not an amount of money")
        amount = match.group(2)
        currency = match.group(1) or match.group(3) or default_currency
    try:
        decimal = Decimal(str(amount)).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise SlotValueError(f"{value!r} is not an amount of money") from None
    return {"amount": str(decimal), "currency": currency.upper()}


def _choice(slot: SlotDef, value: Any, options: tuple[Option, ...]) -> Any:
    if isinstance(value, dict) and "value" in value:
        value = value["value"]
    for option in options:
        if option.value == value:
            return option.value
    text = str(value).strip().lower()
    for option in options:
        if str(option.value).lower() == text or option.label.lower() == text:
            return option.value
    squeezed = re.sub(r"[^a-z0-9]", "", text)
    for option in options:
        if squeezed and re.sub(r"[^a-z0-9]", "", str(option.value).lower()) == squeezed:
            return option.value
    allowed = ", ".join(o.label for o in options[:8]) or "none available"
    raise SlotValueError(f"{value!r} is not one of the choices ({allowed})")
