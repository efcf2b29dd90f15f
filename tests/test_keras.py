"""Keras-specific checks beyond the shared suites: initial weights drawn as the IR defines
them, the arguments the generated code must spell out, fit's batches equal to train_step on
the harness's order, native files at any name, devices, and what a module imports."""

from __future__ import annotations

import ast
import zipfile

import numpy as np
import pytest

import nndsl
from nndsl import codegen, ir, reference, targets
from tests.cases import random_weights
from tests.conftest import ROOT, program_of

pytest.importorskip("keras")

INIT = """
model init {
    input sequence(40, 48)
    conv1d(64, 3, kernel_initializer=he_normal, bias_initializer=ones)
    dense(96, kernel_initializer=glorot_normal)
    lstm(32, return_sequences=true)
    gru(32, return_sequences=true, kernel_initializer=he_uniform)
    lstm(16, return_sequences=true, unit_forget_bias=false, bias_initializer=ones)
    bidirectional(simple_rnn(24, return_sequences=true))
    layernorm()
    batchnorm()
    dense(64, use_bias=false)
}
"""
IMAGE = """
model image {
    input image(12, 12, 16)
    depthwise_conv2d(5, depth_multiplier=4)
    separable_conv2d(48, 3, kernel_initializer=he_uniform)
    conv2d_transpose(32, 4, stride=2)
}
"""
TOKENS = "model tokens {\n    input tokens(5)\n    embedding(400, 64)\n}\n"


def _check_initial(weight: ir.Weight, value: np.ndarray) -> None:
    """One freshly initialised array against the IR's definition of its initialiser."""
    fan_in, fan_out = weight.fans
    init = weight.initializer
    if init in ("zeros", "ones"):
        np.testing.assert_array_equal(value, np.full(weight.shape, float(init == "ones")))
    elif init == "unit_forget_bias":
        units = weight.shape[0] // 4
        want = np.zeros(weight.shape)
        want[units : 2 * units] = 1.0
        np.testing.assert_array_equal(value, want)
    elif init == "orthogonal":
        rows = value.reshape(-1, value.shape[-1])
        small = rows @ rows.T if rows.shape[0] <= rows.shape[1] else rows.T @ rows
        np.testing.assert_allclose(small, np.eye(len(small)), atol=1e-5)
    else:
        if init == "uniform":
            limit = ir.EMBEDDING_UNIFORM_LIMIT
        elif init.endswith("_normal"):  # truncated at 2 of its own stddevs
            scale = 2.0 / fan_in if init == "he_normal" else 2.0 / (fan_in + fan_out)
            limit = 2 * np.sqrt(scale) / ir.TRUNCATED_NORMAL_STDDEV
        else:
            limit = np.sqrt(6.0 / fan_in if init == "he_uniform" else 6.0 / (fan_in + fan_out))
        std = limit / np.sqrt(3.0)
        if init.endswith("_normal"):
            std = limit / 2 * ir.TRUNCATED_NORMAL_STDDEV
        assert np.abs(value).max() <= limit * (1 + 1e-6), weight.name
        assert abs(value.std() / std - 1) < 0.1, (weight.name, value.std(), std)
        assert abs(value.mean()) < 0.1 * std, weight.name


@pytest.mark.parametrize("text", [INIT, IMAGE, TOKENS], ids=["sequence", "image", "tokens"])
def test_initial_weights_follow_the_ir(text, package):
    program = nndsl.loads(text, "init.nn")
    module = package.module(program, "keras")
    module.set_seed(0)
    exported = module.export_weights(module.build_model(device="cpu"))
    for weight in program.weights:
        _check_initial(weight, exported[weight.name].astype(np.float64))


def test_the_initial_weight_cases_cover_every_initializer():
    covered = {
        w.initializer for t in (INIT, IMAGE, TOKENS) for w in nndsl.loads(t, "x.nn").weights
    }
    assert covered == {*ir.Initializer.__args__, "unit_forget_bias", "uniform"}


def _source(path) -> str:
    return codegen.render(program_of(path), targets.get("keras"), f"specs/{path.name}")


def test_math_bearing_arguments_are_explicit_and_universal_defaults_left_out():
    stride = _source(ROOT / "specs" / "stride.nn")
    for text in (
        "momentum=0.9, epsilon=0.001",
        "keras.activations.leaky_relu(x, negative_slope=0.1)",
        'kernel_initializer="glorot_uniform"',
        'bias_initializer="zeros"',
        'padding="same"',
        "SparseCategoricalCrossentropy(from_logits=True)",
        "keras.optimizers.RMSprop(",
        "centered=CENTERED",
    ):
        assert text in stride, text
    recurrent = codegen.render(
        nndsl.loads(INIT, "init.nn"), targets.get("keras"), "init.nn"
    ).replace("\n", " ")
    for text in (
        'recurrent_initializer="orthogonal"',
        "unit_forget_bias=True",
        "unit_forget_bias=False",
        "reset_after=True",
        "LayerNormalization(epsilon=0.001",
        "BatchNormalization(momentum=0.99, epsilon=0.001",
    ):
        assert text in recurrent, text
    plain = _source(ROOT / "specs" / "cnn.nn") + recurrent
    for text in ("data_format", "strides", "dilation_rate", "groups", "padding", "axis"):
        assert text not in plain, text


def test_importing_a_module_sets_nothing_and_imports_only_keras():
    for spec in sorted((ROOT / "specs").glob("*.nn")):
        tree = ast.parse(_source(spec))
        top = {
            alias.name
            for node in tree.body
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in node.names
        }
        assert "tensorflow" not in top and "keras" in top
        text = _source(spec)
        assert "environ" not in text and "KERAS_BACKEND" not in text


TRAIN = """
model fitted {
    input vector(6)
    dense(8, activation=tanh)
    batchnorm(momentum=0.8)
    dense(3, activation=softmax)
}
train {
    dataset npz("unused.npz", batch_size=16)
    loss categorical_crossentropy
    optimizer sgd(learning_rate=0.1, momentum=0.9)
}
"""


def test_train_sees_the_harness_batches_in_order(package):
    """fit over an epoch's reordered samples equals train_step on the same batches."""
    program = nndsl.loads(TRAIN, "fitted.nn")
    module = package.module(program, "keras")
    weights = random_weights(program, seed=1)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 6)).astype(np.float32), rng.integers(0, 3, 40)
    fitted = module.build_model(device="cpu")
    module.import_weights(fitted, weights)
    history = module.train(fitted, x, y, epochs=2, batch_size=16, verbose=False, seed=5)
    stepped = module.build_model(device="cpu")
    module.import_weights(stepped, weights)
    optimizer = module.make_optimizer(stepped)
    for epoch in range(2):
        order = module._harness.epoch_order(len(x), 5, epoch)
        total = 0.0
        for begin in range(0, len(x), 16):
            batch = order[begin : begin + 16]
            total += module.train_step(stepped, optimizer, x[batch], y[batch]) * len(batch)
        assert history["loss"][epoch] == pytest.approx(total / len(x), abs=1e-6)
    want = module.export_weights(stepped)
    for name, value in module.export_weights(fitted).items():
        np.testing.assert_allclose(value, want[name], atol=1e-6, err_msg=name)


def test_arrays_reach_fit_as_a_pipeline_that_does_not_autotune(package):
    """Keras' own pipeline for arrays autotunes, and its tuning thread held up fit's return by
    up to 3.2 s here (the CNN's slow runs): arrays go in as tf.data without autotuning, in
    order, a slice per batch, the last partial batch kept; predict's inputs alone the same
    way."""
    module = package.module(nndsl.loads(TRAIN, "fitted.nn"), "keras")
    x, y = np.arange(10, dtype=np.float32).reshape(5, 2), np.arange(5)
    (data,) = module.array_batches(x, y, 2)
    assert data.options().autotune.enabled is False
    batches = [(a.numpy(), b.numpy()) for a, b in data]
    assert [len(b) for _, b in batches] == [2, 2, 1]
    np.testing.assert_array_equal(np.concatenate([a for a, _ in batches]), x)
    np.testing.assert_array_equal(np.concatenate([b for _, b in batches]), y)
    (inputs,) = module.array_batches(x, None, 4)
    assert inputs.options().autotune.enabled is False
    assert [len(a) for a in inputs] == [4, 1]
    for rows, size, lengths in ((4, 2, [2, 2]), (5, 8, [5])):  # no partial batch; no full one
        (inputs,) = module.array_batches(x[:rows], None, size)
        assert [len(a) for a in inputs] == lengths


def test_fit_runs_several_steps_a_call_and_progress_counts_each(package):
    """fit runs steps_per_execution steps a compiled call (the MLP 1.6x faster here) and
    reports only each call's last step, the epoch's last call numbered as if it were full:
    progress counts every step once, and the warm-up covers the first call's steps."""
    module = package.module(nndsl.loads(TRAIN, "fitted.nn"), "keras")
    assert module.steps_per_execution() == 16  # the TensorFlow backend
    x = np.random.default_rng(0).normal(size=(40, 6)).astype(np.float32)
    model = module.build_model(device="cpu")
    history = module.train(model, x, np.arange(40) % 3, epochs=2, batch_size=2, verbose=False)
    assert history["first_steps"] == 16 and len(history["epoch_seconds"]) == 2
    progress = module._harness.Progress(1, 20, verbose=False)
    progress.start(0)
    for reported in (16, 32):  # 20 steps: calls of 16 and 4, the second numbered 32
        progress.step_to(reported)
    assert progress.done == 20 and progress.history["first_steps"] == 16


def test_native_file_at_any_name_round_trips_a_trained_model(package, tmp_path):
    program = nndsl.loads(TRAIN.replace("categorical_crossentropy", "mse"), "fitted.nn")
    module = package.module(program, "keras")
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(32, 6)).astype(np.float32), rng.integers(0, 3, 32)
    model = module.build_model(device="cpu")
    module.train(model, x, y, epochs=1, verbose=False)  # compiled, with a loss function
    path = tmp_path / "trained.bin"
    module.save_native(model, path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["trained.bin"]
    assert zipfile.is_zipfile(path)
    again = module.load_native(path, device="cpu")
    np.testing.assert_array_equal(module.predict(again, x), module.predict(model, x))
    assert module.evaluate(again, x, y) == pytest.approx(module.evaluate(model, x, y))


TWO = """
model two {
    input a = vector(4)
    input b = vector(4)
    x = add(a, b) -> dense(3, activation=softmax)
    y = subtract(a, b) -> dense(1, activation=sigmoid)
    output x, y
}
"""


def test_multiple_inputs_and_outputs_predict_probabilities(package):
    program = nndsl.loads(TWO, "two.nn")
    module = package.module(program, "keras")
    model = module.build_model(device="cpu")
    weights = random_weights(program)
    module.import_weights(model, weights)
    rng = np.random.default_rng(3)
    inputs = {name: rng.normal(size=(5, 4)).astype(np.float32) for name in ("a", "b")}
    logits = reference.run(program, weights, inputs)
    for x in (inputs, [inputs["a"], inputs["b"]]):
        first, second = module.predict(model, x, probabilities=True)
        np.testing.assert_allclose(first, reference.softmax(logits[0]), atol=1e-5)
        np.testing.assert_allclose(second, reference.sigmoid(logits[1]), atol=1e-5)


def test_layers_carry_node_names_and_activations_never_clash(package):
    """Activations are ops of the graph, without names: models with the same kinds of
    activation as layers and fused, built repeatedly in one process, never clash."""
    program = nndsl.loads(
        "model acts {\n    input vector(4)\n    gelu()\n    gelu(approximate=true)\n"
        "    leaky_relu(0.2)\n    dense(4, activation=leaky_relu(0.2))\n    relu()\n}\n",
        "acts.nn",
    )
    module = package.module(program, "keras")
    for _ in range(3):
        model = module.build_model(device="cpu")
    names = {layer.name for layer in model.layers}
    assert {"input", "dense_1"} == names


def test_the_model_runs_on_the_device_it_was_built_for(package):
    import keras

    program = nndsl.loads(TRAIN, "fitted.nn")
    module = package.module(program, "keras")
    model = module.build_model(device="cpu")
    assert model.device == "cpu"
    if keras.backend.backend() == "tensorflow":
        assert all(v.value.device.endswith("CPU:0") for v in model.weights)
    gpus = keras.distribution.list_devices("gpu")
    assert module.build_model().device == (gpus[0] if gpus else "cpu")
