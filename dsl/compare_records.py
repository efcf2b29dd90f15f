"""Records of `nndsl compare`: one flat dict per run, built from a child's result JSON.

Every field is present in every record (unknown values are None). The child's digests of
the initial weights it started from and of the batch order it used are checked here against
compare's own computation (`nndsl.initial`).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from nndsl import initial

if TYPE_CHECKING:
    from nndsl.compare import CompareJob, Repeat

_MISSING_MODULE = re.compile(r"ModuleNotFoundError: No module named '([^']+)'")


@dataclass
class Outcome:
    """What a finished child left behind."""

    returncode: int | None
    stderr_tail: list[str]
    elapsed: float
    timed_out: bool
    hidden: int = 0


def make_record(
    job: CompareJob, repeat: Repeat, outcome: Outcome, json_path: Path, timeout: float | None
) -> dict:
    """Turn a child's outcome and result JSON into one flat record."""
    record = _empty_record(job, repeat, outcome)
    if outcome.timed_out:
        return record | {"status": "failed", "error": f"timed out after {timeout:g}s"}
    if outcome.returncode != 0:
        return record | _failure(job, outcome)
    try:
        data = json.loads(json_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return record | {"status": "failed", "error": f"no result JSON at {json_path}"}
    except (OSError, ValueError) as err:
        return record | {"status": "failed", "error": f"unreadable result JSON: {err}"}
    if not isinstance(data, dict):
        return record | {"status": "failed", "error": "result JSON is not an object"}
    return _checked(record | _metrics(data) | {"status": "ok"}, repeat)


def _empty_record(job: CompareJob, repeat: Repeat, outcome: Outcome) -> dict:
    """A record with every field present and unknown values as None."""
    return {
        "row": "run",
        "target": job.target,
        "module": job.module,
        "repeat": repeat.number,
        "seed": repeat.seed,
        "status": "failed",
        "error": None,
        "missing_module": None,
        "wall_seconds": round(outcome.elapsed, 3),
        "hidden_log_lines": outcome.hidden,
        "trainable_params": None,
        "non_trainable_params": None,
        "epochs": None,
        "train_samples": None,
        "first_step_seconds": None,
        "epoch_seconds": None,
        "samples_per_second": None,
        "peak_memory_mb": None,
        "test_loss": None,
        "test_accuracy": None,
        "loss_history": None,
        "versions": None,
        "initial_weights_imported": None,
        "initial_weights_sha256": None,
        "batch_order_sha256": None,
        "expected_weights_sha256": repeat.weights_sha256,
        "expected_order_sha256": None,
        "weights_match": None,
        "order_match": None,
    }


def _checked(record: dict, repeat: Repeat) -> dict:
    """Compare the child's digests with compare's own: the initial weights it was handed and
    the batch order of its seed (None where there is nothing to compare)."""
    seed = record["seed"]
    if seed is not None and record["train_samples"] and record["epochs"]:
        expected = initial.order_sha256(record["train_samples"], seed, record["epochs"])
        record["expected_order_sha256"] = expected
        record["order_match"] = record["batch_order_sha256"] == expected
    if repeat.weights_sha256 is not None:
        record["weights_match"] = record["initial_weights_sha256"] == repeat.weights_sha256
    return record


def _failure(job: CompareJob, outcome: Outcome) -> dict:
    """Status and error for a child that exited non-zero."""
    missing = _missing_module(outcome.stderr_tail)
    if missing and not _is_own_module(missing, job.module):
        return {
            "status": "missing framework",
            "missing_module": missing,
            "error": f"No module named '{missing}'",
        }
    if outcome.stderr_tail:
        error = outcome.stderr_tail[-1].strip()
    elif outcome.returncode is not None and outcome.returncode < 0:
        error = f"killed by signal {-outcome.returncode}"
    else:
        error = f"exit code {outcome.returncode}"
    return {"status": "failed", "error": error}


def _missing_module(lines: Iterable[str]) -> str | None:
    """The last module named in a `ModuleNotFoundError` line, if any."""
    found = None
    for line in lines:
        for match in _MISSING_MODULE.finditer(line):
            found = match.group(1)
    return found


def _is_own_module(missing: str, module: str) -> bool:
    """True when the missing module is the generated module or one of its packages."""
    return module == missing or module.startswith(missing + ".")


def _metrics(data: dict) -> dict:
    """The fields of a result JSON, validated; bad values become None."""
    seconds = data.get("epoch_seconds")
    epochs = [s for s in seconds if _number(s) is not None] if isinstance(seconds, list) else []
    losses = data.get("loss_history")
    versions = data.get("versions")
    return {
        "trainable_params": _integer(data.get("trainable_params")),
        "non_trainable_params": _integer(data.get("non_trainable_params")),
        "epochs": len(epochs) or None,
        "train_samples": _integer(data.get("train_samples")),
        "first_step_seconds": _number(data.get("first_step_seconds")),
        "epoch_seconds": sum(epochs) / len(epochs) if epochs else None,
        "samples_per_second": _number(data.get("samples_per_second")),
        "peak_memory_mb": _number(data.get("peak_memory_mb")),
        "test_loss": _number(data.get("test_loss")),
        "test_accuracy": _number(data.get("test_accuracy")),
        "loss_history": [_number(v) for v in losses] if isinstance(losses, list) else None,
        "versions": _versions(versions),
        "initial_weights_imported": data.get("initial_weights_imported") is True,
        "initial_weights_sha256": _digest(data.get("initial_weights_sha256")),
        "batch_order_sha256": _digest(data.get("batch_order_sha256")),
    }


def _versions(value: object) -> dict[str, str] | None:
    """{package: version} as the child reported it, or None."""
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else None


def _digest(value: object) -> str | None:
    """A sha256 hex digest, or None."""
    if isinstance(value, str) and re.fullmatch(r"[0-9a-f]{64}", value):
        return value
    return None


def _number(value: object) -> float | None:
    """A finite float, or None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _integer(value: object) -> int | None:
    """An int (integral floats accepted), or None."""
    number = _number(value)
    return int(number) if number is not None and number == int(number) else None


def summary(record: dict) -> str:
    """A few words on how a run ended."""
    if record["status"] == "ok":
        acc = record["test_accuracy"]
        return "ok" if acc is None else f"ok, test acc {acc:.2%}"
    return f"{record['status']}: {record['error']}"
