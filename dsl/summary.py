"""`nndsl summary`: a Keras-like table of layers, output shapes and parameter counts."""

from __future__ import annotations

from dsl import ir

WIDTHS = (32, 26, 12)


def _shape(shape: tuple[int, ...]) -> str:
    return "(None, " + ", ".join(str(d) for d in shape) + ")"


def _row(cells: tuple[str, str, str]) -> str:
    a, b, c = WIDTHS
    return f"{cells[0]:<{a}}{cells[1]:<{b}}{cells[2]:>{c}}"


def summary(program: ir.Program) -> str:
    """Render the table for one analysed program."""
    rule = "-" * sum(WIDTHS)
    lines = [f'Model: "{program.name}" ({program.source})', rule]
    lines.append(_row(("Layer (type)", "Output Shape", "Param #")))
    lines.append("=" * sum(WIDTHS))
    lines.append(_row((f"input ({program.spec.model.input.kind})", _shape(program.input_shape), "0")))
    for layer in program.layers:
        params = layer.trainable_params + layer.non_trainable_params
        activation = getattr(layer.op, "activation", None)
        kind = layer.op.kind
        if activation is not None and activation.kind != "linear":
            kind = f"{kind}, {activation.kind}"
        lines.append(_row((f"{layer.name} ({kind})", _shape(layer.output_shape), f"{params:,}")))
    lines.append("=" * sum(WIDTHS))
    total = program.trainable_params + program.non_trainable_params
    lines.append(f"Total params: {total:,}")
    lines.append(f"Trainable params: {program.trainable_params:,}")
    lines.append(f"Non-trainable params: {program.non_trainable_params:,}")
    if program.output_activation != "linear":
        where = "the loss" if program.loss_from_logits else "the output"
        lines.append(
            f"Output activation: {program.output_activation} (the network computes logits;"
            f" {where} applies it)"
        )
    return "\n".join(lines)
