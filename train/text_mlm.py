"""Stage 1: masked-language-model adaptation of the text encoder on a report corpus.

    python -m train.text_mlm --out checkpoints/report-bert --texts reports.txt [more.txt ...]
    python -m train.text_mlm --out checkpoints/report-bert --config train/configs/text_mlm.yaml \\
        --dataset=synth --data_root=corpus/synth [--field=value ...]

Text files hold one report per line; ``--dataset``/``--data_root`` add that dataset's training-split
reports (read from its tables, no signals). ``BertForMaskedLM`` is built over the base BERT folder
(default: the installed all-MiniLM-L6-v2; its MLM head starts fresh when the base has none) and
trained through the shared loop (DDP, checkpoints, exact resume). The result is a BERT folder to
pass as the text tower: ``--model_overrides={text: {model_path: checkpoints/report-bert}}``.
"""
from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset
from transformers import AutoTokenizer, BertForMaskedLM, DataCollatorForLanguageModeling

from melp.datasets.text import normalise_report
from melp.logs import configure_logging
from melp.models.text_encoder import default_text_model_path
from train.config import TrainConfig, load_config
from train.distributed import cleanup_distributed, setup_distributed
from train.loop import build_trainer, fit, seed_everything

log = logging.getLogger(__name__)

TEXT_MLM_CONFIG = Path(__file__).resolve().parent / "configs" / "text_mlm.yaml"
DEFAULT_MASK_PROB = 0.15   # BERT's masking rate
DEFAULT_MAX_LENGTH = 128   # the paper's report length


class ReportTexts(Dataset):
    """Normalised, non-empty reports; items carry only ``report``."""

    def __init__(self, reports: list[str]) -> None:
        self.reports = [text for text in (normalise_report(r) for r in reports) if text]

    def __len__(self) -> int:
        return len(self.reports)

    def __getitem__(self, index: int) -> dict[str, str]:
        return {"report": self.reports[index]}


def read_reports(text_files: list[str], config: TrainConfig) -> list[str]:
    """Reports from text files (one per line) plus, when ``data_root`` is set, ``config.dataset``'s train split."""
    reports: list[str] = []
    for path in text_files:
        reports += Path(path).read_text(encoding="utf-8").splitlines()
    if config.data_root:
        from melp.datasets.registry import open_dataset

        dataset = open_dataset(config.dataset, config.data_root, config.train_split)
        reports += [dataset.report(index) for index in range(len(dataset))]
    if not any(line.strip() for line in reports):
        raise ValueError("text_mlm: no reports found; pass --texts FILE (one report per line) or "
                         "--dataset=NAME --data_root=PATH")
    return reports


class MaskedBatch:
    """Items -> tokenised batch with BERT masking (``labels`` -100 where nothing is predicted)."""

    def __init__(self, tokenizer: Any, mask_prob: float, max_length: int) -> None:
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.masker = DataCollatorForLanguageModeling(tokenizer, mlm_probability=mask_prob)

    def __call__(self, items: list[dict[str, str]]) -> dict[str, torch.Tensor]:
        encoded = self.tokenizer([item["report"] for item in items], truncation=True,
                                 max_length=self.max_length)
        rows = [{"input_ids": ids, "attention_mask": mask}
                for ids, mask in zip(encoded["input_ids"], encoded["attention_mask"])]
        return dict(self.masker(rows))


def mlm_step(model: nn.Module, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {"loss": model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                          labels=batch["labels"]).loss}


def parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(prog="python -m train.text_mlm", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="folder for the adapted BERT (weights + tokenizer)")
    parser.add_argument("--texts", nargs="*", default=[], help="text files, one report per line")
    parser.add_argument("--base", default=None, help="base BERT folder (default: installed all-MiniLM-L6-v2)")
    parser.add_argument("--config", default=str(TEXT_MLM_CONFIG), help="TrainConfig YAML for the loop")
    parser.add_argument("--mask-prob", type=float, default=DEFAULT_MASK_PROB)
    parser.add_argument("--max-length", type=int, default=DEFAULT_MAX_LENGTH)
    return parser.parse_known_args(argv)


def main(argv: list[str] | None = None) -> Path:
    args, overrides = parse_args(argv)
    config = load_config(args.config, overrides)
    env = setup_distributed()
    configure_logging(logging.INFO if env.is_main else logging.WARNING, timestamps=True)
    base = args.base or default_text_model_path()
    texts = ReportTexts(read_reports(args.texts, config))
    log.info("text_mlm: %d reports, base %s", len(texts), base)
    tokenizer = AutoTokenizer.from_pretrained(base, local_files_only=True)
    seed_everything(config.seed, rank=0)  # the fresh MLM head starts identical on every rank
    model = BertForMaskedLM.from_pretrained(base, local_files_only=True)
    seed_everything(config.seed, env.rank)
    trainer = build_trainer(model, mlm_step, texts, config, env,
                            collate=MaskedBatch(tokenizer, args.mask_prob, args.max_length))
    state = fit(trainer)
    out = Path(args.out)
    if env.is_main and state.step >= config.max_steps:
        model.save_pretrained(out)
        tokenizer.save_pretrained(out)
        log.info("saved the adapted text encoder to %s", out)
    cleanup_distributed()
    return out


if __name__ == "__main__":
    main()
