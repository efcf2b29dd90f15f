"""The Keras 3 target: contract, numerics against numpy, optimizers, losses, CLI.

The references are plain numpy written from the IR's definitions (dsl/ir.py): a forward pass
that pads exactly as `LayerInfo.padding` says, the optimizers' update formulas as the IR's
docstrings write them, and the losses' means. Nothing here asks Keras what the answer is.
"""

from __future__ import annotations

import ast
import importlib
import itertools
import json
import math
import subprocess
import sys
from pathlib import Path

import black
import numpy as np
import pytest

from nndsl import codegen, ir
from nndsl.data import MNIST_FILES, default_data_dir
from nndsl.infer import analyse
from nndsl.parser import parse
from tests.conftest import (
    ROOT,
    SPECS,
    import_generated,
    program_of,
    random_inputs,
    random_weights,
)

pytest.importorskip("keras")

TARGET = importlib.import_module("nndsl.targets.keras.target").TARGET
ATOL = 1e-5
NUMERIC_SPECS = ("cnn", "lenet5", "mlp", "stride")

# the layer kinds, activations and arguments the repository's specs leave out
EXTRA = {
    "seq": """
model kseq {
    input sequence(20, 4)
    conv1d(8, 3, stride=2, padding=same, groups=2, activation=selu)
    maxpool1d(3, stride=2, padding=same)
    conv1d(6, 2, dilation=2, padding=same, activation=silu, kernel_initializer=he_uniform)
    avgpool1d(2, padding=same)
    dense(5, activation=gelu(true))
    softmax()
    flatten()
    dense(3, activation=elu(0.5), bias_initializer=ones)
}
""",
    "img": """
model kimg {
    input image(9, 7, 4)
    conv2d(6, (3, 2), stride=(2, 1), padding=same, groups=2, activation=leaky_relu(0.2))
    batchnorm(center=false, scale=false)
    conv2d(6, 3, dilation=2, padding=same, use_bias=false, kernel_initializer=he_normal)
    maxpool2d((2, 3), stride=(1, 2), padding=same)
    tanh()
    reshape((-1, 6))
    sigmoid()
    gelu()
    reshape((5, 4, 6))
    avgpool2d(3, stride=2, padding=same)
    dropout(0.4)
    global_maxpool2d()
    leaky_relu(0.05)
    elu(2.0)
    dense(4, activation=relu, kernel_initializer=glorot_normal)
    selu()
    silu()
    relu()
    linear()
}
""",
    "tok": """
model ktok {
    input tokens(6)
    embedding(30, 4)
    conv1d(5, 3, activation=relu)
    flatten()
    dense(2, activation=softmax)
}
""",
}


# --- helpers ---


def program_from(text: str, name: str = "spec.nn") -> ir.Program:
    return analyse(parse(text, name), source=name)


def render(program: ir.Program) -> str:
    return codegen.render(program, TARGET, f"specs/{program.name}.nn")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("gen_keras")


@pytest.fixture(scope="module")
def keras_modules(folder: Path):
    """key (a spec stem or an EXTRA name) -> (program, imported module), built once."""
    cache = {}

    def get(key: str):
        if key not in cache:
            text = EXTRA.get(key) or (ROOT / "specs" / f"{key}.nn").read_text()
            program = program_from(text, f"{key}.nn")
            cache[key] = (program, import_generated(program, "keras", folder))
        return cache[key]

    return get


# --- numpy reference: float64, canonical channels-last layout, the IR's padding ---


def _patches(x, window, stride, dilation, padding, out, fill):
    """Yield the (N, *out, C) slice of the padded input under each window offset."""
    padded = np.pad(x, [(0, 0), *padding, (0, 0)], constant_values=fill)
    for offset in itertools.product(*(range(k) for k in window)):
        index = tuple(
            slice(o * d, o * d + (n - 1) * s + 1, s)
            for o, d, n, s in zip(offset, dilation, out, stride)
        )
        yield offset, padded[(slice(None), *index)]


def ref_conv(x, info, weights):
    op = info.op
    kernel = weights[f"{info.name}.kernel"].astype(np.float64)
    group_in, group_out = kernel.shape[-2], op.filters // op.groups
    y = np.zeros((len(x), *info.output_shape))
    out = info.output_shape[:-1]
    for offset, patch in _patches(x, op.kernel, op.stride, op.dilation, info.padding, out, 0.0):
        for g in range(op.groups):
            cells = patch[..., g * group_in : (g + 1) * group_in]
            y[..., g * group_out : (g + 1) * group_out] += (
                cells @ kernel[offset][:, g * group_out : (g + 1) * group_out]
            )
    return y + weights[f"{info.name}.bias"] if op.use_bias else y


def ref_pool(x, info):
    op = info.op
    ones, out = (1,) * len(op.size), info.output_shape[:-1]
    if op.kind.startswith("max"):  # -inf padding never wins
        cells = [p for _, p in _patches(x, op.size, op.stride, ones, info.padding, out, -np.inf)]
        return np.max(cells, axis=0)
    cells = [p for _, p in _patches(x, op.size, op.stride, ones, info.padding, out, 0.0)]
    mask = np.ones_like(x)
    counts = [p for _, p in _patches(mask, op.size, op.stride, ones, info.padding, out, 0.0)]
    return np.sum(cells, axis=0) / np.sum(counts, axis=0)  # padded cells are not counted


def ref_softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def ref_sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def ref_activation(x, op):
    selu_alpha, selu_scale = 1.6732632423543772, 1.0507009873554805
    erf = np.vectorize(math.erf)
    gelu_tanh = 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x**3)))
    table = {
        "linear": lambda: x,
        "relu": lambda: np.maximum(x, 0.0),
        "sigmoid": lambda: ref_sigmoid(x),
        "tanh": lambda: np.tanh(x),
        "softmax": lambda: ref_softmax(x),
        "leaky_relu": lambda: np.where(x > 0, x, op.negative_slope * x),
        "elu": lambda: np.where(x > 0, x, op.alpha * np.expm1(np.minimum(x, 0.0))),
        "selu": lambda: selu_scale * np.where(x > 0, x, selu_alpha * np.expm1(np.minimum(x, 0))),
        "gelu": lambda: gelu_tanh if op.approximate else 0.5 * x * (1 + erf(x / np.sqrt(2))),
        "silu": lambda: x * ref_sigmoid(x),
    }
    return table[op.kind]()


def ref_forward(program, weights, x):
    """The logits of `program` for x, in inference mode."""
    x = x if x.dtype == np.int64 else x.astype(np.float64)
    for info in program.layers:
        op, name = info.op, info.name
        w = {
            k.split(".")[1]: v.astype(np.float64)
            for k, v in weights.items()
            if k.startswith(name + ".")
        }
        if op.kind == "dense":
            x = x @ w["kernel"] + w.get("bias", 0.0)
        elif op.kind in ("conv1d", "conv2d"):
            x = ref_conv(x, info, weights)
        elif op.kind.startswith(("maxpool", "avgpool")):
            x = ref_pool(x, info)
        elif op.kind == "global_avgpool2d":
            x = x.mean(axis=(1, 2))
        elif op.kind == "global_maxpool2d":
            x = x.max(axis=(1, 2))
        elif op.kind in ("flatten", "reshape"):  # C order of (H, W, C) is the canonical order
            x = x.reshape((len(x), *info.output_shape))
        elif op.kind == "batchnorm":
            x = (x - w["moving_mean"]) / np.sqrt(w["moving_variance"] + op.epsilon)
            x = x * w.get("gamma", 1.0) + w.get("beta", 0.0)
        elif op.kind == "embedding":
            x = w["embeddings"][x]
        elif op.kind != "dropout":
            x = ref_activation(x, op)
        if getattr(op, "activation", None) is not None:
            x = ref_activation(x, op.activation)
    return x


# --- rendering ---


def test_repository_specs_render_ruff_clean_and_black_stable(tmp_path):
    for spec in SPECS:
        program = program_of(spec)
        text = render(program)
        assert black.format_str(text, mode=codegen.BLACK_MODE) == text
        (tmp_path / f"{program.name}_keras.py").write_text(text)
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--select", "E,F,W,I,B"]
        + ["--ignore", "E501", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_emits_semantics_explicitly():
    text = render(program_of(ROOT / "specs" / "stride.nn"))
    for expected in (
        'os.environ.setdefault("KERAS_BACKEND", "tensorflow")',
        "functools.partial(keras.activations.gelu, approximate=False)",
        "keras.layers.LeakyReLU(negative_slope=0.1",
        "momentum=0.9",
        "epsilon=0.001",
        'padding="same"',
        'data_format="channels_last"',
        'kernel_initializer="glorot_uniform"',
        'bias_initializer="zeros"',
        'reduction="sum_over_batch_size"',
        "from_logits=FROM_LOGITS",
        "RMSprop(",
        "rho=RHO",
        "epsilon=EPSILON",
        "centered=CENTERED",
    ):
        assert expected in text, expected
    assert "\nFROM_LOGITS = True\n" in text


def test_spec_without_train_section_has_no_training_functions(keras_modules):
    program, module = keras_modules("tok")
    assert program.spec.train is None
    for name in ("build_model", "count_params", "predict", "export_weights", "import_weights"):
        assert callable(getattr(module, name)), name
    for name in ("make_optimizer", "train_step", "train", "evaluate", "load_data"):
        assert not hasattr(module, name), name
    tree = ast.parse(render(program))
    assert not any(isinstance(n, ast.Name) and n.id == "EPOCHS" for n in ast.walk(tree))


# --- the contract on every spec ---

ALL = [*(s.stem for s in SPECS), *EXTRA]


@pytest.mark.parametrize("key", ALL)
def test_counts_names_round_trip_and_refusals(key, keras_modules):
    program, module = keras_modules(key)
    model = module.build_model()
    assert module.count_params(model) == (program.trainable_params, program.non_trainable_params)
    exported = module.export_weights(model)
    assert {k: v.shape for k, v in exported.items()} == {w.name: w.shape for w in program.weights}
    weights = random_weights(program)
    module.import_weights(model, weights)
    for name, value in module.export_weights(model).items():
        np.testing.assert_array_equal(value, weights[name], err_msg=name)
    name = program.weights[-1].name
    pattern = name.replace(".", r"\.")
    with pytest.raises(ValueError, match=pattern):
        module.import_weights(model, {**weights, name: np.zeros((1, 2, 3), np.float32)})
    with pytest.raises(ValueError, match=pattern):
        module.import_weights(model, {k: v for k, v in weights.items() if k != name})
    with pytest.raises(ValueError, match="extra_1"):
        module.import_weights(model, {**weights, "extra_1.kernel": np.zeros(1, np.float32)})
    for name, value in module.export_weights(model).items():  # a refusal assigns nothing
        np.testing.assert_array_equal(value, weights[name], err_msg=name)


@pytest.mark.parametrize("key", [*NUMERIC_SPECS, *EXTRA])
def test_predict_matches_numpy(key, keras_modules):
    program, module = keras_modules(key)
    model = module.build_model()
    weights = random_weights(program, seed=7)
    module.import_weights(model, weights)
    x = random_inputs(program, batch=5)
    got = module.predict(model, x, batch_size=2)  # the last batch is partial
    assert got.shape == (5, *program.output_shape) and got.dtype == np.float32
    diff = float(np.max(np.abs(got - ref_forward(program, weights, x))))
    assert diff < ATOL, diff


def test_seeded_builds_repeat_and_dropout_is_training_only(keras_modules):
    program, module = keras_modules("cnn")
    module.set_seed(3)
    first = module.export_weights(module.build_model())
    module.set_seed(3)
    model = module.build_model()
    for name, value in module.export_weights(model).items():
        np.testing.assert_array_equal(value, first[name], err_msg=name)
    assert not first["conv2d_1.bias"].any()  # zeros bias initialiser
    x = random_inputs(program, batch=4)
    logits = module.predict(model, x)
    np.testing.assert_array_equal(logits, module.predict(model, x))
    assert np.abs(np.asarray(model(x, training=True)) - logits).max() > 1e-3


# --- training semantics: one model, every optimizer and loss, against numpy ---

STEP_SPEC = """
model kstep {{
    input vector(5)
    dense({units}, activation={activation})
}}
train {{
    dataset npz("{data}", batch_size=4)
    loss {loss}
    optimizer {optimizer}
    seed 3
}}
"""


def step_program(
    optimizer="sgd",
    loss="categorical_crossentropy",
    units=3,
    activation="softmax",
    data="unused.npz",
):
    text = STEP_SPEC.format(
        optimizer=optimizer, loss=loss, units=units, activation=activation, data=data
    )
    return program_from(text, "kstep.nn")


def ce_gradients(w, b, x, y):
    """Mean softmax cross-entropy of x @ w + b against int labels, and its gradients."""
    p = ref_softmax(x @ w + b)
    loss = -np.mean(np.log(p[np.arange(len(y)), y]))
    dz = (p - np.eye(w.shape[1])[y]) / len(y)
    return loss, {"kernel": x.T @ dz, "bias": dz.sum(axis=0)}


def ir_update(kind, h, state, name, w, g, t):
    """One step of the IR's formula for optimizer `kind` (hyperparameters `h`)."""
    s = state.setdefault(name, {})
    lr, eps = h["learning_rate"], h.get("epsilon")
    if kind == "sgd":
        v = h["momentum"] * s.get("v", 0.0) - lr * g
        s["v"] = v
        return w + (h["momentum"] * v - lr * g if h["nesterov"] else v)
    if kind in ("adam", "adamw"):
        if kind == "adamw":
            w = w - lr * h["weight_decay"] * w
        s["m"] = h["beta_1"] * s.get("m", 0.0) + (1 - h["beta_1"]) * g
        s["v"] = h["beta_2"] * s.get("v", 0.0) + (1 - h["beta_2"]) * g * g
        lr_t = lr * np.sqrt(1 - h["beta_2"] ** t) / (1 - h["beta_1"] ** t)
        return w - lr_t * s["m"] / (np.sqrt(s["v"]) + eps)
    if kind == "rmsprop":
        s["s"] = h["rho"] * s.get("s", 0.0) + (1 - h["rho"]) * g * g
        denominator = s["s"] + eps
        if h["centered"]:
            s["a"] = h["rho"] * s.get("a", 0.0) + (1 - h["rho"]) * g
            denominator = denominator - s["a"] ** 2
        step = lr * g / np.sqrt(denominator)
        if h["momentum"] > 0:
            s["mom"] = h["momentum"] * s.get("mom", 0.0) + step
            step = s["mom"]
        return w - step
    if kind == "adadelta":
        rho = h["rho"]
        s["g2"] = rho * s.get("g2", 0.0) + (1 - rho) * g * g
        delta = -np.sqrt(s.get("d2", 0.0) + eps) / np.sqrt(s["g2"] + eps) * g
        s["d2"] = rho * s.get("d2", 0.0) + (1 - rho) * delta * delta
        return w + lr * delta
    if kind == "adagrad":
        s["a"] = s.get("a", h["initial_accumulator_value"]) + g * g
        return w - lr * g / np.sqrt(s["a"] + eps)
    raise AssertionError(kind)


# large epsilons tell "inside the root" from "outside" and the eps-hat Adam from torch's
OPTIMIZERS = [
    "sgd(learning_rate=0.5)",
    "sgd(learning_rate=0.1, momentum=0.9)",
    "sgd(learning_rate=0.1, momentum=0.8, nesterov=true)",
    "adam(learning_rate=0.05, beta_1=0.8, beta_2=0.9, epsilon=0.1)",
    "adamw(learning_rate=0.05, weight_decay=0.3, epsilon=0.01)",
    "rmsprop(learning_rate=0.05, rho=0.8, epsilon=0.1)",
    "rmsprop(learning_rate=0.05, momentum=0.5, centered=true, epsilon=0.01)",
    "adadelta(learning_rate=1.0, rho=0.9, epsilon=0.01)",
    "adagrad(learning_rate=0.1, initial_accumulator_value=0.0, epsilon=0.1)",
    "adagrad(learning_rate=0.1)",
]


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_three_optimizer_steps_follow_the_ir_formula(optimizer, folder):
    program = step_program(optimizer)
    module = import_generated(program, "keras", folder)
    opt = program.spec.train.optimizer
    hyper = opt.model_dump(exclude={"span", "kind"})
    weights = random_weights(program, seed=2)
    model = module.build_model()
    module.import_weights(model, weights)
    optimizer_object = module.make_optimizer(model)
    w = {k.split(".")[1]: v.astype(np.float64) for k, v in weights.items()}
    state: dict = {}
    rng = np.random.default_rng(5)
    for t in (1, 2, 3):
        x = rng.normal(0.0, 1.0, (4, 5)).astype(np.float32)
        y = rng.integers(0, 3, 4).astype(np.int64)
        loss, grads = ce_gradients(w["kernel"], w["bias"], x.astype(np.float64), y)
        got_loss = module.train_step(model, optimizer_object, x, y)
        assert abs(got_loss - loss) < ATOL, (t, got_loss, loss)
        w = {k: ir_update(opt.kind, hyper, state, k, w[k], grads[k], t) for k in w}
    got = module.export_weights(model)
    for k, want in w.items():
        diff = float(np.max(np.abs(got[f"dense_1.{k}"] - want)))
        assert diff < ATOL, (k, diff)
    assert np.abs(got["dense_1.kernel"] - weights["dense_1.kernel"]).max() > 1e-3


def crossentropy(z, y):
    return -np.log(ref_softmax(z)[np.arange(len(y)), y])


def binary_crossentropy(z, y):
    p = ref_sigmoid(z[:, 0])
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


def mse_on_softmax(z, y):
    return np.mean((ref_softmax(z) - np.eye(3)[y]) ** 2, axis=1)


def mae_on_sigmoid(z, y):
    return np.mean(np.abs(ref_sigmoid(z) - np.eye(3)[y]), axis=1)


# loss -> (units, final activation, per-sample numpy loss of (logits, int labels))
LOSSES = {
    "categorical_crossentropy": (3, "softmax", crossentropy),
    "sparse_categorical_crossentropy": (3, "softmax", crossentropy),
    "binary_crossentropy": (1, "sigmoid", binary_crossentropy),
    "mse": (3, "softmax", mse_on_softmax),
    "mae": (3, "sigmoid", mae_on_sigmoid),
}


@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_evaluate_is_the_mean_loss_over_all_samples(loss, folder):
    units, activation, reference = LOSSES[loss]
    program = step_program(loss=loss, units=units, activation=activation)
    module = import_generated(program, "keras", folder)
    model = module.build_model()
    weights = random_weights(program, seed=4)
    module.import_weights(model, weights)
    rng = np.random.default_rng(6)
    x = rng.normal(0.0, 1.0, (11, 5)).astype(np.float32)
    y = rng.integers(0, 2 if units == 1 else 3, 11).astype(np.int64)
    logits = ref_forward(program, weights, x)
    got = module.evaluate(model, x, y, batch_size=4)  # 4 + 4 + 3: unequal batches
    assert abs(got["loss"] - float(np.mean(reference(logits, y)))) < ATOL
    predicted = (logits[:, 0] > 0).astype(int) if units == 1 else logits.argmax(axis=1)
    assert got["accuracy"] == pytest.approx(float(np.mean(predicted == y)))


def test_batchnorm_train_step_moves_the_statistics_keras_style(folder):
    text = """
model kbn {
    input vector(4)
    batchnorm(momentum=0.8, epsilon=0.01)
    dense(3, activation=softmax)
}
train {
    dataset npz("unused.npz", batch_size=8)
    loss sparse_categorical_crossentropy
    optimizer sgd(learning_rate=0.1)
}
"""
    program = program_from(text, "kbn.nn")
    module = import_generated(program, "keras", folder)
    model = module.build_model()
    weights = random_weights(program, seed=1)
    module.import_weights(model, weights)
    rng = np.random.default_rng(2)
    x = rng.normal(0.5, 2.0, (8, 4)).astype(np.float32)
    y = rng.integers(0, 3, 8).astype(np.int64)
    xd = x.astype(np.float64)
    normed = (xd - xd.mean(0)) / np.sqrt(xd.var(0) + 0.01)  # batch statistics in training
    normed = normed * weights["batchnorm_1.gamma"] + weights["batchnorm_1.beta"]
    want_loss, _ = ce_gradients(weights["dense_1.kernel"], weights["dense_1.bias"], normed, y)
    got_loss = module.train_step(model, module.make_optimizer(model), x, y)
    assert abs(got_loss - want_loss) < ATOL
    after = module.export_weights(model)
    mean = 0.8 * weights["batchnorm_1.moving_mean"] + 0.2 * xd.mean(0)
    variance = 0.8 * weights["batchnorm_1.moving_variance"] + 0.2 * xd.var(0)  # biased
    np.testing.assert_allclose(after["batchnorm_1.moving_mean"], mean, atol=ATOL)
    np.testing.assert_allclose(after["batchnorm_1.moving_variance"], variance, atol=ATOL)


# --- the command line, on a small .npz dataset ---


def test_command_line_train_evaluate_predict_summary(folder, tmp_path, capsys):
    rng = np.random.default_rng(0)
    centres = rng.normal(0.0, 3.0, (3, 5))
    y_train, y_test = rng.integers(0, 3, 300), rng.integers(0, 3, 60)
    x_train = centres[y_train] + rng.normal(0.0, 1.0, (300, 5))
    x_test = centres[y_test] + rng.normal(0.0, 1.0, (60, 5))
    data = tmp_path / "blobs.npz"
    np.savez(data, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    program = step_program("adam(learning_rate=0.05)", data=data.as_posix())
    module = import_generated(program, "keras", folder)
    record, weights = tmp_path / "r.json", tmp_path / "w.npz"
    module.main(["train", "--epochs", "3", "--json", str(record), "--save", str(weights)])
    out = capsys.readouterr().out
    assert "Epoch 3/3" in out and "test accuracy" in out
    result = json.loads(record.read_text())
    assert result["epochs"] == 3 and len(result["epoch_seconds"]) == 3
    assert result["trainable_params"] == program.trainable_params
    assert result["test_accuracy"] > 0.9
    module.main(["evaluate", "--weights", str(weights), "--json", str(tmp_path / "e.json")])
    again = json.loads((tmp_path / "e.json").read_text())
    assert again["accuracy"] == pytest.approx(result["test_accuracy"])
    assert again["loss"] == pytest.approx(result["test_loss"], abs=1e-5)
    np.save(tmp_path / "x.npy", x_test[:4].astype(np.float32))
    module.main(
        [
            "predict",
            str(tmp_path / "x.npy"),
            "--weights",
            str(weights),
            "--output",
            str(tmp_path / "p.npy"),
        ]
    )
    model = module.load(weights)
    np.testing.assert_allclose(
        np.load(tmp_path / "p.npy"), module.predict(model, x_test[:4]), atol=1e-6
    )
    capsys.readouterr()
    module.main(["summary"])
    assert "18 trainable, 0 non-trainable" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:
        module.main(["--help"])
    assert exit_info.value.code == 0


def test_train_reports_validation_accuracy_and_training_seconds(folder):
    program = step_program("sgd(learning_rate=0.5)")
    module = import_generated(program, "keras", folder)
    module.set_seed(0)
    rng = np.random.default_rng(1)
    x = rng.normal(0.0, 1.0, (64, 5)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    history = module.train(
        module.build_model(),
        x,
        y,
        epochs=2,
        batch_size=16,
        validation=(x[:16], y[:16]),
        verbose=False,
    )
    assert sorted(history) == ["epoch_seconds", "loss", "val_accuracy"]
    assert (
        len(history["loss"]) == len(history["epoch_seconds"]) == len(history["val_accuracy"]) == 2
    )
    assert all(s > 0 for s in history["epoch_seconds"])


# --- real MNIST through `python -m` (slow: minutes on two cores) ---

MNIST = default_data_dir() / "mnist"


@pytest.mark.slow
@pytest.mark.skipif(
    not all((MNIST / name).is_file() for name in MNIST_FILES), reason="MNIST not fetched"
)
def test_cnn_trains_on_mnist_from_the_command_line(tmp_path):
    package = tmp_path / "generated"
    codegen.generate([ROOT / "specs" / "cnn.nn"], [TARGET], package)
    record = tmp_path / "r.json"
    command = ["-m", "generated.cnn_keras", "train", "--epochs", "1", "--limit", "5000"]
    subprocess.run(
        [sys.executable, *command, "--quiet", "--json", str(record)], cwd=tmp_path, check=True
    )
    result = json.loads(record.read_text())
    assert result["train_samples"] == 4500 and result["trainable_params"] == 34826
    assert result["test_accuracy"] > 0.7  # 36 Adam steps; every target measures 0.76-0.80
