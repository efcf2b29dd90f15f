"""The contract every target meets for every layer kind (the cases of tests/cases.py):
parameter counts equal the IR's, outputs equal the numpy reference, and canonical weights
round-trip exactly. A kind a target lists in `unsupported` is skipped with its reason."""

from __future__ import annotations

import numpy as np
import pytest

from nndsl import ir, reference, targets
from tests.cases import CASES, load, random_inputs, random_weights

# float32 outputs of magnitude ~1 against the float64 reference
ATOL = 1e-5

CONTRACT = [
    pytest.param(target, body, id=f"{target}-{case_id}")
    for target in targets.registry()
    for case_id, body in CASES
]


def _unsupported(program: ir.Program, target: str) -> str | None:
    refused = targets.get(target).unsupported
    for node in program.nodes:
        for kind in (node.op.kind, getattr(getattr(node.op, "layer", None), "kind", None)):
            if kind in refused:
                return f"{target} does not support {kind}: {refused[kind]}"
    return None


def predict_all(module, model, program: ir.Program, inputs: dict) -> list[np.ndarray]:
    """The generated module's logits for every output, as a list."""
    x = inputs[program.inputs[0].name] if len(inputs) == 1 else inputs
    out = module.predict(model, x)
    return list(out) if isinstance(out, tuple) else [out]


@pytest.mark.parametrize(("target", "body"), CONTRACT)
def test_layer_contract(target: str, body: str, package):
    program = load(body)
    reason = _unsupported(program, target)
    if reason:
        pytest.skip(reason)
    module = package.module(program, target)
    model = module.build_model(device="cpu")
    counts = module.count_params(model)
    assert counts == (program.trainable_params, program.non_trainable_params)
    weights = random_weights(program)
    module.import_weights(model, weights)
    again = module.export_weights(model)
    assert set(again) == set(weights)
    for name, value in weights.items():
        np.testing.assert_array_equal(again[name], value, err_msg=name)
    inputs = random_inputs(program)
    expected = reference.run(program, weights, inputs)
    got = predict_all(module, model, program, inputs)
    for output, ours, theirs in zip(program.outputs, got, expected, strict=True):
        assert ours.shape == theirs.shape, (output.name, ours.shape, theirs.shape)
        diff = float(np.max(np.abs(ours.astype(np.float64) - theirs)))
        assert diff < ATOL, f"{output.name}: max abs diff {diff:.3g} from the reference"
