"""Tiny on-disk datasets in each source layout, written into a test's tmp_path."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import scipy.io
import wfdb

from melp.record import STANDARD_LEADS

FIXTURE_FS = 100
FIXTURE_SECONDS = 3
ADC_GAIN = 1000.0  # units per mV in the written files


def sine_signal(seed: int, n_samples: int = FIXTURE_FS * FIXTURE_SECONDS) -> np.ndarray:
    """(12, T) mV: a different sine per lead and seed, plus a little noise."""
    rng = np.random.default_rng(seed)
    time = np.arange(n_samples) / FIXTURE_FS  # (T,)
    freqs = rng.uniform(0.8, 2.0, size=(12, 1))  # (12, 1)
    return (np.sin(2 * np.pi * freqs * time) + 0.05 * rng.standard_normal((12, n_samples))).astype(np.float64)


def write_wfdb(folder: Path, name: str, signal: np.ndarray, comments: tuple[str, ...] = ()) -> Path:
    """One WFDB record (.hea + .dat) of a (12, T) mV signal; returns its base path."""
    folder.mkdir(parents=True, exist_ok=True)
    wfdb.wrsamp(name, fs=FIXTURE_FS, units=["mV"] * 12, sig_name=list(STANDARD_LEADS), p_signal=signal.T,
                fmt=["16"] * 12, adc_gain=[ADC_GAIN] * 12, baseline=[0] * 12, comments=list(comments),
                write_dir=str(folder))
    return folder / name


def write_challenge(folder: Path, name: str, signal: np.ndarray, dx_codes: tuple[str, ...]) -> Path:
    """One PhysioNet/CinC challenge record: .mat with int16 ``val`` (uV) + .hea with ``#Dx:``."""
    folder.mkdir(parents=True, exist_ok=True)
    digital = np.round(signal * ADC_GAIN).astype(np.int16)  # (12, T)
    scipy.io.savemat(folder / f"{name}.mat", {"val": digital})
    lines = [f"{name} 12 {FIXTURE_FS} {digital.shape[1]}"]
    lines += [f"{name}.mat 16+24 {ADC_GAIN:g}/mV 16 0 {digital[i, 0]} 0 0 {lead}" for i, lead in enumerate(STANDARD_LEADS)]
    lines += ["#Age: 60", "#Sex: Male", f"#Dx: {','.join(dx_codes)}", "#Rx: Unknown"]
    (folder / f"{name}.hea").write_text("\n".join(lines) + "\n")
    return folder / f"{name}.hea"


def write_mimic(root: Path, studies: list[dict], synth_statements: tuple[str, ...] = ()) -> Path:
    """MIMIC-IV-ECG layout. Each study: subject_id, study_id, report_lines, signal, optional labels (K,)."""
    record_rows, measurement_rows, label_rows = [], [], []
    for study in studies:
        subject, study_id = study["subject_id"], study["study_id"]
        relative = Path("files") / f"p{str(subject)[:4]}" / f"p{subject}" / f"s{study_id}"
        write_wfdb(root / relative, str(study_id), study["signal"])
        record_rows.append({"subject_id": subject, "study_id": study_id, "file_name": study_id,
                            "ecg_time": "2180-01-01 00:00:00", "path": str(relative / str(study_id))})
        lines = list(study["report_lines"]) + [None] * (18 - len(study["report_lines"]))
        measurement_rows.append({"subject_id": subject, "study_id": study_id, "ecg_time": "2180-01-01 00:00:00",
                                 **{f"report_{k}": line for k, line in enumerate(lines)}, "rr_interval": 800})
        if synth_statements:
            label_rows.append({"study_id": study_id, **dict(zip(synth_statements, study["labels"]))})
    pd.DataFrame(record_rows).to_csv(root / "record_list.csv", index=False)
    pd.DataFrame(measurement_rows).to_csv(root / "machine_measurements.csv", index=False)
    if synth_statements:
        pd.DataFrame(label_rows).to_csv(root / "synth_labels.csv", index=False)
    return root


SCP_STATEMENTS = [  # code, description, diagnostic, form, rhythm, diagnostic_class, diagnostic_subclass
    ("NORM", "normal ECG", 1, None, None, "NORM", "NORM"),
    ("IMI", "inferior myocardial infarction", 1, None, None, "MI", "IMI"),
    ("NDT", "non-diagnostic T abnormalities", 1, 1, None, "STTC", "STTC"),
    ("CLBBB", "complete left bundle branch block", 1, None, None, "CD", "CLBBB"),
    ("LVH", "left ventricular hypertrophy", 1, None, None, "HYP", "LVH"),
    ("PVC", "ventricular premature complex", None, 1, None, None, None),
    ("SR", "sinus rhythm", None, None, 1, None, None),
    ("AFIB", "atrial fibrillation", None, None, 1, None, None),
]
SPLIT_FILE_SETS = {"super": "super_class", "sub": "sub_class", "form": "form", "rhythm": "rhythm"}
SPLIT_OF_FOLD = {**{fold: "train" for fold in range(1, 9)}, 9: "val", 10: "test"}


def write_ptbxl(root: Path, records: list[dict], label_splits: list[dict] | None = None) -> Path:
    """Mini PTB-XL: each record has ecg_id, patient_id, strat_fold, scp_codes (dict), report.

    ``label_splits`` (each: ecg_id, patient_id, strat_fold and per set a list of labels, e.g.
    {"sub": ["IMI"], "rhythm": ["SR"]}) also writes label_splits/ (and records for ids not in ``records``).
    """
    from melp.datasets.ptbxl import LABEL_SETS

    statements = pd.DataFrame(SCP_STATEMENTS, columns=["code", "description", "diagnostic", "form", "rhythm",
                                                       "diagnostic_class", "diagnostic_subclass"])
    statements.set_index("code").to_csv(root / "scp_statements.csv", index_label="")
    known = {record["ecg_id"] for record in records}
    for entry in label_splits or []:
        if entry["ecg_id"] not in known:
            _write_ptbxl_signals(root, entry["ecg_id"])
    if label_splits is not None:
        folder = root / "label_splits"
        folder.mkdir(exist_ok=True)
        for set_name, file_set in SPLIT_FILE_SETS.items():
            for split in ("train", "val", "test"):
                rows = [{"ecg_id": e["ecg_id"], "patient_id": e["patient_id"], "strat_fold": e["strat_fold"],
                         **_filenames(e["ecg_id"]), file_set: repr(e.get(set_name, [])),
                         **{label: int(label in e.get(set_name, [])) for label in LABEL_SETS[set_name]}}
                        for e in label_splits if SPLIT_OF_FOLD[e["strat_fold"]] == split and e.get(set_name)]
                columns = ["ecg_id", "patient_id", "strat_fold", "filename_lr", "filename_hr", file_set,
                           *LABEL_SETS[set_name]]
                pd.DataFrame(rows, columns=columns).to_csv(folder / f"ptbxl_{file_set}_{split}.csv", index=False)
    rows = []
    for record in records:
        ecg_id = record["ecg_id"]
        _write_ptbxl_signals(root, ecg_id)
        rows.append({"ecg_id": ecg_id, "patient_id": record["patient_id"], "report": record["report"],
                     "scp_codes": repr(record["scp_codes"]), "strat_fold": record["strat_fold"],
                     **_filenames(ecg_id)})
    pd.DataFrame(rows).to_csv(root / "ptbxl_database.csv", index=False)
    return root


def _filenames(ecg_id: int) -> dict[str, str]:
    folder = f"{ecg_id // 1000 * 1000:05d}"
    return {"filename_lr": f"records100/{folder}/{ecg_id:05d}_lr", "filename_hr": f"records500/{folder}/{ecg_id:05d}_hr"}


def _write_ptbxl_signals(root: Path, ecg_id: int) -> None:
    folder = f"{ecg_id // 1000 * 1000:05d}"
    for rate_dir, suffix in (("records100", "lr"), ("records500", "hr")):
        write_wfdb(root / rate_dir / folder, f"{ecg_id:05d}_{suffix}", sine_signal(ecg_id))
