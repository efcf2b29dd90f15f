"""Canonical initial weights drawn in numpy from the IR's initialisers, and their digests.

`nndsl compare` draws one set per seed and imports it into every target, so all targets of
a comparison start from the same weights. The initialisers are Keras' definitions (see
`nndsl.ir.graph`): glorot/he uniform, glorot/he normal truncated at two standard deviations
(stddev divided by `ir.TRUNCATED_NORMAL_STDDEV`), `orthogonal` (QR of a normal matrix, signs
fixed by R's diagonal), the embedding table's `uniform`, zeros, ones and `unit_forget_bias`.

The digests are the ones every generated module writes into its `train --json` record
(`_harness.weights_sha256`, `_harness.order_sha256`); they are restated here so that compare
checks the children against its own computation.
"""

from __future__ import annotations

import hashlib
import json
import math
import zlib
from collections.abc import Iterable, Mapping

import numpy as np

from nndsl import ir


def _rng(seed: int, name: str) -> np.random.Generator:
    """A generator per (seed, weight name): adding a layer leaves the other draws alone."""
    return np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])


def truncated_normal(rng: np.random.Generator, shape: tuple[int, ...], std: float) -> np.ndarray:
    """N(0, std) with every value beyond two standard deviations drawn again."""
    values = rng.standard_normal(shape)
    while True:
        bad = np.abs(values) > 2.0
        if not bad.any():
            return values * std
        values[bad] = rng.standard_normal(int(bad.sum()))


def orthogonal(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Keras' `Orthogonal(gain=1)`: rows = prod(shape[:-1]), columns = shape[-1]; orthonormal
    columns (or rows, when there are fewer rows than columns)."""
    rows, cols = math.prod(shape[:-1]), shape[-1]
    q, r = np.linalg.qr(rng.standard_normal((max(rows, cols), min(rows, cols))))
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return q.reshape(shape)


def draw(weight: ir.Weight, seed: int) -> np.ndarray:
    """One canonical array (float32) as the weight's IR initialiser defines it."""
    init, shape = weight.initializer, tuple(weight.shape)
    fan_in, fan_out = weight.fans
    rng = _rng(seed, weight.name)
    if init == "zeros":
        values = np.zeros(shape)
    elif init == "ones":
        values = np.ones(shape)
    elif init == "unit_forget_bias":  # Keras' gate order i, f, c, o: the forget gate is 1
        values = np.zeros(shape)
        units = shape[-1] // 4
        values[..., units : 2 * units] = 1.0
    elif init == "uniform":
        limit = ir.EMBEDDING_UNIFORM_LIMIT
        values = rng.uniform(-limit, limit, shape)
    elif init in ("glorot_uniform", "he_uniform"):
        scale = 2.0 / (fan_in + fan_out) if init == "glorot_uniform" else 2.0 / fan_in
        limit = math.sqrt(3.0 * scale)
        values = rng.uniform(-limit, limit, shape)
    elif init in ("glorot_normal", "he_normal"):
        scale = 2.0 / (fan_in + fan_out) if init == "glorot_normal" else 2.0 / fan_in
        values = truncated_normal(rng, shape, math.sqrt(scale) / ir.TRUNCATED_NORMAL_STDDEV)
    elif init == "orthogonal":
        values = orthogonal(rng, shape)
    else:
        raise ValueError(f"{weight.name}: no numpy draw for initialiser {init!r}")
    return np.ascontiguousarray(values, dtype=np.float32)


def initial_weights(weights: Iterable[ir.Weight], seed: int) -> dict[str, np.ndarray]:
    """Every canonical array of a program (`program.weights`), drawn for `seed`."""
    return {weight.name: draw(weight, seed) for weight in weights}


def weights_sha256(weights: Mapping[str, np.ndarray]) -> str:
    """sha256 over canonical arrays: per name in sorted order, the line `["name", [shape]]`
    then the array's float32 little-endian bytes in C order."""
    digest = hashlib.sha256()
    for name in sorted(weights):
        array = np.ascontiguousarray(weights[name], dtype="<f4")
        digest.update(json.dumps([name, list(array.shape)]).encode("utf-8") + b"\n")
        digest.update(array.tobytes())
    return digest.hexdigest()


def epoch_order(count: int, seed: int, epoch: int) -> np.ndarray:
    """The sample order of one epoch, as every generated module's harness draws it."""
    return np.random.default_rng([seed, epoch]).permutation(count)


def order_sha256(count: int, seed: int, epochs: int) -> str:
    """sha256 of the epochs' orders concatenated, as int64 little-endian."""
    digest = hashlib.sha256()
    for epoch in range(epochs):
        digest.update(np.asarray(epoch_order(count, seed, epoch), dtype="<i8").tobytes())
    return digest.hexdigest()
