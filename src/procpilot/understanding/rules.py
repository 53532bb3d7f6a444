"""``RuleUnderstanding``: commands from rules, examples and extractors; no model needed."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from procpilot.domain.commands import (
    AskKnowledge,
    CancelFlow,
    CannotHandle,
    Chitchat,
    Clarify,
    Command,
    Confirm,
    CorrectSlot,
    Deny,
    HumanHandoff,
    SetSlot,
    StartFlow,
)
from procpilot.domain.expectation import CONFIRMATION, SLOT, Expectation
from procpilot.domain.flows import Pack
from procpilot.domain.slots import Option, SlotDef
from procpilot.domain.steps import CallFlowStep
from procpilot.understanding import extractors, languages, slot_reading
from procpilot.understanding.example_matcher import STRONG, THRESHOLD, ExampleMatcher, Match, clauses, content

DIGRESSION = 88.0  # how sure an intent must be to leave an open question for another flow


class IntentSource(Protocol):
    """Which flow a message asks for. ``digression``: the score needed to leave an open question."""

    digression: float

    def best(self, text: str) -> tuple[Match | None, list[Match]]: ...


_HANDOFF = re.compile(
    r"\b(human|real person|a person|an agent|live agent|representative|operator|customer service agent|"
    r"speak to someone|talk to someone)\b",
    re.IGNORECASE,
)
_CANCEL = re.compile(
    r"^\s*(please\s+)?(cancel|stop|abort|quit|never\s*mind|forget\s+(it|about\s+it)|i changed my mind|"
    r"i don'?t want to (do )?(this|that|it) anymore)"
    r"(\s+(it|that|this|the (return|exchange|request|process|whole thing)))?\s*(please)?[.!]*\s*$",
    re.IGNORECASE,
)


def cancels(text: str) -> bool:
    """Whether the message asks to stop what is going on ("cancel", "never mind")."""
    return bool(_CANCEL.match(text))


_CORRECTION = re.compile(
    r"^\s*(no[,!.]?\s+|actually|sorry|oops|wait|i meant|make it|change (it|that)|not\b|instead)",
    re.IGNORECASE,
)
# At a confirmation, words that say a value is to change ("the amount should be 45 euros").
_CHANGE = re.compile(
    r"\b(change|changed|update|fix|correct|should be|should have been|was|were|wrong|instead)\b",
    re.IGNORECASE,
)
# Words too common to name a slot by ("the date of the purchase" is named by "date", "purchase").
_NOT_NAMES = frozenset(
    [
        "with",
        "from",
        "that",
        "this",
        "your",
        "which",
        "what",
        "when",
        "where",
        "whom",
        "their",
        "there",
        "them",
        "they",
        "about",
        "other",
        "would",
        "should",
        "could",
        "have",
        "been",
        "the",
        "and",
        "for",
    ]
)


def _slot_words(name: str, slot: SlotDef) -> list[str]:
    words = [*name.split("_"), *re.findall(r"[a-z]+", (slot.description or "").lower())]
    out: list[str] = []
    for word in words:
        if len(word) >= 4 and word not in _NOT_NAMES and word not in out:
            out.append(word)
    return out


_QUESTION = re.compile(
    # With the spellings people type: "whats", "wats", "hows", "wheres", "whos", "hw".
    r"^\s*(what|what's|whats|wats|how|hows|how's|hw|when|whens|where|wheres|where's|why|who|whos|which"
    r"|is|are|do|does|can|could|will|should|may|am|tell me|explain|i('d| would) like to know|i wonder)\b",
    re.IGNORECASE,
)
_GREET = re.compile(r"^\s*(hi|hello|hey|good (morning|afternoon|evening)|howdy|hiya)\b", re.IGNORECASE)
_THANKS = re.compile(
    r"^\s*((great|perfect|awesome|ok|okay|wonderful|lovely|brilliant|cool)[,.!]?\s*)?"
    r"(thanks|thank you|thx|cheers|perfect|awesome)\b",
    re.IGNORECASE,
)
_BYE = re.compile(
    r"^\s*(bye|goodbye|see you|that'?s all|nothing else|no,? that'?s (it|all))\b", re.IGNORECASE
)


# Where one request ends and another begins: a new sentence, "also", "and then", or "and" before
# a verb that asks for something.
_REQUEST_SPLIT = re.compile(
    r"((?<=[.!?;])\s+(?:also,?\s+|and then,?\s+)?|\s*\b(?:also|and then|additionally|plus)\b,?\s*|,?\s+and\s+"
    r"(?=(?:i|i'd|i'm|please|can|could|cancel|return|exchange|change|modify|update|ship|send|track|check|swap|"
    r"refund|book|request|claim|give|get|remind|freeze|block|set)\b))",
    re.IGNORECASE,
)


class RuleUnderstanding:
    """Understanding from the pack alone. ``now`` is injectable so relative dates are testable."""

    def __init__(
        self, pack: Pack, *, now: Callable[[], dt.datetime] | None = None, intents: IntentSource | None = None
    ) -> None:
        self.pack = pack
        # Which flow a message asks for: the fuzzy example matcher, or a trained classifier.
        # The example matcher also answers for long, detailed messages a classifier cannot place.
        self.matcher = ExampleMatcher(pack.user_flows())
        self.intents: IntentSource = intents or self.matcher
        self.timezone = pack.settings.timezone
        self._now = now or (lambda: dt.datetime.now(dt.UTC))

    def understand(
        self, text: str, expectation: Expectation, history: Sequence[tuple[str, str]] = ()
    ) -> list[Command]:
        """Commands for one message, given what the dialogue expects next (history is unused)."""
        text = text.strip()
        if not text:
            return [CannotHandle(reason="empty message")]
        spoken = languages.language(text)
        if spoken is not None and spoken != self.pack.settings.language:
            return [CannotHandle(reason=f"language {spoken}")]
        if _HANDOFF.search(text):
            return [HumanHandoff()]
        in_flow = expectation.flow_id is not None
        if in_flow and _CANCEL.match(text):
            return [CancelFlow()]
        corrections = self._corrections(text, expectation)
        if expectation.kind == CONFIRMATION:
            if corrections:
                return corrections
            answer = extractors.yes_no(text)
            asking = text.endswith("?") or bool(_QUESTION.match(text))
            named = self._named_slots(text, expectation) if answer is not True and not asking else []
            if named:
                # "no, the date is wrong", "change the merchant": ask for it again.
                return named
            if answer is not None:
                return [Confirm() if answer else Deny()]
        if expectation.kind != SLOT and len(text.split()) <= 4:
            small_talk = self._small_talk(text)
            if small_talk is not None:
                return [small_talk]
        match, close = self._route(text)
        if expectation.kind == SLOT and expectation.slot is not None:
            commands = self._slot_answer(text, expectation, expectation.slot, match)
            if commands:
                return commands
        if corrections:
            return corrections
        asked = expectation.kind == SLOT and expectation.slot is not None
        if match is not None and asked and match.score < getattr(self.intents, "digression", DIGRESSION):
            # A question is open: leave it only for a clear request, else let the engine re-ask.
            match, close = None, []
        if (match is not None or close) and not expectation.active_flows and len(text.split()) >= 6:
            requests = self._requests(text)
            if len(requests) > 1:
                first_flow, first_note = requests[0]
                return [
                    StartFlow(first_flow, note=first_note),
                    *self._prefill(first_note, first_flow),
                    *(StartFlow(flow, note=note) for flow, note in requests[1:]),
                ]
        if match is not None and match.flow not in expectation.active_flows:
            return [StartFlow(match.flow), *self._prefill(text, match.flow)]
        if close:
            return [Clarify(tuple(m.flow for m in close))]
        answer = extractors.yes_no(text)
        if answer is not None and len(text.split()) <= 3:
            # A bare yes or no: the engine knows whether anything is waiting for one.
            return [Confirm() if answer else Deny()]
        small_talk = self._small_talk(text)
        if small_talk is not None:
            return [small_talk]
        if text.endswith("?") or _QUESTION.match(text):
            return [AskKnowledge(text)]
        if expectation.kind == SLOT and expectation.slot is not None:
            # Let the engine say why this does not fit, and count the attempt.
            return [SetSlot(expectation.slot.name, text)]
        return [CannotHandle()]

    @staticmethod
    def _small_talk(text: str) -> Command | None:
        if _THANKS.match(text):
            return Chitchat("thanks")
        if _BYE.match(text):
            return Chitchat("bye")
        if _GREET.match(text) and len(text.split()) <= 4:
            return Chitchat("greet")
        return None

    def _extract(self, slot: SlotDef, text: str, expectation: Expectation, *, asked: bool = True) -> Any:
        options = expectation.slot_options.get(slot.name, slot.options)
        return slot_reading.read(
            slot, text, options, expectation.labels, now=self._now(), timezone=self.timezone, asked=asked
        )

    def recall(
        self, slot: SlotDef, options: tuple[Option, ...], notes: Sequence[str], labels: Mapping[str, str]
    ) -> Any:
        """What the person's earlier words (``notes``) say for ``slot``; the engine asks this before
        it asks the person, so a fact given once is not asked for again."""
        return slot_reading.recall(slot, options, notes, labels, now=self._now(), timezone=self.timezone)

    def _slot_answer(self, text: str, expectation: Expectation, slot: SlotDef, match: Any) -> list[Command]:
        strong_flow = (
            match is not None and match.score >= STRONG and match.flow not in expectation.active_flows
        )
        if slot.type == "text" and not slot.pattern:
            if strong_flow or text.endswith("?"):
                return []
            return [SetSlot(slot.name, text)]
        value = self._extract(slot, text, expectation)
        commands: list[Command] = []
        if isinstance(value, slot_reading.Ambiguous):
            if not strong_flow:
                commands.append(Clarify(value.candidates, slot=slot.name))
        elif value is not None and not strong_flow:
            commands.append(SetSlot(slot.name, value))
        commands += self._opportunistic(text, expectation, skip=slot.name)
        return commands

    def _opportunistic(self, text: str, expectation: Expectation, skip: str) -> list[Command]:
        """Other unfilled slots of the active flow that the message plainly gives."""
        found: list[Command] = []
        for name, slot in expectation.flow_slots.items():
            if name == skip or expectation.filled.get(name) is not None or slot.type == "boolean":
                continue
            if slot.options_from:
                continue  # choices the flow has not listed yet are recalled when it does
            value = self._extract(slot, text, expectation, asked=False)
            if value is not None and not isinstance(value, slot_reading.Ambiguous):
                found.append(SetSlot(name, value))
        return found

    def _named_slots(self, text: str, expectation: Expectation) -> list[Command]:
        """Filled slots a message at a confirmation names ("the amount", "change the merchant"),
        latest asked first; a text slot takes the words after "to", "is" or "should be"."""
        found: list[Command] = []
        for name, slot in expectation.flow_slots.items():
            if expectation.filled.get(name) is None or slot.type == "boolean":
                continue
            hit = next(
                (w for w in _slot_words(name, slot) if re.search(rf"\b{re.escape(w)}s?\b", text, re.I)), None
            )
            if hit is None:
                continue
            value = None
            if slot.type == "text" and not slot.pattern:
                said = re.search(
                    rf"\b{re.escape(hit)}\w*\b.*?\b(?:to|is|was|should be|should have been)\s+(.+?)[.!]*$",
                    text,
                    re.I,
                )
                value = said.group(1).strip() if said and said.group(1).strip() else None
            found.append(CorrectSlot(name, value))
        return found[::-1]

    def _corrections(self, text: str, expectation: Expectation) -> list[Command]:
        # At a confirmation, "the amount should be 45 euros" corrects too, but only a value said
        # plainly (with its unit): "receipt 8812" is no amount.
        loose = (
            not _CORRECTION.match(text)
            and expectation.kind == CONFIRMATION
            and bool(_CHANGE.search(text))
            and not text.endswith("?")
        )
        if not (_CORRECTION.match(text) or loose):
            return []
        found: list[Command] = []
        for name, slot in expectation.flow_slots.items():
            if expectation.filled.get(name) is None or (slot.type == "text" and not slot.pattern):
                continue
            if slot.type == "boolean":
                continue
            options = expectation.slot_options.get(name, slot.options)
            if slot.multiple:
                current = list(expectation.filled.get(name) or [])
                changed = slot_reading.list_change(text, options, current)
                if changed:
                    found.append(CorrectSlot(name, changed))
                continue
            said = slot_reading.with_earlier_words(text, options, expectation.labels, expectation.notes)
            # A bare number in "no, it should start on 9 December" is no count of days: a number
            # corrects a count only when said with its unit ("make it 4 days").
            unasked = slot.type in ("integer", "number") or loose
            value = self._extract(slot, said, expectation, asked=not unasked) if said else None
            if isinstance(value, slot_reading.Ambiguous):
                continue
            if value is not None and value != expectation.filled.get(name):
                found.append(CorrectSlot(name, value))
        return found

    def _prefill(self, text: str, flow_id: str) -> list[Command]:
        """Slots of a flow being started that the message gives plainly (the engine recalls the
        rest, sub-flows' slots and choices whose options come later, from the same words)."""
        flow = self.pack.flows[flow_id]
        found: list[Command] = []
        for name, slot in flow.slots.items():
            if slot.pattern and slot.type in ("text", "choice"):
                value = extractors.pattern(text, slot.pattern)
                if value is not None:
                    found.append(SetSlot(name, [value] if slot.multiple else value))
            elif not slot.options_from and slot.type != "boolean":
                value = slot_reading.read(
                    slot, text, slot.options, {}, now=self._now(), timezone=self.timezone, asked=False
                )
                if value is not None:
                    found.append(SetSlot(name, value))
        found += self._date_range(text, flow_id)
        return found

    def low_confidence(self, text: str, flow: str) -> bool:
        """Whether ``flow`` was a weak reading of ``text``: no match, another flow's, or one under
        the score a clear request reaches (for review: these are the turns to look at)."""
        match, _ = self._route(text.strip())
        return (
            match is None
            or match.flow != flow
            or match.score < getattr(self.intents, "digression", DIGRESSION)
        )

    def _route(self, text: str) -> tuple[Match | None, list[Match]]:
        """Which flow ``text`` asks for, with typos of the pack's words corrected first."""
        corrected = self.matcher.speller.correct(text)
        match, close = self.intents.best(corrected)
        if self.intents is not self.matcher and len(text.split()) >= 8:
            # A long, detailed message: a classifier trained on short examples may not place it,
            # or place it unsurely; the matcher's keyword-backed, strong reading of it wins then.
            found, near = self.matcher.best(corrected)
            sure = getattr(self.intents, "digression", DIGRESSION)
            if match is None and not close:
                return found, near
            strong = found if found is not None and found.keyword and found.score >= STRONG else None
            if strong is not None and (match is None or (match.flow != strong.flow and match.score < sure)):
                return strong, []
        return match, close

    def _requests(self, text: str) -> list[tuple[str, str]]:
        """Several requests in one message ("cancel #W1 and change the address on #W2"): each
        flow with the words that belong to it, in the order asked; one or none otherwise."""
        pieces = _REQUEST_SPLIT.split(text)  # text, separator, text, separator, ...
        found: list[tuple[str, list[str]]] = []
        for index in range(0, len(pieces), 2):
            part = pieces[index]
            if not part or not part.strip():
                continue
            # "Also, return the backpack too" may ask for the same flow again; a bare next clause
            # ("I no longer need it") only adds to the request before it.
            again = index > 0 and bool(
                re.search(r"also|then|additionally|plus", pieces[index - 1] or "", re.I)
            )
            # A clause that only says who one is ("My email is ...") asks for nothing.
            asks = len(content(" ".join(clauses(part)[:1])).split()) >= 2
            match, _close = self._route(part) if asks else (None, [])
            new = match is not None and (again or all(match.flow != f for f, _ in found))
            if match is not None and match.score >= THRESHOLD and new:
                found.append((match.flow, [part]))
            elif found:
                found[-1][1].append(part)
            else:
                found.append(("", [part]))  # words before the first request (a greeting, a name)
        if found and found[0][0] == "":
            preamble = found.pop(0)[1]
            if found:
                found[0][1][:0] = preamble
        return [(flow, " ".join(p.strip() for p in words)) for flow, words in found if flow]

    def _date_range(self, text: str, flow_id: str) -> list[Command]:
        """ "Monday to Wednesday next week": the first day, and the number of days when the flow
        counts them (working days when its description says so)."""
        span = extractors.date_range(text, now=self._now(), timezone=self.timezone)
        flow = self.pack.flows[flow_id]
        dates = [n for n, s in flow.slots.items() if s.type == "date"]
        counts = [n for n, s in flow.slots.items() if s.type == "integer" and "day" in s.description.lower()]
        if span is None or not dates:
            return []
        start, end = span
        commands: list[Command] = [SetSlot(dates[0], start.isoformat())]
        if len(dates) > 1:
            commands.append(SetSlot(dates[1], end.isoformat()))
        elif counts:
            working = "working" in flow.slots[counts[0]].description.lower()
            days = [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]
            commands.append(SetSlot(counts[0], sum(1 for d in days if not working or d.weekday() < 5)))
        return commands

    def sub_flows(self, flow_id: str) -> list[str]:
        """The flows ``flow_id`` calls, directly or through others."""
        seen: list[str] = []
        todo = [flow_id]
        while todo:
            flow = self.pack.flows.get(todo.pop())
            if flow is None:
                continue
            for step in flow.steps:
                if isinstance(step, CallFlowStep) and step.flow not in seen:
                    seen.append(step.flow)
                    todo.append(step.flow)
        return seen
