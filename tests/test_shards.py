"""The streaming data format: .npy shards + meta.json (`nndsl data convert`, `train --data`),
read lazily by the generated harness's ShardedArray."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nndsl
from nndsl.cli import main
from nndsl.shards import harness
from tests.conftest import TARGETS
from tests.test_distributed import SPEC, write_package
from tests.test_training import _mnist_available

H = harness()
SHAPE = (4, 3, 1)


def _dataset(rows: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.random((rows, *SHAPE), dtype=np.float32), rng.integers(0, 5, rows)


@pytest.fixture()
def folder(tmp_path: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    """A shard folder of 250 train rows in two chunks (shards of 100, 100, 20, 30) and 40 test."""
    x, y = _dataset(290)
    splits = {
        "train": [(x[:220], y[:220]), (x[220:250], y[220:250])],
        "test": [(x[250:], y[250:])],
    }
    H.write_shards(tmp_path / "shards", splits, SHAPE, 5, 100)
    return tmp_path / "shards", x, y


def test_gathers_rows_across_shards_in_the_asked_order(folder):
    path, x, y = folder
    (xt, yt), (xs, ys) = H.load_shards(path, None, (12,), "float32", 5)
    assert xt.shape == (250, 12) and len(yt) == 250 and xs.shape == (40, 12)
    rows = np.random.default_rng(1).permutation(250)[:70]
    assert np.array_equal(xt[rows], x[rows].reshape(70, 12))
    assert np.array_equal(yt[rows], y[rows]) and yt[rows].dtype == np.int64
    window = xt[90:230]  # lazy, across shard boundaries
    assert H.is_lazy(window) and len(window) == 140
    assert np.array_equal(np.asarray(window), x[90:230].reshape(140, 12))
    assert np.array_equal(ys[[-1, 0]], y[[289, 250]])
    (limited, _), _ = H.load_shards(path, 30, SHAPE, "float32", 5)
    assert len(limited) == 30 and np.array_equal(np.asarray(limited), x[:30])
    meta = json.loads((path / "meta.json").read_text())
    assert [e["rows"] for e in meta["splits"]["train"]] == [100, 100, 20, 30]


def test_validation_split_of_a_lazy_array_stays_lazy(folder):
    path, x, _ = folder
    (xt, yt), _ = H.load_shards(path, None, SHAPE, "float32", 5)
    (train, _), (held, _) = H.split_validation(xt, yt, 0.1)
    assert H.is_lazy(train) and len(train) == 225 and len(held) == 25
    assert np.array_equal(np.asarray(held), x[225:250])


def _break_sha(path: Path) -> str:
    shard = path / "train-00001-x.npy"
    data = bytearray(shard.read_bytes())
    data[-1] ^= 1
    shard.write_bytes(bytes(data))
    return "train-00001-x.npy: sha256 does not match"


def _break_missing(path: Path) -> str:
    (path / "test-00000-y.npy").unlink()
    return "test-00000-y.npy: shard missing"


def _break_shape(path: Path) -> str:
    meta = json.loads((path / "meta.json").read_text())
    shard = path / "train-00002-x.npy"
    np.save(shard, np.zeros((20, 4, 3), np.float32))  # a dimension short, sha updated
    meta["sha256"][shard.name] = H._sha256_file(shard)
    (path / "meta.json").write_text(json.dumps(meta))
    return "train-00002-x.npy: holds (20, 4, 3) float32, meta.json says (20, 4, 3, 1)"


def _break_dtype(path: Path) -> str:
    meta = json.loads((path / "meta.json").read_text())
    shard = path / "train-00000-y.npy"
    np.save(shard, np.zeros(100, np.float32))
    meta["sha256"][shard.name] = H._sha256_file(shard)
    (path / "meta.json").write_text(json.dumps(meta))
    return "train-00000-y.npy: holds (100,) float32, meta.json says (100,) int64"


@pytest.mark.parametrize("damage", [_break_sha, _break_missing, _break_shape, _break_dtype])
def test_a_broken_shard_folder_names_the_file(folder, damage):
    path = folder[0]
    expected = damage(path)
    with pytest.raises(H.DataError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        H.load_shards(path, None, SHAPE, "float32", 5)


def test_write_is_atomic_and_refuses_an_existing_folder(tmp_path):
    x, y = _dataset(10)
    y[7] = 9  # not one of 5 classes: refused while writing the first chunk
    with pytest.raises(H.DataError, match="row 7"):
        H.write_shards(tmp_path / "out", {"train": [(x, y)]}, SHAPE, 5, 4)
    assert list(tmp_path.iterdir()) == []  # no folder, no temporary left behind
    (tmp_path / "out").mkdir()
    with pytest.raises(H.DataError, match="already exists"):
        H.write_shards(tmp_path / "out", {"train": [(x, y % 5)]}, SHAPE, 5, 4)


def test_worker_rows_cover_the_global_batch_and_weights_average_to_one():
    batch = np.arange(37) * 3
    shares = [H.worker_rows(batch, rank, 4) for rank in range(4)]
    assert np.array_equal(np.concatenate(shares), batch)
    weights = [H.worker_weight(len(s), len(batch), 4) for s in shares]
    assert np.isclose(np.mean(weights), 1.0) and weights[0] == 4 * 10 / 37


def test_convert_command_npz_and_csv(tmp_path, capsys):
    x, y = _dataset(30)
    np.savez(tmp_path / "d.npz", x_train=x[:20], y_train=y[:20], x_test=x[20:], y_test=y[20:])
    assert main(["data", "convert", str(tmp_path / "d.npz"), "--out", str(tmp_path / "n")]) == 0
    assert "train 20 rows, test 10 rows" in capsys.readouterr().out
    (xt, _), (xs, ys) = H.load_shards(tmp_path / "n", None, SHAPE, "float32", 5)
    assert np.array_equal(np.asarray(xs), x[20:]) and np.array_equal(np.asarray(ys), y[20:])
    header = "label," + ",".join(f"f{i}" for i in range(12))
    for name, rows in (("a.csv", range(20)), ("b.csv", range(20, 30))):
        lines = [f"{y[r]}," + ",".join(f"{v:.9g}" for v in x[r].ravel()) for r in rows]
        (tmp_path / name).write_text("\n".join([header, *lines]) + "\n")
    argv = ["data", "convert", str(tmp_path / "a.csv"), "--out", str(tmp_path / "c")]
    assert main([*argv, "--shard-rows", "7", "--test", str(tmp_path / "b.csv")]) == 0
    (xt, yt), (xs, _) = H.load_shards(tmp_path / "c", None, SHAPE, "float32", 5)
    assert np.array_equal(np.asarray(yt), y[:20]) and np.allclose(np.asarray(xt), x[:20])
    assert np.allclose(np.asarray(xs), x[20:])
    assert main(["data", "convert", str(tmp_path / "a.csv"), "--out", str(tmp_path / "d")]) == 2
    assert "needs --test" in capsys.readouterr().err
    assert not (tmp_path / "d").exists()


def test_convert_refuses_bad_input_with_one_line(tmp_path, capsys):
    assert main(["data", "convert", "x.txt", "--out", str(tmp_path / "o")]) == 2
    assert main(["data", "convert", str(tmp_path / "none.npz"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("nndsl: error: ") for line in err)


@pytest.mark.skipif(not _mnist_available(), reason="MNIST not fetched")
def test_torch_trains_the_same_from_shards_as_from_memory(tmp_path, package):
    program = nndsl.loads(
        "model s { input image(28, 28, 1)\n flatten()\n dense(10, activation=softmax) }\n"
        "train { dataset mnist(batch_size=32)\n loss categorical_crossentropy\n"
        " optimizer sgd(learning_rate=0.1)\n epochs 1\n seed 1 }\n"
    )
    module = package.module(program, "torch")
    assert (
        main(["data", "convert", "mnist", "--out", str(tmp_path / "m"), "--shard-rows", "7000"])
        == 0
    )
    (x, y), _ = module.load_data(limit=500)
    (lx, ly), (tx, ty) = H.load_shards(tmp_path / "m", 500, (28, 28, 1), "float32", 10)
    runs = []
    for data in ((x, y), (lx, ly)):
        module.set_seed(1)
        model = module.build_model("cpu")
        history = module.train(model, *data, verbose=False)
        runs.append(
            (module.export_weights(model), history["loss"], module.evaluate(model, tx, ty))
        )
    (w0, loss0, m0), (w1, loss1, m1) = runs
    assert all(np.array_equal(w0[k], w1[k]) for k in w0) and loss0 == loss1 and m0 == m1


@pytest.mark.skipif(not _mnist_available(), reason="MNIST not fetched")
@pytest.mark.parametrize("target", TARGETS)
def test_every_target_trains_the_same_from_shards(target, tmp_path_factory):
    root = tmp_path_factory.getbasetemp() / "shards-cli"
    if not (root / "mnist").exists():
        write_package(root, nndsl.loads(SPEC, "dist_cnn.nn"), "dist_cnn.nn")
        assert main(["data", "convert", "mnist", "--out", str(root / "mnist")]) == 0
    argv = [sys.executable, "-m", f"pkg.dist_cnn_{target}", "train", "--device", "cpu"]
    argv += ["--limit", "200", "--quiet"]
    env = {**os.environ, "PYTHONPATH": str(root), "TF_CPP_MIN_LOG_LEVEL": "2"}
    printed = []
    for extra in ([], ["--data", str(root / "mnist")]):
        done = subprocess.run(
            [*argv, *extra], cwd=root, env=env, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, done.stderr[-2000:]
        printed.append(done.stdout.strip().splitlines()[-1])
    assert printed[0].startswith("test loss") and printed[0] == printed[1]
    missing = subprocess.run(  # --data is read, not ignored
        [*argv, "--data", str(root / "none")], cwd=root, env=env, capture_output=True, text=True
    )
    assert missing.returncode == 2 and "meta.json: not found" in missing.stderr
