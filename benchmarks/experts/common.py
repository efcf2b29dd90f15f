"""What every expert script shares: MNIST from the IDX files, the timing rule, the record.

The timing rule is the generated modules': the first training step (tracing, compilation,
allocation) is timed apart, and samples/s counts every later sample over the training time
alone (no validation or evaluation inside it).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import time
from pathlib import Path

import numpy as np

MODELS = ("cnn", "mlp")


def arguments(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--model", choices=MODELS, default="cnn")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--samples", type=int, help="train on the first N images")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--json", help="write the record here (else print it)")
    return parser.parse_args()


def _read(name: str, offset: int) -> np.ndarray:
    folder = Path(os.environ.get("NNDSL_DATA_DIR", Path.home() / ".cache" / "nndsl")) / "mnist"
    path = folder / name
    raw = (
        path.read_bytes()
        if path.exists()
        else gzip.decompress((folder / f"{name}.gz").read_bytes())
    )
    return np.frombuffer(raw, np.uint8, offset=offset)


def mnist(
    samples: int | None,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """((x_train, y_train), (x_test, y_test)): x float32 (N, 28, 28, 1) in [0, 1], y int64."""
    x = _read("train-images-idx3-ubyte", 16).reshape(-1, 28, 28, 1)[:samples]
    y = _read("train-labels-idx1-ubyte", 8)[:samples]
    xt = _read("t10k-images-idx3-ubyte", 16).reshape(-1, 28, 28, 1)
    yt = _read("t10k-labels-idx1-ubyte", 8)
    scale = np.float32(255.0)
    return (x.astype(np.float32) / scale, y.astype(np.int64)), (
        xt.astype(np.float32) / scale,
        yt.astype(np.int64),
    )


class Clock:
    """Times training: the first step apart, then every epoch's remaining steps."""

    def __init__(self) -> None:
        self.first_step: float | None = None
        self.first_steps = 1  # the steps first_step covers (Keras: a compiled call's)
        self.seconds: list[float] = []

    def epoch(self) -> float:
        return time.perf_counter()

    def after_first_step(self, started: float, steps: int = 1) -> float:
        now = time.perf_counter()
        if self.first_step is None:
            self.first_step, self.first_steps = now - started, steps
        return now

    def end_epoch(self, started: float) -> None:
        self.seconds.append(time.perf_counter() - started)


def record(
    args: argparse.Namespace, name: str, clock: Clock, samples: int, accuracy: float
) -> None:
    timed = samples * args.epochs - min(clock.first_steps * args.batch_size, samples)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    data = {
        "program": name,
        "model": args.model,
        "epoch_seconds": clock.seconds,
        "first_step_seconds": clock.first_step,
        "samples_per_second": timed / sum(clock.seconds),
        "peak_memory_mb": peak,
        "test_accuracy": accuracy,
        "train_samples": samples,
    }
    text = json.dumps(data)
    if args.json:
        Path(args.json).write_text(text + "\n")
    else:
        print(text)
