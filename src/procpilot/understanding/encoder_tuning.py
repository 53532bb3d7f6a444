"""Fine-tuning the sentence encoder on labelled intents (CPU, minutes).

The encoder (MiniLM, mean pooling) is trained end to end with a cosine classification head and
cross-entropy; afterwards only the encoder is kept, and the usual calibrated logistic-regression
head is fitted on its embeddings. The tuned encoder is saved as a sentence-transformers folder, so
``MiniLMEncoder(path)`` loads it like the stock one.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from procpilot.understanding.embeddings import EncoderUnavailable


def finetune(
    base: Path,
    texts: Sequence[str],
    labels: Sequence[str],
    output: Path,
    *,
    epochs: int = 3,
    batch_size: int = 32,
    encoder_lr: float = 8e-5,
    head_lr: float = 5e-3,
    scale: float = 20.0,
    threads: int | None = None,
    seed: int = 0,
    progress: Callable[[int, int, float], None] | None = None,
) -> dict[str, float]:
    """Fine-tune the encoder in ``base`` on (texts, labels); write it to ``output``."""
    try:
        import torch
        from sentence_transformers import SentenceTransformer
        from torch import nn
    except ImportError:
        raise EncoderUnavailable("fine-tuning needs torch and sentence-transformers installed") from None
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    rng = random.Random(seed)
    model = SentenceTransformer(str(base), device="cpu")
    names = sorted(set(labels))
    index = {name: i for i, name in enumerate(names)}
    dimension = getattr(model, "get_embedding_dimension", model.get_sentence_embedding_dimension)()
    head = nn.Parameter(torch.randn(len(names), dimension or 384) * 0.01)
    optimizer = torch.optim.AdamW(
        [{"params": model.parameters(), "lr": encoder_lr}, {"params": [head], "lr": head_lr}],
        weight_decay=0.01,
    )
    # sentence-transformers renamed tokenize to preprocess; use whichever this version has.
    prepare = getattr(model, "preprocess", None) or model.tokenize
    pairs = list(zip(texts, labels, strict=True))
    steps = epochs * ((len(pairs) + batch_size - 1) // batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=[encoder_lr, head_lr], total_steps=steps, pct_start=0.1
    )
    started, step, loss_value = time.perf_counter(), 0, 0.0
    model.train()
    for _ in range(epochs):
        rng.shuffle(pairs)
        for start in range(0, len(pairs), batch_size):
            batch = pairs[start : start + batch_size]
            features = prepare([t for t, _ in batch])
            embeddings = model(features)["sentence_embedding"]
            logits = (
                scale * nn.functional.normalize(embeddings, dim=-1) @ nn.functional.normalize(head, dim=-1).T
            )
            loss = nn.functional.cross_entropy(logits, torch.tensor([index[label] for _, label in batch]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            step += 1
            loss_value = float(loss.item())
            if progress:
                progress(step, steps, loss_value)
    model.eval()
    output.mkdir(parents=True, exist_ok=True)
    model.save(str(output))
    return {
        "steps": step,
        "final_loss": round(loss_value, 4),
        "seconds": round(time.perf_counter() - started, 1),
    }
