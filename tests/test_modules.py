"""Generated modules as libraries and programs, in every target: no import side effects,
exceptions not exits, probabilities, native formats, devices, the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import nndsl
from nndsl import codegen, initial, targets
from tests.cases import random_weights
from tests.conftest import PACKAGE

TARGETS = list(targets.registry())

SPEC = """
model clf {
    input image(6, 6, 2)
    conv2d(4, 3, padding=same, activation=relu)
    batchnorm()
    flatten()
    dropout(0.2)
    dense(3, activation=softmax)
}
train {
    dataset npz("data.npz", batch_size=8)
    loss sparse_categorical_crossentropy
    optimizer adam(0.01)
    epochs 2
}
"""

# per target: a snippet printing whether importing the framework switched determinism on
DETERMINISM = {
    "torch": "import torch; print(torch.are_deterministic_algorithms_enabled())",
    # TF 2.21 has no public getter (tf.config.experimental only enables); Keras reads this one
    "keras": "from tensorflow.python.framework import config; print(config.is_op_determinism_enabled())",
    "tf": "from tensorflow.python.framework import config; print(config.is_op_determinism_enabled())",
    "gluon": "import os; print(os.environ.get('MXNET_ENFORCE_DETERMINISM', '0') != '0')",
    "flax": "import os; print('deterministic' in os.environ.get('XLA_FLAGS', ''))",
}


@pytest.fixture(scope="module")
def program():
    return nndsl.loads(SPEC, "clf.nn")


def _dataset(folder, samples=32):
    rng = np.random.default_rng(0)
    arrays = {
        f"{kind}_{split}": (
            rng.normal(size=(samples, 6, 6, 2)).astype(np.float32)
            if kind == "x"
            else rng.integers(0, 3, samples)
        )
        for kind in ("x", "y")
        for split in ("train", "test")
    }
    np.savez(folder / "data.npz", **arrays)


# what the framework's own import does to the process is not the module's doing
FRAMEWORK = {
    "keras": "import keras",
    "tf": "import tensorflow",
    "gluon": "import numpy as np; np.bool = bool; import mxnet",
    # Theano 1.0.5 under NumPy 1.26 and setuptools >= 74: see _theano_support._import_theano
    "theano": (
        "import numpy as np; np.bool = bool; import os; os.environ['THEANO_FLAGS'] = "
        "'blas.ldflags='; import theano; del os.environ['THEANO_FLAGS']"
    ),
}


@pytest.mark.parametrize("target", TARGETS)
def test_import_changes_nothing_in_the_process(target, program, package):
    module = package.module(program, target)
    probe = DETERMINISM.get(target, "print(False)")
    framework = FRAMEWORK.get(target, f"import {targets.get(target).framework}")
    code = (
        f"import json, os, sys; {framework}; before = dict(os.environ); "
        f"sys.path.insert(0, {str(package.folder.parent)!r}); "
        f"import {module.__name__}; "
        "print(json.dumps(dict(os.environ) == before)); " + probe
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    unchanged, determinism = result.stdout.split()[-2:]
    assert unchanged == "true", "importing the module changed os.environ"
    assert determinism == "False", "importing the module switched determinism on"


@pytest.mark.parametrize("target", TARGETS)
def test_predict_gives_logits_or_probabilities(target, program, package):
    module = package.module(program, target)
    model = module.build_model(device="cpu")
    module.import_weights(model, random_weights(program))
    x = np.random.default_rng(1).normal(size=(5, 6, 6, 2)).astype(np.float32)
    logits = module.predict(model, x)
    probabilities = module.predict(model, x, probabilities=True)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(probabilities, e / e.sum(axis=1, keepdims=True), atol=1e-5)


@pytest.mark.parametrize("target", TARGETS)
def test_native_format_round_trips(target, program, package, tmp_path):
    module = package.module(program, target)
    model = module.build_model(device="cpu")
    module.import_weights(model, random_weights(program))
    x = np.random.default_rng(2).normal(size=(3, 6, 6, 2)).astype(np.float32)
    path = tmp_path / f"native_{target}"
    module.save_native(model, str(path))
    again = module.load_native(str(path), device="cpu")
    np.testing.assert_allclose(module.predict(again, x), module.predict(model, x), atol=1e-6)
    for name, value in module.export_weights(model).items():
        np.testing.assert_array_equal(module.export_weights(again)[name], value, err_msg=name)


@pytest.mark.parametrize("target", TARGETS)
def test_library_functions_raise_instead_of_exiting(target, program, package, tmp_path):
    module = package.module(program, target)
    model = module.build_model(device="cpu")
    weights = random_weights(program)
    with pytest.raises(ValueError, match="weights file not found"):
        module.load(tmp_path / "missing.npz")
    bad = {
        "conv2d_1.kernel": weights["conv2d_1.kernel"].astype(np.int32),
        "dense_1.bias": np.full(3, np.nan, np.float32),
        "dense_1.kernel": np.zeros((2, 2), np.float32),
    }
    for name, value in bad.items():
        with pytest.raises(ValueError, match=name.replace(".", r"\.")):
            module.import_weights(model, {**weights, name: value})
    exact = {k: v.astype(np.float64) for k, v in weights.items()}
    module.import_weights(model, exact)  # float64 holding float32 values converts exactly
    inexact = {**exact, "dense_1.bias": exact["dense_1.bias"] + 1e-12}
    with pytest.raises(ValueError, match="dense_1.bias"):
        module.import_weights(model, inexact)
    with pytest.raises(ValueError, match="label"):
        module.evaluate(model, np.zeros((2, 6, 6, 2), np.float32), np.array([0, 7]))


GPUS = {
    "torch": "import torch; print(torch.cuda.is_available())",
    "keras": "import tensorflow as tf; print(bool(tf.config.list_physical_devices('GPU')))",
    "tf": "import tensorflow as tf; print(bool(tf.config.list_physical_devices('GPU')))",
    "flax": "import jax; print(any(d.platform == 'gpu' for d in jax.devices()))",
    "gluon": "import numpy as np; np.bool = bool; import mxnet as mx; print(mx.context.num_gpus() > 0)",
}


@pytest.mark.parametrize("target", TARGETS)
def test_a_missing_gpu_is_an_error(target, program, package):
    module = package.module(program, target)
    probe = subprocess.run(
        [sys.executable, "-c", GPUS.get(target, "print(False)")], capture_output=True, text=True
    )
    if probe.stdout.strip().endswith("True"):
        pytest.skip("a GPU is present")
    with pytest.raises(ValueError, match="GPU"):
        module.build_model(device="cuda")


@pytest.mark.parametrize("target", TARGETS)
def test_command_line(target, program, package, tmp_path, monkeypatch, capsys):
    module = package.module(program, target)
    monkeypatch.chdir(tmp_path)
    _dataset(tmp_path)
    assert module.main(["train", "--quiet", "--save", "w.npz", "--json", "r.json"]) == 0
    out = capsys.readouterr().out
    assert "saved weights to w.npz" in out and "test accuracy" in out
    record = json.loads((tmp_path / "r.json").read_text())
    assert record["trainable_params"] == program.trainable_params
    assert record["samples_per_second"] > 0 and len(record["epoch_seconds"]) == 2
    warm_up = min(record["first_steps"] * module.BATCH_SIZE, record["train_samples"])
    timed = (record["train_samples"] * 2 - warm_up) / sum(record["epoch_seconds"])
    assert record["samples_per_second"] == pytest.approx(timed)
    assert module.main(["evaluate", "--weights", "w.npz"]) == 0
    np.save(tmp_path / "x.npy", np.zeros((2, 6, 6, 2), np.float32))
    assert module.main(["predict", "x.npy", "--weights", "w.npz", "--probabilities"]) == 0
    capsys.readouterr()
    assert module.main(["summary"]) == 0
    assert f"{program.trainable_params:,} trainable" in capsys.readouterr().out
    for argv, message in [
        (["evaluate", "--weights", "missing.npz"], "weights file not found"),
        (["predict", "x.npy", "--weights", "x.npy"], "not an .npz"),
        (["predict", "missing.npy", "--weights", "w.npz"], "missing.npy"),
    ]:
        assert module.main(argv) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err
    with pytest.raises(SystemExit):
        module.main(["evaluate"])  # --weights is required: no silently untrained model
    assert "--weights" in capsys.readouterr().err


@pytest.mark.parametrize("target", TARGETS)
def test_train_starts_from_the_initial_weights_file(
    target, program, package, tmp_path, monkeypatch
):
    """`train --initial-weights` imports compare's canonical draw and walks the seed's batches:
    the record's digests are compare's own (dsl/initial.py)."""
    module = package.module(program, target)
    monkeypatch.chdir(tmp_path)
    _dataset(tmp_path)
    drawn = initial.initial_weights(program.weights, 7)
    np.savez(tmp_path / "init.npz", **drawn)
    argv = ["train", "--quiet", "--epochs", "2", "--seed", "7", "--initial-weights", "init.npz"]
    assert module.main(argv + ["--json", "r.json"]) == 0
    record = json.loads((tmp_path / "r.json").read_text())
    assert record["initial_weights_imported"] is True
    assert record["initial_weights_sha256"] == initial.weights_sha256(drawn)
    assert record["batch_order_sha256"] == initial.order_sha256(record["train_samples"], 7, 2)


@pytest.mark.parametrize("target", TARGETS)
def test_python_dash_m_help_names_the_module(target, program, tmp_path):
    folder = tmp_path / "pkg"
    chosen = [targets.get(target)]
    codegen.write_package(codegen.plan([(program, "clf.nn")], chosen, folder), folder)
    result = subprocess.run(
        [sys.executable, "-m", f"pkg.clf_{target}", "train", "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": ""},
    )
    assert result.returncode == 0, result.stderr
    assert f"python -m pkg.clf_{target} train" in result.stdout
    assert "(default: 2)" in result.stdout  # the spec's epochs


def test_package_name_is_not_hard_coded():
    assert PACKAGE not in codegen._harness_source()
