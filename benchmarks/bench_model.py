"""Model speed: ECG-tower latency, report generation with and without the KV cache, zero-shot over 100 prompts.

    python benchmarks/bench_model.py [--device cpu] [--threads N] [--repeats 5] [--no-append]

Prints a table and appends it, with the command and machine, to benchmarks/RESULTS.md. Models are
randomly initialised (speed does not depend on the weights); the zero-shot row uses the demo preset.
"""
from __future__ import annotations

import argparse
import datetime
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from benchmarks.machine import machine_line  # noqa: E402
from melp.config import MelpConfig  # noqa: E402
from melp.generation import GenerationConfig, generate  # noqa: E402
from melp.models.decoder import CaptionDecoder  # noqa: E402
from melp.models.ecg_tower import EcgTower  # noqa: E402
from melp.record import EcgRecord  # noqa: E402

RESULTS = REPO_ROOT / "benchmarks" / "RESULTS.md"
PRESETS = ("paper", "demo")
BATCH_SIZES = (1, 16)
NEW_TOKENS = 64
N_PROMPTS = 100
VOCAB_SIZE = 30522  # the uncased BERT vocabulary both presets' tokenizers use
PAD_ID, BOS_ID, EOS_ID = 0, 101, 102  # BERT [PAD], [CLS], [SEP]
RECORD_FS, RECORD_SECONDS = 500.0, 10.0


def _median_seconds(run, repeats: int, device: torch.device) -> float:
    run()  # warm-up
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        run()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_ecg_tower(preset: str, device: torch.device, repeats: int) -> list[tuple[str, str]]:
    config = MelpConfig.preset(preset)
    tower = EcgTower(config).to(device).eval()
    rows = []
    for batch in BATCH_SIZES:
        signals = torch.rand(batch, config.ecg.in_leads, config.input_samples, device=device)  # (B, 12, T)
        with torch.inference_mode():
            seconds = _median_seconds(lambda: tower(signals), repeats, device)
        rows.append((f"ECG tower forward, {preset}, batch {batch}", f"{seconds * 1e3:.1f} ms ({seconds / batch * 1e3:.1f} ms/ECG)"))
    return rows


def bench_generation(preset: str, device: torch.device, repeats: int) -> list[tuple[str, str]]:
    config = MelpConfig.preset(preset)
    decoder = CaptionDecoder(config.decoder, VOCAB_SIZE, config.decoder.width, PAD_ID, BOS_ID, EOS_ID).to(device)
    new_tokens = min(NEW_TOKENS, decoder.context_length - 1)
    caption_tokens = torch.randn(1, config.pooler.n_caption_queries, config.decoder.width, device=device)
    rates = {}
    for use_cache in (True, False):
        options = GenerationConfig(max_new_tokens=new_tokens, min_new_tokens=new_tokens, use_cache=use_cache)
        seconds = _median_seconds(lambda: generate(decoder, caption_tokens, options), repeats, device)
        rates[use_cache] = new_tokens / seconds
    label = f"report generation, {preset} decoder, greedy, {new_tokens} new tokens"
    return [(f"{label}, KV cache", f"{rates[True]:.0f} tokens/s"),
            (f"{label}, no cache", f"{rates[False]:.0f} tokens/s"),
            (f"{label}, cache speed-up", f"{rates[True] / rates[False]:.1f}x")]


def bench_zero_shot(device: torch.device, repeats: int) -> list[tuple[str, str]]:
    from melp.models.melp import MelpModel

    model = MelpModel(MelpConfig.preset("demo")).to(device).eval()
    rng = np.random.default_rng(0)
    samples = int(RECORD_FS * RECORD_SECONDS)
    record = EcgRecord(signal=rng.standard_normal((12, samples)).astype(np.float32), fs=RECORD_FS, record_id="bench")
    prompts = [f"finding number {index}: sinus rhythm with variant {index}" for index in range(N_PROMPTS)]
    seconds = _median_seconds(lambda: model.zero_shot(record, prompts), repeats, device)
    return [(f"zero_shot, demo, 1 record x {N_PROMPTS} prompts (preprocess + both towers)", f"{seconds * 1e3:.0f} ms")]


def _machine(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)}, torch {torch.__version__}"
    return f"CPU {machine_line()} at the end, torch {torch.__version__}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's own)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-append", action="store_true", help="print only; do not append to RESULTS.md")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = torch.device(args.device)
    rows = []
    for preset in PRESETS:
        rows += bench_ecg_tower(preset, device, args.repeats)
    for preset in PRESETS:
        rows += bench_generation(preset, device, args.repeats)
    rows += bench_zero_shot(device, args.repeats)
    width = max(len(name) for name, _ in rows)
    table = "\n".join(f"| {name.ljust(width)} | {value} |" for name, value in rows)
    table = f"| {'measurement'.ljust(width)} | median of {args.repeats} |\n|{'-' * (width + 2)}|---|\n{table}"
    sys.stdout.write(f"{_machine(device)}\n{table}\n")
    if not args.no_append:
        _append(table, device)


def _append(table: str, device: torch.device) -> None:
    command = "python " + " ".join(sys.argv).replace(str(REPO_ROOT) + "/", "")
    if not RESULTS.exists():
        RESULTS.write_text("# Benchmark results\n")
    section = (f"\n## Model speed ({datetime.date.today().isoformat()}, {_machine(device)})\n\n"
               f"Command: `{command}`\n\n{table}\n")
    with open(RESULTS, "a") as handle:
        handle.write(section)


if __name__ == "__main__":
    main()
