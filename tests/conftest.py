"""Shared fixtures: specs, analysed programs and generated modules imported from tmp."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from nndsl import codegen, ir, targets
from nndsl.infer import analyse
from nndsl.parser import parse

ROOT = Path(__file__).resolve().parents[1]
SPECS = sorted((ROOT / "specs").glob("*.nn"))
TARGETS = list(targets.registry())


def program_of(path: Path) -> ir.Program:
    """Parse and analyse a spec file."""
    return analyse(parse(path.read_text(), str(path)), source=str(path))


def import_generated(program: ir.Program, target: str, folder: Path) -> ModuleType:
    """Render `program` for `target` into `folder` and import it under a unique name."""
    text = codegen.render(program, targets.get(target), f"specs/{program.name}.nn")
    name = f"{program.name}_{target}_{abs(hash(text)) % 10**8}"
    path = folder / f"{name}.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def module_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("generated")


@pytest.fixture(scope="session")
def modules(module_dir: Path):
    """A cache: (spec path, target) -> imported generated module."""
    cache: dict[tuple[str, str], ModuleType] = {}

    def get(spec: Path, target: str) -> ModuleType:
        key = (str(spec), target)
        if key not in cache:
            cache[key] = import_generated(program_of(spec), target, module_dir)
        return cache[key]

    return get


def random_weights(program: ir.Program, seed: int = 0) -> dict[str, np.ndarray]:
    """Canonical weights with glorot-scaled kernels and non-trivial biases and statistics."""
    rng = np.random.default_rng(seed)
    out = {}
    for weight in program.weights:
        shape = weight.shape
        if weight.name.endswith("moving_variance"):
            value = rng.uniform(0.5, 1.5, shape)
        elif len(shape) >= 2:
            fan_in, fan_out = weight.fans
            limit = np.sqrt(6.0 / (fan_in + fan_out))
            value = rng.uniform(-limit, limit, shape)
        else:
            value = rng.normal(0.0, 0.2, shape) + (1.0 if weight.name.endswith("gamma") else 0.0)
        out[weight.name] = value.astype(np.float32)
    return out


def random_inputs(program: ir.Program, batch: int = 8, seed: int = 1) -> np.ndarray:
    """A batch in the canonical layout (integer ids for a tokens input)."""
    rng = np.random.default_rng(seed)
    model_input = program.spec.model.input
    if isinstance(model_input, ir.Tokens):
        vocab = program.layers[0].op.input_dim
        return rng.integers(0, vocab, (batch, *program.input_shape)).astype(np.int64)
    return rng.uniform(0.0, 1.0, (batch, *program.input_shape)).astype(np.float32)
