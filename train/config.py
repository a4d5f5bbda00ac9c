"""Training configuration: one flat dataclass, loaded from YAML, then ``--field=value`` overrides.

Values on the command line are parsed as YAML scalars (``--lr=1e-4``, ``--resume=true``,
``--model_overrides={width: 64}``) and checked against the field's type. An unknown key is an error
that names the key and lists the valid ones. Nothing is ever ``exec``-ed.
"""
from __future__ import annotations

import typing
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml


class TrainConfigError(ValueError):
    """A configuration file or override that does not fit :class:`TrainConfig`."""


@dataclass
class TrainConfig:
    """Everything a training run needs besides the model's own :class:`melp.MelpConfig`."""

    # --- model ---
    model_preset: str = "demo"            # MelpConfig.preset name used when init_from is empty
    model_overrides: dict[str, Any] = field(default_factory=dict)  # MelpConfig fields to change
    init_from: str = ""                   # a save_pretrained folder to start from ("" = fresh preset); with
                                          # model_overrides, modules they add start fresh (warm start)

    # --- data ---
    dataset: str = "synth"                # melp.datasets registry name
    data_root: str = "corpus/synth"       # folder of the raw dataset
    train_split: str = "train"
    val_split: str = "val"
    max_train_records: int = 0            # 0 = all; a prefix of the split, for quick runs and tests
    max_val_records: int = 0              # 0 = all
    store_dir: str = ""                   # memmap float16 stores, one per split, made on first use ("" = read raw)
    num_workers: int = 0                  # DataLoader workers per rank
    lead_mask_prob: float = 0.5           # paper §4.1: random lead masking; training batches only
    sentence_subset_prob: float = 0.0     # text tower reads a random sentence subset of this share of reports
    alt_text_prob: float = 0.0            # text tower reads a record's alternative English text (PTB-XL's
                                          # English originals) instead, for this share of records that have one
    mix_dataset: str = ""                 # a second training source in every epoch ("" = none), e.g. ptbxl
    mix_root: str = ""                    # its folder
    mix_repeat: int = 1                   # times each of its records appears per epoch (balances a small source)
    val_dataset: str = ""                 # source of zero-shot validation ("" = dataset), e.g. ptbxl (fold 9)
    val_root: str = ""                    # its folder ("" = data_root)

    # --- optimisation (paper §4.1) ---
    batch_size: int = 64                  # micro-batch per rank
    grad_accum_steps: int = 1             # global batch = batch_size * grad_accum_steps * world size (contrastive
                                          # negatives: batch_size * world size; micro-batches are not pooled)
    max_steps: int = 10_000               # optimiser steps; the LR schedule spans exactly these
    lr: float = 2e-4
    min_lr: float = 0.0                   # cosine floor
    warmup_steps: int = 0                 # linear warmup from 0 before the cosine
    schedule: str = "cosine"              # "cosine" | "constant"
    weight_decay: float = 0.2
    beta1: float = 0.9
    beta2: float = 0.95
    eps: float = 1e-8
    grad_clip: float = 1.0                # max global grad norm; 0 disables clipping
    precision: str = "bf16"               # "bf16" autocast (GPU only; CPU always runs fp32) | "fp32"
    seed: int = 0                         # each rank adds its rank

    # --- bookkeeping ---
    output_dir: str = "runs/melp"
    checkpoint_every: int = 500           # optimiser steps between resumable checkpoints
    eval_every: int = 500                 # optimiser steps between validations (0 = only at the end)
    patience: int = 0                     # validations without AUROC improvement before stopping (0 = never)
    log_every: int = 10                   # optimiser steps between CSV rows
    resume: bool = True                   # continue from output_dir/checkpoint.pt when it exists
    stop_at_step: int = 0                 # end early at this step (0 = max_steps), schedule unchanged
    save_dir: str = ""                    # where pretrain saves the final model ("" = output_dir/final)

    def __post_init__(self) -> None:
        _check_choice("schedule", self.schedule, ("cosine", "constant"))
        _check_choice("precision", self.precision, ("bf16", "fp32"))
        positive = {"batch_size": self.batch_size, "grad_accum_steps": self.grad_accum_steps,
                    "max_steps": self.max_steps, "checkpoint_every": self.checkpoint_every,
                    "log_every": self.log_every, "mix_repeat": self.mix_repeat}
        for name, value in positive.items():
            if value < 1:
                raise TrainConfigError(f"TrainConfig.{name}: got {value}, expected an integer >= 1")
        if not 0.0 <= self.lead_mask_prob < 1.0:
            raise TrainConfigError(
                f"TrainConfig.lead_mask_prob: got {self.lead_mask_prob}, expected 0 <= p < 1")
        if not 0.0 <= self.alt_text_prob <= 1.0:
            raise TrainConfigError(f"TrainConfig.alt_text_prob: got {self.alt_text_prob}, expected 0 <= p <= 1")
        if bool(self.mix_dataset) != bool(self.mix_root):
            raise TrainConfigError(f"TrainConfig.mix_dataset={self.mix_dataset!r}, mix_root={self.mix_root!r}: "
                                   "give both (a second source and its folder) or neither")
        if not 0.0 <= self.sentence_subset_prob <= 1.0:
            raise TrainConfigError(
                f"TrainConfig.sentence_subset_prob: got {self.sentence_subset_prob}, expected 0 <= p <= 1")
        if self.warmup_steps > self.max_steps:
            raise TrainConfigError(f"TrainConfig.warmup_steps: got {self.warmup_steps}, expected at "
                                   f"most max_steps={self.max_steps}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _check_choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise TrainConfigError(f"TrainConfig.{name}: got {value!r}, expected one of {allowed}")


def _field_types() -> dict[str, Any]:
    hints = typing.get_type_hints(TrainConfig)
    return {f.name: hints[f.name] for f in fields(TrainConfig)}


def _coerce(key: str, value: Any, expected: Any, source: str) -> Any:
    """Check ``value`` against the field type; ints are accepted where floats are expected."""
    origin = typing.get_origin(expected) or expected
    if origin is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if origin is str and value is None:
        return ""
    if origin is float and isinstance(value, str):  # YAML 1.1 reads "5e-4" (no dot) as a string
        try:
            return float(value)
        except ValueError as error:
            raise TrainConfigError(f"{source}: {key}={value!r} is not a number; expected a float") from error
    ok = isinstance(value, origin) and not (origin is int and isinstance(value, bool))
    if not ok:
        raise TrainConfigError(f"{source}: {key}={value!r} is a {type(value).__name__}, expected "
                               f"{getattr(origin, '__name__', origin)}; fix the value")
    return value


def _check_keys(keys: list[str], source: str) -> None:
    valid = sorted(_field_types())
    for key in keys:
        if key not in valid:
            raise TrainConfigError(f"{source}: unknown key {key!r}; valid keys are: {', '.join(valid)}")


def parse_overrides(args: list[str]) -> dict[str, Any]:
    """``["--lr=1e-4", "--resume=false"]`` -> ``{"lr": 1e-4, "resume": False}`` (YAML scalars)."""
    overrides: dict[str, Any] = {}
    for arg in args:
        if not arg.startswith("--") or "=" not in arg:
            raise TrainConfigError(f"command line: got {arg!r}, expected --field=value")
        key, raw = arg[2:].split("=", 1)
        overrides[key.replace("-", "_")] = yaml.safe_load(raw) if raw else ""
    return overrides


def build_config(values: dict[str, Any], source: str) -> TrainConfig:
    """A :class:`TrainConfig` from a mapping, with every key and type checked."""
    _check_keys(list(values), source)
    types = _field_types()
    checked = {key: _coerce(key, value, types[key], source) for key, value in values.items()}
    return TrainConfig(**checked)


EXTENDS_KEY = "extends"  # a YAML config may name another (path relative to itself) whose keys it overrides


def load_config(path: str | Path | None, overrides: list[str] | None = None) -> TrainConfig:
    """Read a YAML config (or the defaults when ``path`` is None), then apply ``--field=value`` items.

    A config with ``extends: other.yaml`` starts from that file's keys (resolved the same way) and
    replaces the ones it sets; nested mappings such as ``model_overrides`` are replaced whole.
    """
    values: dict[str, Any] = {}
    source = "defaults"
    if path is not None:
        source = str(path)
        values.update(_read_yaml_chain(Path(path), []))
    if overrides:
        cli = parse_overrides(overrides)
        _check_keys(list(cli), "command line")
        values.update(cli)
    return build_config(values, source)


def _read_yaml_chain(path: Path, seen: list[Path]) -> dict[str, Any]:
    resolved = path.resolve()
    if resolved in seen:
        chain = " -> ".join(str(p) for p in [*seen, resolved])
        raise TrainConfigError(f"{path}: '{EXTENDS_KEY}' goes round in a circle ({chain}); remove one link")
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as error:
        named_by = f" (named by {seen[-1]})" if seen else ""
        raise TrainConfigError(f"{path}{named_by}: cannot be read ({error.strerror}); fix the path") from error
    if not isinstance(loaded, dict):
        raise TrainConfigError(f"{path}: found a {type(loaded).__name__} at the top level, "
                               "expected a mapping of TrainConfig fields")
    parent = loaded.pop(EXTENDS_KEY, None)
    _check_keys(list(loaded), str(path))  # each file answers for its own keys
    if parent is None:
        return loaded
    if not isinstance(parent, str) or not parent:
        raise TrainConfigError(f"{path}: {EXTENDS_KEY}={parent!r}; expected the path of another YAML config")
    return {**_read_yaml_chain(path.parent / parent, [*seen, resolved]), **loaded}
