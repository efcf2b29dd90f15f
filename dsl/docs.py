"""The reference tables of docs/language.md, generated from the IR's classes.

    python -m nndsl.docs                            # print every generated block
    python -m nndsl.docs --write docs/language.md   # refresh the blocks in place
    python -m nndsl.docs --check docs/language.md   # exit 1 if a block is stale

Each block sits between `<!-- generated:NAME -->` and `<!-- end generated:NAME -->` in the
document. Arguments, defaults, positional order, descriptions, shape rules and parameter
formulas all come from the IR classes (`doc_shapes`, `doc_params`), so a new layer is
documented by writing its class.
"""

from __future__ import annotations

import argparse
import re
import sys
import types
import typing
from pathlib import Path

from pydantic_core import PydanticUndefined

from nndsl import ir

INPUT_SHAPES = {
    "image": "(height, width, channels), float32",
    "vector": "(features,), float32",
    "sequence": "(steps, channels), float32",
    "tokens": "(length,), int64 token ids",
}
DATASET_NOTES = {
    "mnist": "28x28x1 images scaled to [0, 1], 10 classes; 60,000 train / 10,000 test",
    "csv": "header row; `label` column holds the class, the rest are features / scale",
    "npz": "arrays x_train, y_train, x_test, y_test; x / scale",
}
LOSS_FORMULAS = {
    "categorical_crossentropy": "−mean Σ_k y_k · log softmax(z)_k",
    "sparse_categorical_crossentropy": "−mean log softmax(z)_y",
    "binary_crossentropy": "−mean [y · log σ(z) + (1 − y) · log(1 − σ(z))]",
    "mse": "mean (ŷ − y)² over batch and outputs",
    "mae": "mean \\|ŷ − y\\| over batch and outputs",
}
TYPE_WORDS = {bool: "bool", int: "int", float: "float", str: "string"}
# fields whose default is computed by a validator rather than stored in the field
DEFAULT_OVERRIDES = {("size", "stride"): "size"}
# tuple fields a single number widens to (`kernel=3` is `(3, 3)` in conv2d)
WIDENED = ("kernel", "stride", "dilation", "size")


def _constraint(metadata: list) -> str:
    parts = []
    for item in metadata:
        for attr, symbol in (("gt", ">"), ("ge", "≥"), ("lt", "<"), ("le", "≤")):
            value = getattr(item, attr, None)
            if value is not None:
                parts.append(
                    f"{symbol} {value:g}" if isinstance(value, float) else f"{symbol} {value}"
                )
        if getattr(item, "min_length", None):
            parts.append("not empty")
    return ", ".join(parts)


def type_text(annotation: object, metadata: list) -> str:
    """A reader's name for a field's type: `int > 0`, `valid | same`, `activation`."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        base, *extra = typing.get_args(annotation)
        meta = [m for e in extra for m in getattr(e, "metadata", [e])]
        return type_text(base, meta + metadata)
    if origin is typing.Literal:
        return " \\| ".join(str(a) for a in typing.get_args(annotation))
    if origin is tuple:
        item = typing.get_args(annotation)[0]
        return f"tuple of {type_text(item, [])}"
    if origin in (typing.Union, types.UnionType):
        return "activation"
    if annotation is int and any(getattr(m, "ge", None) == 0 for m in metadata):
        if any(getattr(m, "lt", None) == 2**31 for m in metadata):
            return "int ≥ 0, < 2^31"
    word = TYPE_WORDS.get(annotation, getattr(annotation, "__name__", str(annotation)))
    limits = _constraint(metadata)
    return f"{word} {limits}" if limits else word


def default_text(cls: type[ir.Node], name: str) -> str:
    for (positional_first, field), text in DEFAULT_OVERRIDES.items():
        if field == name and cls.positional[:1] == (positional_first,):
            return f"= {text}"
    default = cls.model_fields[name].default
    if default is PydanticUndefined:
        return "required"
    if isinstance(default, ir.Node):
        return default.kind
    if isinstance(default, bool):
        return str(default).lower()
    if isinstance(default, str):
        return default
    if isinstance(default, tuple) and name in WIDENED and len(set(default)) == 1:
        return str(default[0])
    if isinstance(default, tuple):
        return "[" + ", ".join(str(d) for d in default) + "]"
    return repr(default) if isinstance(default, float) else str(default)


def argument_type(cls: type[ir.Node], name: str) -> str:
    info = cls.model_fields[name]
    rank = getattr(cls, "rank", None)
    if name in WIDENED and rank is not None:
        return (
            "int > 0 or (int,)" if rank == 1 else "int > 0 or (" + ", ".join(["int"] * rank) + ")"
        )
    if name == "shape":
        return "tuple of int, one may be -1"
    if name == "metrics":
        return "list of: accuracy"
    return type_text(info.annotation, info.metadata)


def fields(cls: type[ir.Node]) -> list[str]:
    return [f for f in cls.model_fields if f not in ("kind", "span")]


def signature(cls: type[ir.Node], markdown: bool = True) -> str:
    """`conv2d(filters, kernel)` (Markdown), or with every argument and default (plain)."""
    kind = cls.model_fields["kind"].default
    if markdown:
        return f"`{kind}({', '.join(cls.positional)})`"
    rest = [
        f"{name}={default_text(cls, name).removeprefix('= ')}"
        for name in fields(cls)
        if name not in cls.positional
    ]
    return f"{kind}({', '.join([*cls.positional, *rest])})"


def arguments(cls: type[ir.Node]) -> str:
    """`name: type = default` for every argument, positional ones first."""
    names = fields(cls)
    if not names:
        return "—"
    out = []
    for name in names:
        text = f"`{name}`: {argument_type(cls, name)}"
        default = default_text(cls, name)
        out.append(f"{text} ({default})")
    return "<br>".join(out)


def doc(cls: type[ir.Node]) -> str:
    return " ".join((cls.__doc__ or "").split("\n\n")[0].split())


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("\n", " ") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def layers_block() -> str:
    rows = []
    for kind, cls in ir.LAYERS.items():
        if kind in ir.ACTIVATIONS:
            continue
        source, target = cls.doc_shapes
        rows.append(
            [signature(cls), arguments(cls), f"{source} → {target}", cls.doc_params, doc(cls)]
        )
    return table(
        [
            "layer (positional order)",
            "arguments: type (default)",
            "shape",
            "parameters",
            "meaning",
        ],
        rows,
    )


def activations_block() -> str:
    rows = [[signature(cls), arguments(cls), doc(cls)] for cls in ir.ACTIVATIONS.values()]
    return table(["activation (positional order)", "arguments: type (default)", "computes"], rows)


def inputs_block() -> str:
    rows = [
        [signature(cls), arguments(cls), INPUT_SHAPES[kind], doc(cls)]
        for kind, cls in ir.INPUTS.items()
    ]
    return table(["input (positional order)", "arguments", "shape", "meaning"], rows)


def datasets_block() -> str:
    rows = [
        [signature(cls), arguments(cls), DATASET_NOTES[kind]] for kind, cls in ir.DATASETS.items()
    ]
    return table(["dataset (positional order)", "arguments: type (default)", "data"], rows)


def losses_block() -> str:
    rows = [
        [f"`{kind}`", cls.labels.replace("_", "-"), LOSS_FORMULAS[kind], doc(cls)]
        for kind, cls in ir.LOSSES.items()
    ]
    return table(["loss", "labels", "formula (z logits, ŷ outputs)", "meaning"], rows)


def optimizers_block() -> str:
    rows = [[signature(cls), arguments(cls), doc(cls)] for cls in ir.OPTIMIZERS.values()]
    return table(
        ["optimizer (positional order)", "arguments: type (default)", "update rule"], rows
    )


def settings_block() -> str:
    cls = ir.Train
    rows = []
    for name in fields(cls):
        kind = name if name in ("dataset", "loss", "optimizer") else None
        article = "an" if name == "optimizer" else "a"
        text = f"{article} {kind} (table below)" if kind else argument_type(cls, name)
        rows.append([f"`{name}`", text, default_text(cls, name)])
    return table(["setting", "value", "default"], rows)


BLOCKS = {
    "inputs": inputs_block,
    "layers": layers_block,
    "activations": activations_block,
    "settings": settings_block,
    "datasets": datasets_block,
    "losses": losses_block,
    "optimizers": optimizers_block,
}


def render() -> dict[str, str]:
    return {name: make() for name, make in BLOCKS.items()}


def _pattern(name: str) -> re.Pattern[str]:
    return re.compile(
        rf"(<!-- generated:{name} -->\n)(.*?\n)?(<!-- end generated:{name} -->)", re.DOTALL
    )


def refresh(document: str) -> str:
    """`document` with every generated block replaced by the current tables."""
    for name, text in render().items():
        pattern = _pattern(name)
        if not pattern.search(document):
            raise SystemExit(f"docs: no <!-- generated:{name} --> block")
        document = pattern.sub(lambda m, t=text: m.group(1) + t + "\n" + m.group(3), document)
    return document


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", type=Path, help="refresh the blocks of this Markdown file")
    parser.add_argument("--check", type=Path, help="exit 1 if this file's blocks are stale")
    args = parser.parse_args(argv)
    if args.write or args.check:
        path = args.write or args.check
        text = path.read_text(encoding="utf-8")
        fresh = refresh(text)
        if args.check:
            if fresh != text:
                print(f"{path}: generated tables are stale; run scripts/doc_tables.py --write")
                return 1
            return 0
        path.write_text(fresh, encoding="utf-8")
        return 0
    for name, text in render().items():
        print(f"<!-- generated:{name} -->\n{text}\n<!-- end generated:{name} -->\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
