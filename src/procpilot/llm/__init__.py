"""The model port: every place that needs generated text or a model's judgement goes through it.

    ChatModel          the port: ``chat(request) -> ChatResponse`` and ``stream(request)``
    ChatRequest        messages, optional JSON schema, sampling settings, time-out
    providers          embedded (xllamacpp, in-process), OpenAI-compatible (httpx), scripted (tests)
    ModelError ...     see ``procpilot.llm.errors``

Vendor formats (OpenAI JSON, xllamacpp dicts) are converted at the provider edge; nothing else in
procpilot sees them.
"""

from procpilot.llm.errors import (
    ModelError,
    ModelOutputInvalid,
    ModelRateLimited,
    ModelTimeout,
    ModelUnavailable,
)
from procpilot.llm.types import ChatModel, ChatRequest, ChatResponse, Message, Sampling, StreamChunk, Usage

__all__ = [
    "ChatModel",
    "ChatRequest",
    "ChatResponse",
    "Message",
    "ModelError",
    "ModelOutputInvalid",
    "ModelRateLimited",
    "ModelTimeout",
    "ModelUnavailable",
    "Sampling",
    "StreamChunk",
    "Usage",
]
