"""Physiological 12-lead ECG simulator with paired MIMIC-style machine reports.

One cardiac dipole per beat (P, Q, R, S, T, U lobes with 3-D directions) projected through a fixed
lead field, a rhythm process for beat timing, condition-driven parameters, electrode noise, and a
report composed from several phrasings per statement. See docs/synth.md.
"""
from __future__ import annotations

from melp.synth.conditions import CONDITIONS, STATEMENTS
from melp.synth.reports import statement_text
from melp.synth.simulate import GENERATOR_VERSION, SimulatedEcg, simulate, simulate_record, study_id

__all__ = ["CONDITIONS", "STATEMENTS", "GENERATOR_VERSION", "SimulatedEcg", "simulate", "simulate_record",
           "statement_text", "study_id"]
