"""torchrun worker for tests/test_ddp_train.py: tiny training on 2 gloo CPU ranks.

    torchrun --nproc_per_node 2 tests/ddp_train_worker.py OUT_DIR

Each rank writes into OUT_DIR the record ids its first epoch's loader yields and its trainable
weights before and after training (frozen text layers cannot differ, so they are left out).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.tiny_training import tiny_config, tiny_trainer  # noqa: E402
from train.data import make_train_loader  # noqa: E402
from train.distributed import cleanup_distributed, setup_distributed  # noqa: E402
from train.loop import fit  # noqa: E402

STEPS = 4


def _trainable(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: param.detach().clone() for name, param in model.named_parameters() if param.requires_grad}


def main(out_dir: Path) -> None:
    env = setup_distributed(device="cpu")
    config = tiny_config(out_dir / "run", f"--max_steps={STEPS}", "--checkpoint_every=2", "--eval_every=2")
    trainer = tiny_trainer(config, env, validate_on_main=True)
    initial = _trainable(trainer.model)
    first_epoch = make_train_loader(trainer.train_set, config, env, epoch=0, skip_batches=0,
                                    generator=torch.Generator())
    record_ids = [rid for batch in first_epoch for rid in batch["record_ids"]]
    (out_dir / f"ids-rank{env.rank}.json").write_text(json.dumps(record_ids))
    state = fit(trainer)
    torch.save({"step": state.step, "initial": initial, "final": _trainable(trainer.model)},
               out_dir / f"weights-rank{env.rank}.pt")
    cleanup_distributed()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
