"""Jobs pickled by an adolfd from before JSON jobs (docs/operations.md "Upgrading to JSON jobs").

They are never unpickled. `pickletools.genops` only lists a pickle's opcodes (it imports and calls nothing), and
`read_literals` evaluates the few opcodes that build plain dicts, lists, tuples, strings, numbers, booleans and
None, and gives up at anything else (a class, a call). ARQ's job dict `{t, f, a, k, et}` with plain arguments
is read whole; otherwise at least the function name, so the operator knows what to run again.
"""
from __future__ import annotations

import json
import pickletools
import shlex
from typing import Any

from adolfd.errors import LegacyPickledJob

PICKLE_MAGIC = b"\x80"  # PROTO opcode: every pickle of protocol 2 or later (ARQ used the default, 4 or 5)

_CONSTANTS = {"NONE": None, "NEWTRUE": True, "NEWFALSE": False}
_VALUES = {"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE", "SHORT_BINSTRING", "BINSTRING",
           "BININT", "BININT1", "BININT2", "LONG1", "LONG4", "INT", "LONG", "BINFLOAT", "FLOAT"}
_IGNORED = {"PROTO", "FRAME", "STOP"}
_MEMO_PUT = {"MEMOIZE", "BINPUT", "LONG_BINPUT", "PUT"}
_MEMO_GET = {"BINGET", "LONG_BINGET", "GET"}


class NotLiteral(ValueError):
    """The pickle builds something other than plain data; it is not read further."""


def is_pickle(raw: bytes) -> bool:
    return raw[:1] == PICKLE_MAGIC


def read_literals(raw: bytes) -> Any:
    """The plain value a pickle holds, or NotLiteral. Only opcodes that build plain data are evaluated."""
    stack: list[Any] = []
    marks: list[int] = []
    memo: dict[int, Any] = {}
    try:
        for op, arg, _ in pickletools.genops(raw):
            name = op.name
            if name in _IGNORED:
                continue
            if name in _VALUES:
                stack.append(arg)
            elif name in _CONSTANTS:
                stack.append(_CONSTANTS[name])
            elif name in ("EMPTY_DICT", "EMPTY_LIST", "EMPTY_TUPLE"):
                stack.append({"EMPTY_DICT": {}, "EMPTY_LIST": [], "EMPTY_TUPLE": ()}[name])
            elif name == "MARK":
                marks.append(len(stack))
            elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
                size = int(name[-1])
                top = tuple(stack[-size:])
                del stack[-size:]
                stack.append(top)
            elif name in ("TUPLE", "LIST", "DICT", "SETITEMS", "APPENDS"):
                start = marks.pop()
                items = stack[start:]
                del stack[start:]
                if name == "TUPLE":
                    stack.append(tuple(items))
                elif name == "LIST":
                    stack.append(list(items))
                elif name == "DICT":
                    stack.append(dict(zip(items[::2], items[1::2], strict=False)))
                elif name == "SETITEMS":
                    stack[-1].update(zip(items[::2], items[1::2], strict=False))
                else:
                    stack[-1].extend(items)
            elif name == "SETITEM":
                key, value = stack[-2:]
                del stack[-2:]
                stack[-1][key] = value
            elif name == "APPEND":
                stack[-2].append(stack.pop())
            elif name == "MEMOIZE":
                memo[len(memo)] = stack[-1]
            elif name in _MEMO_PUT or name in _MEMO_GET:
                if not isinstance(arg, int):
                    raise NotLiteral(f"pickle opcode {name} without a memo index")
                if name in _MEMO_PUT:
                    memo[arg] = stack[-1]
                else:
                    stack.append(memo[arg])
            else:
                raise NotLiteral(f"pickle opcode {name} builds an object")
    except (ValueError, IndexError, KeyError, TypeError, AttributeError) as exc:
        raise NotLiteral(str(exc)) from None
    if len(stack) != 1:
        raise NotLiteral("not one value")
    return stack[0]


def function_name(raw: bytes) -> str | None:
    """ARQ's `f` entry, found among the pickle's strings when the whole dict cannot be read."""
    strings = []
    try:
        for op, arg, _ in pickletools.genops(raw):
            if isinstance(arg, str) and op.name in _VALUES:
                strings.append(arg)
    except ValueError:
        pass
    for key, value in zip(strings, strings[1:], strict=False):
        if key == "f":
            return value
    return None


def rerun_command(function: str | None, kwargs: dict[str, Any] | None) -> str:
    """The `adolfd run` line that enqueues the job again as JSON (values shown as given to the job)."""
    words = ["adolfd", "run", function or "JOB"]
    if kwargs is None:
        words.append("[key=value …]")
    else:
        words += [f"{key}={shlex.quote(value if isinstance(value, str) else json.dumps(value))}"
                  for key, value in kwargs.items() if value is not None]
    return " ".join(words)


def legacy_error(raw: bytes) -> LegacyPickledJob:
    """What a pickled job in Redis can tell without being unpickled, and how to enqueue it again."""
    try:
        data = read_literals(raw)
        function, kwargs = data["f"], dict(data["k"])
    except (NotLiteral, KeyError, TypeError, ValueError):
        function, kwargs = function_name(raw), None
    known = f"function {function!r}" if function else "function unreadable without unpickling"
    args = "" if kwargs is not None else "; its arguments cannot be read without unpickling"
    return LegacyPickledJob(
        f"pickled by an earlier adolfd and never unpickled ({known}{args}); enqueue it again with "
        f"`{rerun_command(function, kwargs)}`", function=function, kwargs=kwargs)


__all__ = ["is_pickle", "legacy_error", "read_literals", "rerun_command"]
