"""The command-line entry points log our INFO lines, not faiss's import attempts or HTTP chatter."""
from __future__ import annotations

import logging
import subprocess
import sys

from melp.logs import configure_logging


def test_configure_logging_keeps_our_info_and_quiets_third_party_chatter():
    configure_logging()
    assert logging.getLogger("index.build").level == logging.NOTSET  # ours follow the root's INFO
    for name in ("faiss.loader", "httpx", "urllib3.connectionpool"):
        assert not logging.getLogger(name).isEnabledFor(logging.INFO)


def test_an_index_command_does_not_print_faiss_import_attempts(tmp_path):
    """faiss logs 'Could not load library ... ModuleNotFoundError' at INFO when it is imported."""
    code = ("from melp.logs import configure_logging; configure_logging(); import faiss; "
            "import logging; logging.getLogger('index.build').info('built')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert "built" in done.stderr and "ModuleNotFoundError" not in done.stderr and "faiss" not in done.stderr
