"""Gluon-specific checks beyond the shared suites: the IR's initialisers drawn by MXNet, the
hybridized (Symbol) and imperative (NDArray) forward passes agreeing, the frozen second
recurrent bias, the optimizer variants the shared suites do not reach, Gluon's export read
by SymbolBlock.imports, devices, and what the generated code must (not) contain."""

from __future__ import annotations

import math
import os
import subprocess
import sys

import numpy as np
import pytest

import nndsl
from nndsl import codegen, ir, targets
from nndsl.targets import gluon
from tests.cases import CASES, load, random_inputs, random_weights
from tests.conftest import ROOT
from tests.test_step_parity import check_all_targets
from tests.training_reference import np_gradients, np_optimizer

TARGET = "gluon"


def module_of(text: str, package):
    return package.module(nndsl.loads(text, "t.nn"), TARGET)


# --- initialisers ---

INITS = """
model inits {
    input image(9, 9, 40)
    conv2d(64, 3, kernel_initializer=he_uniform, bias_initializer=ones)
    depthwise_conv2d(3, depth_multiplier=2)
    flatten()
    dense(300, kernel_initializer=glorot_normal)
    dense(200, kernel_initializer=he_normal)
    reshape((8, 25))
    lstm(50, return_sequences=true)
    gru(40)
}
"""


def test_initialisers_draw_what_the_ir_says(package):
    module = module_of(INITS, package)
    module.set_seed(0)
    weights = module.export_weights(module.build_model(device="cpu"))
    program = nndsl.loads(INITS, "t.nn")
    fans = {w.name: w.fans for w in program.weights}

    def uniform_limit(name, limit):
        values = np.abs(weights[name])
        assert values.max() <= limit and values.max() > 0.97 * limit, name
        assert abs(values.mean() - limit / 2) < 0.03 * limit, name  # uniform, not normal

    fan_in, fan_out = fans["conv2d_1.kernel"]
    uniform_limit("conv2d_1.kernel", math.sqrt(6 / fan_in))
    np.testing.assert_array_equal(weights["conv2d_1.bias"], 1.0)
    # Keras' fans of a depthwise kernel (kh, kw, C, m) differ from MXNet's: an explicit limit
    fan_in, fan_out = fans["depthwise_conv2d_1.kernel"]
    uniform_limit("depthwise_conv2d_1.kernel", math.sqrt(6 / (fan_in + fan_out)))
    for name, std in (
        ("dense_1.kernel", math.sqrt(2 / sum(fans["dense_1.kernel"]))),
        ("dense_2.kernel", math.sqrt(2 / fans["dense_2.kernel"][0])),
    ):
        values = weights[name]
        bound = 2 * std / ir.TRUNCATED_NORMAL_STDDEV
        assert np.abs(values).max() <= bound * (1 + 1e-6), name  # truncated at 2 sigma
        assert np.abs(values).max() > 0.98 * bound, name
        assert abs(values.std() / std - 1) < 0.02, name  # the IR's standard deviation
    for name in ("lstm_1.recurrent_kernel", "gru_1.recurrent_kernel"):
        kernel = weights[name].astype(np.float64)  # (units, gates * units): orthonormal rows
        np.testing.assert_allclose(kernel @ kernel.T, np.eye(len(kernel)), atol=1e-5)
    units = 50
    bias = weights["lstm_1.bias"]  # unit_forget_bias: i, f, c, o with f at 1
    np.testing.assert_array_equal(bias[units : 2 * units], 1.0)
    np.testing.assert_array_equal(np.delete(bias, np.s_[units : 2 * units]), 0.0)
    np.testing.assert_array_equal(weights["gru_1.bias"], 0.0)
    limit = math.sqrt(6 / sum(fans["lstm_1.kernel"]))
    uniform_limit("lstm_1.kernel", limit)


def test_seeding_reproduces_the_initial_weights(package):
    module = module_of(INITS, package)
    module.set_seed(3)
    first = module.export_weights(module.build_model(device="cpu"))
    module.set_seed(3)
    again = module.export_weights(module.build_model(device="cpu"))
    for name, value in first.items():
        np.testing.assert_array_equal(again[name], value, err_msg=name)


def test_embedding_draws_from_the_ir_limit(package):
    module = module_of("model e {\n input tokens(4)\n embedding(300, 200)\n}", package)
    table = module.export_weights(module.build_model(device="cpu"))["embedding_1.embeddings"]
    limit = ir.EMBEDDING_UNIFORM_LIMIT
    assert limit * 0.99 < np.abs(table).max() <= limit


# --- the forward pass in both of Gluon's modes ---

IMPERATIVE = [
    (case_id, body)
    for case_id, body in CASES
    if any(
        key in case_id
        for key in ("same", "gelu", "silu", "bidirectional", "upsampling", "zero_padding")
    )
    or case_id.startswith(("separable", "graph", "lstm", "simple_rnn-relu", "maximum"))
]


@pytest.mark.parametrize(("case_id", "body"), IMPERATIVE, ids=[c for c, _ in IMPERATIVE])
def test_imperative_and_hybridized_forward_agree(case_id, body, package):
    """The helpers of _gluon_support and the macros take F = mx.nd as well as mx.sym."""
    program = load(body)
    module = package.module(program, TARGET)
    model = module.build_model(device="cpu")
    module.import_weights(model, random_weights(program))
    inputs = random_inputs(program, batch=2)
    x = inputs[program.inputs[0].name] if len(inputs) == 1 else inputs
    hybridized = module.predict(model, x)
    model.hybridize(active=False)
    imperative = module.predict(model, x)
    for ours, theirs in zip(
        imperative if isinstance(imperative, tuple) else (imperative,),
        hybridized if isinstance(hybridized, tuple) else (hybridized,),
        strict=True,
    ):
        np.testing.assert_allclose(ours, theirs, atol=1e-6)


def test_predict_in_batches_equals_one_batch(package):
    program = nndsl.load(ROOT / "specs" / "stride.nn")
    module = package.module(program, TARGET)
    model = module.build_model(device="cpu")
    module.import_weights(model, random_weights(program))
    x = np.random.default_rng(0).normal(size=(5, 28, 28, 1)).astype(np.float32)
    np.testing.assert_allclose(
        module.predict(model, x, batch_size=2), module.predict(model, x), atol=1e-6
    )


# --- training ---

TRAIN = """
train {
    dataset npz("unused.npz", batch_size=16)
    loss sparse_categorical_crossentropy
    optimizer adam(learning_rate=0.01)
}
"""
PARITY = {
    "simple_rnn": """
model rnn_step {
    input sequence(6, 3)
    bidirectional(simple_rnn(4, return_sequences=true), merge=mul)
    simple_rnn(5, activation=relu)
    dense(5, activation=softmax)
}""",
    "lstm_no_bias": """
model lstm_step {
    input sequence(6, 3)
    bidirectional(lstm(4, use_bias=false))
    dense(5, activation=softmax)
}""",
    "windows": """
model windows_step {
    input image(7, 7, 2)
    separable_conv2d(4, 2, stride=2, padding=same, activation=gelu)
    depthwise_conv2d(3, padding=same, depth_multiplier=2)
    conv2d_transpose(3, 3, stride=2, padding=same, activation=silu)
    avgpool2d(2, padding=same)
    maxpool2d(3, 2, padding=same)
    layernorm()
    flatten()
    dense(5, activation=softmax)
}""",
    "sequence_windows": """
model sequence_step {
    input sequence(7, 3)
    conv1d(4, 2, stride=2, padding=same, dilation=1)
    maxpool1d(2, 1, padding=same)
    conv1d(6, 3, padding=same, groups=2, activation=relu6)
    avgpool1d(3, 2, padding=same)
    global_maxpool1d()
    dense(5, activation=softmax)
}""",
}


@pytest.mark.parametrize("graph", sorted(PARITY))
def test_training_steps_agree_with_the_other_targets(graph, package):
    """Gradients through the kinds tests/test_step_parity.py does not train."""
    check_all_targets(PARITY[graph] + TRAIN, package)


def test_the_second_recurrent_bias_stays_zero_and_uncounted(package):
    program = nndsl.loads(PARITY["simple_rnn"] + TRAIN, "t.nn")
    module = package.module(program, TARGET)
    model = module.build_model(device="cpu")
    assert module.count_params(model) == (program.trainable_params, 0)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 6, 3)).astype(np.float32), rng.integers(0, 5, 16)
    optimizer = module.make_optimizer(model)
    for _ in range(3):
        module.train_step(model, optimizer, x, y)
    params = model.collect_params()
    for name in ("bidirectional_1_l0_h2h_bias", "bidirectional_1_r0_h2h_bias"):
        assert params[name].grad_req == "null"
        np.testing.assert_array_equal(params[name].data().asnumpy(), 0.0)
    assert np.abs(params["simple_rnn_1_l0_i2h_bias"].data().asnumpy()).max() > 0


def _tiny(optimizer: str) -> str:
    return f"""
model tiny {{
    input vector(4)
    dense(3, activation=softmax)
}}
train {{
    dataset npz("unused.npz", batch_size=8)
    loss categorical_crossentropy
    optimizer {optimizer}
}}
"""


@pytest.mark.parametrize(
    "optimizer",
    [
        "rmsprop(learning_rate=0.01, momentum=0.5, centered=true, epsilon=0.01)",
        "adadelta(learning_rate=0.5, rho=0.9, epsilon=0.001)",
        "adamw(learning_rate=0.01, weight_decay=0.5, beta_1=0.5)",
    ],
)
def test_optimizer_variants_follow_the_ir(optimizer, package):
    """MXNet's centered rmsprop with momentum, KerasAdaDelta (a learning rate other than 1)."""
    program = nndsl.loads(_tiny(optimizer), "t.nn")
    module = package.module(program, TARGET)
    weights = random_weights(program)
    model = module.build_model(device="cpu")
    module.import_weights(model, weights)
    step = module.make_optimizer(model)
    update = np_optimizer(program.train.optimizer)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(8, 4)).astype(np.float32), rng.integers(0, 3, 8)
    w, b = weights["dense_1.kernel"].astype(np.float64), weights["dense_1.bias"].astype(np.float64)
    for _ in range(4):
        module.train_step(model, step, x, y)
        _, dw, db = np_gradients(w, b, x.astype(np.float64), y)
        w, b = update("w", w, dw), update("b", b, db)
    got = module.export_weights(model)
    np.testing.assert_allclose(got["dense_1.kernel"], w, atol=5e-6)
    np.testing.assert_allclose(got["dense_1.bias"], b, atol=5e-6)


def test_one_output_unit_takes_labels_as_a_column(package):
    """mse on one sigmoid unit: (p - y)^2 against the 0/1 labels, accuracy at p > 0.5."""
    text = _tiny("sgd").replace("dense(3, activation=softmax)", "dense(1, activation=sigmoid)")
    module = package.module(
        nndsl.loads(text.replace("categorical_crossentropy", "mse"), "t.nn"), TARGET
    )
    model = module.build_model(device="cpu")
    module.import_weights(
        model,
        {
            "dense_1.kernel": np.eye(4, 1, dtype=np.float32),
            "dense_1.bias": np.zeros(1, np.float32),
        },
    )
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(10, 4)).astype(np.float32), rng.integers(0, 2, 10)
    p = 1 / (1 + np.exp(-x[:, 0].astype(np.float64)))
    metrics = module.evaluate(model, x, y, batch_size=4)
    assert metrics["loss"] == pytest.approx(np.mean((p - y) ** 2), abs=1e-6)
    assert metrics["accuracy"] == pytest.approx(np.mean((p > 0.5) == y))


# --- native format, devices, process ---


@pytest.mark.filterwarnings("ignore:Cannot decide type")  # SymbolBlock.imports on float32
@pytest.mark.parametrize("spec", ["stride.nn", "mlp.nn"])
def test_exported_files_load_as_a_symbol_block(spec, package, tmp_path):
    program = nndsl.load(ROOT / "specs" / spec)
    module = package.module(program, TARGET)
    model = module.build_model(device="cpu")
    module.import_weights(model, random_weights(program))
    module.save_native(model, str(tmp_path / "net"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net-0000.params", "net-symbol.json"]
    block = module.gluon.SymbolBlock.imports(
        str(tmp_path / "net-symbol.json"), ["data"], str(tmp_path / "net-0000.params")
    )
    x = np.random.default_rng(0).normal(size=(3, *program.input_shape)).astype(np.float32)
    np.testing.assert_allclose(
        block(module.mx.nd.array(x)).asnumpy(), module.predict(model, x), atol=1e-6
    )
    again = module.load_native(str(tmp_path / "net"), device="cpu")
    assert module.count_params(again) == module.count_params(model)


def test_devices(package):
    module = module_of("model d {\n input vector(3)\n dense(2)\n}", package)
    assert module.device_context("cpu") == module.mx.cpu()
    with pytest.raises(ValueError, match="unknown device"):
        module.build_model(device="tpu")
    if module.mx.context.num_gpus() == 0:
        with pytest.raises(ValueError, match="GPU"):
            module.build_model(device="cuda:0")
        assert module.device_context(None) == module.mx.cpu()


def test_deterministic_seeding_asks_mxnet_for_deterministic_kernels(package, monkeypatch):
    module = module_of("model d {\n input vector(3)\n dense(2)\n}", package)
    monkeypatch.setenv("MXNET_ENFORCE_DETERMINISM", "0")  # recorded, so teardown restores it
    monkeypatch.delenv("MXNET_ENFORCE_DETERMINISM")
    module.set_seed(1)
    assert "MXNET_ENFORCE_DETERMINISM" not in module.os.environ
    module.set_seed(1, deterministic=True)
    assert module.os.environ["MXNET_ENFORCE_DETERMINISM"] == "1"


def test_threading_is_set_for_compute_bound_command_lines_only():
    for spec, bound in (("cnn.nn", True), ("lenet5.nn", True), ("mlp.nn", False)):
        program = nndsl.load(ROOT / "specs" / spec)
        lines = codegen.render(program, targets.get(TARGET), spec).splitlines()
        settings = [i for i, line in enumerate(lines) if "os.environ.setdefault" in line]
        assert gluon.compute_bound(program) == bound == bool(settings), spec
        if settings:  # inside `if __name__ == "__main__":`, before mxnet is imported
            guard = next(i for i, line in enumerate(lines) if line.startswith("if __name__"))
            assert all(line.startswith("    ") for line in lines[guard + 1 : settings[-1] + 1])
            assert settings[-1] < lines.index("import mxnet as mx")


@pytest.mark.parametrize("outside", [None, "ThreadedEngine"])
def test_the_command_line_sets_mxnet_threading_unless_set(outside, tmp_path):
    folder = tmp_path / "pkg"
    program = nndsl.load(ROOT / "specs" / "cnn.nn")
    codegen.write_package(
        codegen.plan([(program, "cnn.nn")], [targets.get(TARGET)], folder), folder
    )
    env = {k: v for k, v in os.environ.items() if k not in ("MXNET_ENGINE_TYPE", "PYTHONPATH")}
    if outside:
        env["MXNET_ENGINE_TYPE"] = outside
    result = subprocess.run(
        [sys.executable, "-m", "pkg.cnn_gluon", "summary"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "34,826 trainable" in result.stdout
    # MXNet names the engine it was told to use
    assert f"MXNet start using engine: {outside or 'NaiveEngine'}" in result.stderr


@pytest.mark.parametrize("spec", ["cnn.nn", "stride.nn"])
def test_generated_code_pins_gluon_semantics(spec):
    text = (ROOT / "generated" / f"{spec[:-3]}_gluon.py").read_text()
    assert "NHWC" not in text and "from_logits=True)" not in text
    assert "model.hybridize(static_alloc=True, static_shape=True)" in text
    # summed per-sample losses, one 1 / batch_size in Trainer.step (dist_sync sums workers)
    assert "trainer.step(batch_size)" in text and "trainer.step(1)" not in text
    assert "**trainer_options()" in text and "share_weights(trainer)" in text
    assert "mx.init.Xavier()" in text  # glorot_uniform for every weight without its own
