"""One window, several questions: the ECG tower runs once per window and model state, with the same answers."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from tiny_melp import spiky_record, tiny_model


@pytest.fixture()
def counted(monkeypatch):
    """A tiny heartbeat-pooling model whose tower calls are counted."""
    model = tiny_model(0, heartbeat_pooling=True)
    calls = []
    original = model.encode_ecg_tensors

    def encode(signals, lead_mask=None, heartbeats=None):
        calls.append(tuple(signals.shape))
        return original(signals, lead_mask, heartbeats)

    monkeypatch.setattr(model, "encode_ecg_tensors", encode)
    return model, calls


def test_the_questions_an_upload_asks_encode_its_window_twice_not_five_times(counted):
    """embed, generate_report and a library search share one encoding; the two explanations (with the
    window's heartbeats) share another."""
    model, calls = counted
    record = spiky_record(1)
    model.embed(record)
    model.generate_report(record, max_new_tokens=4)
    model.explain(record, text="sinus rhythm.")
    model.explain(record, text="normal ecg. sinus rhythm.")
    model.encode_ecg([record])
    assert len(calls) == 2


def test_answers_are_the_same_with_and_without_the_kept_outputs(counted):
    model, _ = counted
    record = spiky_record(2)
    first = (model.encode_ecg(record), model.generate_report(record, max_new_tokens=6),
             model.explain(record, text="sinus rhythm. normal ecg.").sentence_heartbeat_similarity)
    second = (model.encode_ecg(record), model.generate_report(record, max_new_tokens=6),
              model.explain(record, text="sinus rhythm. normal ecg.").sentence_heartbeat_similarity)
    model._window_cache.clear()
    fresh = (model.encode_ecg(record), model.generate_report(record, max_new_tokens=6),
             model.explain(record, text="sinus rhythm. normal ecg.").sentence_heartbeat_similarity)
    for kept, again, new in zip(first, second, fresh):
        np.testing.assert_array_equal(np.asarray(kept), np.asarray(again))
        np.testing.assert_array_equal(np.asarray(kept), np.asarray(new))


def test_other_windows_and_batches_are_encoded_each_time(counted):
    model, calls = counted
    records = [spiky_record(3), spiky_record(4)]
    model.encode_ecg(records)
    model.encode_ecg(records)  # a batch of two: not kept
    model.encode_ecg(records[0])
    model.encode_ecg(records[1])
    assert len(calls) == 4


def test_training_or_new_weights_forget_the_kept_outputs(counted):
    model, calls = counted
    record = spiky_record(5)
    before = model.encode_ecg(record)
    model.train()  # a training step may follow: nothing kept survives it
    with torch.no_grad():
        for parameter in model.ecg_encoder.parameters():
            parameter.add_(0.05)
    model.eval()
    after = model.encode_ecg(record)
    assert len(calls) == 2 and not np.allclose(before, after)
    model.load_state_dict(tiny_model(0, heartbeat_pooling=True).state_dict())
    np.testing.assert_allclose(model.encode_ecg(record), before, atol=1e-6)
    assert len(calls) == 3
