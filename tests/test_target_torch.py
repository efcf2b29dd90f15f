"""The torch target: generated modules against independent numpy references.

Forward passes are recomputed in float64 numpy on canonical (channels-last, HWIO, (in, out))
weights; optimizer steps and BatchNorm statistics against the IR's (Keras 3's) formulas.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import black
import numpy as np
import pytest

from nndsl import codegen, ir
from nndsl.infer import analyse
from nndsl.parser import parse
from tests.conftest import ROOT, SPECS, program_of, random_inputs, random_weights

TARGET = importlib.import_module("nndsl.targets.torch.target").TARGET
PYTHON = sys.executable
ATOL_FLOAT32 = 1e-5

# Every layer kind, asymmetric and symmetric `same` padding on convs and both pools, dilation,
# groups, mid-network activations, batchnorm without centre, reshape, rank-2 dense.
ZOO_IMAGE = """
model zoo_image {
    input image(9, 9, 3)
    conv2d(4, 2, stride=2, padding=same, activation=selu)
    conv2d(6, 3, padding=same, dilation=2, groups=2, activation=silu)
    maxpool2d(2, stride=1, padding=same)
    avgpool2d(4, stride=1, padding=same)
    avgpool2d(2, padding=same)
    batchnorm(momentum=0.8, epsilon=0.01, center=false)
    gelu(approximate=true)
    conv2d(5, (1, 2), use_bias=false, activation=tanh)
    softmax()
    global_maxpool2d()
    dense(7, activation=leaky_relu(0.2))
    elu(0.5)
    reshape((7, 1))
    flatten()
    sigmoid()
    dense(3)
}
train {
    dataset npz("unused.npz", batch_size=4)
    loss categorical_crossentropy
    optimizer adamw
}
"""
ZOO_SEQUENCE = """
model zoo_sequence {
    input sequence(11, 3)
    conv1d(4, 4, stride=2, padding=same, activation=relu)
    maxpool1d(3, stride=2, padding=same)
    avgpool1d(2, padding=same)
    dense(5, activation=softmax)
    conv1d(4, 2, dilation=2, padding=same)
    reshape((2, 2, 2))
    global_avgpool2d()
    dense(2, activation=sigmoid)
}
train {
    dataset npz("unused.npz", batch_size=4)
    loss mse
    optimizer rmsprop(momentum=0.5, centered=true)
}
"""
ZOO_TOKENS = """
model zoo_tokens {
    input tokens(6)
    embedding(20, 4)
    conv1d(3, 3, activation=relu)
    batchnorm()
    flatten()
    dropout(0.3)
    dense(2)
}
train {
    dataset npz("unused.npz", batch_size=4)
    loss sparse_categorical_crossentropy
    optimizer adagrad
}
"""
ZOOS = {"zoo_image": ZOO_IMAGE, "zoo_sequence": ZOO_SEQUENCE, "zoo_tokens": ZOO_TOKENS}


def generate(program: ir.Program) -> str:
    return codegen.render(program, TARGET, f"specs/{program.name}.nn")


def import_module(program: ir.Program, folder: Path, tag: str = "", text: str | None = None):
    """Render `program` into `folder` and import it under a unique name."""
    name = f"{program.name}_torch{tag}"
    path = folder / f"{name}.py"
    path.write_text(text or generate(program))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def zoo_program(name: str) -> ir.Program:
    return analyse(parse(ZOOS[name], f"{name}.nn"))


PROGRAMS = {spec.stem: program_of(spec) for spec in SPECS}
PROGRAMS.update({name: zoo_program(name) for name in ZOOS})


@functools.cache
def rendered(name: str) -> str:
    """The module for PROGRAMS[name], rendered once per session (black is slow)."""
    return codegen.render(PROGRAMS[name], TARGET, f"specs/{name}.nn")


@pytest.fixture(scope="module")
def modules(tmp_path_factory):
    folder = tmp_path_factory.mktemp("torch_generated")
    cache = {}

    def get(name: str):
        if name not in cache:
            cache[name] = import_module(PROGRAMS[name], folder, text=rendered(name))
        return cache[name]

    return get


# --- numpy reference forward pass (canonical layout, float64) ---


def _erf(x):
    return np.vectorize(math.erf)(x)


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


ACTIVATIONS = {
    "linear": lambda x, op: x,
    "relu": lambda x, op: np.maximum(x, 0),
    "sigmoid": lambda x, op: 1 / (1 + np.exp(-x)),
    "tanh": lambda x, op: np.tanh(x),
    "softmax": lambda x, op: _softmax(x),
    "leaky_relu": lambda x, op: np.where(x > 0, x, op.negative_slope * x),
    "elu": lambda x, op: np.where(x > 0, x, op.alpha * (np.exp(x) - 1)),
    "selu": lambda x, op: 1.0507009873554805
    * np.where(x > 0, x, 1.6732632423543772 * (np.exp(x) - 1)),
    "gelu": lambda x, op: (
        0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
        if op.approximate
        else 0.5 * x * (1 + _erf(x / math.sqrt(2)))
    ),
    "silu": lambda x, op: x / (1 + np.exp(-x)),
}


def _lift(x, layer):
    """View a rank-1 (steps, channels) op as 2-D with height 1."""
    if len(layer.input_shape) == 2:
        return x[:, None], ((0, 0), *layer.padding)
    return x, layer.padding


def _windows(x, size, stride, dilation, out):
    """Yield (window index, strided slice) for every kernel offset."""
    for offsets in np.ndindex(*size):
        index = tuple(
            slice(o * d, o * d + (n - 1) * s + 1, s)
            for o, d, n, s in zip(offsets, dilation, out, stride, strict=True)
        )
        yield offsets, x[(slice(None), *index)]


def np_conv(x, layer, w):
    op = layer.op
    x, padding = _lift(x, layer)
    kernel = w[f"{layer.name}.kernel"]
    size, stride, dilation = op.kernel, op.stride, op.dilation
    if op.rank == 1:
        kernel, size, stride, dilation = kernel[None], (1, *size), (1, *stride), (1, *dilation)
    x = np.pad(x, ((0, 0), *padding, (0, 0)))
    out_spatial = (1, *layer.output_shape[:-1]) if op.rank == 1 else layer.output_shape[:-1]
    cin, cout = kernel.shape[-2], kernel.shape[-1] // op.groups
    y = np.zeros((len(x), *out_spatial, op.filters))
    for offsets, patch in _windows(x, size, stride, dilation, out_spatial):
        for g in range(op.groups):
            k = kernel[offsets][:, g * cout : (g + 1) * cout]
            y[..., g * cout : (g + 1) * cout] += patch[..., g * cin : (g + 1) * cin] @ k
    if op.use_bias:
        y = y + w[f"{layer.name}.bias"]
    y = y.reshape((len(y), *layer.output_shape))
    return ACTIVATIONS[op.activation.kind](y, op.activation)


def np_pool(x, layer, kind):
    op = layer.op
    x, padding = _lift(x, layer)
    size, stride = op.size, op.stride
    if op.rank == 1:
        size, stride = (1, *size), (1, *stride)
    out_spatial = (1, *layer.output_shape[:-1]) if op.rank == 1 else layer.output_shape[:-1]
    pad = ((0, 0), *padding, (0, 0))
    if kind == "max":
        xp = np.pad(x, pad, constant_values=-np.inf)
        y = np.full((len(x), *out_spatial, x.shape[-1]), -np.inf)
        for _, patch in _windows(xp, size, stride, (1, 1), out_spatial):
            y = np.maximum(y, patch)
    else:
        xp, ones = np.pad(x, pad), np.pad(np.ones_like(x), pad)
        total = np.zeros((len(x), *out_spatial, x.shape[-1]))
        count = np.zeros_like(total)
        for (_, patch), (_, valid) in zip(
            _windows(xp, size, stride, (1, 1), out_spatial),
            _windows(ones, size, stride, (1, 1), out_spatial),
            strict=True,
        ):
            total, count = total + patch, count + valid
        y = total / count
    return y.reshape((len(y), *layer.output_shape))


def np_forward(program: ir.Program, w: dict, x: np.ndarray) -> np.ndarray:
    w = {k: v.astype(np.float64) for k, v in w.items()}
    x = x if x.dtype == np.int64 else x.astype(np.float64)
    for layer in program.layers:
        op, kind, name = layer.op, layer.op.kind, layer.name
        if kind == "dense":
            x = x @ w[f"{name}.kernel"] + (w[f"{name}.bias"] if op.use_bias else 0)
            x = ACTIVATIONS[op.activation.kind](x, op.activation)
        elif kind in ("conv1d", "conv2d"):
            x = np_conv(x, layer, w)
        elif kind in ("maxpool1d", "maxpool2d"):
            x = np_pool(x, layer, "max")
        elif kind in ("avgpool1d", "avgpool2d"):
            x = np_pool(x, layer, "avg")
        elif kind == "global_avgpool2d":
            x = x.mean(axis=(1, 2))
        elif kind == "global_maxpool2d":
            x = x.max(axis=(1, 2))
        elif kind in ("flatten", "reshape"):
            x = x.reshape((len(x), *layer.output_shape))
        elif kind == "dropout":
            pass
        elif kind == "batchnorm":
            x = (x - w[f"{name}.moving_mean"]) / np.sqrt(w[f"{name}.moving_variance"] + op.epsilon)
            x = x * w.get(f"{name}.gamma", 1.0) + w.get(f"{name}.beta", 0.0)
        elif kind == "embedding":
            x = w[f"{name}.embeddings"][x]
        else:
            x = ACTIVATIONS[kind](x, op)
    return x


# --- structure: counts, weights, rendering ---


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_counts_and_weight_round_trip(name, modules):
    program, module = PROGRAMS[name], modules(name)
    model = module.build_model()
    assert module.count_params(model) == (program.trainable_params, program.non_trainable_params)
    exported = module.export_weights(model)
    assert [(k, v.shape) for k, v in exported.items()] == [
        (w.name, w.shape) for w in program.weights
    ]
    weights = random_weights(program)
    module.import_weights(model, weights)
    for key, value in module.export_weights(model).items():
        np.testing.assert_array_equal(value, weights[key], err_msg=key)


def test_import_weights_names_the_bad_array(modules):
    module, program = modules("cnn"), PROGRAMS["cnn"]
    model, weights = module.build_model(), random_weights(program)
    with pytest.raises(ValueError, match=r"conv2d_2\.kernel"):
        module.import_weights(model, {**weights, "conv2d_2.kernel": np.zeros((3, 3, 64, 32))})
    with pytest.raises(ValueError, match=r"dense_1\.bias"):
        module.import_weights(model, {k: v for k, v in weights.items() if k != "dense_1.bias"})
    with pytest.raises(ValueError, match="extra"):
        module.import_weights(model, {**weights, "extra.kernel": np.zeros(1)})


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_predict_matches_numpy_reference(name, modules):
    program, module = PROGRAMS[name], modules(name)
    model = module.build_model()
    weights = random_weights(program)
    module.import_weights(model, weights)
    x = random_inputs(program, batch=5)
    got = module.predict(model, x, batch_size=2)  # several batches, one partial
    want = np_forward(program, weights, x)
    assert got.shape == (5, *program.output_shape) and got.dtype == np.float32
    assert float(np.max(np.abs(got - want))) < ATOL_FLOAT32


def test_generated_code_is_ruff_clean_and_black_stable(tmp_path):
    folder = tmp_path / "generated"
    folder.mkdir()
    for name in PROGRAMS:
        text = rendered(name)
        assert black.format_str(text, mode=codegen.BLACK_MODE) == text, name
        (folder / f"{name}_torch.py").write_text(text)
    ruff(folder)


def test_emitted_semantics(modules):
    """The traps of docs/semantics: padding, pool divisor, BN momentum/eps, GELU, flatten."""
    text = Path(modules("stride").__file__).read_text()
    assert "x = F.pad(x, (0, 1, 0, 1))" in text  # asymmetric TF same, then padding=0
    assert "nn.Conv2d(1, 8, kernel_size=3, stride=2, padding=0)" in text
    assert "BatchNorm(8, momentum=0.1, eps=0.001" in text  # 1 - IR momentum
    assert "count_include_pad=False" in text
    assert 'F.gelu(self.conv2d_2(x), approximate="none")' in text
    assert "F.leaky_relu(x, negative_slope=0.1)" in text
    zoo = Path(modules("zoo_image").__file__).read_text()
    assert 'value=float("-inf")' in zoo and "torch.ones_like(x[:1, :1])" in zoo
    cnn = Path(modules("cnn").__file__).read_text()
    assert "x = x.permute(0, 2, 3, 1)" in cnn  # flatten in (H, W, C) order
    assert "nn.init.xavier_uniform_(self.conv2d_1.weight" in cnn
    assert 'nn.CrossEntropyLoss(reduction="mean")' in cnn
    assert "class CnnNet(nn.Module)" in cnn


def ruff(*paths: Path, ignore: str = "E501") -> None:
    select = ["--select", "E,F,W,I,B,UP", "--ignore", ignore]
    result = subprocess.run(
        [PYTHON, "-m", "ruff", "check", "--no-cache", *select, *map(str, paths)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_spec_without_train_section(tmp_path):
    source = "model tiny {\n    input image(8, 8, 3)\n    conv2d(4, 3)\n}\n"
    program = analyse(parse(source, "tiny.nn"))
    text = generate(program)
    assert black.format_str(text, mode=codegen.BLACK_MODE) == text
    (tmp_path / "tiny.py").write_text(text)
    ruff(tmp_path / "tiny.py")
    module = import_module(program, tmp_path)
    for absent in ("train", "evaluate", "make_optimizer", "train_step", "load_data"):
        assert not hasattr(module, absent), absent
    model = module.build_model()
    weights = random_weights(program)
    module.import_weights(model, weights)
    x = random_inputs(program, batch=3)
    got = module.predict(model, x)
    assert got.shape == (3, 6, 6, 4)  # a channels-last output comes back canonical
    np.testing.assert_allclose(got, np_forward(program, weights, x), atol=ATOL_FLOAT32)
    module.main(["summary"])


def test_initialisers_follow_the_ir(tmp_path):
    source = """
model inits {
    input vector(400)
    dense(300, kernel_initializer=he_normal, bias_initializer=glorot_uniform)
    dense(300, kernel_initializer=glorot_normal, bias_initializer=ones)
    dense(200, kernel_initializer=he_uniform)
    dense(100)
}
"""
    module = import_module(analyse(parse(source, "inits.nn")), tmp_path)
    module.set_seed(0)
    w = module.export_weights(module.build_model())
    std = math.sqrt(2 / 400)  # Keras: truncated normal at 2 sigma with this variance
    kernel = w["dense_1.kernel"]
    assert abs(kernel.std() / std - 1) < 0.03 and np.abs(kernel).max() <= 2 * std / 0.8796 + 1e-6
    limit = math.sqrt(6 / 600)  # glorot uniform on a 1-D bias: fan_in = fan_out = 300
    assert np.abs(w["dense_1.bias"]).max() <= limit and np.abs(w["dense_1.bias"]).max() > limit / 2
    assert abs(w["dense_2.kernel"].std() / math.sqrt(2 / 600) - 1) < 0.03
    np.testing.assert_array_equal(w["dense_2.bias"], 1.0)
    he = w["dense_3.kernel"]
    assert np.abs(he).max() <= math.sqrt(6 / 300) and np.abs(he).max() > 0.95 * math.sqrt(6 / 300)
    glorot = w["dense_4.kernel"]
    assert np.abs(glorot).max() <= math.sqrt(6 / 300) and np.abs(glorot).max() > 0.9 * math.sqrt(
        6 / 300
    )
    np.testing.assert_array_equal(w["dense_4.bias"], 0.0)


def test_embedding_initialiser(modules):
    module = modules("zoo_tokens")
    table = module.export_weights(module.build_model())["embedding_1.embeddings"]
    assert np.abs(table).max() <= 0.05 and np.abs(table).max() > 0.04


# --- training: optimizers, losses, BatchNorm statistics ---


def tiny_program(optimizer: str, loss: str = "categorical_crossentropy", units: int = 3):
    activation = "sigmoid" if loss == "binary_crossentropy" else "softmax"
    source = f"""
model tiny {{
    input vector(4)
    dense({units}, activation={activation})
}}
train {{
    dataset npz("unused.npz", batch_size=8)
    loss {loss}
    optimizer {optimizer}
}}
"""
    return analyse(parse(source, "tiny.nn"))


def np_gradients(w, b, x, y):
    """Mean categorical cross-entropy of softmax(x @ w + b): value and gradients."""
    p = _softmax(x @ w + b)
    onehot = np.eye(w.shape[1])[y]
    dz = (p - onehot) / len(x)
    return -np.mean(np.log(p[np.arange(len(x)), y])), x.T @ dz, dz.sum(0)


def np_optimizer(op: ir.Node):
    """The IR's (Keras 3's) update rules, one closure per parameter state."""
    state: dict = {}

    def update(key, w, g):
        s = state.setdefault(key, {"t": 0, "a": 0.0, "b": 0.0, "c": 0.0})
        s["t"] += 1
        t = s["t"]
        if op.kind == "sgd":
            s["a"] = op.momentum * s["a"] - op.learning_rate * g
            return w + (op.momentum * s["a"] - op.learning_rate * g if op.nesterov else s["a"])
        if op.kind in ("adam", "adamw"):
            if op.kind == "adamw":
                w = w - op.learning_rate * op.weight_decay * w
            s["a"] = op.beta_1 * s["a"] + (1 - op.beta_1) * g
            s["b"] = op.beta_2 * s["b"] + (1 - op.beta_2) * g * g
            lr_t = op.learning_rate * math.sqrt(1 - op.beta_2**t) / (1 - op.beta_1**t)
            return w - lr_t * s["a"] / (np.sqrt(s["b"]) + op.epsilon)
        if op.kind == "rmsprop":
            s["a"] = op.rho * s["a"] + (1 - op.rho) * g * g
            denominator = s["a"] + op.epsilon
            if op.centered:
                s["c"] = op.rho * s["c"] + (1 - op.rho) * g
                denominator = denominator - s["c"] ** 2
            step = op.learning_rate * g / np.sqrt(denominator)
            if op.momentum > 0:
                s["b"] = op.momentum * s["b"] + step
                step = s["b"]
            return w - step
        if op.kind == "adadelta":
            s["a"] = op.rho * s["a"] + (1 - op.rho) * g * g
            delta = -np.sqrt(s["b"] + op.epsilon) * g / np.sqrt(s["a"] + op.epsilon)
            s["b"] = op.rho * s["b"] + (1 - op.rho) * delta * delta
            return w + op.learning_rate * delta
        if op.kind == "adagrad":
            if t == 1:
                s["a"] = op.initial_accumulator_value
            s["a"] = s["a"] + g * g
            return w - op.learning_rate * g / np.sqrt(s["a"] + op.epsilon)
        raise AssertionError(op.kind)

    return update


OPTIMIZERS = [
    "sgd(learning_rate=0.1)",
    "sgd(learning_rate=0.1, momentum=0.9)",
    "sgd(learning_rate=0.1, momentum=0.9, nesterov=true)",
    "adam(learning_rate=0.01)",
    "adam(learning_rate=0.01, beta_1=0.5, beta_2=0.9, epsilon=0.1)",
    "adamw(learning_rate=0.01, weight_decay=0.1)",
    "rmsprop(learning_rate=0.01)",
    "rmsprop(learning_rate=0.01, momentum=0.5, epsilon=0.01)",
    "rmsprop(learning_rate=0.01, centered=true, epsilon=0.01)",
    "adadelta(learning_rate=1.0, epsilon=0.001)",
    "adagrad(learning_rate=0.1, initial_accumulator_value=0.01, epsilon=0.01)",
]


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_optimizer_follows_the_ir_formula(optimizer, tmp_path):
    program = tiny_program(optimizer)
    module = import_module(program, tmp_path)
    rng = np.random.default_rng(0)
    weights = random_weights(program)
    x = rng.normal(size=(8, 4)).astype(np.float32)
    y = rng.integers(0, 3, 8)
    model = module.build_model()
    module.import_weights(model, weights)
    torch_optimizer = module.make_optimizer(model)
    update = np_optimizer(program.spec.train.optimizer)
    w, b = weights["dense_1.kernel"].astype(np.float64), weights["dense_1.bias"].astype(np.float64)
    for _ in range(4):
        loss = module.train_step(model, torch_optimizer, x, y)
        want, dw, db = np_gradients(w, b, x.astype(np.float64), y)
        assert isinstance(loss, float) and abs(loss - want) < 1e-5
        w, b = update("w", w, dw), update("b", b, db)
    got = module.export_weights(model)
    np.testing.assert_allclose(got["dense_1.kernel"], w, atol=2e-6)
    np.testing.assert_allclose(got["dense_1.bias"], b, atol=2e-6)
    assert np.max(np.abs(got["dense_1.kernel"] - weights["dense_1.kernel"])) > 1e-3


@pytest.mark.parametrize(
    ("loss", "units"),
    [
        ("categorical_crossentropy", 3),
        ("sparse_categorical_crossentropy", 3),
        ("binary_crossentropy", 1),
        ("mse", 3),
        ("mae", 3),
    ],
)
def test_losses_and_accuracy(loss, units, tmp_path):
    program = tiny_program("sgd", loss, units)
    module = import_module(program, tmp_path)
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(10, units)).astype(np.float32)
    y = rng.integers(0, max(units, 2), 10)
    z = logits.astype(np.float64)
    if loss == "binary_crossentropy":
        p = 1 / (1 + np.exp(-z[:, 0]))
        want = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
        predicted = (z[:, 0] > 0).astype(int)
    else:
        p, onehot = _softmax(z), np.eye(units)[y]
        want = {
            "mse": np.mean((p - onehot) ** 2),
            "mae": np.mean(np.abs(p - onehot)),
        }.get(loss, -np.mean(np.log(p[np.arange(10), y])))
        predicted = z.argmax(1)
    torch = module.torch
    got = module.compute_loss(torch.as_tensor(logits), torch.as_tensor(y))
    assert abs(float(got) - want) < 1e-6
    correct = module.count_correct(torch.as_tensor(logits), torch.as_tensor(y))
    assert int(correct) == int(np.sum(predicted == y))


def test_batchnorm_moving_statistics_follow_the_ir(tmp_path):
    """Keras convention and the biased batch variance, updated in training mode only."""
    source = """
model bn {
    input image(3, 3, 2)
    batchnorm(momentum=0.9, epsilon=0.001)
    flatten()
    dense(3, activation=softmax)
}
train {
    dataset npz("unused.npz", batch_size=4)
    loss sparse_categorical_crossentropy
    optimizer sgd(learning_rate=0.1)
}
"""
    program = analyse(parse(source, "bn.nn"))
    module = import_module(program, tmp_path)
    weights = random_weights(program)
    model = module.build_model()
    module.import_weights(model, weights)
    x = np.random.default_rng(2).normal(2.0, 3.0, (4, 3, 3, 2)).astype(np.float32)
    y = np.array([0, 1, 2, 0])
    module.predict(model, x)  # inference leaves the statistics alone
    module.train_step(model, module.make_optimizer(model), x, y)
    got = module.export_weights(model)
    mean, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))  # biased
    want_mean = 0.9 * weights["batchnorm_1.moving_mean"] + 0.1 * mean
    want_var = 0.9 * weights["batchnorm_1.moving_variance"] + 0.1 * var
    np.testing.assert_allclose(got["batchnorm_1.moving_mean"], want_mean, rtol=1e-5)
    np.testing.assert_allclose(got["batchnorm_1.moving_variance"], want_var, rtol=1e-5)
    # training mode normalises with the batch statistics (the gradient step moved gamma)
    assert not np.allclose(got["batchnorm_1.gamma"], weights["batchnorm_1.gamma"])


def test_training_is_seeded_and_deterministic(modules):
    module = modules("cnn")
    rng = np.random.default_rng(3)
    x = rng.uniform(size=(96, 28, 28, 1)).astype(np.float32)
    y = rng.integers(0, 10, 96)
    results = []
    for _ in range(2):
        module.set_seed(11)
        model = module.build_model()
        history = module.train(model, x, y, epochs=2, batch_size=32, verbose=False)
        results.append((history["loss"], module.export_weights(model)))
    assert results[0][0] == results[1][0] and len(results[0][0]) == 2
    for name in results[0][1]:
        np.testing.assert_array_equal(results[0][1][name], results[1][1][name])
    metrics = module.evaluate(module.build_model(), x, y, batch_size=40)
    assert set(metrics) == {"loss", "accuracy"} and 0.0 <= metrics["accuracy"] <= 1.0


@pytest.mark.parametrize("name", sorted(ZOOS))
def test_every_training_path_runs(name, modules):
    program, module = PROGRAMS[name], modules(name)
    module.set_seed(0)
    x = random_inputs(program, batch=10)
    y = np.random.default_rng(0).integers(0, program.output_shape[-1], 10)
    model = module.build_model()
    history = module.train(model, x, y, epochs=2, validation=(x, y), verbose=False)
    assert len(history["val_accuracy"]) == 2 and all(np.isfinite(history["loss"]))
    metrics = module.evaluate(model, x, y)
    assert np.isfinite(metrics["loss"]) and 0.0 <= metrics["accuracy"] <= 1.0


# --- the command line on real MNIST ---


def _mnist() -> bool:
    folder = Path.home() / ".cache" / "nndsl" / "mnist"
    return (folder / "train-images-idx3-ubyte").is_file() or (
        folder / "train-images-idx3-ubyte.gz"
    ).is_file()


def test_command_line_in_process(modules, tmp_path, capsys):
    module = modules("stride")
    with pytest.raises(SystemExit) as exit_info:
        module.main(["--help"])
    assert exit_info.value.code == 0 and "summary" in capsys.readouterr().out
    module.save(module.build_model(), tmp_path / "w.npz")
    module.main(["summary", "--weights", str(tmp_path / "w.npz")])
    assert "stride (torch): 3,370 trainable, 16 non-trainable" in capsys.readouterr().out
    np.save(tmp_path / "x.npy", np.zeros((3, 28, 28, 1), np.float32))
    module.main(["predict", str(tmp_path / "x.npy"), "--output", str(tmp_path / "y.npy")])
    assert np.load(tmp_path / "y.npy").shape == (3, 10)
    if _mnist():
        module.main(["train", "--limit", "256", "--quiet", "--save", str(tmp_path / "t.npz")])
        module.main(["evaluate", "--limit", "256", "--weights", str(tmp_path / "t.npz")])
        assert "test accuracy" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.skipif(not _mnist(), reason="MNIST not fetched")
def test_command_line(tmp_path):
    """`python -m` on the mlp: train, evaluate the saved weights, summary, predict."""
    folder = tmp_path / "generated"
    codegen.generate([ROOT / "specs" / "mlp.nn"], [TARGET], folder)

    def run(*args):
        result = subprocess.run(
            [PYTHON, "-m", "generated.mlp_torch", *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert "summary" in run("--help")
    out = run("train", "--epochs", "1", "--limit", "5000", "--json", "r.json", "--save", "w.npz")
    assert "epoch 1/1" in out and "val_accuracy" not in out  # mlp has no validation split
    record = json.loads((tmp_path / "r.json").read_text())
    assert record["trainable_params"] == 159010 and record["test_accuracy"] > 0.6
    out = run("evaluate", "--weights", "w.npz", "--limit", "5000")
    assert f"test accuracy {record['test_accuracy']:.4f}" in out
    assert "159,010 trainable" in run("summary", "--weights", "w.npz")
    np.save(tmp_path / "x.npy", np.zeros((2, 784), np.float32))
    run("predict", "x.npy", "--weights", "w.npz", "--output", "logits.npy")
    assert np.load(tmp_path / "logits.npy").shape == (2, 10)
