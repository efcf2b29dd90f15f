"""Brief training on real MNIST in every target, against measured accuracy floors.

Floors come from measurement on this project's CI machine (2 cores), one epoch with the
spec's seed on the first LIMIT training images (all 60,000 where no limit is given, less the
spec's validation split), then evaluation on the 10,000 test images; see docs/results.md for
the figures. Each floor sits below the lowest measured target with room for seed-to-seed
noise (BatchNorm networks diverge chaotically between frameworks after a few steps), and far
above chance (0.10), which a broken loss, a double softmax or a dead gradient path gives.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from nndsl.data import MNIST_FILES, default_data_dir
from tests.conftest import ROOT, TARGETS

FLOORS = {"cnn": 0.97, "mlp": 0.91, "resnet_mnist": 0.6, "rnn_mnist": 0.8}
# training images used per spec (a subset keeps CI short: 200 steps of each)
LIMIT = {"resnet_mnist": 25_600, "rnn_mnist": 20_000}
EPOCHS = 1
# floors left out of CI, with the reason (docs/results.md has their measured figures)
LEFT_OUT = {
    (spec, "theano"): "Theano trains on one core, 3-5x slower than the others here: its residual"
    " and recurrent floors (0.9297, 0.9104 measured) would add ~5 minutes to CI; step parity and"
    " the contract suite cover the same layers"
    for spec in ("resnet_mnist", "rnn_mnist")
}


def _mnist_available() -> bool:
    folder = default_data_dir() / "mnist"
    return all((folder / name).is_file() for name in MNIST_FILES)


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not _mnist_available() and not os.environ.get("NNDSL_REQUIRE_DATA"),
        reason="MNIST not fetched: run `nndsl data fetch mnist` (CI sets NNDSL_REQUIRE_DATA=1)",
    ),
]


def _train(module, limit=None):
    module.set_seed(module.SEED)
    (x_train, y_train), (x_test, y_test) = module.load_data()
    (x_train, y_train), _ = module._harness.split_validation(
        x_train, y_train, module.VALIDATION_SPLIT
    )
    x_train, y_train = x_train[:limit], y_train[:limit]
    model = module.build_model(device="cpu")
    history = module.train(model, x_train, y_train, epochs=EPOCHS, verbose=False)
    metrics = module.evaluate(model, x_test, y_test)
    return model, history, metrics, (x_test, y_test)


@pytest.fixture(scope="module")
def trained(modules):
    cache = {}

    def get(spec_name: str, target: str):
        key = (spec_name, target)
        if key not in cache:
            module = modules(ROOT / "specs" / f"{spec_name}.nn", target)
            cache[key] = (module, *_train(module, LIMIT.get(spec_name)))
        return cache[key]

    return get


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("spec_name", sorted(FLOORS))
def test_one_epoch_reaches_floor(spec_name, target, trained):
    if (spec_name, target) in LEFT_OUT:
        pytest.skip(LEFT_OUT[spec_name, target])
    _, _, history, metrics, _ = trained(spec_name, target)
    print(f"{spec_name} {target}: {metrics} in {history['epoch_seconds']}")
    assert len(history["epoch_seconds"]) == EPOCHS
    assert np.isfinite(metrics["loss"])
    assert metrics["accuracy"] >= FLOORS[spec_name], metrics


@pytest.mark.parametrize("target", [t for t in TARGETS if t != "torch"])
def test_torch_weights_evaluate_identically_elsewhere(target, trained, modules):
    torch_module, model, _, metrics, (x_test, y_test) = trained("cnn", "torch")
    weights = torch_module.export_weights(model)
    other = modules(ROOT / "specs" / "cnn.nn", target)
    clone = other.build_model(device="cpu")
    other.import_weights(clone, weights)
    theirs = other.evaluate(clone, x_test, y_test)
    assert round(theirs["accuracy"], 4) == round(metrics["accuracy"], 4)
    assert abs(theirs["loss"] - metrics["loss"]) < 1e-4
