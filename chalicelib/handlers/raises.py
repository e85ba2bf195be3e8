"""What a handler can raise, worked out from the code: the domain errors it and every chalicelib function
it calls construct, with their codes. The OpenAPI document lists these per route, so a new refusal in a
service shows up in the document without anyone keeping a list.

Static and conservative: a call is followed when its target resolves through the calling function's
globals (a module attribute, an imported function or class); a rule's `RuleViolation("CODE", ...)`
counts as the 422 it becomes; an object with a `refusals()` method (a lifecycle table) states its own.
Used when the document is built, never at import.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from collections.abc import Callable
from functools import cache
from typing import Any

from chalicelib.errors import DomainError, RuleBroken
from chalicelib.lazy import LazyModule
from chalicelib.rules import RuleViolation

Found = dict[type[DomainError], frozenset[str]]


def _resolve(node: ast.expr, scope: dict[str, Any]) -> Any:
    if isinstance(node, ast.Name):
        return scope.get(node.id)
    if isinstance(node, ast.Attribute):
        base = _resolve(node.value, scope)
        return getattr(base, node.attr, None) if base is not None else None
    return None


_CODE = re.compile(r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$")


def _codes_named_in(tree: ast.AST) -> set[str]:
    # Where a rule passes its code in a variable (a table of fields and codes), the codes are the
    # UPPER_SNAKE constants of that function.
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and _CODE.match(node.value)
    }


def _literal_code(call: ast.Call, error: type) -> str | None:
    for keyword in call.keywords:
        if keyword.arg == "code":
            value = keyword.value
            return value.value if isinstance(value, ast.Constant) and isinstance(value.value, str) else None
    if error is RuleViolation:
        first = call.args[0] if call.args else None
        return first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None
    return error.default_code if issubclass(error, DomainError) else None


def _methods_named(name: str, scope: dict[str, Any]) -> list[Callable[..., Any]]:
    """Methods called on an object the analysis cannot resolve (`row.rule.check(...)`): every method of
    that name on a class of a chalicelib module the caller imports. Conservative: a route may then
    document a code it cannot reach, never miss one it can."""
    classes: list[type] = []
    for value in scope.values():
        if inspect.ismodule(value) and value.__name__.startswith("chalicelib"):
            classes.extend(
                c for c in vars(value).values() if isinstance(c, type) and c.__module__ == value.__name__
            )
        elif isinstance(value, type) and value.__module__.startswith("chalicelib"):
            classes.append(value)
    return [vars(c)[name] for c in dict.fromkeys(classes) if inspect.isfunction(vars(c).get(name))]


def _ours(target: Any) -> bool:
    return callable(target) and str(getattr(target, "__module__", "") or "").startswith("chalicelib")


def _add(found: dict[type[DomainError], set[str]], error: type[DomainError], code: str | None) -> None:
    codes = found.setdefault(error, set())
    if code:
        codes.add(code)


def _dispatch_table(call: ast.Call, scope: dict[str, Any]) -> dict[Any, Any] | None:
    """The module-level dict a `TABLE.get(key)` call reads, if that is what `call` is."""
    func = call.func
    if not (isinstance(func, ast.Attribute) and func.attr == "get"):
        return None
    table = _resolve(func.value, scope)
    return table if isinstance(table, dict) else None


@cache
def _analyse(function: Callable[..., Any], seen: frozenset[Any]) -> Found:
    try:
        source = textwrap.dedent(inspect.getsource(function))
    except (OSError, TypeError):
        return {}
    # A handler's lazily imported service is analysed as the module it stands for (this runs when the
    # document is built, so importing it here costs no cold start).
    scope = {
        name: value.module if isinstance(value, LazyModule) else value
        for name, value in getattr(function, "__globals__", {}).items()
    }
    found: dict[type[DomainError], set[str]] = {}
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        target = _resolve(node.func, scope)
        table = _dispatch_table(node, scope)
        if table is not None:
            # A dispatch table (`_CHANGES.get(action)`, then called): any of its functions may run.
            for listed in (f for f in table.values() if inspect.isfunction(f) and _ours(f) and f not in seen):
                for error, codes in _analyse(listed, seen | {function}).items():
                    found.setdefault(error, set()).update(codes)
            continue
        if isinstance(target, type) and issubclass(target, DomainError):
            _add(found, target, _literal_code(node, target))
        elif target is RuleViolation:
            code = _literal_code(node, RuleViolation)
            for named in {code} if code else _codes_named_in(tree):
                _add(found, RuleBroken, named)
        elif inspect.ismethod(target) and isinstance(target.__self__, type):
            owner = target.__self__
            if issubclass(owner, DomainError):
                _add(found, owner, None)
        elif inspect.ismethod(target) and hasattr(target.__self__, "refusals"):
            # An object that knows its refusals (a lifecycle table: its codes are data, not literals).
            for error, codes in target.__self__.refusals().items():
                found.setdefault(error, set()).update(codes)
        else:
            if inspect.isfunction(target) and _ours(target):
                callees: list[Callable[..., Any]] = [target]
            elif target is None and isinstance(node.func, ast.Attribute):
                callees = _methods_named(node.func.attr, scope)
            else:
                callees = []
            for callee in callees:
                if callee in seen:
                    continue
                for error, codes in _analyse(callee, seen | {function}).items():
                    found.setdefault(error, set()).update(codes)
    return {error: frozenset(codes) for error, codes in found.items()}


def raised_by(function: Callable[..., Any]) -> Found:
    """The domain errors `function` can raise (itself or through what it calls), with known codes."""
    return _analyse(inspect.unwrap(function), frozenset())
