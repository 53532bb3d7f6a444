"""A simulated shop customer for the retail scenarios (tau2-bench retail, train split).

The scenario says what the customer wants (the expected write actions) and who they are; the
shop's data says what they know about their own orders (item names and options, their cards).
The customer opens with the request and its details in their own words, answers questions from
what they know, never presses a button or copies an option label, makes a typo now and then,
sometimes corrects themselves, and reads the summary before saying yes: a wrong one gets a "no"
that says what is wrong.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from procpilot.bench.people import Person, Voice, asks, question

WRITES = {
    "return_delivered_order_items": "return_items",
    "exchange_delivered_order_items": "exchange_items",
    "modify_pending_order_items": "modify_order_items",
    "cancel_pending_order": "cancel_order",
    "modify_pending_order_address": "modify_order_address",
    "modify_pending_order_payment": "modify_order_payment",
    "modify_user_address": "change_default_address",
    "transfer_to_human_agents": "pattern_human_handoff",
}


@dataclass
class Request:
    """One thing the customer wants done, with what they know about it."""

    action: str
    flow: str
    args: dict[str, Any]
    order: dict[str, Any] | None = None
    items: list[dict[str, Any]] = field(default_factory=list)  # the order's items concerned
    new_options: list[dict[str, str]] = field(default_factory=list)  # per item: the options that change
    targets: list[dict[str, str]] = field(default_factory=list)  # per item: every option of the new one
    method: dict[str, Any] | None = None


@dataclass
class Scenario:
    """A customer and their requests, in order."""

    id: str
    user: dict[str, Any]
    use_email: bool
    requests: list[Request]
    writes: list[dict[str, Any]]  # the expected write actions, to replay on a fresh database


def _options_text(options: dict[str, Any]) -> str:
    return ", ".join(str(v) for v in options.values())


def load_scenarios(tasks_file: Path, shop_file: Path) -> list[Scenario]:
    """The scenarios of ``tasks_file``, with the customer's knowledge taken from the shop data."""
    tasks = json.loads(tasks_file.read_text(encoding="utf-8"))
    shop = json.loads(shop_file.read_text(encoding="utf-8"))
    variants = {
        item_id: {**variant, "name": product["name"]}
        for product in shop["products"].values()
        for item_id, variant in product["variants"].items()
    }
    scenarios = []
    for task in tasks:
        actions = task["evaluation_criteria"]["actions"]
        writes = [a for a in actions if a["name"] in WRITES]
        user_id = None
        requests = []
        for action in writes:
            args = dict(action["arguments"])
            order = shop["orders"].get(args.get("order_id", ""))
            if order is not None:
                user_id = order["user_id"]
            request = Request(action["name"], WRITES[action["name"]], args, order)
            if order is not None:
                by_id = {i["item_id"]: i for i in order["items"]}
                request.items = [by_id[i] for i in args.get("item_ids", []) if i in by_id]
                for old, new in zip(args.get("item_ids", []), args.get("new_item_ids", []), strict=False):
                    before = by_id.get(old, {}).get("options", {})
                    after = variants.get(new, {}).get("options", {})
                    request.new_options.append({k: v for k, v in after.items() if before.get(k) != v})
                    request.targets.append(dict(after))
            requests.append(request)
        if user_id is None:
            user_id = _user_from_reads(actions, shop)
        if user_id is None:
            continue
        user = shop["users"][user_id]
        for request in requests:
            method_id = request.args.get("payment_method_id")
            if method_id:
                request.method = user["payment_methods"].get(method_id)
        known = task["user_scenario"]["instructions"].get("known_info") or ""
        use_email = "@" in known and any(a["name"] == "find_user_id_by_email" for a in actions)
        scenarios.append(Scenario(str(task["id"]), user, use_email, requests, writes))
    return scenarios


def _user_from_reads(actions: list[dict[str, Any]], shop: dict[str, Any]) -> str | None:
    for action in actions:
        args = action["arguments"]
        if "user_id" in args:
            return str(args["user_id"])
        order = shop["orders"].get(args.get("order_id", ""))
        if order is not None:
            return str(order["user_id"])
    return None


_DONE = re.compile(
    r"\b(is cancelled|is updated with|return for order .* is requested|exchange for order .* is requested|"
    r"will now ship to|default address is now|couldn't (cancel|make|complete)|nothing was changed|"
    r"no pending orders|no delivered orders|transfer)",
    re.IGNORECASE,
)
_HANDOFF = re.compile(r"\b(human agent|transferred|colleague|a person will)\b", re.IGNORECASE)
_NOT_UNDERSTOOD = re.compile(r"didn't understand|not sure what you mean|I can help you with", re.IGNORECASE)


def _sentence(text: str) -> str:
    """``text`` with its first letter in capitals and the rest as it was (names keep theirs)."""
    return text[:1].upper() + text[1:]


class ShopCustomer(Person):
    """Talks to the assistant for one scenario; ``reply`` returns the next message or None to stop."""

    def __init__(self, scenario: Scenario, voice: Voice) -> None:
        super().__init__()
        self.s = scenario
        self.voice = voice
        self.index = 0  # the request being worked on
        self.corrections = 0
        self.misspoke: str | None = None  # a slip to correct in the next message
        self.done = False
        self.rephrased = 0
        self.ahead = 0  # the last request already said (the opening may ask for two things)
        self.ahead_facts: set[str] = set()

    # ---- the facts, in the customer's words ------------------------------------------------
    @property
    def request(self) -> Request | None:
        return self.s.requests[self.index] if self.index < len(self.s.requests) else None

    def _name(self) -> str:
        n = self.s.user["name"]
        return f"{n['first_name']} {n['last_name']}"

    def identity(self) -> str:
        user = self.s.user
        zip_code = user["address"]["zip"]
        if self.s.use_email:
            self.stated |= {"email"}
            return self.voice.pick(
                [f"my email is {user['email']}", f"it's {user['email']}", f"email: {user['email']}"]
            )
        self.stated |= {"name", "zip"}
        return self.voice.pick(
            [
                f"I'm {self._name()}, zip code {zip_code}",
                f"this is {self._name()} from {zip_code}",
                f"my name is {self._name()} and my zip is {zip_code}",
                f"{self._name()}, zip {zip_code}",
            ]
        )

    def _item_word(self, item: dict[str, Any], order: dict[str, Any] | None) -> str:
        name = str(item["name"])
        twins = [
            i for i in (order or {}).get("items", []) if i["name"] == name and i["item_id"] != item["item_id"]
        ]
        if twins:
            # Two of the same product: say what tells this one apart ("the blue bluetooth speaker").
            own = [(k, v) for k, v in item["options"].items() if all(t["options"].get(k) != v for t in twins)]
            if own:
                key, value = own[0]
                if str(value).lower() in ("yes", "no"):
                    return f"{name.lower()} {'with' if str(value).lower() == 'yes' else 'without'} {key}"
                return f"{value} {name.lower()}"
        last = name.split()[-1].lower()
        others = [i["name"] for i in (order or {}).get("items", []) if i["name"] != name]
        if " " in name and self.voice.chance(0.4) and not any(last in o.lower() for o in others):
            return last
        return name.lower()

    def items_text(self, request: Request) -> str:
        names = []
        for item in request.items:
            word = self._item_word(item, request.order)
            if word not in names:
                names.append(word)
        if not names:
            return "the items"
        if len(names) == 1:
            return f"the {names[0]}"
        return ", ".join(f"the {n}" for n in names[:-1]) + f" and the {names[-1]}"

    def order_text(self, request: Request) -> str:
        order = request.order or {}
        if self.voice.chance(0.6):
            return self.voice.pick(
                [f"order {order.get('order_id')}", f"order #{str(order.get('order_id', '')).lstrip('#')}"]
            )
        names = sorted({i["name"].lower() for i in order.get("items", [])})[:2]
        return "the order with the " + " and the ".join(names)

    def change_text(self, options: dict[str, str]) -> str:
        parts = []
        for key, value in options.items():
            if str(value).lower() in ("yes", "no"):
                parts.append(key if str(value).lower() == "yes" else f"not {key}")
            elif str(value).lower() == "none":
                parts.append(self.voice.pick([f"no {key}", f"without {key}"]))
            elif key in ("color", "colour"):
                parts.append(self.voice.pick([f"in {value}", f"{value}"]))
            elif key == "size":
                parts.append(self.voice.pick([f"size {value}", f"in size {value}"]))
            else:
                parts.append(self.voice.pick([f"{value} {key}", f"{key} {value}", f"{value}"]))
        if not parts:
            return "a different option"
        return " and ".join(parts) if len(parts) <= 2 else ", ".join(parts[:-1]) + " and " + parts[-1]

    def exchange_text(self, request: Request) -> str:
        lines = []
        for item, options in zip(request.items, request.new_options, strict=False):
            lines.append(
                self.voice.pick(
                    [
                        f"the {self._item_word(item, request.order)} to one {self.change_text(options)}",
                        f"the {self._item_word(item, request.order)} for one {self.change_text(options)}",
                    ]
                )
            )
        return " and ".join(lines)

    def method_text(self, method: dict[str, Any] | None) -> str:
        if method is None:
            return "the original payment method"
        source = method["source"]
        if source == "credit_card":
            return self.voice.pick(
                [
                    f"my {method.get('brand', 'credit')} card ending in {method.get('last_four')}",
                    f"the credit card ending {method.get('last_four')}",
                    f"the {method.get('brand', '')} ending {method.get('last_four')}".replace("  ", " "),
                ]
            )
        if source == "gift_card":
            return self.voice.pick(["my gift card", "the gift card", "gift card please"])
        return self.voice.pick(["paypal", "my PayPal account", "PayPal please"])

    def reason_text(self, reason: str) -> str:
        if reason == "ordered by mistake":
            return self.voice.pick(
                [
                    "I ordered it by mistake",
                    "it was a mistake, I ordered it by accident",
                    "ordered it by mistake",
                ]
            )
        return self.voice.pick(["I don't need it anymore", "I no longer need it", "it's no longer needed"])

    def address_text(self, args: dict[str, Any]) -> str:
        line = args["address1"] + (f", {args['address2']}" if args.get("address2") else "")
        return f"{line}, {args['city']}, {args['state']} {args['zip']}"

    def request_text(self, request: Request, opening: bool) -> str:
        """The request with its details, as a person who knows what they want writes it."""
        flow = request.flow
        order = self.order_text(request) if request.order else ""
        self.stated.add("order")
        if flow == "return_items":
            self.stated.add("items")
            text = self.voice.pick(
                [
                    f"I want to return {self.items_text(request)} from {order}",
                    f"I'd like to send back {self.items_text(request)} I got in {order}",
                    f"please start a return for {self.items_text(request)} ({order})",
                ]
            )
            if request.method is not None and self.voice.chance(0.5):
                self.stated.add("method")
                text += f", refund to {self.method_text(request.method)}"
            return text
        if flow in ("exchange_items", "modify_order_items"):
            self.stated |= {"items", "new"}
            verb = "exchange" if flow == "exchange_items" else "change"
            when = "I received" if flow == "exchange_items" else "that hasn't shipped yet"
            first = request.items[0] if request.items else None
            single = len(request.items) == 1 and first is not None
            options = [
                f"I want to {verb} {self.exchange_text(request)} in {order}",
                f"in {order} {when}, I'd like to {verb} {self.exchange_text(request)}",
            ]
            if single and first is not None:
                word = self._item_word(first, request.order)
                change = self.change_text(request.new_options[0] if request.new_options else {})
                if flow == "exchange_items":
                    options += [
                        f"I got the {word} in {order} but I'd rather have it {change}, can I swap it",
                        f"the {word} I received ({order}) isn't right, I want one {change} instead",
                    ]
                else:
                    options += [
                        f"can I get the {word} {change} instead? It's in {order}, not shipped yet",
                        f"I'd like the {word} in {order} to be {change} before it ships",
                    ]
            text = self.voice.pick(options)
            if flow == "modify_order_items":
                text = text.replace(" in order", " in my pending order", 1)
            return text
        if flow == "cancel_order":
            self.stated |= {"reason"}
            return self.voice.pick(
                [
                    f"please cancel {order}, {self.reason_text(request.args['reason'])}",
                    f"I need to cancel {order} because {self.reason_text(request.args['reason'])}",
                    f"cancel my order please ({order}). {self.reason_text(request.args['reason'])}",
                ]
            )
        if flow == "modify_order_address":
            self.stated.add("address")
            return self.voice.pick(
                [
                    f"I need to change the shipping address of {order} to {self.address_text(request.args)}",
                    f"can you ship {order} to {self.address_text(request.args)} instead",
                ]
            )
        if flow == "change_default_address":
            self.stated.add("address")
            return f"I moved, please update my default address to {self.address_text(request.args)}"
        if flow == "modify_order_payment":
            self.stated.add("method")
            return f"I want to pay for {order} with {self.method_text(request.method)} instead"
        return self.voice.pick(["I want to talk to a human agent", "can I speak to a real person please"])

    # ---- the conversation ------------------------------------------------------------------
    def opening(self) -> str:
        request = self.request
        body = self.request_text(request, opening=True) if request else "what's the status of my order?"
        if (
            len(self.s.requests) > 1
            and self.s.requests[1].flow != "pattern_human_handoff"
            and self.voice.chance(0.3)
        ):
            # Two requests at once, as people who have several things to sort out do.
            before = set(self.stated)
            second = self.request_text(self.s.requests[1], opening=True)
            self.ahead_facts = set(self.stated) - before | {"order"}
            self.ahead = 1
            body += self.voice.pick([". Also, ", ", and also ", ". And then "]) + second
        parts = [self.voice.pick(["Hi!", "Hello,", "Hi there.", ""])]
        if self.voice.chance(0.6):
            parts.append(_sentence(self.identity()) + ".")
        parts.append(body[0].upper() + body[1:] + self.voice.pick([".", "!", " please.", ""]))
        return self.voice.typo(" ".join(p for p in parts if p))

    def reply(self, messages: list[str]) -> str | None:
        """The next message, given the assistant's messages of the last turn; None when finished."""
        text = "\n".join(messages)
        last = question(messages)
        if _HANDOFF.search(text):
            self.handed_off = True
            return None
        request = self.request
        if self.misspoke:
            said, self.misspoke = self.misspoke, None
            if request is not None and asks(last, r"shall i go ahead|is that right|confirm"):
                return self._summary(last, request)
            return said
        if request is not None and _DONE.search(text):
            self.index += 1
            self.stated &= {"email", "name", "zip"}  # what was said about the last request is done
            nxt = self.request
            if nxt is None:
                self.done = True
                return self.voice.pick(
                    ["Thanks, that's all.", "Great, thank you! That's everything.", "thanks, bye"]
                )
            if self.index <= self.ahead and "?" in last and not _DONE.search(last):
                # Said up front, and the assistant is already on it: answer its question.
                self.stated |= self.ahead_facts
                request = nxt
            else:
                return self.voice.typo(
                    self.voice.pick(["Also, ", "One more thing: ", "And "])
                    + self.request_text(nxt, opening=False)
                )
        if request is None:
            self.done = True
            return None
        if _NOT_UNDERSTOOD.search(last):
            self.rephrased += 1
            if self.rephrased > 2:
                return None
            return self.voice.typo(self.request_text(request, opening=False))
        if asks(last, r"email address", r"verify your identity"):
            self._again("email" if self.s.use_email else "name")
            return self.voice.typo(self.identity())
        if asks(last, r"first name"):
            self._again("name")
            return self.s.user["name"]["first_name"]
        if asks(last, r"last name"):
            self._again("name")
            return self.s.user["name"]["last_name"]
        if asks(last, r"zip code"):
            self._again("zip")
            return self.s.user["address"]["zip"]
        if asks(last, r"shall i go ahead|is that right\?|please confirm"):
            return self._summary(last, request)
        if asks(last, r"which items?", r"what items?"):
            self._again("items")
            return self.voice.typo(_sentence(self.items_text(request)))
        if asks(last, r"which .*order", r"what order"):
            self._again("order")
            return self.order_text(request)
        if asks(last, r"which option", r"instead\?"):
            self._again("new")
            return self._option_answer(last, request)
        if asks(last, r"another item"):
            return self.voice.pick(["No, that's all.", "no", "Nope, just that."])
        if asks(last, r"refund go", r"payment method", r"which card", r"pay it|receive it"):
            self._again("method")
            right = self.method_text(request.method)
            if self.voice.chance(0.12) and self.corrections == 0:
                wrong = self._other_method(request)
                if wrong:
                    self.corrections += 1
                    self.misspoke = self.voice.pick(
                        [f"Sorry, I meant {right}", f"Actually no, make it {right}", f"oops, I meant {right}"]
                    )
                    return wrong
            return right
        if asks(last, r"why would you like to cancel", r"reason"):
            self._again("reason")
            return self.reason_text(request.args.get("reason", ""))
        if asks(last, r"new (shipping )?address", r"street"):
            self._again("address")
            return self.address_text(request.args)
        if asks(last, r"identity is verified"):
            return self.voice.typo(self.request_text(request, opening=False))
        self.rephrased += 1
        if self.rephrased > 3:
            return None
        return self.voice.typo(self.request_text(request, opening=False))

    def _other_method(self, request: Request) -> str | None:
        for method in self.s.user["payment_methods"].values():
            if request.method is None or method["id"] != request.method["id"]:
                return self.method_text(method)
        return None

    def _option_answer(self, last: str, request: Request) -> str:
        # The question names the item being changed when there are several; else the first not done.
        index = 0
        for i, item in enumerate(request.items):
            if item["name"].lower() in last.lower():
                index = i
                break
        options = request.new_options[index] if index < len(request.new_options) else {}
        return self.voice.typo(self.voice.pick(["The one ", "I'd like it ", ""]) + self.change_text(options))

    def _summary(self, summary: str, request: Request) -> str:
        """Yes to a right summary; a no that says what is wrong with a wrong one."""
        lowered = summary.lower()
        problems = []
        order_id = str((request.order or {}).get("order_id", "")).lstrip("#").lower()
        if order_id and order_id not in lowered:
            problems.append(f"it's {self.order_text(request)}")
        wanted = {i["name"].lower() for i in request.items}
        for item in (request.order or {}).get("items", []):
            name = item["name"].lower()
            if request.items and name not in wanted and re.search(rf"\b{re.escape(name)}\b", lowered):
                problems.append(f"not the {name}")
        for name in wanted:
            if name not in lowered:
                problems.append(f"I also want the {name}")
        chosen = {i["item_id"] for i in request.items}
        for item in (request.order or {}).get("items", []):
            # The twin of a wanted item (the other speaker) must not be in it: its price tells.
            twin = item["item_id"] not in chosen and item["name"].lower() in wanted
            if twin and request.flow == "return_items" and f"${item['price']:,.2f}" in summary:
                problems.append(f"not the {self._item_word(item, request.order)}")
        for item, options in zip(request.items, request.targets, strict=False):
            # A person reads the whole new option: what they did not ask to change must stay.
            line = next((ln for ln in lowered.splitlines() if item["name"].lower() in ln), lowered)
            for value in options.values():
                if str(value).lower() in ("yes", "no", "none"):
                    continue
                if re.search(rf"(?<!\w){re.escape(str(value).lower())}(?!\w)", line.split("->")[-1]) is None:
                    problems.append(
                        f"the {item['name'].lower()} should be {value}"
                        if len(request.items) > 1
                        else f"I wanted {value}"
                    )
        if request.method is not None and request.flow != "cancel_order":
            key = str(request.method.get("last_four") or request.method["source"].replace("_", " "))
            if key.lower() not in lowered:
                problems.append(f"it should go to {self.method_text(request.method)}")
        if not problems:
            return self.voice.pick(["Yes", "yes please", "Yes, go ahead.", "that's right", "yep"])
        self.corrections += 1
        if self.corrections > 3:
            return "No"
        return self.voice.typo("No, " + "; ".join(problems[:2]) + ".")
