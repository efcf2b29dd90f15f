"""`nndsl summary`: a Keras-like table of layers, output shapes and parameter counts."""

from __future__ import annotations

from nndsl import ir

WIDTHS = (32, 26, 12)  # minimum column widths; a longer cell widens its column


def _shape(shape: tuple[int, ...]) -> str:
    return "(None, " + ", ".join(str(d) for d in shape) + ")"


def _row(cells: tuple[str, str, str], widths: tuple[int, int, int] = WIDTHS) -> str:
    a, b, c = widths
    return f"{cells[0]:<{a}}{cells[1]:<{b}}{cells[2]:>{c}}"


def _layer_rows(program: ir.Program) -> list[tuple[str, str, str]]:
    rows = [(f"input ({program.spec.model.input.kind})", _shape(program.input_shape), "0")]
    for layer in program.layers:
        params = layer.trainable_params + layer.non_trainable_params
        activation = getattr(layer.op, "activation", None)
        kind = layer.op.kind
        if activation is not None and activation.kind != "linear":
            kind = f"{kind}, {activation.kind}"
        rows.append((f"{layer.name} ({kind})", _shape(layer.output_shape), f"{params:,}"))
    return rows


def summary(program: ir.Program) -> str:
    """Render the table for one analysed program."""
    header = ("Layer (type)", "Output Shape", "Param #")
    rows = _layer_rows(program)
    widths = (
        max(WIDTHS[0], *(len(r[0]) + 2 for r in rows)),
        max(WIDTHS[1], *(len(r[1]) + 2 for r in rows)),
        max(WIDTHS[2], *(len(r[2]) + 1 for r in rows)),
    )
    lines = [f'Model: "{program.name}" ({program.source})', "-" * sum(widths)]
    lines.append(_row(header, widths))
    lines.append("=" * sum(widths))
    lines.extend(_row(row, widths) for row in rows)
    lines.append("=" * sum(widths))
    total = program.trainable_params + program.non_trainable_params
    lines.append(f"Total params: {total:,}")
    lines.append(f"Trainable params: {program.trainable_params:,}")
    lines.append(f"Non-trainable params: {program.non_trainable_params:,}")
    if program.output_activation != "linear":
        where = "the loss" if program.loss_from_logits else "the caller"
        lines.append(
            f"Output activation: {program.output_activation} (the network computes logits;"
            f" {where} applies it)"
        )
    return "\n".join(lines)
