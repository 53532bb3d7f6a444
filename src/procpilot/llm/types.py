"""Provider-neutral types of the model port."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Protocol


@dataclass(frozen=True)
class Message:
    role: str  # system, user or assistant
    content: str


@dataclass(frozen=True)
class Sampling:
    """Sampling settings; None leaves the provider's default."""

    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    max_tokens: int | None = 256
    seed: int | None = None

    def merged(self, other: Sampling | None) -> Sampling:
        """``other``'s settings where it has them, these otherwise."""
        if other is None:
            return self
        return Sampling(
            **{
                k: getattr(other, k) if getattr(other, k) is not None else getattr(self, k)
                for k in self.__dataclass_fields__
            }
        )


@dataclass(frozen=True)
class ChatRequest:
    """One call. ``json_schema`` constrains the output to JSON of that schema."""

    messages: tuple[Message, ...]
    sampling: Sampling = field(default_factory=Sampling)
    json_schema: dict[str, Any] | None = None
    stop: tuple[str, ...] = ()
    timeout: float = 60.0

    @classmethod
    def of(cls, *messages: tuple[str, str] | Message, **kwargs: Any) -> ChatRequest:
        """``ChatRequest.of(("system", "..."), ("user", "..."), json_schema=...)``."""
        built = tuple(m if isinstance(m, Message) else Message(m[0], m[1]) for m in messages)
        return cls(messages=built, **kwargs)

    def with_messages(self, *extra: Message) -> ChatRequest:
        return replace(self, messages=self.messages + extra)


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens, self.completion_tokens + other.completion_tokens
        )


@dataclass(frozen=True)
class ChatResponse:
    """The answer. ``data`` holds the parsed JSON when a schema was requested."""

    text: str
    model: str
    usage: Usage = field(default_factory=Usage)
    finish_reason: str = "stop"
    data: Any = None
    seconds: float = 0.0
    first_token_seconds: float | None = None


@dataclass(frozen=True)
class StreamChunk:
    """A piece of streamed text; the last chunk has ``done`` and the usage."""

    text: str
    done: bool = False
    usage: Usage | None = None
    finish_reason: str | None = None


class ChatModel(Protocol):
    """The port. Implementations: EmbeddedModel, OpenAICompatibleModel, ScriptedModel."""

    name: str

    def chat(self, request: ChatRequest) -> ChatResponse:
        """Answer ``request`` whole; raises ModelError subclasses."""
        ...

    def stream(self, request: ChatRequest) -> Iterator[StreamChunk]:
        """Answer ``request`` piece by piece; closing the iterator cancels the generation."""
        ...
