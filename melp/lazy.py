"""Lazy package exports: a public name imports its defining module on first use (keeps ``import`` cheap)."""
from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from typing import Any


def lazy_exports(package: dict[str, Any], names: dict[str, str],
                 eager: Iterable[str] = ()) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for a package whose ``names`` map public name -> defining module.

    ``package`` is the package's ``globals()``; a loaded name is cached there. ``eager`` lists names the
    package defines itself, for ``dir()``.
    """
    public = sorted({*names, *eager})

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package['__name__']!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        package[name] = value
        return value

    def __dir__() -> list[str]:
        return public

    return __getattr__, __dir__
