"""A model or library that loads in a background thread while the page is already served.

Importing torch and transformers and loading the weights takes about 4 s of the app's start-up on 2 CPUs;
a person needs longer than that to choose a file. So the app serves its page first, and an event that
needs the model waits here until it is there (or says why it is not).
"""
from __future__ import annotations

import threading
from typing import Any

import gradio as gr


class Pending:
    """Stands for ``what`` (a model or library) until ``resolve`` is called; attribute access waits for it
    and forwards, so handlers use it as they would the object itself."""

    def __init__(self, what: str):
        self._what = what
        self._ready = threading.Event()
        self._value: Any | None = None
        self._problem: str | None = None

    def resolve(self, value: Any | None, problem: str | None = None) -> None:
        """The loaded object, or None and why it is missing."""
        self._value, self._problem = value, problem
        self._ready.set()

    def wait(self, timeout: float | None = None) -> tuple[Any | None, str | None]:
        """(object or None, why it is missing), once loading has ended (or ``timeout`` passed: None, None)."""
        if not self._ready.wait(timeout):
            return None, None
        return self._value, self._problem

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # copy, pickle and introspection probes: not the object's attributes
            raise AttributeError(name)
        value, problem = self.wait()
        if value is None:
            raise gr.Error(f"{self._what} is not available: {problem}")
        return getattr(value, name)

    def __repr__(self) -> str:
        state = "ready" if self.ready else "loading"
        return f"Pending({self._what!r}, {state})"


def settled(value: Any | None, problem: str | None) -> tuple[Any | None, str | None]:
    """(object, problem) for a plain value, or what a Pending resolved to (waiting for it)."""
    return value.wait() if isinstance(value, Pending) else (value, problem)
