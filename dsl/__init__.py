"""nndsl: one neural-network spec, idiomatic code for every major framework.

    import nndsl
    program = nndsl.load("specs/cnn.nn")         # parsed, typed and shape-checked
    source = nndsl.render(program, "torch")      # the generated module's text

Errors the user can fix are `nndsl.NndslError` (a `SpecError` carries file:line:col).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from nndsl.errors import NndslError, SpecError

if TYPE_CHECKING:
    from nndsl.ir import Program

__version__ = "0.2.0"


def loads(text: str, file: str = "<spec>") -> Program:
    """Parse, type and analyse spec text (SpecError, or SpecErrors for several)."""
    from nndsl.errors import coded
    from nndsl.infer import analyse
    from nndsl.resolve import build
    from nndsl.syntax import parse_syntax

    try:
        syntax = parse_syntax(text, file)
    except SpecError as err:
        err.source = text
        raise coded(err, "syntax") from None
    try:
        spec = build(syntax)
    except SpecError as err:
        err.source = text
        raise coded(err, "meaning") from None
    try:
        return analyse(spec, source=file)
    except SpecError as err:
        err.source = text
        raise coded(err, "shape") from None


def load(path: str | Path) -> Program:
    """Read, parse, type and analyse a spec file."""
    from nndsl.syntax import read_spec

    file, text = read_spec(Path(path))
    return loads(text, file)


def render(program: Program, target: str) -> str:
    """The generated module of `program` for `target`, as text."""
    from nndsl import codegen, targets

    return codegen.render(program, targets.get(target), program.source)


__all__ = ["NndslError", "SpecError", "__version__", "load", "loads", "render"]
