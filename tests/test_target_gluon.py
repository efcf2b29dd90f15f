"""The gluon target: numerics against an independent numpy forward pass and the IR's
optimizer formulas, Gluon-specific traps (layouts, padding, BatchNorm, loss scaling),
rendering hygiene and the command line."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import black
import numpy as np
import pytest

from nndsl import codegen, ir, targets
from nndsl.infer import analyse
from nndsl.parser import parse
from tests.conftest import ROOT, SPECS, import_generated, program_of, random_weights

TARGET = "gluon"
ATOL = 1e-5  # float32 logits of magnitude ~1
PYTHON = sys.executable

# --- an independent numpy forward pass (float64, channels-last, TF padding) ---

_erf = np.vectorize(math.erf)


def np_activation(kind: str, x: np.ndarray, op: ir.Node) -> np.ndarray:
    if kind == "linear":
        return x
    if kind == "relu":
        return np.maximum(x, 0.0)
    if kind == "sigmoid":
        return 1.0 / (1.0 + np.exp(-x))
    if kind == "tanh":
        return np.tanh(x)
    if kind == "softmax":
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    if kind == "leaky_relu":
        return np.where(x > 0, x, op.negative_slope * x)
    if kind == "elu":
        return np.where(x > 0, x, op.alpha * (np.exp(x) - 1.0))
    if kind == "selu":
        alpha, scale = 1.6732632423543772, 1.0507009873554805
        return scale * np.where(x > 0, x, alpha * (np.exp(x) - 1.0))
    if kind == "gelu" and op.approximate:
        return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))
    if kind == "gelu":
        return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))
    if kind == "silu":
        return x / (1.0 + np.exp(-x))
    raise AssertionError(kind)


def np_conv2d(x, kernel, stride, dilation, groups, padding):
    """Channels-last convolution, HWIO kernel, explicit (before, after) padding."""
    x = np.pad(x, ((0, 0), *padding, (0, 0)))
    kh, kw, cin_g, cout = kernel.shape
    _, h, w, _ = x.shape
    (sh, sw), (dh, dw) = stride, dilation
    oh, ow = (h - (kh - 1) * dh - 1) // sh + 1, (w - (kw - 1) * dw - 1) // sw + 1
    out = np.zeros((len(x), oh, ow, cout))
    cout_g = cout // groups
    for g in range(groups):
        xs = x[..., g * cin_g : (g + 1) * cin_g]
        ks = kernel[..., g * cout_g : (g + 1) * cout_g]
        for i in range(kh):
            for j in range(kw):
                patch = xs[:, i * dh : i * dh + (oh - 1) * sh + 1 : sh,
                           j * dw : j * dw + (ow - 1) * sw + 1 : sw]  # fmt: skip
                out[..., g * cout_g : (g + 1) * cout_g] += patch @ ks[i, j]
    return out


def np_pool2d(x, size, stride, padding, is_max):
    """Max pads with -inf; average divides by the real (unpadded) cells of each window."""
    xp = np.pad(x, ((0, 0), *padding, (0, 0)), constant_values=-np.inf if is_max else 0.0)
    count = np.pad(np.ones(x.shape[1:3]), padding)
    (kh, kw), (sh, sw) = size, stride
    oh, ow = (xp.shape[1] - kh) // sh + 1, (xp.shape[2] - kw) // sw + 1
    out = np.zeros((len(x), oh, ow, x.shape[-1]))
    for i in range(oh):
        for j in range(ow):
            window = xp[:, i * sh : i * sh + kh, j * sw : j * sw + kw]
            if is_max:
                out[:, i, j] = window.max(axis=(1, 2))
            else:
                cells = count[i * sh : i * sh + kh, j * sw : j * sw + kw].sum()
                out[:, i, j] = window.sum(axis=(1, 2)) / cells
    return out


def _as_2d(layer: ir.LayerInfo, x, *pairs):
    """View a rank-1 window op as rank 2 with height 1."""
    if layer.op.rank == 2:
        return x, pairs
    return x[:, None], tuple(
        ((0, 0), *p) if p and isinstance(p[0], tuple) else (1, *p) for p in pairs
    )


def np_forward(program: ir.Program, weights: dict, x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    for layer in program.layers:
        op, kind = layer.op, layer.op.kind

        def w(param, layer=layer):
            return weights[f"{layer.name}.{param}"].astype(np.float64)

        if kind == "dense":
            x = x @ w("kernel") + (w("bias") if op.use_bias else 0.0)
        elif kind in ("conv1d", "conv2d"):
            kernel = w("kernel") if op.rank == 2 else w("kernel")[None]
            x2, (stride, dilation, padding) = _as_2d(
                layer, x, op.stride, op.dilation, layer.padding
            )
            x2 = np_conv2d(x2, kernel, stride, dilation, op.groups, padding)
            x = (x2 if op.rank == 2 else x2[:, 0]) + (w("bias") if op.use_bias else 0.0)
        elif kind in ("maxpool1d", "maxpool2d", "avgpool1d", "avgpool2d"):
            x2, (size, stride, padding) = _as_2d(layer, x, op.size, op.stride, layer.padding)
            x2 = np_pool2d(x2, size, stride, padding, kind.startswith("max"))
            x = x2 if op.rank == 2 else x2[:, 0]
        elif kind == "global_avgpool2d":
            x = x.mean(axis=(1, 2))
        elif kind == "global_maxpool2d":
            x = x.max(axis=(1, 2))
        elif kind in ("flatten", "reshape"):
            x = x.reshape((len(x), *layer.output_shape))
        elif kind == "dropout":
            pass
        elif kind == "batchnorm":
            x = (x - w("moving_mean")) / np.sqrt(w("moving_variance") + op.epsilon)
            x = x * (w("gamma") if op.scale else 1.0) + (w("beta") if op.center else 0.0)
        elif kind == "embedding":
            x = w("embeddings")[x.astype(np.int64)]
        else:
            x = np_activation(kind, x, op)
        activation = getattr(op, "activation", None)
        if activation is not None:
            x = np_activation(activation.kind, x, activation)
    return x


# --- specs beyond specs/*.nn: every layer kind, 1-D ops, asymmetric padding ---

EDGE_SPECS = {
    "edge_image": """
model edge_image {
    input image(9, 7, 4)
    conv2d(6, (3, 2), stride=(2, 1), padding=same, groups=2, activation=selu)
    conv2d(6, 3, dilation=2, padding=same, activation=silu, use_bias=false)
    batchnorm(momentum=0.8, epsilon=0.01, center=false, scale=false)
    maxpool2d(2, padding=same)
    avgpool2d((3, 2), stride=(2, 1), padding=same)
    gelu(approximate=true)
    softmax()
    batchnorm(scale=false)
    global_maxpool2d()
    dense(5, activation=tanh)
}
""",
    "edge_sequence": """
model edge_sequence {
    input sequence(11, 3)
    conv1d(4, 4, stride=2, padding=same, activation=elu)
    maxpool1d(3, stride=2, padding=same)
    avgpool1d(2, stride=1, padding=same)
    sigmoid()
    reshape((4, 3))
    dense(5)
    leaky_relu(0.2)
    dropout(0.3)
    flatten()
    dense(3, activation=softmax)
}
""",
    "edge_tokens": """
model edge_tokens {
    input tokens(7)
    embedding(20, 6)
    conv1d(5, 3, padding=same, activation=relu)
    avgpool1d(2)
    flatten()
    dense(4, activation=gelu)
    linear()
}
""",
    "edge_spatial_out": """
model edge_spatial_out {
    input image(5, 6, 2)
    batchnorm(epsilon=0.1)
    dense(3, activation=relu)
    conv2d(4, 2, padding=same)
    batchnorm()
    relu()
}
""",
    "edge_vector": """
model edge_vector {
    input vector(6)
    batchnorm(momentum=0.5)
    dense(4, activation=silu, kernel_initializer=he_normal, bias_initializer=ones)
    dense(3, kernel_initializer=glorot_normal)
    dense(2, kernel_initializer=he_uniform)
}
""",
}


def edge_program(name: str) -> ir.Program:
    return analyse(parse(EDGE_SPECS[name], f"{name}.nn"))


def gluon_module(program: ir.Program, folder: Path):
    return import_generated(program, TARGET, folder)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("gluon")


ALL_PROGRAMS = [pytest.param(spec, id=spec.stem) for spec in SPECS] + [
    pytest.param(name, id=name) for name in EDGE_SPECS
]


def _program(spec) -> ir.Program:
    return edge_program(spec) if isinstance(spec, str) else program_of(spec)


def _inputs(program: ir.Program, batch: int = 6) -> np.ndarray:
    rng = np.random.default_rng(5)
    if isinstance(program.spec.model.input, ir.Tokens):
        vocab = program.layers[0].op.input_dim
        return rng.integers(0, vocab, (batch, *program.input_shape)).astype(np.int64)
    return rng.normal(0.0, 1.0, (batch, *program.input_shape)).astype(np.float32)


@pytest.mark.parametrize("spec", ALL_PROGRAMS)
def test_predict_matches_numpy_reference(spec, folder):
    program = _program(spec)
    module = gluon_module(program, folder)
    model = module.build_model()
    weights = random_weights(program, seed=11)
    module.import_weights(model, weights)
    x = _inputs(program)
    got = module.predict(model, x, batch_size=4)  # two batches, the last one partial
    expected = np_forward(program, weights, x)
    assert got.shape == (len(x), *program.output_shape)
    np.testing.assert_allclose(got, expected, rtol=0, atol=ATOL)
    np.testing.assert_allclose(module.predict(model, x), got, rtol=0, atol=1e-6)  # one batch


@pytest.mark.parametrize("spec", ALL_PROGRAMS)
def test_params_and_weights_follow_the_ir(spec, folder):
    program = _program(spec)
    module = gluon_module(program, folder)
    model = module.build_model()
    assert module.count_params(model) == (program.trainable_params, program.non_trainable_params)
    exported = module.export_weights(model)
    assert {k: v.shape for k, v in exported.items()} == {w.name: w.shape for w in program.weights}
    module.import_weights(model, exported)
    for name, value in module.export_weights(model).items():
        np.testing.assert_array_equal(value, exported[name], err_msg=name)


def test_initialisers_are_the_irs(folder):
    """glorot/he limits and standard deviations, zero/one biases, BatchNorm identity stats."""
    program = edge_program("edge_vector")
    module = gluon_module(program, folder)
    module.set_seed(0)
    weights = module.export_weights(module.build_model())
    np.testing.assert_array_equal(weights["batchnorm_1.gamma"], 1.0)
    np.testing.assert_array_equal(weights["batchnorm_1.moving_variance"], 1.0)
    np.testing.assert_array_equal(weights["batchnorm_1.moving_mean"], 0.0)
    np.testing.assert_array_equal(weights["dense_1.bias"], 1.0)
    np.testing.assert_array_equal(weights["dense_2.bias"], 0.0)
    # he_uniform on (4, 2): limit sqrt(6 / 4); draws fill most of the range
    assert np.abs(weights["dense_3.kernel"]).max() <= math.sqrt(6 / 4)
    big = """
model big {
    input vector(400)
    dense(300)
    dense(200, kernel_initializer=he_normal)
    dense(100, kernel_initializer=glorot_normal)
    dense(50, kernel_initializer=he_uniform)
}
"""
    program = analyse(parse(big, "big.nn"))
    module = gluon_module(program, folder)
    module.set_seed(0)
    weights = module.export_weights(module.build_model())
    glorot = math.sqrt(6 / 700)
    assert glorot * 0.98 < np.abs(weights["dense_1.kernel"]).max() <= glorot
    np.testing.assert_allclose(weights["dense_2.kernel"].std(), math.sqrt(2 / 300), rtol=0.03)
    np.testing.assert_allclose(weights["dense_3.kernel"].std(), math.sqrt(2 / 300), rtol=0.03)
    he = math.sqrt(6 / 100)
    assert he * 0.98 < np.abs(weights["dense_4.kernel"]).max() <= he


def test_seed_reproduces_initial_weights(folder):
    module = gluon_module(program_of(ROOT / "specs" / "cnn.nn"), folder)
    module.set_seed(3)
    first = module.export_weights(module.build_model())
    module.set_seed(3)
    second = module.export_weights(module.build_model())
    for name, value in first.items():
        np.testing.assert_array_equal(second[name], value)


# --- losses and optimizers against the IR's formulas ---


def train_spec(loss: str, optimizer: str, units: int = 3, activation: str = "softmax") -> str:
    return f"""
model step {{
    input vector(4)
    dense({units}, activation={activation})
}}
train {{
    dataset npz("unused.npz", batch_size=8)
    loss {loss}
    optimizer {optimizer}
}}
"""


def _batch(n: int = 8, classes: int = 3):
    rng = np.random.default_rng(9)
    x = rng.normal(0.0, 1.0, (n, 4)).astype(np.float32)
    y = rng.integers(0, classes, n).astype(np.int64)
    return x, y


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


LOSS_CASES = {
    "categorical_crossentropy": (3, "softmax"),
    "sparse_categorical_crossentropy": (3, "softmax"),
    "binary_crossentropy": (1, "sigmoid"),
    "mse": (3, "softmax"),
    "mae": (3, "sigmoid"),
}


def np_loss(loss: str, logits: np.ndarray, y: np.ndarray) -> float:
    if loss == "binary_crossentropy":
        p = 1.0 / (1.0 + np.exp(-logits[:, 0]))
        return float(np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))))
    onehot = np.eye(logits.shape[1])[y]
    if loss == "mse":
        return float(np.mean((_softmax(logits) - onehot) ** 2))
    if loss == "mae":
        return float(np.mean(np.abs(1.0 / (1.0 + np.exp(-logits)) - onehot)))
    return float(np.mean(-np.log(_softmax(logits)[np.arange(len(y)), y])))


@pytest.mark.parametrize("loss", sorted(LOSS_CASES))
def test_loss_is_the_batch_mean_of_the_irs(loss, folder):
    units, activation = LOSS_CASES[loss]
    program = analyse(parse(train_spec(loss, "sgd(learning_rate=0.1)", units, activation), "s.nn"))
    module = gluon_module(program, folder)
    model = module.build_model()
    weights = random_weights(program, seed=2)
    module.import_weights(model, weights)
    x, y = _batch(classes=units if units > 1 else 2)
    logits = x.astype(np.float64) @ weights["dense_1.kernel"] + weights["dense_1.bias"]
    expected = np_loss(loss, logits, y)
    assert module.evaluate(model, x, y, batch_size=3)["loss"] == pytest.approx(expected, abs=1e-6)
    optimizer = module.make_optimizer(model)
    assert module.train_step(model, optimizer, x, y) == pytest.approx(expected, abs=1e-6)


def ir_optimizer(opt: ir.Node):
    """A float64 step function implementing the docstring formulas of dsl/ir.py (Keras 3)."""
    state: dict = {}

    def step(name, w, g, t):
        s = state.setdefault(name, {})
        kind = opt.kind
        if kind == "sgd":
            if opt.momentum == 0:
                return w - opt.learning_rate * g
            v = s["v"] = opt.momentum * s.get("v", 0.0) - opt.learning_rate * g
            return w + (opt.momentum * v - opt.learning_rate * g if opt.nesterov else v)
        if kind in ("adam", "adamw"):
            if kind == "adamw":
                w = w - opt.learning_rate * opt.weight_decay * w
            m = s["m"] = opt.beta_1 * s.get("m", 0.0) + (1 - opt.beta_1) * g
            v = s["v"] = opt.beta_2 * s.get("v", 0.0) + (1 - opt.beta_2) * g * g
            lr_t = opt.learning_rate * math.sqrt(1 - opt.beta_2**t) / (1 - opt.beta_1**t)
            return w - lr_t * m / (np.sqrt(v) + opt.epsilon)
        if kind == "rmsprop":
            sq = s["s"] = opt.rho * s.get("s", 0.0) + (1 - opt.rho) * g * g
            denominator = sq + opt.epsilon
            if opt.centered:
                a = s["a"] = opt.rho * s.get("a", 0.0) + (1 - opt.rho) * g
                denominator = denominator - a * a
            increment = opt.learning_rate * g / np.sqrt(denominator)
            if opt.momentum > 0:
                increment = s["b"] = opt.momentum * s.get("b", 0.0) + increment
            return w - increment
        if kind == "adadelta":
            ag = s["g"] = opt.rho * s.get("g", 0.0) + (1 - opt.rho) * g * g
            delta = -np.sqrt(s.get("d", 0.0) + opt.epsilon) / np.sqrt(ag + opt.epsilon) * g
            s["d"] = opt.rho * s.get("d", 0.0) + (1 - opt.rho) * delta * delta
            return w + opt.learning_rate * delta
        if kind == "adagrad":
            a = s["a"] = s.get("a", opt.initial_accumulator_value) + g * g
            # Keras 3 puts epsilon inside the root (dsl/ir.py's docstring says outside)
            return w - opt.learning_rate * g / np.sqrt(a + opt.epsilon)
        raise AssertionError(kind)

    return step


OPTIMIZER_CASES = {
    "sgd": "sgd(learning_rate=0.1)",
    "sgd_momentum": "sgd(learning_rate=0.1, momentum=0.9)",
    "sgd_nesterov": "sgd(learning_rate=0.1, momentum=0.9, nesterov=true)",
    "adam": "adam(learning_rate=0.01, beta_1=0.8, beta_2=0.95, epsilon=0.001)",
    "adamw": "adamw(learning_rate=0.01, weight_decay=0.1, epsilon=0.001)",
    "rmsprop": "rmsprop(learning_rate=0.01, epsilon=0.001)",
    "rmsprop_momentum": "rmsprop(learning_rate=0.01, momentum=0.5, epsilon=0.001)",
    "rmsprop_centered": "rmsprop(learning_rate=0.01, centered=true, momentum=0.3)",
    "adadelta": "adadelta(learning_rate=1.0, rho=0.9, epsilon=0.001)",
    "adadelta_lr": "adadelta(learning_rate=0.5, epsilon=0.001)",
    "adagrad": "adagrad(learning_rate=0.1, initial_accumulator_value=0.2, epsilon=0.001)",
}


@pytest.mark.parametrize("case", sorted(OPTIMIZER_CASES))
def test_optimizer_steps_follow_the_ir(case, folder):
    """Three steps of softmax cross-entropy on a linear model against numpy's float64."""
    program = analyse(
        parse(train_spec("sparse_categorical_crossentropy", OPTIMIZER_CASES[case]), "s.nn")
    )
    module = gluon_module(program, folder)
    model = module.build_model()
    weights = random_weights(program, seed=4)
    module.import_weights(model, weights)
    optimizer = module.make_optimizer(model)
    step = ir_optimizer(program.spec.train.optimizer)
    x, y = _batch()
    kernel, bias = (weights[f"dense_1.{p}"].astype(np.float64) for p in ("kernel", "bias"))
    for t in range(1, 4):
        dlogits = (_softmax(x @ kernel + bias) - np.eye(3)[y]) / len(x)
        kernel, bias = step("k", kernel, x.T @ dlogits, t), step("b", bias, dlogits.sum(0), t)
        module.train_step(model, optimizer, x, y)
    got = module.export_weights(model)
    assert np.abs(got["dense_1.kernel"] - weights["dense_1.kernel"]).max() > 1e-3
    np.testing.assert_allclose(got["dense_1.kernel"], kernel, rtol=0, atol=2e-6)
    np.testing.assert_allclose(got["dense_1.bias"], bias, rtol=0, atol=2e-6)


def test_batchnorm_moving_statistics_use_ir_momentum_and_biased_variance(folder):
    text = train_spec("sparse_categorical_crossentropy", "sgd(learning_rate=0.1)")
    text = text.replace("input vector(4)", "input vector(4)\n    batchnorm(momentum=0.9)")
    program = analyse(parse(text, "s.nn"))
    module = gluon_module(program, folder)
    model = module.build_model()
    x, y = _batch()
    module.predict(model, x)  # inference leaves the statistics alone
    module.train_step(model, module.make_optimizer(model), x, y)
    got = module.export_weights(model)
    np.testing.assert_allclose(got["batchnorm_1.moving_mean"], 0.1 * x.mean(0), atol=1e-6)
    np.testing.assert_allclose(got["batchnorm_1.moving_variance"], 0.9 + 0.1 * x.var(0), atol=1e-6)


def test_train_is_reproducible_and_reports_history(folder):
    program = analyse(parse(EDGE_SPECS["edge_sequence"] + """
train {
    dataset npz("unused.npz", batch_size=16)
    loss sparse_categorical_crossentropy
    optimizer adam()
}
""", "s.nn"))  # fmt: skip
    module = gluon_module(program, folder)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 11, 3)).astype(np.float32)
    y = rng.integers(0, 3, 40).astype(np.int64)
    runs = []
    for _ in range(2):
        module.set_seed(5)
        model = module.build_model()
        history = module.train(model, x, y, epochs=2, validation=(x[:8], y[:8]), verbose=False)
        runs.append((history, module.export_weights(model)))
    (history, first), (again, second) = runs
    assert (
        len(history["loss"]) == len(history["epoch_seconds"]) == len(history["val_accuracy"]) == 2
    )
    assert history["loss"] == again["loss"]
    for name, value in first.items():
        np.testing.assert_array_equal(second[name], value, err_msg=name)


def test_dropout_only_in_training(folder):
    program = analyse(parse(train_spec("mse", "sgd(learning_rate=0.0001)").replace(
        "dense(3", "dropout(0.5)\n    dense(3"), "s.nn"))  # fmt: skip
    module = gluon_module(program, folder)
    model = module.build_model()
    x, y = _batch()
    optimizer = module.make_optimizer(model)
    losses = {module.train_step(model, optimizer, x, y) for _ in range(4)}
    assert len(losses) > 1  # masks differ from step to step
    np.testing.assert_array_equal(module.predict(model, x), module.predict(model, x))


# --- rendering ---


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> list[Path]:
    """Every spec and edge spec rendered once: cnn first."""
    out = tmp_path_factory.mktemp("rendered")
    programs = [(program_of(s), f"specs/{s.name}") for s in SPECS]
    programs += [(edge_program(n), f"{n}.nn") for n in EDGE_SPECS]
    paths = []
    for program, label in programs:
        path = out / f"{program.name}_gluon.py"
        codegen.write_atomic(path, codegen.render(program, targets.get(TARGET), label))
        paths.append(path)
    return paths


def test_generated_code_is_ruff_clean_and_black_stable(sources):
    paths = sources
    ruff = Path(PYTHON).with_name("ruff")
    result = subprocess.run(
        [str(ruff), "check", "--select", "E,F,W,I,B", "--ignore", "E501"]
        + ["--output-format", "concise", *map(str, paths)],
        capture_output=True,
        text=True,
    )
    # The shared skeleton imports `time` even without a train section, where nothing uses
    # it (a _common/module.py.j2 matter): the only finding tolerated here.
    problems = [
        line
        for line in result.stdout.splitlines()
        if ".py:" in line and not ("F401" in line and "`time`" in line)
    ]
    assert not problems, result.stdout
    for path in paths:
        text = path.read_text()
        assert black.format_str(text, mode=codegen.BLACK_MODE) == text, path.name


def test_generated_code_pins_gluon_semantics(sources):
    text = sources[0].read_text()  # cnn
    assert "from_logits" not in text.split("LOSS = ")[1].split("\n")[0]
    assert "SoftmaxCrossEntropyLoss(axis=-1, sparse_label=False)" in text
    # cnn is compute-bound: all cores, synchronous engine, set before mxnet is imported
    assert 'os.environ.setdefault("OMP_NUM_THREADS", str(os.cpu_count()))' in text
    assert 'os.environ.setdefault("MXNET_ENGINE_TYPE", "NaiveEngine")' in text
    assert text.index("OMP_NUM_THREADS") < text.index("import mxnet")
    assert "model.hybridize(" in text
    assert "trainer.step(1)" in text and ".mean()" in text
    assert "asscalar" not in text.split("def train(")[1].split("for begin")[1].split("history")[0]


def test_only_compute_bound_networks_change_mxnet_threading(sources):
    texts = {path.name: path.read_text() for path in sources}
    for name in ("cnn_gluon.py", "lenet5_gluon.py"):
        assert "NaiveEngine" in texts[name], name
    for name in ("mlp_gluon.py", "stride_gluon.py"):
        assert "OMP_NUM_THREADS" not in texts[name] and "NaiveEngine" not in texts[name], name


def test_spec_without_train_section(tmp_path):
    text = """
model bare {
    input image(8, 8, 1)
    conv2d(2, 3, activation=relu)
    flatten()
    dense(3, activation=softmax)
}
"""
    program = analyse(parse(text, "bare.nn"))
    module = import_generated(program, TARGET, tmp_path)
    model = module.build_model()
    assert module.count_params(model) == (program.trainable_params, 0)
    for name in ("train", "train_step", "make_optimizer", "evaluate", "load_data"):
        assert not hasattr(module, name), name
    weights = random_weights(program)
    module.import_weights(model, weights)
    x = np.random.default_rng(0).uniform(size=(3, 8, 8, 1)).astype(np.float32)
    np.testing.assert_allclose(
        module.predict(model, x), np_forward(program, weights, x), atol=ATOL
    )


# --- command line ---


def _mnist_available() -> bool:
    folder = Path(os.environ.get("NNDSL_DATA_DIR", Path.home() / ".cache" / "nndsl")) / "mnist"
    return folder.is_dir() and len(list(folder.iterdir())) >= 4


def _cli(tmp_path: Path):
    """Render mlp into tmp_path/gen and return a runner of its command line."""
    codegen.generate([ROOT / "specs" / "mlp.nn"], [targets.get(TARGET)], tmp_path / "gen")

    def run(*args):
        result = subprocess.run(
            [PYTHON, "-m", "gen.mlp_gluon", *args], cwd=tmp_path, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    return run


def test_command_line_help_and_summary(tmp_path):
    run = _cli(tmp_path)
    assert "summary" in run("--help")
    assert "159,010 trainable, 0 non-trainable" in run("summary")


@pytest.mark.slow
@pytest.mark.skipif(not _mnist_available(), reason="MNIST not fetched")
def test_command_line_train_evaluate_predict(tmp_path):
    run = _cli(tmp_path)
    run(*"train --epochs 1 --limit 2000 --json r.json --save w.npz --quiet".split())
    record = json.loads((tmp_path / "r.json").read_text())
    assert record["target"] == "gluon" and record["train_samples"] == 2000
    assert record["test_accuracy"] > 0.3  # 16 steps of SGD: far from chance (0.1)
    again = run("evaluate", "--weights", "w.npz", "--limit", "2000")
    assert f"test accuracy {record['test_accuracy']:.4f}" in again
    np.save(tmp_path / "x.npy", np.zeros((2, 784), np.float32))
    run("predict", "x.npy", "--weights", "w.npz", "--output", "logits.npy")
    assert np.load(tmp_path / "logits.npy").shape == (2, 10)
