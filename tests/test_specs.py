"""Every spec in specs/ in every target: parameter counts equal the IR's, outputs equal the
numpy reference for the same canonical weights, and the weights round-trip exactly."""

from __future__ import annotations

import numpy as np
import pytest

from nndsl import reference
from tests.cases import random_inputs, random_weights
from tests.conftest import SPECS, TARGETS, program_of
from tests.test_contract import ATOL, predict_all

CASES = [
    pytest.param(spec, target, id=f"{spec.stem}-{target}") for spec in SPECS for target in TARGETS
]


@pytest.mark.parametrize(("spec", "target"), CASES)
def test_spec_in_target(spec, target, modules):
    program = program_of(spec)
    module = modules(spec, target)
    model = module.build_model(device="cpu")
    assert module.count_params(model) == (program.trainable_params, program.non_trainable_params)
    weights = random_weights(program)
    module.import_weights(model, weights)
    exported = module.export_weights(model)
    for name, value in weights.items():
        np.testing.assert_array_equal(exported[name], value, err_msg=name)
    inputs = random_inputs(program, batch=2)
    expected = reference.run(program, weights, inputs)
    got = predict_all(module, model, program, inputs)
    for output, ours, theirs in zip(program.outputs, got, expected, strict=True):
        diff = float(np.max(np.abs(ours.astype(np.float64) - theirs)))
        scale = max(1.0, float(np.max(np.abs(theirs))))
        assert diff < ATOL * scale, f"{output.name}: max abs diff {diff:.3g} (scale {scale:.3g})"
