"""One embedded model for the whole session: loading it takes about half a second."""

from __future__ import annotations

import pytest

from procpilot.llm.providers.embedded import EmbeddedModel


@pytest.fixture(scope="session")
def embedded() -> EmbeddedModel:
    model = EmbeddedModel(parallel=2, context=1024)
    model.load()
    return model
