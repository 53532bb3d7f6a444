"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class MessageIn(BaseModel):
    """A person's message. ``pack`` is needed when the conversation is new."""

    text: str = Field(min_length=1, max_length=4000)
    pack: str | None = Field(default=None, max_length=100)


class NewConversationIn(MessageIn):
    pack: str = Field(max_length=100)
    conversation_id: str | None = Field(default=None, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")


class Button(BaseModel):
    title: str
    payload: str


class BotMessage(BaseModel):
    text: str
    buttons: list[Button] = []


class ReplyOut(BaseModel):
    conversation_id: str
    messages: list[BotMessage]
    commands: list[dict[str, Any]]
    active_flows: list[str]
    handed_off: bool


class QuestionIn(BaseModel):
    question: str = Field(min_length=1, max_length=2000)
    mode: str = Field(default="hybrid", pattern="^(hybrid|fts|vector)$")


class DecisionIn(BaseModel):
    outcome: str = Field(pattern="^(approved|rejected|changes_requested)$")
    comment: str = Field(default="", max_length=2000)
