"""One rule for what a person sees when a handler fails: a clear message, one log line, the app keeps serving.

Our own refusals (unreadable files, bad uploads, missing input) are shown as written; anything else is
named by its kind only, without server paths or tracebacks. Text that came from a file is escaped
before it reaches markdown or HTML (``plain``).
"""
from __future__ import annotations

import functools
import html
import logging
import re
from collections.abc import Callable
from typing import Any

import gradio as gr

import melp
from ui.uploads import UploadError

logger = logging.getLogger(__name__)

_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]#|~>])")
_ABSOLUTE_PATH = re.compile(r"(?<![\w.])/(?:[\w.\-]+/)+")  # "/tmp/gradio/ab12/" -> removed, file names stay


def plain(text: object) -> str:
    """Text from a file as literal markdown/HTML: tags escaped, markdown marks backslashed. Quotes stay as
    they are: the text lands in markdown, never in an attribute, and an escaped one (&#x27;) had its # marked
    and showed as "&#x27;" in the page."""
    return _MARKDOWN_SPECIALS.sub(r"\\\1", html.escape(str(text), quote=False))


def without_paths(message: str) -> str:
    """A message with folder paths left out (file names kept)."""
    return _ABSOLUTE_PATH.sub("", message)


def user_errors(action: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a handler so every failure reaches the user as ``gr.Error`` with one log line."""

    def decorate(handler: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(handler)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                return handler(*args, **kwargs)
            except gr.Error as exc:
                logger.info("%s refused: %s", action, without_paths(str(exc)))
                raise
            except (melp.EcgReadError, UploadError) as exc:
                message = without_paths(str(exc))
                logger.info("%s refused: %s", action, message)
                raise gr.Error(message) from None
            except Exception as exc:  # the app must keep serving whatever a handler hits
                logger.warning("%s failed: %s: %s", action, type(exc).__name__, without_paths(str(exc)))
                raise gr.Error(f"Could not {action} ({type(exc).__name__}). The app is still running: try again, "
                               "or another file.") from None

        return guarded

    return decorate
