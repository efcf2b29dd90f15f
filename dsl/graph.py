"""`nndsl graph`: the architecture as Graphviz DOT, and as SVG/PNG when `dot` is installed.

One box per input and layer (name, kind, output shape, parameters), an edge per tensor,
a dashed cluster per block instance, outputs marked. DOT text is built here with quoted
labels only; spec names never reach it unescaped.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from nndsl import ir
from nndsl.errors import NndslError

FORMATS = {".dot": None, ".gv": None, ".svg": "svg", ".png": "png", ".pdf": "pdf"}
_FILL = {"input": "#dbe9f6", "merge": "#fdebd0", "recurrent": "#e8daef", "layer": "#eaf2e3"}


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _family(node: ir.NodeInfo) -> str:
    if isinstance(node.op, ir.MergeOp):
        return "merge"
    if node.op.kind in ir.RECURRENT or node.op.kind == "bidirectional":
        return "recurrent"
    return "layer"


def _label(node: ir.NodeInfo) -> str:
    kind = node.op.kind
    activation = getattr(node.op, "activation", None)
    if isinstance(activation, ir.ActivationOp) and activation.kind != "linear":
        kind += f" + {activation.kind}"
    params = node.trainable_params + node.non_trainable_params
    lines = [node.name, kind, _shape(node.output_shape)]
    if params:
        lines.append(f"{params:,} params")
    return "\n".join(lines)


def to_dot(program: ir.Program) -> str:
    """The program as a DOT digraph, top to bottom."""
    lines = [
        f"digraph {_quote(program.name)} {{",
        "  rankdir=TB;",
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10];',
        '  edge [color="#555555", arrowsize=0.6];',
    ]
    for info in program.inputs:
        label = f"{info.name}\n{info.kind}\n{_shape(info.shape)}"
        lines.append(
            f"  {_quote(info.name)} [label={_quote(label)}, fillcolor={_quote(_FILL['input'])}];"
        )
    clusters: dict[str, list[str]] = {}
    for node in program.nodes:
        statement = f"{_quote(node.name)} [label={_quote(_label(node))}, fillcolor={_quote(_FILL[_family(node)])}];"
        block = node.block
        if block:
            clusters.setdefault(block, []).append(statement)
        else:
            lines.append("  " + statement)
    for index, (block, statements) in enumerate(clusters.items()):
        lines.append(f"  subgraph cluster_{index} {{")
        lines.append(
            f'    label={_quote(block)}; style=dashed; color="#999999"; fontname="Helvetica";'
        )
        lines += [f"    {s}" for s in statements]
        lines.append("  }")
    for node in program.nodes:
        for source in node.inputs:
            lines.append(f"  {_quote(source)} -> {_quote(node.name)};")
    for index, output in enumerate(program.outputs):
        name = f"output {index + 1}" if len(program.outputs) > 1 else "output"
        text = f"{name}\n{_shape(output.shape)}"
        if output.activation != "linear":
            text += f"\n{output.activation} applied by the caller or loss"
        lines.append(
            f"  {_quote('@' + name)} [label={_quote(text)}, shape=plaintext, style=\"\"];"
        )
        lines.append(f"  {_quote(output.name)} -> {_quote('@' + name)} [style=dashed];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def write(program: ir.Program, path: Path) -> Path:
    """Write `path` in the format its suffix names (.dot/.gv, or .svg/.png/.pdf via dot)."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise NndslError(f"{path}: unknown graph format {suffix!r}; use .dot, .svg, .png or .pdf")
    text = to_dot(program)
    fmt = FORMATS[suffix]
    try:
        if fmt is None:
            path.write_text(text, encoding="utf-8")
            return path
        dot = shutil.which("dot")
        if dot is None:
            raise NndslError(
                f"writing {suffix} needs Graphviz's `dot` (e.g. apt install graphviz);"
                " a .dot file needs nothing"
            )
        result = subprocess.run(
            [dot, f"-T{fmt}"], input=text.encode(), capture_output=True, timeout=120
        )
        if result.returncode != 0:
            reason = result.stderr.decode(errors="replace").strip().splitlines()
            raise NndslError(f"dot failed: {reason[0] if reason else result.returncode}")
        path.write_bytes(result.stdout)
    except OSError as err:
        raise NndslError(f"cannot write {path}: {err.strerror or err}") from None
    return path
