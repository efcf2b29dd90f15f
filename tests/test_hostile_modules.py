"""Hostile and broken input to the generated modules, in every target.

Names from a spec never collide with a module's own names (a namespace rule: layer
attributes are `<kind>_<n>`, classes end in `Net`, locals that would shadow a module-level
name get a trailing `_`). Strings reaching code only as literals: tests/test_codegen.py.
"""

from __future__ import annotations

import numpy as np
import pytest

import nndsl
from tests.cases import random_weights
from tests.conftest import TARGETS

# names of the generated modules' own globals, imports and helpers, and Python's builtins
SHADOWING = [
    "SEED", "Path", "CTX", "LOSS", "TARGET", "EPOCHS", "INPUT_SHAPE", "MODEL_NAME",
    "np", "torch", "tf", "keras", "mx", "nn", "F", "sys", "os", "gluon", "autograd",
    "main", "predict", "load", "save", "build_model", "evaluate", "make_optimizer",
    "x", "h", "self", "print", "len", "range", "list", "sum", "max",
]  # fmt: skip


def _spec(name: str) -> str:
    return f"""
block {name}(units) {{
    {name} = dense(units, activation=relu)
    {name}2 = input -> dense(units)
    add({name}, {name}2)
}}
model {name} {{
    input {name} = vector(6)
    {name}(4)
    dense(3, activation=softmax)
}}
train {{
    dataset npz("unused.npz", batch_size=4)
    loss sparse_categorical_crossentropy
    optimizer sgd(0.1)
}}
"""


CASES = [pytest.param(t, n, id=f"{t}-{n}") for t in TARGETS for n in SHADOWING]


@pytest.mark.parametrize(("target", "name"), CASES)
def test_spec_names_never_shadow_module_names(target: str, name: str, package):
    program = nndsl.loads(_spec(name), f"{name}.nn")
    module = package.module(program, target)
    model = module.build_model(device="cpu")
    weights = random_weights(program)
    module.import_weights(model, weights)
    x = np.random.default_rng(0).normal(size=(4, 6)).astype(np.float32)
    assert module.predict(model, x, probabilities=True).shape == (4, 3)
    loss = module.train_step(model, module.make_optimizer(model), x, np.array([0, 1, 2, 0]))
    assert np.isfinite(loss)
    assert module.MODEL_NAME == name and module.TARGET == target


CLI_SPEC = """
model clf {
    input vector(4)
    dense(3, activation=softmax)
}
train {
    dataset npz("data.npz", batch_size=4)
    loss sparse_categorical_crossentropy
    optimizer sgd(0.1)
}
"""


def _npz(path, **arrays):
    np.savez(path, **arrays)


@pytest.mark.parametrize("target", TARGETS)
def test_broken_data_and_weights_are_one_line_errors(
    target, package, tmp_path, monkeypatch, capsys
):
    program = nndsl.loads(CLI_SPEC, "clf.nn")
    module = package.module(program, target)
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    good = {"x_train": rng.normal(size=(8, 4)), "y_train": rng.integers(0, 3, 8)}
    good |= {"x_test": rng.normal(size=(4, 4)), "y_test": rng.integers(0, 3, 4)}
    module.save(module.build_model(device="cpu"), tmp_path / "w.npz")
    raw = (tmp_path / "w.npz").read_bytes()
    (tmp_path / "truncated.npz").write_bytes(raw[: len(raw) // 2])
    np.save(tmp_path / "array.npy", np.zeros(3))
    np.savez(
        tmp_path / "complex.npz",
        **{
            k: v.astype(np.complex64)
            for k, v in module.export_weights(module.build_model(device="cpu")).items()
        },
    )
    cases = [
        (
            {**good, "y_train": np.array([0, 1, 200, 0, 0, 0, 0, 0])},
            ["train"],
            "label 200 is not a class",
        ),
        ({**good, "y_train": good["y_train"].astype(float) + 0.5}, ["train"], "is not a class"),
        ({**good, "x_train": np.full((8, 4), np.nan)}, ["train"], "NaN or infinite"),
        ({**good, "x_train": np.zeros(())}, ["train"], "one label per sample"),
        (good, ["evaluate", "--weights", "truncated.npz"], "not a readable .npz"),
        (good, ["evaluate", "--weights", "array.npy"], "not an .npz"),
        (good, ["evaluate", "--weights", "complex.npz"], "canonical weights are float32"),
    ]
    for arrays, argv, message in cases:
        _npz(tmp_path / "data.npz", **arrays)
        assert module.main([*argv, "--quiet"] if argv == ["train"] else argv) == 2, (argv, message)
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err
        assert "Traceback" not in err
