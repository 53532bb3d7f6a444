"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

ID = r"^[A-Za-z0-9_.@:-]+$"
# A row id in a path (a document, a message, a review item): a positive 64-bit integer, as the
# databases store them; a larger number is a 422, never an overflow in the driver.
RowId = Annotated[int, Path(ge=1, le=2**63 - 1)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MessageIn(Strict):
    """A person's message to a conversation."""

    text: str = Field(min_length=1, max_length=4000)


class NewConversationIn(MessageIn):
    pack: str = Field(min_length=1, max_length=100)
    conversation_id: str | None = Field(default=None, min_length=1, max_length=100, pattern=ID)


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


class QuestionIn(Strict):
    question: str = Field(min_length=1, max_length=2000)
    mode: Literal["hybrid", "fts", "vector", "rrf"] = "hybrid"


class DecisionIn(Strict):
    outcome: Literal["approved", "rejected", "changes_requested"]
    comment: str = Field(default="", max_length=2000)


class LoginIn(Strict):
    tenant: str = Field(default="default", min_length=1, max_length=64)
    username: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1000)


class LanguageIn(Strict):
    language: Literal["en", "zh"]


class StartProcessIn(Strict):
    pack: str = Field(min_length=1, max_length=100)
    flow: str = Field(min_length=1, max_length=100)
    slots: dict[str, Any] = Field(default_factory=dict, max_length=50)


class UserIn(Strict):
    username: str = Field(min_length=1, max_length=64, pattern=ID)
    id: str | None = Field(default=None, min_length=1, max_length=64, pattern=ID)
    display_name: str = Field(default="", max_length=200)
    password: str | None = Field(default=None, min_length=10, max_length=1000)
    roles: list[str] = Field(default_factory=lambda: ["agent_user"], max_length=50)
    language: Literal["en", "zh"] = "en"


class UserChangeIn(Strict):
    display_name: str | None = Field(default=None, max_length=200)
    password: str | None = Field(default=None, min_length=10, max_length=1000)
    roles: list[str] | None = Field(default=None, max_length=50)
    language: Literal["en", "zh"] | None = None
    active: bool | None = None


class TenantIn(Strict):
    id: str = Field(min_length=1, max_length=64, pattern=ID)
    name: str = Field(min_length=1, max_length=200)
    admin_username: str = Field(min_length=1, max_length=64, pattern=ID)
    admin_password: str = Field(min_length=10, max_length=1000)


class KeyIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    roles: list[str] = Field(default_factory=lambda: ["agent_user"], max_length=50)


# -- the OpenAI-compatible endpoint ---------------------------------------------------------


class ChatPart(BaseModel):
    type: str = Field(max_length=50)
    text: str | None = Field(default=None, max_length=4000)


class ChatMessageIn(BaseModel):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ChatPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.text or "" for part in self.content if part.type == "text")
        return self.content or ""


class ChatCompletionIn(BaseModel):
    """The fields procpilot reads; sampling fields are accepted and ignored (flows answer)."""

    model: str = Field(min_length=1, max_length=100)
    messages: list[ChatMessageIn] = Field(min_length=1, max_length=500)
    stream: bool = False
    stream_options: dict[str, Any] | None = None  # {"include_usage": true}: a last chunk with usage
    user: str | None = Field(default=None, max_length=200)


class ConversationChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str | None = Field(default=None, max_length=200)
    archived: bool | None = None


class AgentReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=4000)


class StartForIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    flow: str = Field(min_length=1, max_length=100)
