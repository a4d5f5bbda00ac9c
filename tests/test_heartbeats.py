"""Heartbeats: token windows, one pooled embedding per heartbeat with masks, kinds from a beat table,
and explanations of any window of a long record."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from melp.data.heartbeats import MAX_HEARTBEATS, PAD, label_heartbeats, pad_heartbeats, type_code
from melp.models.poolers import heartbeat_windows
from melp.record import EcgRecord
from tests.tiny_melp import RECORD_FS, spiky_record, tiny_model

FS = 100.0
TOKEN_TIMES = torch.arange(62, dtype=torch.float32) * 0.16 + 0.075  # the demo preset's 62 tokens over 10 s


def _padded(peaks: list[int]) -> torch.Tensor:
    positions, _ = pad_heartbeats(np.asarray(peaks, dtype=np.int64))
    return torch.from_numpy(positions.astype(np.int64))[None]  # (1, MAX)


@pytest.mark.parametrize("count", [0, 1, MAX_HEARTBEATS])
def test_windows_have_one_row_per_slot_and_mark_real_heartbeats(count):
    peaks = list(np.linspace(10, 990, count).astype(int)) if count else []
    valid, inside = heartbeat_windows(_padded(peaks), TOKEN_TIMES, FS, (0.35, 0.5))
    assert valid.shape == (1, MAX_HEARTBEATS) and inside.shape == (1, MAX_HEARTBEATS, 62)
    assert int(valid.sum()) == count
    assert inside.any(dim=-1).all()  # every row (padding too) attends somewhere: no NaN in the pooling
    assert (inside[0, count:, 1:] == 0).all()  # padding rows hold token 0 only


def test_windows_stop_halfway_to_the_neighbouring_heartbeats():
    valid, inside = heartbeat_windows(_padded([200, 260, 500]), TOKEN_TIMES, FS, (0.35, 0.5))
    times = TOKEN_TIMES.numpy()
    first, second, third = (times[inside[0, k].numpy()] for k in range(3))
    assert first.max() < 2.3 and second.min() >= 2.3  # the midpoint of 2.0 s and 2.6 s
    assert second.max() < 3.8 and third.min() >= 4.65  # 2.6 + 0.5 s; 5.0 - 0.35 s
    assert not (inside[0, 0] & inside[0, 1]).any()


def test_pooling_gives_one_embedding_per_heartbeat_and_zeros_for_padding():
    model = tiny_model(heartbeat_pooling=True)
    signals = torch.randn(2, 12, model.config.input_samples)
    heartbeats = torch.full((2, 5), PAD, dtype=torch.long)
    heartbeats[0, :3] = torch.tensor([20, 90, 160])
    heartbeats[1, :1] = torch.tensor([100])
    with torch.no_grad():
        outputs = model.encode_ecg_tensors(signals, heartbeats=heartbeats)
    assert outputs["heartbeat_embeds"].shape == (2, 5, model.config.embed_dim)
    assert outputs["heartbeat_mask"].tolist() == [[True] * 3 + [False] * 2, [True] + [False] * 4]
    assert torch.isfinite(outputs["heartbeat_embeds"]).all()
    assert (outputs["heartbeat_embeds"][~outputs["heartbeat_mask"]] == 0).all()
    assert (outputs["heartbeat_embeds"][0, :3].norm(dim=-1) > 0).all()


def test_heartbeat_attention_stays_inside_its_window():
    model = tiny_model(heartbeat_pooling=True)
    heartbeats = torch.tensor([[40, 150]])
    with torch.no_grad():
        outputs = model.encode_ecg_tensors(torch.randn(1, 12, model.config.input_samples), heartbeats=heartbeats)
    _, inside = heartbeat_windows(heartbeats, model.token_times(), 100.0, model.config.pooler.heartbeat_window)
    assert (outputs["heartbeat_attention"][~inside] == 0).all()


def test_paper_layout_has_no_heartbeat_outputs():
    model = tiny_model()
    with torch.no_grad():
        outputs = model.encode_ecg_tensors(torch.randn(1, 12, model.config.input_samples),
                                           heartbeats=torch.tensor([[50]]))
    assert "heartbeat_embeds" not in outputs and not model.pools_heartbeats


def test_kinds_come_from_the_nearest_table_beat_and_blocked_p_waves_are_ignored():
    table_samples = np.array([100, 500, 900, 1300])  # at 500 Hz
    kinds = ("normal", "nonconducted_p", "pvc", "normal")
    codes = label_heartbeats(np.array([20, 181, 260, 400]), 100.0, table_samples, kinds, 500.0)
    assert codes.tolist() == [type_code("normal"), type_code("pvc"), type_code("normal"), type_code("unknown")]
    assert (label_heartbeats(np.array([20]), 100.0, None, None, 500.0) == type_code("unknown")).all()


def test_padding_fills_the_fixed_size_arrays():
    positions, codes = pad_heartbeats(np.array([5, 9]), np.array([1, 2], dtype=np.int8))
    assert positions.shape == codes.shape == (MAX_HEARTBEATS,)
    assert positions[:3].tolist() == [5, 9, PAD] and codes[:3].tolist() == [1, 2, PAD]
    assert pad_heartbeats(np.arange(50))[0][-1] == MAX_HEARTBEATS - 1  # more than fit are cut


def _long_record() -> EcgRecord:
    parts = [spiky_record(seed).signal for seed in range(3)]
    return EcgRecord(signal=np.concatenate(parts, axis=1), fs=RECORD_FS, record_id="long")  # 12 s


@pytest.mark.parametrize("heartbeat_pooling", [True, False], ids=["heartbeat-embeddings", "query-attention"])
def test_explain_a_later_window_reports_its_heartbeats_in_record_samples(heartbeat_pooling):
    model = tiny_model(heartbeat_pooling=heartbeat_pooling)
    record = _long_record()
    explanation = model.explain(record, text="sinus rhythm. premature ventricular complexes.", window=3)
    assert explanation.window_start == pytest.approx(6.0)  # index 3 of 2 s windows
    assert explanation.heartbeats.size > 0
    assert ((explanation.heartbeats >= 6.0 * RECORD_FS) & (explanation.heartbeats < 8.0 * RECORD_FS)).all()
    assert explanation.sentence_heartbeat_similarity.shape == (2, explanation.heartbeats.size)
    assert np.isfinite(explanation.sentence_heartbeat_similarity).all()
    expected = "heartbeat embeddings" if heartbeat_pooling else "beat-query attention"
    assert explanation.heartbeat_method == expected
    by_time = model.explain(record, text="sinus rhythm.", window=6.0)
    assert np.array_equal(by_time.heartbeats, explanation.heartbeats)


def test_explain_refuses_a_window_outside_the_record():
    with pytest.raises(ValueError, match="window=9"):
        tiny_model().explain(_long_record(), text="sinus rhythm.", window=9)
