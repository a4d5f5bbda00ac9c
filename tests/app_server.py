"""Helpers for the app tests: a tiny random model, a tiny library, fixture records, the app in a subprocess."""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 180.0  # the app imports torch, loads the model and the library before serving
POLL_S = 0.1  # also times the start-up in benchmarks/bench_browser.py
# Debian's chromium (never a downloaded browser), for the browser tests and benchmarks/bench_browser.py;
# nothing of it reaches out to the network
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
LIBRARY_SOURCE = "simulated:7:12"  # 12 regenerated synthetic ECGs


def require_chromium() -> None:
    """For the benchmarks that drive the browser: stop with what to install when Debian's chromium is absent."""
    if not CHROMIUM.exists():
        raise SystemExit(f"{CHROMIUM} is absent: install Debian's chromium (apt-get install chromium)")


def tiny_model_dir(folder: Path) -> Path:
    """save_pretrained folder of a randomly initialised, very small demo-preset model."""
    from melp.config import MelpConfig
    from melp.models.melp import MelpModel

    demo = MelpConfig.preset("demo")
    config = MelpConfig(
        ecg=dict(vars(demo.ecg), width=32, layers=1, heads=2, ffn_dim=64, conv_channels=(16, 16, 16, 16),
                 pos_conv_kernel=16, pos_conv_groups=4),
        pooler=dict(vars(demo.pooler), embed_dim=32, n_caption_queries=8, heads=2),
        text=vars(demo.text), decoder=dict(vars(demo.decoder), width=32, layers=1, heads=2),
        preprocess=demo.preprocess,
    )
    return Path(MelpModel(config).save_pretrained(folder))


def tiny_library_dir(folder: Path, model_dir: Path) -> Path:
    """A 12-ECG library of regenerated synthetic records, embedded with the model in model_dir."""
    import melp
    from index.build import build_library

    build_library(LIBRARY_SOURCE, folder, melp.load(str(model_dir)), model_path=str(model_dir), force=True)
    return folder


def write_wfdb_record(folder: Path, name: str, conditions: tuple[str, ...], seed: int,
                      seconds: float = 10.0) -> list[Path]:
    """A simulated record (10 s unless said) written as WFDB (.hea + .dat); returns both paths."""
    import wfdb

    from melp.synth import simulate

    record = simulate(list(conditions), seed=seed, seconds=seconds).record
    wfdb.wrsamp(name, fs=record.fs, units=["mV"] * 12, sig_name=list(record.leads),
                p_signal=record.signal.T.astype(np.float64), fmt=["16"] * 12, write_dir=str(folder),
                comments=[f"Age: {int(record.age or 50)}", "Sex: Male"])
    return [folder / f"{name}.hea", folder / f"{name}.dat"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def running_app(model_dir: Path | None, library_dir: Path | None, log_path: Path, threads: int = 1,
                extra_args: tuple[str, ...] = ()) -> Iterator[str]:
    """Start `python app.py` on a free localhost port; yields its URL and stops it afterwards."""
    port = free_port()
    command = [sys.executable, "app.py", "--port", str(port)]
    command += ["--model", str(model_dir)] if model_dir else []
    command += ["--library", str(library_dir)] if library_dir else []
    command += list(extra_args)
    env = {**os.environ, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_ANALYTICS_ENABLED": "False",
           "OMP_NUM_THREADS": str(threads)}
    with log_path.open("w") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}/"
        try:
            _wait_until_up(url, process, log_path)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_up(url: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"app.py exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(POLL_S)
    raise TimeoutError(f"app.py did not serve {url} within {START_TIMEOUT_S} s:\n{log_path.read_text()[-3000:]}")


@contextlib.contextmanager
def running_tiny_app(folder: Path) -> Iterator[str]:
    """The app on a tiny saved model and a tiny library under ``folder``; yields its URL."""
    model_dir = tiny_model_dir(folder / "model")
    library_dir = tiny_library_dir(folder / "library", model_dir)
    with running_app(model_dir, library_dir, folder / "app.log") as url:
        yield url
