"""torch-only behaviour: the optimizer protocol, the compiled step and mixed precision."""

from __future__ import annotations

import numpy as np
import pytest

import nndsl
from tests.cases import random_weights

torch = pytest.importorskip("torch")

SPEC = """
model small {
    input image(8, 8, 1)
    conv2d(4, 3, activation=relu)
    flatten()
    dense(3, activation=softmax)
}
train {
    dataset npz("unused.npz", batch_size=16)
    loss sparse_categorical_crossentropy
    optimizer %s
}
"""


def _module(package, optimizer: str = "adam(0.01)"):
    program = nndsl.loads(SPEC % optimizer, "small.nn")
    return program, package.module(program, "torch")


def _data(count: int = 64):
    rng = np.random.default_rng(0)
    return rng.normal(size=(count, 8, 8, 1)).astype(np.float32), rng.integers(0, 3, count)


@pytest.mark.parametrize(
    "optimizer", ["adam(0.01)", "adamw(0.01)", "rmsprop(0.01, momentum=0.5)", "adagrad(0.1)"]
)
def test_optimizers_take_a_closure(optimizer, package):
    """Lightning and LBFGS-style callers pass `closure` to step(); it is called, its loss
    returned, and the step equals the plain one."""
    program, module = _module(package, optimizer)
    weights = random_weights(program)
    x, y = _data(16)
    yt = torch.as_tensor(y)
    results = []
    for use_closure in (False, True):
        model = module.build_model(device="cpu")
        module.import_weights(model, weights)
        model.train()
        optimizer = module.make_optimizer(model)
        calls = []

        def closure(model=model, optimizer=optimizer, calls=calls):
            optimizer.zero_grad()
            loss = module.compute_loss(model(torch.as_tensor(x)), yt)
            loss.backward()
            calls.append(loss.item())
            return loss

        if use_closure:
            returned = optimizer.step(closure)
            assert calls and float(returned) == calls[0]
        else:
            closure()
            assert optimizer.step() is None
        results.append(module.export_weights(model))
    for name, value in results[0].items():
        np.testing.assert_array_equal(results[1][name], value, err_msg=name)


@pytest.mark.integration  # runs a program or compiles: not in make test-fast
def test_compiled_step_equals_the_eager_one(package):
    program, module = _module(package)
    weights = random_weights(program)
    x, y = _data(64)
    runs = {}
    for compile in (False, True):
        model = module.build_model(device="cpu")
        module.import_weights(model, weights)
        history = module.train(
            model, x, y, epochs=2, batch_size=16, verbose=False, compile=compile
        )
        runs[compile] = (history, module.export_weights(model))
    (eager, eager_w), (compiled, compiled_w) = runs[False], runs[True]
    np.testing.assert_allclose(compiled["loss"], eager["loss"], atol=1e-5)
    for name in eager_w:
        np.testing.assert_allclose(compiled_w[name], eager_w[name], atol=1e-5, err_msg=name)
    assert compiled["first_step_seconds"] > 0


def test_bf16_trains_and_fp16_needs_a_gpu(package):
    program, module = _module(package)
    x, y = _data(64)
    model = module.build_model(device="cpu")
    module.import_weights(model, random_weights(program))
    fp32 = module.evaluate(model, x, y)["loss"]
    history = module.train(model, x, y, epochs=3, batch_size=16, verbose=False, precision="bf16")
    assert np.isfinite(history["loss"]).all() and history["loss"][-1] < fp32
    assert all(p.dtype == torch.float32 for p in model.parameters())  # weights stay fp32
    with pytest.raises(ValueError, match="fp16 needs a GPU"):
        module.train(model, x, y, epochs=1, verbose=False, precision="fp16")


def test_command_line_offers_compile_and_precision(package, capsys):
    _, module = _module(package)
    with pytest.raises(SystemExit):
        module.main(["train", "--help"])
    out = capsys.readouterr().out
    assert "--compile" in out and "--precision {fp32,bf16,fp16}" in out


def test_dropout_keeps_one_minus_rate_scaled(package):
    """The support Dropout (a `rand >= p` mask on the CPU) keeps each value with probability
    1 - p, scaled by 1 / (1 - p), passes gradients through the same mask, and is the
    identity in eval mode."""
    program = nndsl.loads(SPEC.replace("flatten()", "flatten()\n    dropout(0.3)") % "sgd(0.1)")
    module = package.module(program, "torch")
    layer = module.Dropout(0.3)
    x = torch.full((1000, 1000), 2.0, requires_grad=True)
    y = layer(x)
    kept = y != 0
    assert abs(kept.float().mean().item() - 0.7) < 0.003
    assert torch.allclose(y[kept], torch.tensor(2.0 / 0.7))
    y.sum().backward()
    assert torch.equal(x.grad, kept.float() / 0.7)
    assert torch.equal(layer.eval()(x), x)


def test_relu_moves_after_a_max_pool_it_alone_feeds():
    """A relu (fused or a layer) whose only reader is the next max pool is applied after the
    pool; one whose tensor has another reader stays (tests/test_step_parity.py checks the
    values and gradients)."""
    from tests.test_step_parity import GRAPHS, TRAIN

    program = nndsl.loads(GRAPHS["relu_pool"] + TRAIN, "relu_pool.nn")
    source = nndsl.codegen.render_source(program, nndsl.targets.get("torch"), "relu_pool.nn")
    assert "x = F.relu(self.maxpool2d_1(x))" in source
    assert "x = F.relu(self.maxpool2d_2(x))" in source
    assert "c = F.relu(self.conv2d_3(x))" in source
    assert "F.relu(x)" not in source and source.count("# relu after the pool") == 2
