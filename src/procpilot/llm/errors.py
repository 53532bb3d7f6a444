"""Model errors. Each names the model and says what to do.

ModelError (RunTimeError)
 ├── ModelUnavailable     the file is missing, will not load, or the endpoint is down
 ├── ModelTimeout         no complete answer within the time-out
 ├── ModelRateLimited     the server kept answering 429 after the retries
 └── ModelOutputInvalid   the output did not parse or fit the schema (after one repair)
"""

from __future__ import annotations

from procpilot.domain.errors import RunTimeError


class ModelError(RunTimeError):
    """A model call failed; ``model`` names the model."""

    def __init__(self, model: str, message: str) -> None:
        self.model = model
        super().__init__(f"model {model!r}: {message}")


class ModelUnavailable(ModelError):
    """The model cannot be used at all right now."""


class ModelTimeout(ModelError):
    """The model did not finish in time; the call was cancelled."""


class ModelRateLimited(ModelError):
    """The server refused for load, and kept refusing."""


class ModelOutputInvalid(ModelError):
    """The model's output did not parse or did not fit the requested schema."""

    def __init__(self, model: str, message: str, output: str = "") -> None:
        self.output = output
        super().__init__(model, message)
