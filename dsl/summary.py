"""`nndsl summary`: a Keras-like table of layers, output shapes and parameter counts.

A graph (anything but one straight chain) gets Keras' functional-model column
"Connected to", naming each node's inputs.
"""

from __future__ import annotations

from nndsl import ir

WIDTHS = (32, 26, 12, 24)  # minimum column widths; a longer cell widens its column


def _shape(shape: tuple[int, ...]) -> str:
    return "(None, " + ", ".join(str(d) for d in shape) + ")"


def _row(cells: tuple[str, ...], widths: tuple[int, ...]) -> str:
    out = f"{cells[0]:<{widths[0]}}{cells[1]:<{widths[1]}}{cells[2]:>{widths[2]}}"
    if len(cells) > 3:
        out += f"  {cells[3]:<{widths[3]}}"
    return out.rstrip()


def _rows(program: ir.Program, graph: bool) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for info in program.inputs:
        label = f"{info.name} ({info.kind})" if graph else f"input ({info.kind})"
        rows.append((label, _shape(info.shape), "0", ""))
    for node in program.nodes:
        params = node.trainable_params + node.non_trainable_params
        activation = getattr(node.op, "activation", None)
        kind = node.op.kind
        if isinstance(activation, ir.ActivationOp) and activation.kind != "linear":
            kind = f"{kind}, {activation.kind}"
        rows.append(
            (
                f"{node.name} ({kind})",
                _shape(node.output_shape),
                f"{params:,}",
                ", ".join(node.inputs),
            )
        )
    return [row if graph else row[:3] for row in rows]


def summary(program: ir.Program) -> str:
    """Render the table for one analysed program."""
    graph = not program.is_chain
    header: tuple[str, ...] = ("Layer (type)", "Output Shape", "Param #", "Connected to")
    header = header if graph else header[:3]
    rows = _rows(program, graph)
    widths = tuple(
        max(WIDTHS[i], *(len(r[i]) + (1 if i == 2 else 2) for r in rows))
        for i in range(len(header))
    )
    width = sum(widths) + (2 if graph else 0)
    lines = [f'Model: "{program.name}" ({program.source})', "-" * width]
    lines.append(_row(header, widths))
    lines.append("=" * width)
    lines.extend(_row(row, widths) for row in rows)
    lines.append("=" * width)
    total = program.trainable_params + program.non_trainable_params
    lines.append(f"Total params: {total:,}")
    lines.append(f"Trainable params: {program.trainable_params:,}")
    lines.append(f"Non-trainable params: {program.non_trainable_params:,}")
    for output in program.outputs:
        if output.activation == "linear":
            continue
        where = "the loss" if program.loss_from_logits else "the caller"
        named = f" of {output.name}" if len(program.outputs) > 1 else ""
        lines.append(
            f"Output activation{named}: {output.activation} (the network computes logits;"
            f" {where} applies it)"
        )
    if graph:
        lines.append("Outputs: " + ", ".join(o.name for o in program.outputs))
    return "\n".join(lines)
