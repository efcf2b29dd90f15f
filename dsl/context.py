"""Template variables every target shares, computed from the IR (never in templates)."""

from __future__ import annotations

from typing import Any

from nndsl import __version__, ir

LABEL_ENCODING = {
    "categorical_crossentropy": "one_hot",
    "sparse_categorical_crossentropy": "sparse",
    "binary_crossentropy": "binary",
    "mse": "one_hot",
    "mae": "one_hot",
}


def _fields(node: ir.Node, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    data = node.model_dump(exclude={"span", "kind", *skip})
    return {k: v for k, v in data.items() if not isinstance(v, dict)}


def constants(program: ir.Program, target: str, spec_file: str) -> list[tuple[str, Any]]:
    """Module-level constants: every hyperparameter of the spec, named in capitals."""
    out: list[tuple[str, Any]] = [
        ("SPEC_FILE", spec_file),
        ("MODEL_NAME", program.name),
        ("TARGET", target),
        ("INPUT_SHAPE", program.input_shape),
        ("INPUT_DTYPE", "int64" if program.spec.model.input.kind == "tokens" else "float32"),
        ("OUTPUT_SHAPE", program.output_shape),
        ("OUTPUT_ACTIVATION", program.output_activation),
    ]
    train = program.spec.train
    if train is None:
        return out
    dataset, loss, optimizer = train.dataset, train.loss, train.optimizer
    out += [
        ("DATASET", dataset.kind),
        *((f"DATASET_{k.upper()}", v) for k, v in _fields(dataset).items()),
        ("BATCH_SIZE", dataset.batch_size),
        ("VALIDATION_SPLIT", dataset.validation_split),
        ("EPOCHS", train.epochs),
        ("SEED", train.seed),
        ("LOSS", loss.kind),
        ("LABELS", LABEL_ENCODING[loss.kind]),
        ("FROM_LOGITS", program.loss_from_logits),
        ("OPTIMIZER", optimizer.kind),
        *((k.upper(), v) for k, v in _fields(optimizer).items()),
    ]
    # batch size and split are shown once, under their own names
    skip = {"DATASET_BATCH_SIZE", "DATASET_VALIDATION_SPLIT"}
    return [(k, v) for k, v in out if k not in skip]


def common_context(program: ir.Program, target: str, spec_file: str) -> dict[str, Any]:
    """Variables available to every target's template."""
    train = program.spec.train
    return {
        "program": program,
        "layers": program.layers,
        "train": train,
        "version": __version__,
        "model_name": program.name,
        "module_name": f"{program.name}_{target}",
        "constants": constants(program, target, spec_file),
        "num_classes": program.output_shape[-1],
    }
