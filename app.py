"""MELP ECG explorer: builds the Gradio Blocks, wires events and launches.

This first version reads an uploaded ECG and describes it; the model panels arrive with the app issue.
"""
from __future__ import annotations

import argparse
import logging
import os

import gradio as gr

import melp

logger = logging.getLogger(__name__)


def describe_upload(path: str | None) -> str:
    """Markdown summary of an uploaded ECG file, or a clear error for the user."""
    if not path:
        raise gr.Error("Upload an ECG file first.")
    try:
        record = melp.read_ecg(path)
    except melp.EcgReadError as exc:
        raise gr.Error(str(exc)) from exc
    return (
        f"**{record.record_id}**: {record.n_leads} leads, {record.fs:g} Hz, {record.duration:.1f} s"
        + (f"\n\nReport in file: {record.report}" if record.report else "")
    )


def build_demo() -> gr.Blocks:
    with gr.Blocks(title="MELP ECG explorer") as demo:
        gr.Markdown("# MELP ECG explorer\nResearch tool, not for clinical decisions.")
        upload = gr.File(label="ECG file")
        summary = gr.Markdown()
        upload.upload(describe_upload, inputs=upload, outputs=summary, api_name="describe")
    return demo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 7860)))
    parser.add_argument("--share", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    build_demo().queue(max_size=32).launch(server_port=args.port, share=args.share)


if __name__ == "__main__":
    main()
