"""Running one training program in its own process and reading its JSON record: what the
CPU and GPU benchmarks share (no nndsl import, so it runs where nndsl is not installed)."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
EXPERTS = ROOT / "benchmarks" / "experts"


def _run(command: list[str], cwd: Path, record: Path) -> dict:
    record.unlink(missing_ok=True)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"}
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env)
    if result.returncode != 0 or not record.exists():
        tail = (result.stderr.strip().splitlines() or ["?"])[-1]
        return {"error": f"exit {result.returncode}: {tail}"}
    return json.loads(record.read_text())


def generated(
    work: Path, model: str, target: str, epochs: int, extra: tuple[str, ...] = ("--device", "cpu")
) -> dict:
    """Train the generated module in its own process; its JSON record."""
    out = work / f"gen-{model}-{target}.json"
    module = f"generated.{model}_{target}"
    command = [sys.executable, "-m", module, "train", "--quiet", "--epochs", str(epochs)]
    return _run([*command, *extra, "--json", str(out)], work, out)


def expert(
    work: Path,
    model: str,
    target: str,
    epochs: int,
    samples: int,
    extra: tuple[str, ...] = ("--device", "cpu"),
) -> dict:
    """Train the expert's script in its own process; its JSON record."""
    out = work / f"exp-{model}-{target}.json"
    script = EXPERTS / f"{target}_expert.py"
    command = [sys.executable, str(script), "--model", model, "--epochs", str(epochs)]
    return _run([*command, "--samples", str(samples), *extra, "--json", str(out)], EXPERTS, out)


DISTRIBUTIONS = {
    "torch": ("torch",),
    "tensorflow": ("tensorflow-cpu", "tensorflow"),
    "keras": ("keras",),
    "mxnet": ("mxnet",),
    "jax": ("jax",),
    "flax": ("flax",),
    "theano": ("Theano",),
}


def _installed(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def machine() -> dict:
    """The machine and the installed framework versions (read from package metadata: no
    framework is imported into the benchmark's own process)."""
    versions = {}
    for name, distributions in DISTRIBUTIONS.items():
        versions[name] = next(filter(None, map(_installed, distributions)), None)
    return {
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "load_before": os.getloadavg()[0],
        "python": platform.python_version(),
        "numpy": np.__version__,
        **versions,
    }
