"""`nndsl data convert`: MNIST, a CSV or an NPZ file as a folder of .npy shards with a
meta.json, the streaming format generated modules read with `train --data DIR`.

Reading the sources and writing the shards is the generated harness's own code (one
implementation for the tool and the generated modules): this module renders
templates/_shared/harness.py.j2 and runs it as a module.
"""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from nndsl.data import DataError

SHARD_ROWS = 10_000
MNIST_SHAPE = (28, 28, 1)


@cache
def harness() -> ModuleType:
    """The generated `_harness` module, rendered from its template and imported in memory."""
    from nndsl import codegen

    module = ModuleType("_nndsl_harness")
    exec(compile(codegen._harness_source(), "<nndsl harness>", "exec"), module.__dict__)
    return module


def _classes(*labels: Any) -> int:
    return max(2, *(int(y.max()) + 1 for y in labels if len(y)))


def _csv_splits(
    h: ModuleType, train: Path, test: Path | None, label: str, scale: float
) -> tuple[dict[str, Any], tuple[int, ...], int]:
    if test is None:
        raise DataError("a CSV source needs --test TEST.csv (the shard folder holds both splits)")
    try:
        with open(train, encoding="utf-8-sig") as handle:
            width = len(handle.readline().split(",")) - 1
    except FileNotFoundError:
        raise DataError(f"CSV file not found: {train}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"{train}: cannot read: {err}") from None
    shape = (max(width, 1),)
    pairs = [
        h.load_csv(path, label, None, shape, "float32", None, scale) for path in (train, test)
    ]
    return (
        dict(zip(("train", "test"), ([p] for p in pairs))),
        shape,
        _classes(*(y for _, y in pairs)),
    )


def _npz_splits(h: ModuleType, path: Path, scale: float):
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as archive:
            shape = tuple(archive["x_train"].shape[1:]) if "x_train" in archive.files else (1,)
    except FileNotFoundError:
        raise DataError(f"NPZ file not found: {path}") from None
    except (OSError, ValueError, AttributeError) as err:
        raise DataError(f"{path}: cannot read NPZ ({type(err).__name__})") from None
    pairs = [
        h.load_npz(path, split, None, shape, "float32", None, scale) for split in ("train", "test")
    ]
    return (
        dict(zip(("train", "test"), ([p] for p in pairs))),
        shape,
        _classes(*(y for _, y in pairs)),
    )


def convert(
    source: str,
    out: Path,
    shard_rows: int = SHARD_ROWS,
    data_dir: Path | None = None,
    test: Path | None = None,
    label: str = "label",
    scale: float = 1.0,
    say: Any = None,
) -> dict[str, Any]:
    """Write `source` (mnist, FILE.csv with `test`, FILE.npz with x_/y_train and x_/y_test)
    as a shard folder at `out`, atomically; returns its meta.json contents."""
    h = harness()
    try:
        if source == "mnist":
            train, test_split = h.load_mnist(data_dir, None, MNIST_SHAPE, "float32", 10)
            splits, shape, classes = {"train": [train], "test": [test_split]}, MNIST_SHAPE, 10
        elif source.lower().endswith(".csv"):
            splits, shape, classes = _csv_splits(h, Path(source), test, label, scale)
        elif source.lower().endswith(".npz"):
            splits, shape, classes = _npz_splits(h, Path(source), scale)
        else:
            raise DataError(f"cannot convert {source!r}: give mnist, a .csv or an .npz file")
        return h.write_shards(out, splits, shape, classes, shard_rows, say)
    except h.DataError as err:
        raise DataError(str(err)) from None


def convert_command(args: Any) -> int:
    """`nndsl data convert`: progress on stderr, a summary on stdout."""
    meta = convert(
        args.source,
        Path(args.out),
        args.shard_rows,
        Path(args.data_dir) if args.data_dir else None,
        Path(args.test) if args.test else None,
        args.label,
        args.scale,
        say=lambda line: print(line, file=sys.stderr),
    )
    rows = {split: sum(e["rows"] for e in entries) for split, entries in meta["splits"].items()}
    counts = ", ".join(f"{split} {n:,} rows" for split, n in rows.items())
    print(
        f"wrote {args.out}: {counts} in {len(meta['sha256'])} files, samples {tuple(meta['shape'])}"
    )
    return 0
