"""nndsl.reference (plain numpy) against Keras 3 on the TensorFlow backend.

Each case is a small spec; the test builds the same network with Keras' functional API from
the analysed Program, loads the same canonical weights into it, and compares the outputs.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from nndsl import ir, reference
from tests.cases import CASES, load, random_inputs, random_weights

TOLERANCE = 1e-5


def test_every_layer_kind_has_a_reference_function():
    missing = sorted(set(ir.LAYERS) - set(reference.LAYERS))
    extra = sorted(set(reference.LAYERS) - set(ir.LAYERS))
    assert not missing and not extra, f"missing: {missing}, extra: {extra}"


os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
keras = pytest.importorskip("keras")


# --- the same network in Keras ---


def keras_activation(op: ir.ActivationOp):
    """A Keras activation function with the op's arguments bound."""
    fn = getattr(keras.activations, op.kind)
    if op.kind == "leaky_relu":
        return lambda t: fn(t, negative_slope=op.negative_slope)
    if op.kind == "elu":
        return lambda t: fn(t, alpha=op.alpha)
    if op.kind == "gelu":
        return lambda t: fn(t, approximate=op.approximate)
    return fn


def _standalone_activation(op: ir.ActivationOp):
    """The dedicated Keras layer where there is one, else Activation."""
    L = keras.layers
    if op.kind == "relu6":
        return L.ReLU(max_value=6.0)
    if op.kind == "leaky_relu":
        return L.LeakyReLU(negative_slope=op.negative_slope)
    if op.kind == "elu":
        return L.ELU(alpha=op.alpha)
    if op.kind == "softmax":
        return L.Softmax(axis=-1)
    return L.Activation(keras_activation(op))


def _recurrent_layer(op: ir._Recurrent):
    L, common = keras.layers, {"return_sequences": op.return_sequences, "use_bias": op.use_bias}
    if op.kind == "simple_rnn":
        return L.SimpleRNN(op.units, activation=op.activation.kind, **common)
    if op.kind == "lstm":
        return L.LSTM(op.units, **common)
    return L.GRU(op.units, reset_after=True, **common)


def keras_layer(node: ir.NodeInfo):
    """A Keras 3 layer computing what `node` computes."""
    L, op, kind = keras.layers, node.op, node.op.kind
    if kind in ir.ACTIVATIONS:
        return _standalone_activation(op)
    fused = {}
    if isinstance(op, ir._Kernel):
        fused = {"activation": keras_activation(op.activation), "use_bias": op.use_bias}
    window = {"padding": getattr(op, "padding", None), "strides": getattr(op, "stride", None)}
    conv = {"conv1d": L.Conv1D, "conv2d": L.Conv2D}
    pools = {
        "maxpool1d": L.MaxPooling1D,
        "maxpool2d": L.MaxPooling2D,
        "avgpool1d": L.AveragePooling1D,
        "avgpool2d": L.AveragePooling2D,
    }
    merges = {
        "add": L.Add,
        "subtract": L.Subtract,
        "multiply": L.Multiply,
        "average": L.Average,
        "maximum": L.Maximum,
    }
    globals_ = {
        "global_avgpool1d": L.GlobalAveragePooling1D,
        "global_maxpool1d": L.GlobalMaxPooling1D,
        "global_avgpool2d": L.GlobalAveragePooling2D,
        "global_maxpool2d": L.GlobalMaxPooling2D,
    }
    if kind == "dense":
        return L.Dense(op.units, **fused)
    if kind in conv:
        return conv[kind](
            op.filters, op.kernel, dilation_rate=op.dilation, groups=op.groups, **window, **fused
        )
    if kind == "conv2d_transpose":
        return L.Conv2DTranspose(op.filters, op.kernel, **window, **fused)
    if kind == "depthwise_conv2d":
        return L.DepthwiseConv2D(
            op.kernel, depth_multiplier=op.depth_multiplier, **window, **fused
        )
    if kind == "separable_conv2d":
        return L.SeparableConv2D(
            op.filters, op.kernel, depth_multiplier=op.depth_multiplier, **window, **fused
        )
    if kind in pools:
        return pools[kind](op.size, **window)
    if kind in globals_:
        return globals_[kind]()
    if kind in merges:
        return merges[kind]()
    if kind == "concatenate":
        return L.Concatenate(axis=op.axis)
    if kind == "zero_padding2d":
        return L.ZeroPadding2D(op.padding)
    if kind == "upsampling2d":
        return L.UpSampling2D(op.size, interpolation="nearest")
    if kind == "flatten":
        return L.Flatten()
    if kind == "reshape":
        return L.Reshape(op.shape)
    if kind == "dropout":
        return L.Dropout(op.rate)
    if kind == "batchnorm":
        return L.BatchNormalization(
            momentum=op.momentum, epsilon=op.epsilon, center=op.center, scale=op.scale
        )
    if kind == "layernorm":
        return L.LayerNormalization(epsilon=op.epsilon, center=op.center, scale=op.scale)
    if kind == "embedding":
        return L.Embedding(op.input_dim, op.output_dim)
    if kind in ir.RECURRENT:
        return _recurrent_layer(op)
    if kind == "bidirectional":
        return L.Bidirectional(_recurrent_layer(op.layer), merge_mode=op.merge)
    raise AssertionError(f"no Keras layer for {kind}")


def load_weights(layer, node: ir.NodeInfo, weights: dict[str, np.ndarray]) -> None:
    """Assign each canonical array to the Keras variable of the same name (and direction)."""
    variables = layer.weights
    assert len(variables) == len(node.weights), (node.name, [v.path for v in variables])
    for variable, weight in zip(variables, node.weights):
        param = weight.param
        for direction in ("forward_", "backward_"):
            if param.startswith(direction):
                param = param.removeprefix(direction)
                assert direction in variable.path, (weight.name, variable.path)
        assert variable.name == param, (weight.name, variable.path)
        assert tuple(variable.shape) == weight.shape, (weight.name, variable.shape)
        variable.assign(weights[weight.name])


def keras_model(program: ir.Program, weights: dict[str, np.ndarray]):
    tensors = {
        info.name: keras.Input(
            info.shape, dtype="int32" if info.dtype == "int64" else "float32", name=info.name
        )
        for info in program.inputs
    }
    for node in program.nodes:
        layer = keras_layer(node)
        args = [tensors[name] for name in node.inputs]
        tensors[node.name] = layer(args if isinstance(node.op, ir.MergeOp) else args[0])
        load_weights(layer, node, weights)
    return keras.Model(
        [tensors[info.name] for info in program.inputs],
        [tensors[output.name] for output in program.outputs],
    )


def keras_run(program: ir.Program, weights, inputs) -> list[np.ndarray]:
    model = keras_model(program, weights)
    outputs = model([inputs[info.name] for info in program.inputs], training=False)
    return [np.asarray(y) for y in (outputs if isinstance(outputs, list) else [outputs])]


# --- the comparisons ---


def _compare(case_id: str, program: ir.Program, seed: int = 0) -> None:
    weights, inputs = random_weights(program, seed), random_inputs(program, seed=seed + 1)
    expected = keras_run(program, weights, inputs)
    got = reference.run(program, weights, inputs)
    assert len(got) == len(expected) == len(program.outputs)
    for output, ours, theirs in zip(program.outputs, got, expected):
        assert ours.shape == theirs.shape == (3, *output.shape), (ours.shape, theirs.shape)
        diff = float(np.max(np.abs(ours - theirs)))
        assert diff < TOLERANCE, f"{case_id} {output.name}: max abs diff {diff:.3g}"


def test_cases_cover_every_kind():
    nodes = [node for _, body in CASES for node in load(body).nodes]
    covered = {node.op.kind for node in nodes}
    covered |= {node.op.layer.kind for node in nodes if node.op.kind == "bidirectional"}
    assert set(ir.LAYERS) - covered == set()


@pytest.mark.parametrize("case_id, body", CASES, ids=[case_id for case_id, _ in CASES])
def test_reference_matches_keras(case_id: str, body: str):
    _compare(case_id, load(body))


@pytest.mark.parametrize("activation", ["softmax", "sigmoid"])
def test_predict_applies_the_output_activation(activation: str):
    program = load(f"input vector(6)\ndense(4)\ndense(3, activation={activation})")
    assert program.outputs[0].activation == activation
    weights, inputs = random_weights(program), random_inputs(program)
    logits = keras_run(program, weights, inputs)[0]
    expected = np.asarray(getattr(keras.activations, activation)(logits))
    got = reference.predict(program, weights, inputs["input"], probabilities=True)
    assert np.max(np.abs(got - expected)) < TOLERANCE
    assert np.allclose(reference.predict(program, weights, inputs["input"]), logits, atol=1e-5)


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_transpose_output_matches_keras(padding: str):
    """shapes.transpose_output's length and crop, through the reference, for n 3..6,
    k 1..5, s 1..3: the rows and columns of one layer take two (n, k, s) combinations."""
    combos = [(n, k, s) for n in range(3, 7) for k in range(1, 6) for s in range(1, 4)]
    pairs = zip(combos, combos[len(combos) // 2 :] + combos[: len(combos) // 2])
    rng = np.random.default_rng(2)
    for (n, k, s), (n2, k2, s2) in pairs:
        program = load(
            f"input image({n}, {n2}, 2)\n"
            f"conv2d_transpose(3, ({k}, {k2}), stride=({s}, {s2}), padding={padding})"
        )
        node = program.nodes[0]
        layer = keras.layers.Conv2DTranspose(3, (k, k2), strides=(s, s2), padding=padding)
        x = rng.normal(size=(2, n, n2, 2)).astype(np.float32)
        layer.build(x.shape)
        weights = random_weights(program, seed=n + k + s)
        load_weights(layer, node, weights)
        expected = np.asarray(layer(x))
        assert expected.shape[1:] == node.output_shape, ((n, k, s), (n2, k2, s2), padding)
        got = reference.run(program, weights, x)[0]
        assert np.max(np.abs(got - expected)) < TOLERANCE, ((n, k, s), (n2, k2, s2), padding)
