"""``python -m melp`` subcommands on .npz records written here and a tiny saved model.

Each subcommand runs in-process through ``melp.__main__.main(argv)`` (a subprocess costs ~20 s of
imports on 2 busy cores); one slow test runs the real ``python -m melp`` entry point.
"""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from melp.__main__ import main
from melp.checkpoint import save_pretrained
from tests.tiny_melp import spiky_record, tiny_model

REPO_ROOT = Path(__file__).resolve().parents[1]
PROMPTS = ["sinus rhythm", "atrial fibrillation"]
SUBPROCESS_TIMEOUT_S = 300


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A saved tiny model, two readable records and one unreadable file."""
    folder = tmp_path_factory.mktemp("cli")
    model = tiny_model(seed=2)
    save_pretrained(model, folder / "model")
    files = []
    for seed in range(2):
        record = spiky_record(seed)
        path = folder / f"ecg{seed}.npz"
        np.savez(path, signal=record.signal, fs=record.fs)
        files.append(str(path))
    broken = folder / "broken.npy"
    broken.write_bytes(b"definitely not numpy")
    return {"folder": folder, "model": model, "records": [spiky_record(s) for s in range(2)],
            "files": files, "broken": str(broken)}


def run_main(capsys, *args: str) -> tuple[int, str]:
    code = main(list(args))
    return code, capsys.readouterr().out


def test_embed_writes_one_unit_row_per_file_and_reports_the_broken_one(workspace, caplog):
    out = workspace["folder"] / "embed.csv"
    code = main(["embed", *workspace["files"], workspace["broken"], "--model", str(workspace["folder"] / "model"),
                 "--out", str(out)])
    assert code == 1
    assert "broken.npy" in caplog.text
    rows = list(csv.DictReader(open(out)))
    assert [Path(row["file"]).name for row in rows] == ["ecg0.npz", "ecg1.npz", "broken.npy"]
    dim = workspace["model"].config.embed_dim
    vectors = np.array([[float(row[f"e{i}"]) for i in range(dim)] for row in rows[:2]])
    np.testing.assert_allclose(vectors, workspace["model"].encode_ecg(workspace["records"]), rtol=1e-5, atol=1e-6)
    assert rows[2]["error"] and not rows[0]["error"]


def test_zeroshot_json_has_a_probability_per_prompt(workspace):
    out = workspace["folder"] / "zeroshot.json"
    code = main(["zeroshot", *workspace["files"], "--prompts", *PROMPTS, "--probabilities",
                 "--model", str(workspace["folder"] / "model"), "--out", str(out)])
    assert code == 0
    rows = json.loads(out.read_text())
    expected = workspace["model"].zero_shot_probabilities(workspace["records"], PROMPTS)
    np.testing.assert_allclose([[row[p] for p in PROMPTS] for row in rows], expected, rtol=1e-5, atol=1e-6)


def test_zeroshot_prompts_file_takes_lists_of_phrasings(workspace, capsys):
    prompts_file = workspace["folder"] / "prompts.json"
    prompts_file.write_text(json.dumps([["atrial fibrillation", "af"], "sinus rhythm"]))
    code, stdout = run_main(capsys, "zeroshot", workspace["files"][0], "--prompts-file", str(prompts_file),
                            "--model", str(workspace["folder"] / "model"))
    assert code == 0
    row = json.loads(stdout)[0]
    expected = workspace["model"].zero_shot(workspace["records"][0], [["atrial fibrillation", "af"], "sinus rhythm"])
    np.testing.assert_allclose([row["atrial fibrillation | af"], row["sinus rhythm"]], expected[0], rtol=1e-5)


def test_zeroshot_warns_that_a_denied_finding_scores_as_the_finding(workspace, capsys, caplog):
    code, _ = run_main(capsys, "zeroshot", workspace["files"][0], "--prompts", "no atrial fibrillation", "sinus rhythm",
                       "--model", str(workspace["folder"] / "model"))
    assert code == 0
    warned = [record.getMessage() for record in caplog.records if record.levelname == "WARNING"]
    assert len(warned) == 1 and "'no atrial fibrillation' denies a finding" in warned[0]


def test_report_and_explain_write_json_to_stdout(workspace, capsys):
    model_folder = str(workspace["folder"] / "model")
    code, stdout = run_main(capsys, "report", workspace["files"][0], "--model", model_folder, "--max-new-tokens", "6")
    assert code == 0
    assert json.loads(stdout)[0]["report"] == workspace["model"].generate_report(workspace["records"][0],
                                                                                 max_new_tokens=6)
    code, stdout = run_main(capsys, "explain", workspace["files"][0], "--model", model_folder,
                            "--text", "sinus rhythm. normal ecg.")
    assert code == 0
    row = json.loads(stdout)[0]
    assert row["sentences"] == ["sinus rhythm.", "normal ecg."]
    assert np.array(row["beat_attention"]).shape == (workspace["model"].config.pooler.n_beat_queries,
                                                     workspace["model"].config.input_samples)


def test_usage_errors_exit_with_a_message(workspace, caplog):
    model_folder = str(workspace["folder"] / "model")
    with pytest.raises(SystemExit, match="no prompts"):
        main(["zeroshot", workspace["files"][0], "--model", model_folder])
    assert main(["embed", workspace["files"][0], "--model", model_folder, "--out", "x.txt"]) == 2
    assert ".csv or .json" in caplog.text
    assert main(["embed", workspace["files"][0], "--model", str(workspace["folder"] / "missing")]) == 2
    assert "not a MELP checkpoint folder" in caplog.text


@pytest.mark.slow
def test_python_dash_m_melp_runs_as_a_program(workspace):
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "melp", "embed", workspace["files"][0], workspace["broken"],
         "--model", str(workspace["folder"] / "model")],
        capture_output=True, text=True, cwd=REPO_ROOT, env=environment, timeout=SUBPROCESS_TIMEOUT_S,
    )
    assert result.returncode == 1 and "broken.npy" in result.stderr
    rows = json.loads(result.stdout)
    assert len(rows) == 2 and "e0" in rows[0] and "error" in rows[1]
