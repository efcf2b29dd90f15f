"""Every spec x every target: parameter counts, canonical weights and outputs agree."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tests.conftest import SPECS, TARGETS, program_of, random_inputs, random_weights

# float32 logits of magnitude ~1, after up to a few thousand multiply-adds per output
ATOL_FLOAT32 = 1e-5

CASES = [
    pytest.param(spec, target, id=f"{spec.stem}-{target}") for spec in SPECS for target in TARGETS
]


@pytest.mark.parametrize(("spec", "target"), CASES)
def test_param_counts_match_ir(spec, target, modules):
    program = program_of(spec)
    module = modules(spec, target)
    trainable, non_trainable = module.count_params(module.build_model())
    assert (trainable, non_trainable) == (program.trainable_params, program.non_trainable_params)


@pytest.mark.parametrize(("spec", "target"), CASES)
def test_canonical_weights_round_trip(spec, target, modules):
    program = program_of(spec)
    module = modules(spec, target)
    model = module.build_model()
    exported = module.export_weights(model)
    assert {k: v.shape for k, v in exported.items()} == {w.name: w.shape for w in program.weights}
    weights = random_weights(program)
    module.import_weights(model, weights)
    again = module.export_weights(model)
    for name, value in weights.items():
        np.testing.assert_array_equal(again[name], value, err_msg=name)


@pytest.mark.parametrize(("spec", "target"), CASES)
def test_import_weights_refuses_bad_arrays(spec, target, modules):
    program = program_of(spec)
    module = modules(spec, target)
    model = module.build_model()
    weights = random_weights(program)
    first = program.weights[0].name
    wrong_shape = {**weights, first: np.zeros((3, 3, 3, 3, 3), np.float32)}
    with pytest.raises(ValueError, match=first.replace(".", r"\.")):
        module.import_weights(model, wrong_shape)
    missing = {k: v for k, v in weights.items() if k != first}
    with pytest.raises(ValueError, match=first.replace(".", r"\.")):
        module.import_weights(model, missing)
    with pytest.raises(ValueError, match="bogus"):
        module.import_weights(model, {**weights, "bogus.kernel": np.zeros(1, np.float32)})


@pytest.mark.parametrize("spec", [pytest.param(s, id=s.stem) for s in SPECS])
def test_outputs_agree_across_targets(spec, modules):
    program = program_of(spec)
    weights = random_weights(program)
    x = random_inputs(program)
    outputs = {}
    for target in TARGETS:
        module = modules(spec, target)
        model = module.build_model()
        module.import_weights(model, weights)
        outputs[target] = np.asarray(module.predict(model, x), dtype=np.float64)
        assert outputs[target].shape == (len(x), *program.output_shape), target
    for a, b in itertools.combinations(TARGETS, 2):
        diff = float(np.max(np.abs(outputs[a] - outputs[b])))
        assert diff < ATOL_FLOAT32, f"{a} vs {b}: max abs diff {diff:.3g}"


@pytest.mark.parametrize(("spec", "target"), CASES)
def test_initialisers_follow_the_ir(spec, target, modules):
    """glorot_uniform kernels (bounds and spread), zero biases, BatchNorm 1/0 in every target."""
    program = program_of(spec)
    module = modules(spec, target)
    module.set_seed(0)
    weights = module.export_weights(module.build_model())
    for weight in program.weights:
        value = weights[weight.name].astype(np.float64)
        if weight.initializer == "glorot_uniform":
            fan_in, fan_out = weight.fans
            limit = np.sqrt(6.0 / (fan_in + fan_out))
            assert np.abs(value).max() <= limit + 1e-6, weight.name
            if value.size >= 100:  # U(-a, a) has standard deviation a / sqrt(3)
                assert abs(value.std() - limit / np.sqrt(3)) < 0.15 * limit, weight.name
        elif weight.initializer in ("zeros", "ones"):
            expected = 0.0 if weight.initializer == "zeros" else 1.0
            np.testing.assert_array_equal(
                value, np.full(weight.shape, expected), err_msg=weight.name
            )
