"""Hand-written PyTorch CNN (the articles' model), the speed baseline for bench_epoch.py.

Written the way an expert writes it by hand: pre-loaded tensors, a random permutation per
epoch, slicing, nn.CrossEntropyLoss on logits, torch.optim.Adam. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn


def load(folder: Path, images: str, labels: str, limit: int | None):
    def read(name: str, offset: int) -> np.ndarray:
        raw = (folder / name).read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        return np.frombuffer(raw, np.uint8, offset=offset)

    x = read(images, 16).reshape(-1, 1, 28, 28)[:limit].astype(np.float32) / 255.0
    y = read(labels, 8)[:limit].astype(np.int64)
    return torch.from_numpy(x), torch.from_numpy(y)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int)
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args()
    folder = Path(os.environ.get("NNDSL_DATA_DIR", Path.home() / ".cache" / "nndsl")) / "mnist"
    x, y = load(folder, "train-images-idx3-ubyte", "train-labels-idx1-ubyte", args.limit)
    torch.manual_seed(42)
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.5), nn.Linear(1600, 10),
    )  # fmt: skip
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    seconds = []
    for _ in range(args.epochs):
        start = time.perf_counter()
        model.train()
        order = torch.randperm(len(x))
        for i in range(0, len(x), 128):
            idx = order[i : i + 128]
            optimizer.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            optimizer.step()
        seconds.append(time.perf_counter() - start)
    print(json.dumps({"target": "baseline-torch", "epoch_seconds": seconds, "samples": len(x)}))


if __name__ == "__main__":
    main()
