"""tf.distribute in the keras and tf targets, beyond the multi-process launches of
tests/test_distributed.py: several replicas in one process (MirroredStrategy, here over two
logical CPUs) give one device's weights, lazy (sharded) data gives the in-memory weights, and
a bad $TF_CONFIG is a one-line error."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nndsl
from nndsl import codegen, targets
from tests.cases import random_weights

pytest.importorskip("tensorflow")

SPEC = """
model small_cnn {
    input image(12, 12, 1)
    conv2d(4, 3, activation=relu)
    maxpool2d(2)
    flatten()
    dense(5, activation=softmax)
}

train {
    dataset npz("unused.npz", batch_size=32)
    loss categorical_crossentropy
    optimizer adam(learning_rate=0.01)
    epochs 1
    seed 7
}
"""
TARGETS = ("keras", "tf")
ROWS = 3 * 32 + 13  # three full batches and a last one split 7 + 6 over two replicas
# measured: max abs diff 6e-8 (keras, 2 logical CPUs vs 1, 4 Adam steps); lazy vs in-memory 0
TOLERANCE = 1e-6

# Two logical CPUs must exist before TensorFlow starts, so the strategy runs in a subprocess.
MIRRORED = """
import sys
import numpy as np
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
module = __import__(f"pkg.small_cnn_{sys.argv[1]}", fromlist=["pkg"])
data = np.load("data.npz")
weights = dict(np.load("initial.npz"))
strategies = {"one": None, "mirrored": tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])}
for name, strategy in strategies.items():
    model = module.build_model("cpu", strategy=strategy)
    module.import_weights(model, weights)
    module.train(model, data["x"], data["y"], epochs=1, batch_size=32, verbose=False, seed=3)
    np.savez(f"{name}.npz", **module.export_weights(model))
print(strategies["mirrored"].num_replicas_in_sync, "replicas")
"""


def _data(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(size=(count, 12, 12, 1)).astype(np.float32)
    return x, rng.integers(0, 5, count)


def _max_diff(a: dict, b: dict) -> float:
    assert sorted(a) == sorted(b)
    return max(float(np.abs(np.asarray(a[k]) - np.asarray(b[k])).max()) for k in a)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The spec rendered for keras and tf as the package `pkg`, with data and weights."""
    root = tmp_path_factory.mktemp("tf_distribute")
    program, package = nndsl.loads(SPEC, "small_cnn.nn"), root / "pkg"
    package.mkdir()
    (package / codegen.INIT).write_text("")
    (package / codegen.HARNESS).write_text(codegen.render_harness())
    for target in map(targets.get, TARGETS):
        if target.support_module:
            (package / f"{target.support_module}.py").write_text(codegen.render_support(target))
        source = codegen.render(program, target, "small_cnn.nn")
        (package / f"small_cnn_{target.name}.py").write_text(source)
    x, y = _data(ROWS)
    np.savez(root / "data.npz", x=x, y=y)
    weights = random_weights(program, seed=5)
    np.savez(root / "initial.npz", **{k: v.astype(np.float32) for k, v in weights.items()})
    return root


def _run(folder: Path, argv: list[str], **env: str) -> subprocess.CompletedProcess:
    environ = {**os.environ, "PYTHONPATH": str(folder), "TF_CPP_MIN_LOG_LEVEL": "2", **env}
    return subprocess.run(
        argv, cwd=folder, env=environ, capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize("target", TARGETS)
def test_mirrored_strategy_in_one_process_gives_one_devices_weights(folder, target):
    done = _run(folder, [sys.executable, "-c", MIRRORED, target])
    assert done.returncode == 0, done.stderr[-3000:]
    assert "2 replicas" in done.stdout
    one, mirrored = dict(np.load(folder / "one.npz")), dict(np.load(folder / "mirrored.npz"))
    assert _max_diff(one, mirrored) < TOLERANCE
    assert _max_diff(one, dict(np.load(folder / "initial.npz"))) > 1e-3  # it trained


@pytest.mark.parametrize("target", TARGETS)
def test_lazy_data_trains_and_evaluates_as_in_memory_data(package, tmp_path, target):
    program = nndsl.loads(SPEC, "small_cnn.nn")
    module = package.module(program, target)
    x, y = _data(ROWS, seed=1)
    halves = [(x[:50], y[:50]), (x[50:], y[50:])]
    module._harness.write_shards(
        tmp_path / "shards", {"train": halves, "test": halves}, (12, 12, 1), 5, 40
    )
    (lazy_x, lazy_y), _ = module._harness.load_shards(
        tmp_path / "shards", None, (12, 12, 1), "float32", 5
    )
    assert module._harness.is_lazy(lazy_x)
    weights = random_weights(program, seed=2)
    results = []
    for data in ((x, y), (lazy_x, lazy_y)):
        model = module.build_model("cpu")
        module.import_weights(model, weights)
        module.train(model, *data, epochs=2, batch_size=32, verbose=False, seed=4)
        results.append(
            (module.export_weights(model), module.evaluate(model, *data, batch_size=32))
        )
    (memory, memory_metrics), (lazy, lazy_metrics) = results
    assert _max_diff(memory, lazy) < TOLERANCE
    assert lazy_metrics["accuracy"] == memory_metrics["accuracy"]
    assert abs(lazy_metrics["loss"] - memory_metrics["loss"]) < 1e-5


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize(
    "config, message",
    [
        ("{not json", "$TF_CONFIG is not"),
        ('{"cluster": {"worker": ["localhost:1"]}, "task": {"type": "ps", "index": 0}}', "task"),
    ],
)
def test_a_bad_tf_config_is_a_one_line_error(folder, target, config, message):
    argv = [sys.executable, "-m", f"pkg.small_cnn_{target}", "train", "--limit", "10"]
    done = _run(folder, argv, TF_CONFIG=config)
    assert done.returncode == 2
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"pkg.small_cnn_{target}: error:") and message in last
    assert "Traceback" not in done.stderr
