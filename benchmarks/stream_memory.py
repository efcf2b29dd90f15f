"""Peak resident memory of training from the streaming shard format, on MNIST (1x) and on
MNIST's training set repeated 4 times (4x).

    python benchmarks/stream_memory.py [--target torch] [--spec specs/mlp.nn] [--json FILE]

Each run is the generated module's own `train --epochs 1` in a fresh process; the figure is
its JSON record's peak_memory_mb (ru_maxrss). Streaming: `train --data DIR` on shard folders
written by the harness's write_shards (10,000 rows per shard, the test split is MNIST's
10,000 test images in both). The issue asks for less than 10 % growth from 1x to 4x.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import nndsl  # noqa: E402
from nndsl.shards import MNIST_SHAPE, harness  # noqa: E402
from tests.test_distributed import write_package  # noqa: E402


def run(work: Path, module: str, source: list[str], name: str) -> dict:
    """One epoch in its own process; its JSON record (or the error)."""
    record = work / f"{name}.json"
    argv = [sys.executable, "-m", module, "train", "--device", "cpu", "--quiet", "--epochs", "1"]
    env = {**os.environ, "PYTHONPATH": str(work), "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run(
        [*argv, *source, "--json", str(record)], cwd=work, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["?"])[-1]}
    data = json.loads(record.read_text())
    return {key: data[key] for key in ("peak_memory_mb", "train_samples", "test_accuracy")}


def in_memory(work: Path, args: argparse.Namespace, program, splits: dict) -> dict:
    """The same 4x rows from an .npz dataset (loaded whole by the module's load_data)."""
    import numpy as np

    path = work / "data-4x.npz"
    arrays = {
        f"{key}_{split}": np.concatenate([c[i] for c in chunks])
        for split, chunks in splits.items()
        for i, key in enumerate("xy")
    }
    np.savez(path, **arrays)
    del arrays
    source = Path(args.spec).read_text(encoding="utf-8")
    dataset = next(line for line in source.splitlines() if line.strip().startswith("dataset "))
    batch = dataset.split("batch_size=")[1].split(")")[0].split(",")[0]
    spec = source.replace(dataset, f'    dataset npz("{path}", batch_size={batch})')
    (work / "npz.nn").write_text(spec.replace(f"model {program.name}", "model npz_copy"))
    write_package(work, nndsl.load(work / "npz.nn"), "npz.nn")
    try:
        return run(work, f"pkg.npz_copy_{args.target}", [], "m4")
    finally:
        path.unlink()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="torch")
    parser.add_argument("--spec", default=str(ROOT / "specs" / "mlp.nn"))
    parser.add_argument(
        "--in-memory",
        action="store_true",
        help="also 4x loaded whole (an npz dataset): the contrast",
    )
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    h = harness()
    train, test = h.load_mnist(None, None, MNIST_SHAPE, "float32", 10)
    program = nndsl.load(args.spec)
    results: dict = {"target": args.target, "spec": args.spec, "load_before": os.getloadavg()}
    with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR")) as tmp:
        work = Path(tmp)
        write_package(work, program, Path(args.spec).name)
        module = f"pkg.{program.name}_{args.target}"
        for times in (1, 4):
            folder = work / f"shards-{times}x"
            splits = {"train": [train] * times, "test": [test]}
            h.write_shards(folder, splits, MNIST_SHAPE, 10, 10_000)
            results[f"stream_{times}x"] = run(work, module, ["--data", str(folder)], f"s{times}")
            print(f"streaming {times}x: {results[f'stream_{times}x']}", flush=True)
            if args.in_memory and times == 4:
                results["memory_4x"] = in_memory(work, args, program, splits)
                print(f"in memory 4x: {results['memory_4x']}", flush=True)
            for shard in folder.iterdir():
                shard.unlink()
            folder.rmdir()
    one, four = results["stream_1x"], results["stream_4x"]
    if "error" not in one and "error" not in four:
        growth = four["peak_memory_mb"] / one["peak_memory_mb"] - 1
        results["stream_growth"] = growth
        print(f"peak RSS growth 1x -> 4x when streaming: {100 * growth:+.1f} %")
    results["load_after"] = os.getloadavg()
    print(
        f"load average (1, 5, 15 min): before {results['load_before']}, after "
        f"{results['load_after']}"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
