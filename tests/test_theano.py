"""Theano-specific checks: the import leaves os.environ (THEANO_FLAGS) as it found it, the
compiled training step computes in float32 only, the theano.functions are compiled on first
use and reused, inference is deterministic (dropout only in the train step), and the native
format is the pickled shared variables."""

from __future__ import annotations

import importlib.util
import json
import pickle
import subprocess
import sys

import numpy as np
import pytest

import nndsl
from tests.cases import random_weights

if importlib.util.find_spec("theano") is None:  # importing it needs the support's np.bool
    pytest.skip("Theano is not installed (pip install '.[theano]')", allow_module_level=True)

SPEC = """
model theanoish {
    input image(6, 6, 2)
    conv2d(4, 3, padding=same, activation=relu)
    batchnorm()
    flatten()
    dropout(0.5)
    dense(3, activation=softmax)
}
train {
    dataset npz("unused.npz", batch_size=4)
    loss sparse_categorical_crossentropy
    optimizer adam(learning_rate=0.01)
}
"""


@pytest.fixture(scope="module")
def program():
    return nndsl.loads(SPEC, "theanoish.nn")


@pytest.fixture()
def module(program, package):
    return package.module(program, "theano")


def _batch(samples=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(samples, 6, 6, 2)).astype(np.float32), rng.integers(0, 3, samples)


@pytest.mark.parametrize("flags", [None, "floatX=float32", "blas.ldflags=,floatX=float32"])
def test_import_restores_theano_flags(flags, module, package):
    """The support module passes blas.ldflags for Theano's import only (its numpy.distutils
    BLAS probe fails under current setuptools); a user's THEANO_FLAGS is kept as it was."""
    setup = "os.environ.pop('THEANO_FLAGS', None)" if flags is None else ""
    if flags is not None:
        setup = f"os.environ['THEANO_FLAGS'] = {flags!r}"
    code = (
        f"import json, os, sys; {setup}; before = dict(os.environ); "
        f"sys.path.insert(0, {str(package.folder.parent)!r}); "
        f"import {module.__name__} as m; import theano; "
        "print(json.dumps([dict(os.environ) == before, theano.config.floatX]))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    unchanged, float_x = json.loads(result.stdout.splitlines()[-1])
    assert unchanged, "importing the module changed os.environ"
    assert float_x == ("float64" if flags is None else "float32")  # the user's flags applied


def test_train_step_computes_in_float32(module, program):
    """Theano's floatX stays float64 here: every tensor of the compiled step (the optimizer's
    float64 step counter and bias corrections are scalars) must still be float32."""
    model = module.build_model()
    optimizer = module.make_optimizer(model)
    module.train_step(model, optimizer, *_batch())
    graph = optimizer.step.maker.fgraph
    wide = sorted(
        {str(v) for v in graph.variables if v.ndim >= 1 and v.dtype == "float64"}, key=str
    )
    assert not wide, f"float64 tensors in the train step: {wide[:5]}"


def test_functions_compile_on_first_use_and_are_reused(module, program):
    model = module.build_model()
    assert model._functions == {}
    optimizer = module.make_optimizer(model)
    assert optimizer.step is None
    x, y = _batch()
    module.train_step(model, optimizer, x, y)
    step = optimizer.step
    module.train_step(model, optimizer, x, y)
    assert optimizer.step is step
    module.predict(model, x)
    infer = model._functions[False]
    module.predict(model, x)
    assert model._functions[False] is infer and set(model._functions) == {False}


def test_inference_is_deterministic_and_training_drops_out(module, program):
    """predict has no dropout (the same logits twice); the train step masks at random (two
    steps from the same weights differ in loss)."""
    weights = random_weights(program, seed=5)
    x, y = _batch(16)
    model = module.build_model()
    module.import_weights(model, weights)
    np.testing.assert_array_equal(module.predict(model, x), module.predict(model, x))
    losses = []
    for _ in range(2):
        module.import_weights(model, weights)
        losses.append(module.train_step(model, module.make_optimizer(model), x, y))
    assert losses[0] != losses[1]


def test_native_format_is_pickled_shared_variables(module, program, tmp_path):
    model = module.build_model()
    module.import_weights(model, random_weights(program))
    module.save_native(model, tmp_path / "native.pkl")
    with open(tmp_path / "native.pkl", "rb") as f:
        saved = pickle.load(f)
    exported = module.export_weights(model)
    assert set(saved) == set(exported)
    kernel = saved["conv2d_1.kernel"].get_value()
    assert kernel.dtype == np.float32 and kernel.shape == (4, 2, 3, 3)  # (out, in, kh, kw)
    np.testing.assert_array_equal(kernel.transpose(2, 3, 1, 0), exported["conv2d_1.kernel"])
