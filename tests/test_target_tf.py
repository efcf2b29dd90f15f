"""The native TensorFlow target (tf): contract, numerics against numpy, optimizers, training.

The references here are written from the IR's definitions (dsl/ir.py, docs) in plain numpy,
independent of TensorFlow: a forward pass that pads exactly as `LayerInfo.padding` says, and
each optimizer's update formula as dsl/ir.py states it.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import itertools
import math
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import black
import numpy as np
import pytest

from nndsl import codegen, ir
from nndsl.infer import analyse
from nndsl.parser import parse
from tests.conftest import import_generated, program_of

tf = pytest.importorskip("tensorflow")

TARGET = importlib.import_module("nndsl.targets.tf.target").TARGET
ROOT = Path(__file__).resolve().parents[1]
SPECS = sorted((ROOT / "specs").glob("*.nn"))
NUMERIC_SPECS = ("cnn", "lenet5", "mlp", "stride")
ATOL = 1e-5
MNIST = Path(os.environ.get("NNDSL_DATA_DIR", Path.home() / ".cache" / "nndsl")) / "mnist"

# every remaining layer kind, activation and initializer, in shapes small enough to check
ZOO = {
    "sequence": """
model zoo_sequence {
    input sequence(12, 4)
    conv1d(6, 3, padding=same, dilation=2, groups=2, activation=selu)
    maxpool1d(2, padding=same)
    conv1d(4, 2, stride=2, padding=same, activation=silu)
    avgpool1d(2, stride=1, padding=same)
    dense(5, activation=gelu(true))
    reshape((15,))
    elu(0.5)
    dense(3, kernel_initializer=he_normal, bias_initializer=glorot_normal)
}
""",
    "image": """
model zoo_image {
    input image(9, 7, 4)
    conv2d(6, (3, 2), dilation=2, groups=2, padding=same, kernel_initializer=he_uniform)
    batchnorm(center=false, scale=false)
    tanh()
    conv2d(8, 3, stride=(2, 1), use_bias=false, activation=sigmoid)
    maxpool2d((2, 3), stride=1, padding=same)
    avgpool2d(3, stride=2, padding=same)
    softmax()
    reshape((-1, 4))
    dense(3)
}
""",
    "tokens": """
model zoo_tokens {
    input tokens(6)
    embedding(20, 4)
    flatten()
    dropout(0.3)
    dense(4, activation=leaky_relu(0.2))
    linear()
    dense(2, activation=sigmoid)
}
""",
    "global": """
model zoo_global {
    input image(6, 6, 3)
    conv2d(4, 3, activation=relu, kernel_initializer=glorot_normal)
    global_maxpool2d()
}
""",
}


# --- helpers ---


def program_from(text: str, name: str = "spec.nn") -> ir.Program:
    return analyse(parse(text, name), source=name)


def render(program: ir.Program) -> str:
    return codegen.render(program, TARGET, f"specs/{program.name}.nn")


def load_module(program: ir.Program, folder: Path) -> ModuleType:
    """Render, write and import a generated tf module under a unique name."""
    return import_generated(program, "tf", folder)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("gen_tf")


@pytest.fixture(scope="module")
def modules(folder: Path):
    cache: dict[str, tuple[ir.Program, ModuleType]] = {}

    def get(key: str) -> tuple[ir.Program, ModuleType]:
        if key not in cache:
            program = (
                program_from(ZOO[key]) if key in ZOO else program_of(ROOT / f"specs/{key}.nn")
            )
            cache[key] = (program, load_module(program, folder))
        return cache[key]

    return get


def random_weights(program: ir.Program, seed: int = 0) -> dict[str, np.ndarray]:
    """Canonical weights with non-trivial biases, scales and statistics."""
    rng = np.random.default_rng(seed)
    out = {}
    for weight in program.weights:
        if weight.name.endswith("moving_variance"):
            value = rng.uniform(0.5, 1.5, weight.shape)
        elif len(weight.shape) >= 2:
            limit = np.sqrt(6.0 / (np.prod(weight.shape[:-1]) + weight.shape[-1]))
            value = rng.uniform(-limit, limit, weight.shape)
        else:
            value = rng.normal(1.0 if weight.name.endswith("gamma") else 0.0, 0.2, weight.shape)
        out[weight.name] = value.astype(np.float32)
    return out


def random_inputs(program: ir.Program, batch: int = 5, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if isinstance(program.spec.model.input, ir.Tokens):
        vocab = program.layers[0].op.input_dim
        return rng.integers(0, vocab, (batch, *program.input_shape)).astype(np.int64)
    return rng.uniform(-1.0, 1.0, (batch, *program.input_shape)).astype(np.float32)


# --- numpy reference forward pass (float64, canonical layout, IR padding) ---


def _windows(x, window, stride, dilation, pads, out, fill):
    """Yield (offset, patch) per window position: patch (N, *out, C) of the padded input."""
    padded = np.pad(x, [(0, 0), *pads, (0, 0)], constant_values=fill)
    for offset in itertools.product(*(range(k) for k in window)):
        index = tuple(
            slice(o * d, o * d + (n - 1) * s + 1, s)
            for o, d, n, s in zip(offset, dilation, out, stride, strict=True)
        )
        yield offset, padded[(slice(None), *index)]


def np_conv(x, info, weights):
    op = info.op
    kernel = weights[f"{info.name}.kernel"].astype(np.float64)
    out = np.zeros((len(x), *info.output_shape))
    per_in, per_out = kernel.shape[-2], op.filters // op.groups
    for offset, patch in _windows(
        x, op.kernel, op.stride, op.dilation, info.padding, info.output_shape[:-1], 0.0
    ):
        for g in range(op.groups):
            inputs = patch[..., g * per_in : (g + 1) * per_in]
            out[..., g * per_out : (g + 1) * per_out] += (
                inputs @ kernel[offset][:, g * per_out : (g + 1) * per_out]
            )
    if op.use_bias:
        out += weights[f"{info.name}.bias"]
    return out


def np_pool(x, info, is_max):
    op = info.op
    ones = (1,) * len(op.size)
    shape = info.output_shape[:-1]
    patches = [p for _, p in _windows(x, op.size, op.stride, ones, info.padding, shape, -np.inf)]
    if is_max:
        return np.max(patches, axis=0)
    counts = [
        p for _, p in _windows(np.ones_like(x), op.size, op.stride, ones, info.padding, shape, 0.0)
    ]
    valid = [np.isfinite(p) for p in patches]
    total = np.sum([np.where(v, p, 0.0) for p, v in zip(patches, valid, strict=True)], axis=0)
    return total / np.sum(counts, axis=0)


def np_activation(x, op):
    erf = np.vectorize(math.erf)
    if op.kind == "linear":
        return x
    if op.kind == "relu":
        return np.maximum(x, 0.0)
    if op.kind == "sigmoid":
        return 1.0 / (1.0 + np.exp(-x))
    if op.kind == "tanh":
        return np.tanh(x)
    if op.kind == "softmax":
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    if op.kind == "leaky_relu":
        return np.where(x > 0, x, op.negative_slope * x)
    if op.kind == "elu":
        return np.where(x > 0, x, op.alpha * np.expm1(np.minimum(x, 0.0)))
    if op.kind == "selu":
        alpha, scale = 1.6732632423543772, 1.0507009873554805
        return scale * np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))
    if op.kind == "gelu" and op.approximate:
        return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x**3)))
    if op.kind == "gelu":
        return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))
    if op.kind == "silu":
        return x / (1.0 + np.exp(-x))
    raise AssertionError(op.kind)


def np_forward(program, weights, x):
    """Logits of `program` in float64, inference mode."""
    x = x.astype(np.float64) if x.dtype != np.int64 else x
    for info in program.layers:
        op, name = info.op, info.name
        if op.kind == "dense":
            x = x @ weights[f"{name}.kernel"].astype(np.float64)
            x = x + weights[f"{name}.bias"] if op.use_bias else x
        elif op.kind in ("conv1d", "conv2d"):
            x = np_conv(x, info, weights)
        elif op.kind in ("maxpool1d", "maxpool2d", "avgpool1d", "avgpool2d"):
            x = np_pool(x, info, op.kind.startswith("max"))
        elif op.kind == "global_avgpool2d":
            x = x.mean(axis=(1, 2))
        elif op.kind == "global_maxpool2d":
            x = x.max(axis=(1, 2))
        elif op.kind in ("flatten", "reshape"):
            x = x.reshape((len(x), *info.output_shape))
        elif op.kind == "dropout":
            pass
        elif op.kind == "batchnorm":
            mean = weights[f"{name}.moving_mean"]
            variance = weights[f"{name}.moving_variance"]
            x = (x - mean) / np.sqrt(variance + op.epsilon)
            x = x * weights[f"{name}.gamma"] if op.scale else x
            x = x + weights[f"{name}.beta"] if op.center else x
        elif op.kind == "embedding":
            x = weights[f"{name}.embeddings"].astype(np.float64)[x]
        else:
            x = np_activation(x, op)
        activation = getattr(op, "activation", None)
        if activation is not None:
            x = np_activation(x, activation)
    return x


# --- the contract on every spec ---


@pytest.mark.parametrize("spec", [pytest.param(s.stem, id=s.stem) for s in SPECS])
def test_counts_names_and_round_trip(spec, modules):
    program, module = modules(spec)
    model = module.build_model()
    assert module.count_params(model) == (program.trainable_params, program.non_trainable_params)
    exported = module.export_weights(model)
    assert {k: v.shape for k, v in exported.items()} == {w.name: w.shape for w in program.weights}
    weights = random_weights(program)
    module.import_weights(model, weights)
    for name, value in module.export_weights(model).items():
        np.testing.assert_array_equal(value, weights[name], err_msg=name)


@pytest.mark.parametrize("spec", [pytest.param(s.stem, id=s.stem) for s in SPECS])
def test_import_refuses_bad_arrays(spec, modules):
    program, module = modules(spec)
    model = module.build_model()
    weights = random_weights(program)
    before = module.export_weights(model)
    last = program.weights[-1].name
    pattern = last.replace(".", r"\.")
    with pytest.raises(ValueError, match=pattern):
        module.import_weights(model, {**weights, last: np.zeros((2, 3, 4, 5, 6), np.float32)})
    with pytest.raises(ValueError, match=pattern):
        module.import_weights(model, {k: v for k, v in weights.items() if k != last})
    with pytest.raises(ValueError, match="bogus"):
        module.import_weights(model, {**weights, "bogus.kernel": np.zeros(1, np.float32)})
    for name, value in module.export_weights(model).items():  # nothing assigned on refusal
        np.testing.assert_array_equal(value, before[name], err_msg=name)


@pytest.mark.parametrize("spec", [*NUMERIC_SPECS, *ZOO])
def test_predict_matches_numpy(spec, modules):
    program, module = modules(spec)
    model = module.build_model()
    weights = random_weights(program, seed=5)
    module.import_weights(model, weights)
    x = random_inputs(program)
    got = module.predict(model, x, batch_size=3)  # two batches, the last one partial
    want = np_forward(program, weights, x)
    assert got.shape == (len(x), *program.output_shape)
    assert got.dtype == np.float32
    assert float(np.max(np.abs(got - want))) < ATOL


def test_initializers_follow_keras_formulas(modules):
    _, cnn = modules("cnn")
    cnn.set_seed(0)
    model = cnn.build_model()
    weights = cnn.export_weights(model)
    limit = np.sqrt(6.0 / (9 * 32 + 9 * 64))  # glorot_uniform, fans * receptive field
    kernel = weights["conv2d_2.kernel"]
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.95 * limit
    assert abs(kernel.std() - limit / np.sqrt(3.0)) < 0.02 * limit
    assert not weights["conv2d_2.bias"].any()
    cnn.set_seed(0)
    np.testing.assert_array_equal(cnn.export_weights(cnn.build_model())["conv2d_2.kernel"], kernel)

    _, sequence = modules("sequence")
    sequence.set_seed(1)
    weights = sequence.export_weights(sequence.build_model())
    he_normal = np.sqrt(2.0 / 15)  # truncated at 2 stddev, rescaled to keep this stddev
    assert abs(weights["dense_2.kernel"].std() - he_normal) < 0.35 * he_normal
    assert np.abs(weights["dense_2.kernel"]).max() <= 2 * he_normal / 0.8796256610342398
    _, tokens = modules("tokens")
    table = tokens.export_weights(tokens.build_model())["embedding_1.embeddings"]
    assert np.abs(table).max() <= 0.05 and table.std() > 0.02


def test_dropout_only_in_training(modules):
    program, module = modules("cnn")
    model = module.build_model()
    x = random_inputs(program, batch=4)
    np.testing.assert_array_equal(module.predict(model, x), module.predict(model, x))
    eval_out = model(x, training=False).numpy()
    np.testing.assert_allclose(eval_out, module.predict(model, x), atol=1e-6)
    assert np.abs(model(x, training=True).numpy() - eval_out).max() > 1e-3


# --- training semantics ---

STEP_SPEC = """
model step {{
    input vector(4)
    batchnorm(momentum=0.8, epsilon=0.01)
    dense(3{activation})
}}
train {{
    dataset npz("unused.npz", batch_size=8)
    loss {loss}
    optimizer {optimizer}
}}
"""


def step_module(folder, optimizer="sgd(learning_rate=0.1)", loss="categorical_crossentropy"):
    """A batchnorm + dense(3, softmax) model with the given optimizer and loss."""
    text = STEP_SPEC.format(activation=", activation=softmax", loss=loss, optimizer=optimizer)
    program = program_from(text)
    return program, load_module(program, folder)


def step_data(n=8, classes=3, seed=2):
    rng = np.random.default_rng(seed)
    x = rng.normal(0.5, 2.0, (n, 4)).astype(np.float32)
    return x, rng.integers(0, classes, n).astype(np.int64)


def test_batchnorm_training_moves_statistics(folder):
    program, module = step_module(folder)
    model = module.build_model()
    weights = random_weights(program, seed=1)
    module.import_weights(model, weights)
    x, y = step_data()
    module.train_step(model, module.make_optimizer(model), x, y)
    after = module.export_weights(model)
    momentum = 0.8
    want_mean = momentum * weights["batchnorm_1.moving_mean"] + (1 - momentum) * x.mean(0)
    want_var = momentum * weights["batchnorm_1.moving_variance"] + (1 - momentum) * x.var(0)
    np.testing.assert_allclose(after["batchnorm_1.moving_mean"], want_mean, atol=1e-6)
    np.testing.assert_allclose(after["batchnorm_1.moving_variance"], want_var, atol=1e-5)


def softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


@pytest.mark.parametrize(
    "loss", ["categorical_crossentropy", "sparse_categorical_crossentropy", "mse", "mae"]
)
def test_losses_match_numpy(loss, folder):
    program, module = step_module(folder, loss=loss)
    rng = np.random.default_rng(0)
    logits = rng.normal(0.0, 2.0, (7, 3)).astype(np.float32)
    y = rng.integers(0, 3, 7)
    one_hot = np.eye(3)[y]
    p = softmax(logits.astype(np.float64))
    want = {
        "categorical_crossentropy": -np.mean(np.log(p[np.arange(7), y])),
        "sparse_categorical_crossentropy": -np.mean(np.log(p[np.arange(7), y])),
        "mse": np.mean((p - one_hot) ** 2),
        "mae": np.mean(np.abs(p - one_hot)),
    }[loss]
    assert abs(float(module.compute_loss(logits, y)) - want) < 1e-6
    assert module.LABELS == ("sparse" if loss.startswith("sparse") else "one_hot")


def test_binary_crossentropy_and_accuracy(folder):
    text = STEP_SPEC.format(activation="", loss="binary_crossentropy", optimizer="adam").replace(
        "dense(3)", "dense(1, activation=sigmoid)"
    )
    program = program_from(text)
    module = load_module(program, folder)
    logits = np.array([[2.0], [-1.0], [0.5], [-3.0]], np.float32)
    y = np.array([1, 1, 0, 0])
    p = 1.0 / (1.0 + np.exp(-logits[:, 0].astype(np.float64)))
    want = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert abs(float(module.compute_loss(logits, y)) - want) < 1e-6
    model = module.build_model()
    weights = {"batchnorm_1.gamma": np.ones(4), "batchnorm_1.beta": np.zeros(4)}
    weights |= {"batchnorm_1.moving_mean": np.zeros(4), "batchnorm_1.moving_variance": np.ones(4)}
    weights |= {"dense_1.kernel": np.array([[1.0], [0.0], [0.0], [0.0]]), "dense_1.bias": [0.0]}
    module.import_weights(model, weights)
    x = np.zeros((4, 4), np.float32)
    x[:, 0] = [1.0, -1.0, 1.0, -1.0]
    assert module.evaluate(model, x, np.array([1, 1, 0, 0]))["accuracy"] == 0.5


def np_optimizer(kind, hp, w, g, state, t):
    """One update of the IR's optimizer (dsl/ir.py docstrings) in numpy float64; returns new w."""
    lr = hp["learning_rate"]
    if kind == "sgd":
        v = state.setdefault("v", np.zeros_like(w))
        v[...] = hp["momentum"] * v - lr * g
        return w + (hp["momentum"] * v - lr * g if hp["nesterov"] else v)
    if kind in ("adam", "adamw"):
        if kind == "adamw":
            w = w - w * hp["weight_decay"] * lr
        m = state.setdefault("m", np.zeros_like(w))
        v = state.setdefault("v", np.zeros_like(w))
        b1, b2 = hp["beta_1"], hp["beta_2"]
        alpha = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
        m += (g - m) * (1 - b1)
        v += (g * g - v) * (1 - b2)
        return w - alpha * m / (np.sqrt(v) + hp["epsilon"])
    if kind == "rmsprop":
        s = state.setdefault("s", np.zeros_like(w))
        s[...] = hp["rho"] * s + (1 - hp["rho"]) * g * g
        if hp["centered"]:
            a = state.setdefault("a", np.zeros_like(w))
            a[...] = hp["rho"] * a + (1 - hp["rho"]) * g
            increment = lr * g / np.sqrt(s - a * a + hp["epsilon"])
        else:
            increment = lr * g / np.sqrt(s + hp["epsilon"])
        if hp["momentum"] > 0:
            m = state.setdefault("m", np.zeros_like(w))
            m[...] = hp["momentum"] * m + increment
            return w - m
        return w - increment
    if kind == "adadelta":
        a = state.setdefault("a", np.zeros_like(w))
        b = state.setdefault("b", np.zeros_like(w))
        rho, eps = hp["rho"], hp["epsilon"]
        a[...] = rho * a + (1 - rho) * g * g
        delta = -np.sqrt(b + eps) / np.sqrt(a + eps) * g
        b[...] = rho * b + (1 - rho) * delta * delta
        return w + lr * delta
    if kind == "adagrad":
        a = state.setdefault("a", np.full_like(w, hp["initial_accumulator_value"]))
        a += g * g
        return w - lr * g / np.sqrt(a + hp["epsilon"])  # the IR's (and Keras') form
    raise AssertionError(kind)


OPTIMIZERS = [
    "sgd(learning_rate=0.1)",
    "sgd(learning_rate=0.1, momentum=0.9)",
    "sgd(learning_rate=0.1, momentum=0.9, nesterov=true)",
    "adam(learning_rate=0.01)",
    "adam(learning_rate=0.01, beta_1=0.5, beta_2=0.9, epsilon=0.001)",
    "adamw(learning_rate=0.01, weight_decay=0.1)",
    "rmsprop(learning_rate=0.01)",
    "rmsprop(learning_rate=0.01, rho=0.8, momentum=0.5, centered=true)",
    "adadelta(learning_rate=1.0)",
    "adagrad(learning_rate=0.1)",
    "adagrad(learning_rate=0.1, initial_accumulator_value=0.0001, epsilon=0.01)",
]


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_optimizer_matches_ir_formula(optimizer, folder):
    program, module = step_module(folder, optimizer=optimizer)
    node = program.spec.train.optimizer
    hp = node.model_dump(exclude={"span", "kind"})
    for key, value in hp.items():  # every hyperparameter is a module constant
        assert getattr(module, key.upper()) == value
    model = module.build_model()
    module.import_weights(model, random_weights(program, seed=4))
    variables = model.trainable_variables
    optimizer_object = module.make_optimizer(model)
    rng = np.random.default_rng(9)
    ws = [v.numpy().astype(np.float64) for v in variables]
    states = [{} for _ in ws]
    for t in range(1, 4):
        grads = [rng.normal(0.0, 0.1 * t, w.shape).astype(np.float32) for w in ws]
        optimizer_object.apply_gradients([tf.constant(g) for g in grads], variables)
        ws = [
            np_optimizer(node.kind, hp, w, g.astype(np.float64), s, t)
            for w, g, s in zip(ws, grads, states, strict=True)
        ]
    for v, w in zip(variables, ws, strict=True):
        np.testing.assert_allclose(v.numpy(), w, atol=2e-6, err_msg=v.name)
    assert int(optimizer_object.iterations.numpy()) == 3


def test_train_step_traces_once_and_learns(folder):
    program, module = step_module(folder, optimizer="adam(learning_rate=0.05)")
    module.set_seed(3)
    model = module.build_model()
    optimizer = module.make_optimizer(model)
    x, y = step_data(n=40)
    partial = module.train_step(model, optimizer, x[:13], y[:13])  # another batch size
    losses = [module.train_step(model, optimizer, x, y) for _ in range(20)]
    assert all(isinstance(loss, float) for loss in [partial, *losses])
    assert losses[-1] < 0.9 * losses[0]
    assert optimizer.traced_step.experimental_get_tracing_count() == 1
    assert model.infer.experimental_get_tracing_count() == 0  # predict not used yet
    module.predict(model, x, batch_size=16)  # 16, 16, 8
    assert model.infer.experimental_get_tracing_count() == 1


def test_embedding_trains_with_dense_updates(folder):
    text = ZOO["tokens"].replace("dropout(0.3)\n", "").replace("sigmoid", "softmax").rstrip()
    text += '\ntrain {\n    dataset npz("unused.npz")\n    loss sparse_categorical_crossentropy\n'
    text += "    optimizer adam(learning_rate=0.1)\n}\n"
    program = program_from(text)
    module = load_module(program, folder)
    model = module.build_model()
    before = module.export_weights(model)["embedding_1.embeddings"]
    x = np.array([[1, 2, 3, 1, 2, 3], [3, 2, 1, 3, 2, 1]], np.int64)
    loss = module.train_step(model, module.make_optimizer(model), x, np.array([0, 1]))
    after = module.export_weights(model)["embedding_1.embeddings"]
    assert np.isfinite(loss)
    assert np.abs(after[1:4] - before[1:4]).min() > 0.05  # Adam moves used rows by ~lr
    np.testing.assert_array_equal(after[4:], before[4:])  # unused rows: zero gradient


def test_train_returns_history_with_validation(folder):
    program, module = step_module(folder, optimizer="sgd(learning_rate=0.1, momentum=0.9)")
    module.set_seed(0)
    model = module.build_model()
    x, y = step_data(n=50)
    history = module.train(model, x, y, epochs=2, batch_size=16, validation=(x, y), verbose=False)
    assert set(history) == {"loss", "epoch_seconds", "val_accuracy"}
    assert len(history["loss"]) == len(history["epoch_seconds"]) == 2
    assert all(np.isfinite(history["loss"])) and 0.0 <= history["val_accuracy"][-1] <= 1.0
    metrics = module.evaluate(model, x, y, batch_size=16)
    assert set(metrics) == {"loss", "accuracy"}


def test_seed_makes_training_reproducible(folder):
    program, module = step_module(folder, optimizer="adam(learning_rate=0.05)")
    x, y = step_data(n=50)
    runs = []
    for _ in range(2):
        module.set_seed(11)
        model = module.build_model()
        module.train(model, x, y, epochs=1, batch_size=16, verbose=False)
        runs.append(module.export_weights(model))
    for name in runs[0]:
        np.testing.assert_array_equal(runs[0][name], runs[1][name], err_msg=name)


# --- the generated source ---


def test_sources_are_clean_and_standalone(tmp_path):
    for spec in SPECS:
        text = render(program_of(spec))
        assert black.format_str(text, mode=codegen.BLACK_MODE) == text, spec.stem
        (tmp_path / f"{spec.stem}_tf.py").write_text(text)
        imported = set()
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module.split(".")[0])
        assert imported <= set(sys.stdlib_module_names) | {"numpy", "tensorflow"}, spec.stem
        assert "tf.keras" not in text  # native TensorFlow: no Keras layers or optimizers
    ruff = [sys.executable, "-m", "ruff", "check", "--no-cache", "--select", "E,F,W,I,B"]
    result = subprocess.run(
        [*ruff, "--ignore", "E501", str(tmp_path)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_spec_without_train_section(tmp_path):
    text = "model tiny {\n    input image(8, 8, 3)\n    conv2d(4, 3)\n    flatten()\n    dense(2)\n}\n"
    program = program_from(text, "tiny.nn")
    module = load_module(program, tmp_path)
    for name in ("train", "train_step", "make_optimizer", "evaluate", "load_data"):
        assert not hasattr(module, name), name
    model = module.build_model()
    assert module.count_params(model) == (program.trainable_params, 0)
    weights = random_weights(program)
    module.import_weights(model, weights)
    x = random_inputs(program)
    assert float(np.abs(module.predict(model, x) - np_forward(program, weights, x)).max()) < ATOL
    path = tmp_path / "w.npz"
    module.save(model, path)
    np.testing.assert_array_equal(
        module.export_weights(module.load(path))["dense_1.kernel"], weights["dense_1.kernel"]
    )


def test_every_ir_kind_is_rendered():
    from nndsl.targets import ir_kinds

    assert ir_kinds() <= TARGET.kinds and not TARGET.unsupported


@pytest.mark.slow
@pytest.mark.skipif(not (MNIST / "train-labels-idx1-ubyte").exists(), reason="MNIST not fetched")
def test_command_line_trains_on_mnist(tmp_path):
    program = program_of(ROOT / "specs" / "mlp.nn")
    package = tmp_path / "generated"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "mlp_tf.py").write_text(render(program))
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    run = [sys.executable, "-m", "generated.mlp_tf"]
    result = subprocess.run(
        [*run, "train", "--epochs", "2", "--limit", "2000", "--json", "r.json", "--save", "w.npz"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "epoch 2/2" in result.stdout and "test accuracy" in result.stdout
    import json

    record = json.loads((tmp_path / "r.json").read_text())
    assert record["trainable_params"] == 159010 and record["test_accuracy"] > 0.5
    result = subprocess.run(
        [*run, "evaluate", "--weights", "w.npz", "--limit", "2000"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert f"test accuracy {record['test_accuracy']:.4f}" in result.stdout
