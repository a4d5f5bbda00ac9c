"""Reduced-precision inference: the same API and outputs (float32, close to fp32) on every path, and
"auto" chosen from what the processor reports."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import melp
from melp.precision import PrecisionTower, resolve
from tests.tiny_melp import spiky_record, tiny_model

RECORDS = [spiky_record(seed) for seed in range(3)]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    return tiny_model(heartbeat_pooling=True).save_pretrained(tmp_path_factory.mktemp("m") / "model")


@pytest.mark.parametrize("precision", ["bf16", "int8"])
def test_reduced_precision_keeps_the_api_and_float32_outputs_close_to_fp32(saved, precision):
    reference, reduced = melp.load(saved), melp.load(saved, precision=precision)
    assert reduced.precision == precision and reference.precision == "fp32"
    expected, found = reference.encode_ecg(RECORDS), reduced.encode_ecg(RECORDS)
    assert found.dtype == np.float32 and found.shape == expected.shape
    assert (np.sum(expected * found, axis=1) > 0.99).all()  # cosine to fp32 (tiny random model)
    prompts = ["atrial fibrillation", "sinus rhythm"]
    assert reduced.zero_shot(RECORDS, prompts).dtype == np.float32
    assert isinstance(reduced.generate_report(RECORDS[0], max_new_tokens=6), str)
    explanation = reduced.explain(RECORDS[0], text="sinus rhythm. pvcs.")
    assert explanation.sentence_heartbeat_similarity.dtype == np.float32


@pytest.mark.parametrize("flags, expected", [
    (frozenset({"avx2", "avx512f", "avx512_bf16"}), "bf16"),
    (frozenset({"avx2", "avx512f", "avx512_bf16", "avx512_vnni"}), "int8"),  # no AMX: int8 measured faster
    (frozenset({"avx2", "avx512_vnni", "amx_bf16", "amx_tile", "amx_int8"}), "bf16"),
    (frozenset({"avx2", "avx512_vnni"}), "int8"),
    (frozenset({"avx2"}), "fp32"),
])
def test_auto_picks_the_path_the_processor_runs_well(flags, expected):
    assert resolve("auto", "cpu", flags) == expected
    assert resolve("fp32", "cpu", flags) == "fp32"


def test_unknown_precisions_and_int8_off_the_cpu_are_refused():
    with pytest.raises(ValueError, match="precision='fp16'"):
        resolve("fp16")
    with pytest.raises(ValueError, match="CPU only"):
        resolve("int8", "cuda")


def test_a_quantised_model_is_not_turned_back(saved):
    model = melp.load(saved, precision="int8")
    with pytest.raises(ValueError, match="load it again"):
        model.set_precision("fp32")


def test_official_encoder_wrapper_returns_float32_at_reduced_precision():
    tower = tiny_model().ecg_encoder
    signals = torch.randn(2, 12, 200)
    with torch.inference_mode():
        expected = tower(signals)["rhythm"]
        for precision in ("bf16", "int8"):
            found = PrecisionTower(tiny_model().ecg_encoder, precision).eval()(signals)["rhythm"]
            assert found.dtype == torch.float32
            assert torch.nn.functional.cosine_similarity(found, expected).min() > 0.99
