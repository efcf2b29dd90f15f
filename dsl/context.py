"""Template variables every target shares, computed from the IR (never in templates)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nndsl import __version__, ir
from nndsl.forward import Forward, plan
from nndsl.views import LayerView

if TYPE_CHECKING:
    from nndsl.targets import Target

LABEL_ENCODING = {
    "categorical_crossentropy": "one_hot",
    "sparse_categorical_crossentropy": "sparse",
    "binary_crossentropy": "binary",
    "mse": "one_hot",
    "mae": "one_hot",
}


def _fields(node: ir.Node) -> dict[str, Any]:
    return {k: v for k, v in node.arguments.items() if not isinstance(v, dict)}


def constants(program: ir.Program, target: str, spec_file: str) -> list[tuple[str, Any]]:
    """Module-level constants: what the harness reads and every hyperparameter of training."""
    first = program.inputs[0]
    out: list[tuple[str, Any]] = [
        ("SPEC_FILE", spec_file),
        ("MODEL_NAME", program.name),
        ("TARGET", target),
        ("INPUT_SHAPE", first.shape),
        ("INPUT_DTYPE", first.dtype),
        ("OUTPUT_ACTIVATION", program.output_activation),
    ]
    if len(program.inputs) > 1:
        out.append(("INPUT_SHAPES", {i.name: i.shape for i in program.inputs}))
    if len(program.outputs) > 1:
        out.append(("OUTPUT_ACTIVATIONS", tuple(o.activation for o in program.outputs)))
    train = program.train
    if train is None:
        return out
    out += [
        ("NUM_CLASSES", max(program.output_shape[-1], 2)),
        ("BATCH_SIZE", train.dataset.batch_size),
        ("VALIDATION_SPLIT", train.dataset.validation_split),
        ("EPOCHS", train.epochs),
        ("SEED", train.seed),
        *((k.upper(), v) for k, v in _fields(train.optimizer).items()),
    ]
    return out


def forward_views(program: ir.Program, target: Target) -> tuple[Forward, list[LayerView]]:
    """The planned forward pass and one view per step (a transpose, or a node's view)."""
    forward = plan(program, set(target.reserved), target.wants)
    views = []
    for step, site in forward.steps:
        if step.node is None:
            views.append(LayerView("transpose", "", site, args={"axes": step.axes}))
        else:
            views.append(target.layers[step.node.op.kind](step.node, site))
    return forward, views


def common_context(program: ir.Program, target: Target, spec_file: str) -> dict[str, Any]:
    """Variables available to every target's template."""
    forward, views = forward_views(program, target)
    train = program.train
    return {
        "program": program,
        "train": train,
        "version": __version__,
        "spec_file": spec_file,
        "model_name": program.name,
        "module_name": f"{program.name}_{target.name}",
        "constants": constants(program, target.name, spec_file),
        "forward": forward,
        "views": views,
        "labels": LABEL_ENCODING[train.loss.kind] if train else None,
        "dataset": train.dataset if train else None,
    }
