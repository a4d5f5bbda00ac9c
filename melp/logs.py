"""Logging for the command-line entry points: one format, and third-party INFO chatter kept out.

faiss logs at INFO each CPU variant it fails to import ("Could not load library with AVX512 support due
to: ModuleNotFoundError"), which reads as a failure though it is not one; httpx and urllib3 log every
request. The project's own INFO lines (progress, what was written) stay.
"""
from __future__ import annotations

import logging

QUIET_LOGGERS = ("faiss", "httpx", "urllib3")
FORMAT = "%(levelname)s %(name)s: %(message)s"
TIMED_FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"


def configure_logging(level: int = logging.INFO, timestamps: bool = False, fmt: str | None = None) -> None:
    """basicConfig at ``level`` (with timestamps for long-running jobs and servers, or the format ``fmt``)
    and the noisy loggers at WARNING."""
    logging.basicConfig(level=level, format=fmt or (TIMED_FORMAT if timestamps else FORMAT))
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
