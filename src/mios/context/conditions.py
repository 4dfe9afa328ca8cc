"""CEL conditions of policy rules, checked when a workspace loads.

A rule's ``when`` is compiled once here, so a typo is an error naming the file, line and rule
before anything runs; governance compiles the same text again to evaluate it. A condition may
read only ``action``, ``context`` and ``now``, and call only functions the evaluator has: an
unknown name would otherwise surface as a runtime failure in the middle of a cycle.
"""

from __future__ import annotations

import re
from typing import Any

import cel

VARIABLES = frozenset({"action", "context", "now"})
_MACRO_VARIABLE = re.compile(r"\.(?:exists|all|exists_one|map|filter)\(\s*([A-Za-z_]\w*)\s*,")
#: Functions and methods the CEL evaluator provides (operators and macros are always allowed).
FUNCTIONS = frozenset(
    {
        "size",
        "contains",
        "startsWith",
        "endsWith",
        "matches",
        "string",
        "int",
        "uint",
        "double",
        "bytes",
        "timestamp",
        "duration",
        "type",
        "dyn",
        "getFullYear",
        "getMonth",
        "getDayOfYear",
        "getDayOfMonth",
        "getDate",
        "getDayOfWeek",
        "getHours",
        "getMinutes",
        "getSeconds",
        "getMilliseconds",
    }
)


def compile_condition(source: str) -> Any:
    """The compiled program, or ``ValueError`` saying what is wrong with ``source``."""
    try:
        program = cel.compile(source)
    except ValueError as exc:
        # The evaluator's message ends with a caret diagram; its first line says enough.
        detail = str(exc).split("\n")[0].removeprefix(f"Failed to parse expression {source!r}: ")
        raise ValueError(f"does not compile: {detail}") from None
    bound = set(_MACRO_VARIABLE.findall(source))  # x in list.exists(x, ...) is not a free name
    unknown = sorted(set(program.variables()) - VARIABLES - bound)
    if unknown:
        raise ValueError(f"unknown name {unknown[0]!r}; a condition reads action, context and now")
    functions = [f for f in program.functions() if not _is_operator(f)]
    strange = sorted(set(functions) - FUNCTIONS)
    if strange:
        raise ValueError(f"unknown function {strange[0]!r}")
    return program


def _is_operator(name: str) -> bool:
    return name.startswith(("_", "!_", "-_", "@"))
