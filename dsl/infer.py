"""Shape and parameter inference over the graph: no framework, only the IR and nndsl.rules."""

from __future__ import annotations

import math

from nndsl import ir
from nndsl.errors import MAX_ERRORS, SpecError, SpecErrors, with_trace
from nndsl.rules import RULES, Result, check_merge, fmt

Shape = tuple[int, ...]

LOGIT_LOSSES = {
    "categorical_crossentropy": ("softmax", "linear"),
    "sparse_categorical_crossentropy": ("softmax", "linear"),
    "binary_crossentropy": ("sigmoid", "linear"),
}
_RANK_WORDS = {
    1: "a vector (features,)",
    2: "a sequence (steps, channels)",
    3: "an image (height, width, channels)",
}


def _needs(op: ir.Op, shape: Shape) -> None:
    ranks = op.ranks
    if ranks is not None and len(shape) not in ranks:
        what = " or ".join(_RANK_WORDS.get(r, f"a rank-{r}") for r in ranks)
        raise SpecError(f"{op.kind} needs {what} input, got shape {fmt(shape)}", op.span)
    if not shape:
        raise SpecError(f"{op.kind} needs an input with a feature axis", op.span)


def infer_node(
    node: ir.GraphNode, shapes: dict[str, Shape], tokens: set[str], label: dict[str, str]
) -> Result:
    """Shapes and weights of one node given the shapes of the tensors before it."""
    op = node.op
    shapes_in = tuple(shapes[name] for name in node.inputs)
    from_tokens = [name for name in node.inputs if name in tokens]
    if op.kind == "embedding" and not from_tokens:
        raise SpecError("embedding needs a tokens input (integer ids)", op.span)
    if from_tokens and op.kind != "embedding":
        raise SpecError(f"tokens input must feed an embedding, not {op.kind}", op.span)
    if isinstance(op, ir.MergeOp):
        result = check_merge(op, shapes_in, tuple(label[n] for n in node.inputs))
    else:
        _needs(op, shapes_in[0])
        result = RULES[op.kind](op, shapes_in, node.name)
    if any(d <= 0 for d in result.shape):
        raise SpecError(f"{op.kind} leaves no output: shape {fmt(result.shape)}", op.span)
    return result


def _walk(model: ir.Model, nodes: tuple[ir.GraphNode, ...]) -> list[ir.NodeInfo]:
    """Each node's shapes and weights; a node that does not fit is recorded and the nodes
    reading it skipped, so every independent error is reported (SpecErrors)."""
    shapes: dict[str, Shape] = {i.name: i.type.shape for i in model.inputs}
    tokens = {i.name for i in model.inputs if i.type.kind == "tokens"}
    label = {name: f"'{name}'" for name in shapes}
    infos, errors, failed = [], [], set()
    for node in nodes:
        if failed & set(node.inputs):
            failed.add(node.name)
            continue
        try:
            result = infer_node(node, shapes, tokens, label)
        except SpecError as err:
            errors.append(with_trace(err, node.trace))
            failed.add(node.name)
            if len(errors) >= MAX_ERRORS:
                break
            continue
        shapes[node.name] = result.shape
        label[node.name] = f"'{node.var}'" if node.var else node.op.kind
        infos.append(
            ir.NodeInfo(
                name=node.name,
                op=node.op,
                inputs=node.inputs,
                input_shapes=tuple(shapes[n] for n in node.inputs),
                output_shape=result.shape,
                weights=result.weights,
                padding=result.padding,
                var=node.var,
                block=node.block,
            )
        )
    if errors:
        raise SpecErrors(errors) if len(errors) > 1 else errors[0]
    return infos


def fitting_kinds(
    inputs: list[ir.InputDecl], nodes: list[ir.GraphNode], source: str | None
) -> set[str]:
    """The layer kinds that accept `source`'s shape (every kind if it cannot be known)."""
    if source is None:
        return set(ir.LAYERS)
    model = ir.Model.model_construct(
        name="m", inputs=tuple(inputs), nodes=tuple(nodes), outputs=()
    )
    try:
        infos = _walk(model, tuple(nodes))
    except SpecError:
        return set(ir.LAYERS)
    shapes = {i.name: i.type.shape for i in inputs} | {n.name: n.output_shape for n in infos}
    tokens = {i.name for i in inputs if i.type.kind == "tokens"}
    if source in tokens:
        return {"embedding"}
    rank = len(shapes[source])
    return {
        kind
        for kind, cls in ir.LAYERS.items()
        if kind != "embedding" and (cls.ranks is None or rank in cls.ranks)
    }


def _split_activations(
    model: ir.Model, nodes: list[ir.GraphNode]
) -> tuple[list[ir.GraphNode], list[tuple[str, str]]]:
    """Move each output's final softmax/sigmoid out of the network so it computes logits."""
    outputs: list[tuple[str, str]] = []
    consumed = {name for node in nodes for name in node.inputs}
    for name in model.outputs:
        node = next((n for n in nodes if n.name == name), None)
        activation = "linear"
        if node is not None and name not in consumed:
            op = node.op
            inner = getattr(op, "activation", None)
            if op.kind in ("softmax", "sigmoid") and node.inputs[0] not in model.outputs:
                nodes = [n for n in nodes if n.name != name]
                name, activation = node.inputs[0], op.kind
            elif isinstance(inner, ir.ActivationOp) and inner.kind in ("softmax", "sigmoid"):
                linear = node.model_copy(
                    update={"op": op.model_copy(update={"activation": ir.Linear()})}
                )
                nodes = [linear if n.name == name else n for n in nodes]
                activation = inner.kind
        outputs.append((name, activation))
    return nodes, outputs


def _check_training(
    train: ir.Train, program_inputs: tuple, outputs: list, model: ir.Model
) -> None:
    if len(outputs) != 1:
        raise SpecError(
            f"train needs a model with one output; this one has {len(outputs)}", train.span
        )
    if len(program_inputs) != 1:
        raise SpecError(
            f"train needs a model with one input; this one has {len(program_inputs)}", train.span
        )
    output: ir.OutputInfo = outputs[0]
    shape, activation = output.shape, output.activation
    loss = train.loss
    allowed = LOGIT_LOSSES.get(loss.kind)
    if allowed and activation not in allowed:
        raise SpecError(
            f"{loss.kind} needs a {allowed[0]} or linear output, but the model ends in {activation}",
            loss.span,
        )
    if loss.kind == "binary_crossentropy" and shape != (1,):
        hint = f" (for {shape[0]} classes use categorical_crossentropy)" if len(shape) == 1 else ""
        raise SpecError(
            f"binary_crossentropy needs a model with 1 output, got shape {fmt(shape)}{hint}",
            loss.span,
        )
    if loss.kind != "binary_crossentropy" and len(shape) != 1:
        raise SpecError(
            f"{loss.kind} needs a model output of shape (classes,), got {fmt(shape)}"
            " (missing flatten()?)",
            loss.span,
        )
    dataset = train.dataset
    if isinstance(dataset, ir.Mnist):
        model_input = model.inputs[0].type
        size = math.prod(model_input.shape)
        if model_input.kind == "tokens" or size != 784:
            written = ", ".join(str(d) for d in model_input.shape)
            raise SpecError(
                f"mnist gives 28x28x1 images (784 values), but input"
                f" {model_input.kind}({written}) holds {size}",
                dataset.span,
            )
        if shape != (dataset.classes,):
            raise SpecError(
                f"mnist has {dataset.classes} classes, but the model outputs shape {fmt(shape)}"
                f" (end with dense({dataset.classes}))",
                dataset.span,
            )


def analyse(spec: ir.Spec, source: str = "<spec>") -> ir.Program:
    """Infer every node's shapes and weights; raise SpecError where a layer does not fit."""
    model = spec.model
    nodes, outputs = _split_activations(model, list(model.nodes))
    infos = _walk(model, tuple(nodes))
    shapes = {i.name: i.type.shape for i in model.inputs} | {n.name: n.output_shape for n in infos}
    inputs = tuple(
        ir.InputInfo(name=i.name, kind=i.type.kind, shape=i.type.shape, dtype=i.type.dtype)
        for i in model.inputs
    )
    output_infos = tuple(
        ir.OutputInfo(name=name, shape=shapes[name], activation=activation)
        for name, activation in outputs
    )
    if spec.train is not None:
        _check_training(spec.train, inputs, list(output_infos), model)
    from_logits = spec.train is not None and spec.train.loss.kind in LOGIT_LOSSES
    return ir.Program(
        source=source,
        spec=spec,
        inputs=inputs,
        nodes=tuple(infos),
        outputs=output_infos,
        loss_from_logits=from_logits,
    )
