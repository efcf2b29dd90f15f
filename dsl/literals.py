"""The only ways spec text reaches generated source: checked identifiers and literals."""

from __future__ import annotations

import json
import keyword
import math
import re
from typing import Any

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def ident(name: str) -> str:
    """Return `name` if it is a plain ASCII Python identifier, else raise ValueError."""
    if not isinstance(name, str) or not _IDENT.match(name) or keyword.iskeyword(name):
        raise ValueError(f"not a safe identifier: {name!r}")
    return name


def lit(value: Any) -> str:
    """Render a Python literal for None, bool, int, finite float, str, tuple, list or dict."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return repr(int(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"not a finite number: {value!r}")
        return repr(float(value))
    if isinstance(value, str):
        return repr(str(value))
    if isinstance(value, tuple):
        items = ", ".join(lit(v) for v in value)
        return f"({items},)" if len(value) == 1 else f"({items})"
    if isinstance(value, list):
        return "[" + ", ".join(lit(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{lit(k)}: {lit(v)}" for k, v in value.items()) + "}"
    raise ValueError(f"no literal for {type(value).__name__}")


def kwargs(arguments: dict[str, Any]) -> str:
    """Render `name=literal, ...` for a call's keyword arguments."""
    return ", ".join(f"{ident(k)}={lit(v)}" for k, v in arguments.items())


def camel(name: str) -> str:
    """`lenet5` -> `Lenet5`, `mlp_nobias` -> `MlpNobias` (an identifier stays one)."""
    return ident("".join(part[:1].upper() + part[1:] for part in name.split("_") if part))


_JS_KEY = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*\Z")


def js(value: Any) -> str:
    """Render a JavaScript literal (ES modules of the tfjs target): null, booleans, finite
    numbers, JSON strings, arrays for tuples and lists, objects with bare identifier keys."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return lit(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(js(v) for v in value) + "]"
    if isinstance(value, dict):
        keys = [k if _JS_KEY.match(str(k)) else json.dumps(str(k)) for k in value]
        return "{" + ", ".join(f"{k}: {js(v)}" for k, v in zip(keys, value.values())) + "}"
    raise ValueError(f"no JavaScript literal for {type(value).__name__}")
