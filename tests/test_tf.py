"""What only the low-level TensorFlow target (tf) promises, beyond the shared suites:
compiled functions traced once, a SavedModel that serves without the module, the IR's
initialisers, devices, determinism only when asked, quiet logs only as a program, and
training steps equal to torch's through every kind of layer."""

from __future__ import annotations

import ast
import importlib
import os
import subprocess
import sys

import numpy as np
import pytest

import nndsl
from nndsl import codegen, ir, reference, targets
from tests.cases import random_inputs, random_weights
from tests.conftest import PACKAGE, ROOT

tf = pytest.importorskip("tensorflow")

CLASSIFIER = """
model clf {
    input sequence(8, 3)
    conv1d(4, 3, padding=same)
    batchnorm(momentum=0.9)
    dropout(0.3)
    bidirectional(gru(5, return_sequences=true), merge=concat)
    lstm(4)
    dense(3, activation=softmax)
}
train {
    dataset npz("unused.npz", batch_size=16)
    loss sparse_categorical_crossentropy
    optimizer adam(learning_rate=0.01)
}
"""


def _module(text: str, package, target: str = "tf"):
    program = nndsl.loads(text, "spec.nn")
    return program, package.module(program, target)


def _data(program: ir.Program, count: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(count, *program.input_shape)).astype(np.float32)
    return x, rng.integers(0, program.output_shape[-1], count)


def test_compiled_functions_trace_once_for_every_batch_size(package):
    program, module = _module(CLASSIFIER, package)
    model = module.build_model(device="cpu")
    x, y = _data(program, 40)
    optimizer = module.make_optimizer(model)
    losses = [module.train_step(model, optimizer, x[:n], y[:n]) for n in (16, 7, 40)]
    assert all(isinstance(loss, float) and np.isfinite(loss) for loss in losses)
    assert optimizer.step.experimental_get_tracing_count() == 1
    module.predict(model, x, batch_size=16)  # batches of 16, 16 and 8
    module.evaluate(model, x, y, batch_size=16)
    assert model.serve.experimental_get_tracing_count() == 1


def test_training_steps_through_several_batches_a_call_in_order(package):
    """train calls its step on up to STEPS_PER_CALL batches at once (a graph loop, no Python
    between steps): the calls cover the epoch's order batch by batch, the last partial batch
    alone, and the loop traces once for every group shape."""
    program, module = _module(CLASSIFIER, package)
    order = np.random.default_rng(0).permutation(41)
    groups = [g.numpy() for g in module.step_groups(order, 2)]
    support = importlib.import_module(module.step_groups.__module__)  # _tf_support
    assert support.STEPS_PER_CALL == 16
    assert [g.shape for g in groups] == [(16, 2), (4, 2), (1, 1)]
    np.testing.assert_array_equal(np.concatenate([g.ravel() for g in groups]), order)
    assert [g.shape for g in module.step_groups(order[:4], 2)] == [(2, 2)]
    model = module.build_model(device="cpu")
    history = module.train(model, *_data(program, 41), epochs=2, batch_size=2, verbose=False)
    assert history["first_steps"] == 16 and np.isfinite(history["loss"]).all()


def test_saved_model_serves_without_the_module(package, tmp_path):
    program, module = _module(CLASSIFIER, package)
    model = module.build_model(device="cpu")
    module.import_weights(model, random_weights(program))
    x, y = _data(program, 5)
    module.train_step(model, module.make_optimizer(model), x, y)  # moves BatchNorm's statistics
    path = tmp_path / "saved"
    module.save_native(model, path)
    expected = module.predict(model, x)
    loaded = tf.saved_model.load(str(path))
    (served,) = loaded.signatures["serving_default"](tf.constant(x)).values()
    np.testing.assert_allclose(served.numpy(), expected, atol=1e-6)
    np.testing.assert_allclose(loaded.serve(x).numpy(), expected, atol=1e-6)
    again = module.load_native(path, device="cpu")
    for name, value in module.export_weights(model).items():
        np.testing.assert_array_equal(module.export_weights(again)[name], value, err_msg=name)


INITIALISERS = """
model init {
    input vector(300)
    dense(200)
    dense(200, kernel_initializer=he_uniform)
    dense(200, kernel_initializer=glorot_normal)
    dense(100, kernel_initializer=he_normal, bias_initializer=ones)
}
"""
RECURRENT = """
model rec {
    input tokens(6)
    embedding(500, 40)
    lstm(16, return_sequences=true)
    gru(12)
}
"""


def _support(package):
    return importlib.import_module(f"{PACKAGE}._tf_support")


def test_initialisers_are_the_irs(package):
    support = _support(package)
    assert support.TRUNCATED_NORMAL_STDDEV == ir.TRUNCATED_NORMAL_STDDEV
    assert support.EMBEDDING_UNIFORM_LIMIT == ir.EMBEDDING_UNIFORM_LIMIT
    for text in (INITIALISERS, RECURRENT):
        for weight in nndsl.loads(text, "init.nn").weights:
            assert support.fans(weight.shape) == weight.fans, weight.name
    program, module = _module(INITIALISERS, package)
    module.set_seed(3)
    weights = module.export_weights(module.build_model(device="cpu"))
    module.set_seed(3)
    again = module.export_weights(module.build_model(device="cpu"))
    for name, value in weights.items():
        np.testing.assert_array_equal(again[name], value, err_msg=name)

    def uniform(name, limit):
        w = weights[name]
        assert limit * 0.98 < np.abs(w).max() <= limit, name
        assert abs(w.std() - limit / np.sqrt(3)) < 0.03 * limit, name

    def truncated_normal(name, variance):
        w, stddev = weights[name], np.sqrt(variance)
        assert np.abs(w).max() <= 2 * stddev / ir.TRUNCATED_NORMAL_STDDEV * (1 + 1e-6), name
        assert abs(w.std() - stddev) < 0.05 * stddev, name

    uniform("dense_1.kernel", np.sqrt(6 / 500))
    uniform("dense_2.kernel", np.sqrt(6 / 200))
    truncated_normal("dense_3.kernel", 2 / 400)
    truncated_normal("dense_4.kernel", 2 / 200)
    assert not weights["dense_1.bias"].any() and (weights["dense_4.bias"] == 1).all()

    program, module = _module(RECURRENT, package)
    weights = module.export_weights(module.build_model(device="cpu"))
    uniform("embedding_1.embeddings", ir.EMBEDDING_UNIFORM_LIMIT)
    uniform("lstm_1.kernel", np.sqrt(6 / (40 + 64)))
    for name, rows in (("lstm_1.recurrent_kernel", 16), ("gru_1.recurrent_kernel", 12)):
        w = weights[name]  # (units, gates * units): orthonormal rows
        np.testing.assert_allclose(w @ w.T, np.eye(rows), atol=1e-5, err_msg=name)
    np.testing.assert_array_equal(weights["lstm_1.bias"], np.repeat([0.0, 1.0, 0.0, 0.0], 16))
    assert not weights["gru_1.bias"].any()


def test_devices(package):
    _, module = _module(CLASSIFIER, package)
    model = module.build_model(device="cpu")
    assert model.device == "/CPU:0"
    assert model.conv1d_1.kernel.device.endswith("CPU:0")
    with pytest.raises(ValueError, match="unknown device"):
        module.build_model(device="tpu")
    if not tf.config.list_logical_devices("GPU"):
        with pytest.raises(ValueError, match="GPU"):
            module.build_model(device="cuda:0")


def _run(code: str, folder, *argv: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    command = [sys.executable, *argv] if argv else [sys.executable, "-c", code]
    return subprocess.run(
        command, cwd=folder, env=env, capture_output=True, text=True, timeout=300
    )


def test_determinism_only_when_asked(package):
    _, module = _module(CLASSIFIER, package)
    code = (
        f"import sys; sys.path.insert(0, {str(package.folder.parent)!r}); "
        f"import {module.__name__} as m; "
        "from tensorflow.python.framework import config; "
        "m.set_seed(1); print(config.is_op_determinism_enabled()); "
        "m.set_seed(1, deterministic=True); print(config.is_op_determinism_enabled())"
    )
    result = _run(code, package.folder)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True"]


def test_only_the_program_quiets_tensorflow_logs(tmp_path):
    program = nndsl.loads(CLASSIFIER, "clf.nn")
    folder = tmp_path / "pkg"
    codegen.write_package(codegen.plan([(program, "clf.nn")], [targets.get("tf")], folder), folder)
    result = _run("", tmp_path, "-m", "pkg.clf_tf", "summary")
    assert result.returncode == 0, result.stderr
    assert "trainable" in result.stdout
    # TF_CPP_MIN_LOG_LEVEL hides the logs after absl's initialisation (the lines logged
    # before it, such as oneDNN's notice, TensorFlow 2.21 prints whatever the level)
    assert "cpu_feature_guard" not in result.stderr, result.stderr
    source = (folder / "clf_tf.py").read_text()
    before_import = source[: source.index("import tensorflow")]
    assert 'if __name__ == "__main__":' in before_import  # only a program sets the level


def test_predict_takes_inputs_by_name(package):
    text = """
model two {
    input a = vector(4)
    input b = sequence(3, 2)
    y = b -> flatten()
    concatenate(a, y)
    dense(3)
}"""
    program, module = _module(text, package)
    model = module.build_model(device="cpu")
    weights = random_weights(program)
    module.import_weights(model, weights)
    inputs = random_inputs(program)
    (expected,) = reference.run(program, weights, inputs)
    reordered = {"b": inputs["b"], "a": inputs["a"]}
    np.testing.assert_allclose(module.predict(model, reordered), expected, atol=1e-5)
    np.testing.assert_allclose(
        module.predict(model, [inputs["a"], inputs["b"]]), expected, atol=1e-5
    )


# Every kind of layer trains through TensorFlow's gradients as through torch's.
PARITY = {
    "tokens": """
model tokens_step {
    input tokens(7)
    embedding(11, 4)
    bidirectional(simple_rnn(5, activation=relu, return_sequences=true), merge=mul)
    layernorm()
    conv1d(4, 3, padding=same, dilation=2, activation=elu(0.5))
    avgpool1d(3, 2, padding=same)
    global_maxpool1d()
    dense(5, activation=softmax)
}""",
    "image": """
model image_step {
    input image(5, 6, 2)
    conv2d_transpose(3, 3, stride=2, padding=same, activation=gelu)
    depthwise_conv2d(3, stride=(2, 1), padding=same, depth_multiplier=2)
    separable_conv2d(4, 2, padding=same, activation=leaky_relu(0.2))
    upsampling2d((1, 2))
    zero_padding2d(((0, 1), (1, 0)))
    maxpool2d(3, 2, padding=same)
    conv2d(4, 2, groups=2, activation=selu)
    reshape((-1, 2))
    flatten()
    dense(5, activation=softmax)
}""",
}
PARITY_TRAIN = """
train {
    dataset npz("unused.npz", batch_size=16)
    loss categorical_crossentropy
    optimizer sgd(learning_rate=0.1, momentum=0.9)
}
"""


@pytest.mark.parametrize("spec", sorted(PARITY))
def test_training_steps_equal_torchs_through_every_layer(spec, package):
    pytest.importorskip("torch")
    program = nndsl.loads(PARITY[spec] + PARITY_TRAIN, "step.nn")
    weights = random_weights(program, seed=5)
    inputs = random_inputs(program, batch=16, seed=6)
    x, y = inputs[program.inputs[0].name], np.random.default_rng(7).integers(0, 5, 16)
    results = {}
    for target in ("tf", "torch"):
        module = package.module(program, target)
        model = module.build_model(device="cpu")
        module.import_weights(model, weights)
        optimizer = module.make_optimizer(model)
        losses = [module.train_step(model, optimizer, x, y) for _ in range(3)]
        results[target] = losses, module.export_weights(model)
    np.testing.assert_allclose(results["tf"][0], results["torch"][0], atol=2e-5)
    for name, value in weights.items():
        ours, theirs = results["tf"][1][name], results["torch"][1][name]
        assert np.max(np.abs(ours - value)) > 1e-4, f"{name} did not train"
        np.testing.assert_allclose(ours, theirs, atol=2e-5, err_msg=name)


def test_generated_tf_code_uses_no_keras():
    for path in sorted((ROOT / "generated").glob("*tf*.py")):
        names = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                names.add(node.module or "")
            elif isinstance(node, (ast.Attribute, ast.Name)):
                names.add(getattr(node, "attr", None) or getattr(node, "id", ""))
        assert not any("keras" in name for name in names), path.name
