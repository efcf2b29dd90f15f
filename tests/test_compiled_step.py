"""The opt-in compiled step (`train(..., compile=True)`, the CLI's `--compile`) trains to the
same weights as the default step, in every target whose `train` offers it (torch:
torch.compile; keras: jit_compile; tf: tf.function(jit_compile=True)); keras and tf with a
last partial batch (a second compiled shape), torch without one (its compiled step drops
the last partial batch by design: one shape for CUDA graphs)."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import nndsl
from tests.cases import random_weights
from tests.conftest import TARGETS

SPEC = """
model compiled {
    input image(8, 8, 1)
    conv2d(4, 3, activation=relu)
    maxpool2d(2)
    flatten()
    dense(3, activation=softmax)
}
train {
    dataset npz("unused.npz", batch_size=16)
    loss sparse_categorical_crossentropy
    optimizer adam(learning_rate=0.01)
}
"""


ROWS = {"torch": 48, "keras": 40, "tf": 40}  # batches of 16


def _compiling(package) -> list[str]:
    program = nndsl.loads(SPEC, "compiled.nn")
    return [
        target
        for target in TARGETS
        if "compile" in inspect.signature(package.module(program, target).train).parameters
    ]


def test_the_compiled_step_is_offered_where_the_framework_compiles(package):
    assert {"torch", "keras", "tf"} <= set(_compiling(package))


@pytest.mark.parametrize("target", sorted(ROWS))
def test_compiled_training_equals_the_default(target, package):
    program = nndsl.loads(SPEC, "compiled.nn")
    module = package.module(program, target)
    weights = random_weights(program, seed=3)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(ROWS[target], 8, 8, 1)).astype(np.float32)
    y = rng.integers(0, 3, ROWS[target])
    runs = {}
    for compile in (False, True):
        model = module.build_model(device="cpu")
        module.import_weights(model, weights)
        history = module.train(
            model, x, y, epochs=2, batch_size=16, verbose=False, seed=5, compile=compile
        )
        runs[compile] = (history["loss"], module.export_weights(model))
    (eager_loss, eager), (compiled_loss, compiled) = runs[False], runs[True]
    np.testing.assert_allclose(compiled_loss, eager_loss, atol=1e-5)
    for name, value in eager.items():
        np.testing.assert_allclose(compiled[name], value, atol=1e-5, err_msg=name)
