"""A module imported on first use: the route table is built at import (every Lambda function imports
app.py), but a service, its store and their libraries are loaded only by the function that calls one."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule:
    """Stands for the module `name`; the first attribute read imports it (later reads cost one
    sys.modules lookup), so monkeypatching the real module still reaches every caller."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    @property
    def module(self) -> ModuleType:
        return importlib.import_module(self._name)

    def __getattr__(self, attr: str) -> Any:
        return getattr(importlib.import_module(self._name), attr)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"


def lazy(name: str) -> Any:
    """The module `name`, imported when first used (typed Any: callers use it as the module)."""
    return LazyModule(name)
