"""TrainConfig: YAML then --field=value overrides, with unknown keys and bad types refused."""
from __future__ import annotations

from pathlib import Path

import pytest

from train.config import TrainConfig, TrainConfigError, load_config, parse_overrides

CONFIG_DIR = Path(__file__).resolve().parents[1] / "train" / "configs"


def test_override_replaces_yaml_value_with_parsed_type(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("lr: 1.0e-3\nbatch_size: 8\n")
    config = load_config(path, ["--lr=5e-4", "--resume=false", "--max_steps=7"])
    assert config.lr == pytest.approx(5e-4)
    assert config.resume is False
    assert config.max_steps == 7
    assert config.batch_size == 8


def test_unknown_yaml_key_names_key_and_valid_ones(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("learning_rate: 1.0e-3\n")
    with pytest.raises(TrainConfigError) as excinfo:
        load_config(path)
    message = str(excinfo.value)
    assert "learning_rate" in message and str(path) in message
    assert "lr" in message and "weight_decay" in message


def test_unknown_override_is_an_error():
    with pytest.raises(TrainConfigError, match="'bacth_size'.*valid keys"):
        load_config(None, ["--bacth_size=4"])


def test_override_without_equals_is_an_error():
    with pytest.raises(TrainConfigError, match="--field=value"):
        parse_overrides(["--lr", "1e-4"])


def test_wrong_type_is_an_error():
    with pytest.raises(TrainConfigError, match="batch_size"):
        load_config(None, ["--batch_size=big"])


def test_integer_accepted_for_float_field():
    assert load_config(None, ["--weight_decay=0"]).weight_decay == 0.0


def test_nested_model_overrides_parse_as_mapping():
    config = load_config(None, ["--model_overrides={ecg: {width: 32}}"])
    assert config.model_overrides == {"ecg": {"width": 32}}


def test_invalid_choice_is_an_error():
    with pytest.raises(TrainConfigError, match="schedule"):
        TrainConfig(schedule="linear")


@pytest.mark.parametrize("name", ["paper", "demo", "demo-gpu", "tiny"])
def test_shipped_configs_load(name):
    config = load_config(CONFIG_DIR / f"{name}.yaml")
    assert config.max_steps >= 1


def test_paper_config_holds_the_published_recipe():
    config = load_config(CONFIG_DIR / "paper.yaml")
    assert (config.lr, config.weight_decay, config.beta1, config.beta2) == (2e-4, 0.2, 0.9, 0.95)
    assert config.schedule == "cosine" and config.precision == "bf16"
    assert config.lead_mask_prob == 0.5
    weights = config.model_overrides["loss"]
    assert (weights["rhythm_weight"], weights["token_weight"], weights["beat_weight"]) == (1.0, 2.0, 0.2)


def test_extends_starts_from_the_named_config_and_replaces_what_it_sets(tmp_path):
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "parent.yaml").write_text("lr: 1.0e-3\nbatch_size: 8\nmodel_overrides: {ecg: {width: 32, layers: 1}}\n")
    child = tmp_path / "child.yaml"
    child.write_text("extends: base/parent.yaml\nbatch_size: 16\nmodel_overrides: {ecg: {width: 64}}\n")
    config = load_config(child, ["--max_steps=5"])
    assert (config.lr, config.batch_size, config.max_steps) == (1e-3, 16, 5)
    assert config.model_overrides == {"ecg": {"width": 64}}  # nested mappings are replaced whole


def test_extends_in_a_circle_or_to_a_missing_file_is_an_error(tmp_path):
    (tmp_path / "a.yaml").write_text("extends: b.yaml\n")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\n")
    with pytest.raises(TrainConfigError, match="circle"):
        load_config(tmp_path / "a.yaml")
    (tmp_path / "c.yaml").write_text("extends: nowhere.yaml\n")
    with pytest.raises(TrainConfigError, match=r"nowhere\.yaml \(named by .*c\.yaml\): cannot be read"):
        load_config(tmp_path / "c.yaml")
    (tmp_path / "d.yaml").write_text("learning_rate: 1\n")
    (tmp_path / "e.yaml").write_text("extends: d.yaml\n")
    with pytest.raises(TrainConfigError, match="d.yaml: unknown key 'learning_rate'"):  # the file that has it
        load_config(tmp_path / "e.yaml")


def test_the_gpu_recipe_is_the_cpu_recipe_with_a_bigger_batch_and_more_samples():
    cpu, gpu = load_config(CONFIG_DIR / "demo.yaml"), load_config(CONFIG_DIR / "demo-gpu.yaml")
    assert (gpu.batch_size, gpu.max_steps, gpu.lr, gpu.warmup_steps) == (64, 3000, 7e-4, 100)
    changed = {name for name in vars(cpu) if getattr(cpu, name) != getattr(gpu, name)}
    assert changed == {"batch_size", "max_steps", "lr", "warmup_steps", "num_workers", "checkpoint_every",
                       "eval_every"}


def test_the_grounding_ablation_differs_from_the_shipped_stage_2_only_in_the_grounding():
    roots = ["--mix_root=ptbxl", "--val_root=ptbxl"]  # the script passes these
    shipped = load_config(CONFIG_DIR / "demo-real.yaml", roots)
    ablation = load_config(CONFIG_DIR / "demo-real-nogrounding.yaml", roots)
    changed = {name for name in vars(shipped) if getattr(shipped, name) != getattr(ablation, name)}
    assert changed == {"model_overrides", "output_dir"}
    assert shipped.model_overrides == {"pooler": {"heartbeat_pooling": True}, "loss": {"grounding_weight": 0.5}}
    assert ablation.model_overrides == {"pooler": {"heartbeat_pooling": False}, "loss": {"grounding_weight": 0.0}}
