"""``procpilot bench llm``: the embedded model through procpilot, and xllamacpp driven directly.

Both paths load the same GGUF file with the same settings (slots, threads, context) and answer the
same requests at temperature 0, so they produce the same tokens. Rounds alternate between the two
paths to spread the machine's noise evenly; the ratios are the figures to read.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from procpilot.bench.report import Figures, percentile
from procpilot.llm import ChatRequest, Sampling
from procpilot.llm.providers.embedded import EmbeddedModel, default_model_path, openai_body

QUESTIONS = [
    "Name three fruits.",
    "What is the capital of France?",
    "Give me a tip for a job interview.",
    "Describe the sea in one sentence.",
    "What is two plus two?",
    "Suggest a name for a cat.",
    "Why is the sky blue?",
    "Say something kind.",
]
LONG_PROMPT = " ".join(
    f"Paragraph {i}: the customer wrote about order number {1000 + i} and asked when it would arrive."
    for i in range(40)
)


@dataclass
class PathFigures:
    latencies: dict[int, list[float]] = field(default_factory=dict)
    walls: dict[int, list[float]] = field(default_factory=dict)
    prompt_tps: list[float] = field(default_factory=list)
    gen_tps: list[float] = field(default_factory=list)
    ttft: list[float] = field(default_factory=list)


class _Direct:
    """xllamacpp with no procpilot code in between: the request body and the library call."""

    def __init__(self, model: EmbeddedModel) -> None:
        import xllamacpp

        params = xllamacpp.CommonParams()
        params.model.path = str(model.path or default_model_path())
        params.n_parallel = model.parallel
        params.n_ctx = model.context * model.parallel
        params.cpuparams.n_threads = model.threads
        params.cpuparams_batch.n_threads = model.threads
        params.verbosity = -1
        self.server = xllamacpp.Server(params)

    def chat(self, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self.server.handle_chat_completions(body)
        return result

    def timed_stream(self, body: dict[str, Any]) -> tuple[float, float, int, int]:
        """(time to first token, total, prompt tokens, completion tokens) of a streamed call."""
        started = time.perf_counter()
        first: list[float] = []
        usage: dict[str, int] = {}

        def on_chunk(chunk: dict[str, Any]) -> bool:
            for choice in chunk.get("choices") or []:
                if (choice.get("delta") or {}).get("content") and not first:
                    first.append(time.perf_counter() - started)
            if chunk.get("usage"):
                usage.update(chunk["usage"])
            return False

        self.server.handle_chat_completions(
            {**body, "stream": True, "stream_options": {"include_usage": True}}, on_chunk
        )
        total = time.perf_counter() - started
        return (
            (first[0] if first else total),
            total,
            usage.get("prompt_tokens", 0),
            usage.get("completion_tokens", 0),
        )


def run(
    *,
    requests: int = 12,
    max_tokens: int = 32,
    levels: tuple[int, ...] = (1, 2, 4),
    rounds: int = 3,
    threads: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Measure both paths; returns the figures and the procpilot/direct ratios."""
    say = progress or (lambda _: None)
    ours = EmbeddedModel(parallel=max(levels), threads=threads, context=1024)
    ours.load()
    direct = _Direct(ours)
    sampling = Sampling(max_tokens=max_tokens, temperature=0.0, seed=7)
    figures = {"procpilot": PathFigures(), "direct": PathFigures()}

    def ask_ours(question: str) -> None:
        ours.chat(ChatRequest.of(("user", question), sampling=sampling))

    def ask_direct(question: str) -> None:
        direct.chat(openai_body(ChatRequest.of(("user", question), sampling=sampling), stream=False))

    paths: dict[str, Callable[[str], None]] = {"procpilot": ask_ours, "direct": ask_direct}
    for path in paths.values():  # warm both up
        path(QUESTIONS[0])

    for round_number in range(rounds):
        say(f"round {round_number + 1}/{rounds}: single-stream speed")
        for name in ("procpilot", "direct") if round_number % 2 == 0 else ("direct", "procpilot"):
            # A fresh first line each time, so llama.cpp's prompt cache cannot help either path.
            long_request = ChatRequest.of(
                ("user", f"Ticket {uuid.uuid4().hex}. {LONG_PROMPT} Summarise."),
                sampling=Sampling(max_tokens=48, temperature=0.0, seed=7),
            )
            if name == "procpilot":
                answer = ours.chat(long_request)
                ttft, total = answer.first_token_seconds or answer.seconds, answer.seconds
                prompt_tokens, completion_tokens = answer.usage.prompt_tokens, answer.usage.completion_tokens
            else:
                ttft, total, prompt_tokens, completion_tokens = direct.timed_stream(
                    openai_body(long_request, stream=False)
                )
            fig = figures[name]
            fig.ttft.append(ttft)
            fig.prompt_tps.append(prompt_tokens / ttft if ttft else 0.0)
            if completion_tokens > 1 and total > ttft:
                fig.gen_tps.append((completion_tokens - 1) / (total - ttft))
        for level in levels:
            say(f"round {round_number + 1}/{rounds}: concurrency {level}")
            order = ("procpilot", "direct") if (round_number + level) % 2 == 0 else ("direct", "procpilot")
            for name in order:
                latencies: list[float] = []

                def one(
                    question: str, call: Callable[[str], None] = paths[name], sink: list[float] = latencies
                ) -> None:
                    started = time.perf_counter()
                    call(question)
                    sink.append(time.perf_counter() - started)

                started = time.perf_counter()
                with ThreadPoolExecutor(max_workers=level) as pool:
                    list(pool.map(one, [QUESTIONS[i % len(QUESTIONS)] for i in range(requests)]))
                figures[name].walls.setdefault(level, []).append(time.perf_counter() - started)
                figures[name].latencies.setdefault(level, []).extend(latencies)

    report: dict[str, Any] = {
        "model": str(ours.path or default_model_path()),
        "threads": ours.threads,
        "slots": ours.parallel,
        "requests_per_level_per_round": requests,
        "rounds": rounds,
        "max_tokens": max_tokens,
        "paths": {},
        "ratios": {},
    }
    for name, fig in figures.items():
        entry: dict[str, Any] = {
            "prompt_tokens_per_s": round(statistics.median(fig.prompt_tps), 1),
            "generation_tokens_per_s": round(statistics.median(fig.gen_tps), 1) if fig.gen_tps else None,
            "time_to_first_token_ms": round(statistics.median(fig.ttft) * 1000, 1),
            "concurrency": {},
        }
        for level in levels:
            latencies, walls = fig.latencies[level], fig.walls[level]
            entry["concurrency"][str(level)] = {
                "requests_per_s": round(requests * len(walls) / sum(walls), 2),
                "p50_ms": round(percentile(latencies, 0.5) * 1000, 1),
                "p95_ms": round(percentile(latencies, 0.95) * 1000, 1),
            }
        report["paths"][name] = entry
    ours_c, direct_c = report["paths"]["procpilot"]["concurrency"], report["paths"]["direct"]["concurrency"]
    for level in levels:
        key = str(level)
        report["ratios"][key] = {
            "p50_latency": round(ours_c[key]["p50_ms"] / direct_c[key]["p50_ms"], 3),
            "throughput": round(ours_c[key]["requests_per_s"] / direct_c[key]["requests_per_s"], 3),
        }
    overhead = max(abs(r["p50_latency"] - 1) for r in report["ratios"].values())
    report["max_p50_overhead_percent"] = round(overhead * 100, 1)
    return report


def figures(report: dict[str, Any]) -> Figures:
    table = Figures(
        f"embedded model: {report['slots']} slots, {report['threads']} thread(s), {report['max_tokens']} tokens",
        ["path", "prompt tok/s", "gen tok/s", "TTFT ms", "conc.", "req/s", "p50 ms", "p95 ms"],
    )
    for name, entry in report["paths"].items():
        for index, (level, row) in enumerate(entry["concurrency"].items()):
            first = index == 0
            table.add(
                name if first else "",
                entry["prompt_tokens_per_s"] if first else "",
                entry["generation_tokens_per_s"] if first else "",
                entry["time_to_first_token_ms"] if first else "",
                level,
                row["requests_per_s"],
                row["p50_ms"],
                row["p95_ms"],
            )
    for level, ratio in report["ratios"].items():
        table.notes.append(
            f"concurrency {level}: procpilot/direct p50 latency x{ratio['p50_latency']},"
            f" throughput x{ratio['throughput']}"
        )
    table.notes.append(f"largest p50 overhead: {report['max_p50_overhead_percent']}%")
    return table
