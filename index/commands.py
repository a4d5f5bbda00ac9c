"""The command line shared by the commands that change an existing library (index.add, index.reference)."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from index.embed import DEFAULT_BATCH_SIZE
from index.manifest import Manifest
from melp.logs import configure_logging


def library_parser(prog: str, description: str, force_help: str) -> argparse.ArgumentParser:
    """--library, --source, --model, --batch-size and --force, as each of these commands takes them."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--library", required=True, type=Path, help="existing library folder")
    parser.add_argument("--source", required=True, help="same forms as python -m index.build --source")
    parser.add_argument("--model", default=None, help="checkpoint folder (default: the one the library names)")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    parser.add_argument("--force", action="store_true", help=force_help)
    return parser


def library_command(argv: list[str] | None, prog: str, description: str,
                    force_help: str) -> tuple[argparse.Namespace, Any]:
    """(parsed arguments, the model to embed with: --model, else the checkpoint the library's manifest
    names), after setting up logging."""
    import melp

    configure_logging()
    args = library_parser(prog, description, force_help).parse_args(argv)
    return args, melp.load(args.model or Manifest.read(args.library).model_path)
