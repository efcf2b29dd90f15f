"""`nndsl compare`: train generated modules side by side and tabulate the results."""

from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

Progress = Callable[[str], None]

_MISSING_MODULE = re.compile(r"ModuleNotFoundError: No module named '([^']+)'")
_TAIL_LINES = 50
_COLUMNS = (
    ("target", "target", "<"),
    ("status", "status", "<"),
    ("trainable params", "trainable_params", ">"),
    ("s/epoch", "epoch_seconds", ">"),
    ("samples/s", "samples_per_second", ">"),
    ("peak MB", "peak_memory_mb", ">"),
    ("test loss", "test_loss", ">"),
    ("test acc", "test_accuracy", ">"),
)
_FORMATS: dict[str, Callable[[Any], str]] = {
    "trainable_params": lambda v: f"{int(v):,}",
    "epoch_seconds": lambda v: f"{v:.2f}",
    "samples_per_second": lambda v: f"{v:,.0f}",
    "peak_memory_mb": lambda v: f"{v:,.1f}",
    "test_loss": lambda v: f"{v:.4f}",
    "test_accuracy": lambda v: f"{v:.2%}",
}


@dataclass(frozen=True)
class CompareJob:
    """One generated module to train: `python -m <module>` run from `cwd`."""

    target: str
    module: str
    cwd: Path


@dataclass
class _Outcome:
    """What a finished child left behind."""

    returncode: int | None
    stderr_tail: list[str]
    elapsed: float
    timed_out: bool


def build_command(
    job: CompareJob,
    json_path: Path,
    epochs: int,
    limit: int | None,
    data_dir: Path | None,
) -> list[str]:
    """The argv that trains one generated module and writes its result JSON."""
    argv = [sys.executable, "-m", job.module, "train", "--epochs", str(epochs)]
    if limit is not None:
        argv += ["--limit", str(limit)]
    if data_dir is not None:
        argv += ["--data-dir", str(Path(data_dir).resolve())]
    return argv + ["--json", str(json_path)]


def run_compare(
    jobs: list[CompareJob],
    out_dir: Path,
    epochs: int,
    limit: int | None,
    data_dir: Path | None,
    progress: Progress,
    timeout: float | None = None,
) -> list[dict]:
    """Train every job in turn (one subprocess each) and return one record per job.

    A failing job never stops the others; its record says why it failed.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    records = []
    for index, job in enumerate(jobs, 1):
        tag = f"[{index}/{len(jobs)}] {job.target}"
        records.append(_run_job(job, tag, out_dir, epochs, limit, data_dir, progress, timeout))
    return records


def _run_job(
    job: CompareJob,
    tag: str,
    out_dir: Path,
    epochs: int,
    limit: int | None,
    data_dir: Path | None,
    progress: Progress,
    timeout: float | None,
) -> dict:
    """Run one job, report its end, and build its record."""
    json_path = (out_dir / f"{job.target}.json").resolve()  # the child runs in job.cwd
    json_path.unlink(missing_ok=True)
    progress(f"{tag}: training...")
    argv = build_command(job, json_path, epochs, limit, data_dir)
    outcome = _run_child(argv, job.cwd, job.target, progress, timeout)
    record = _make_record(job, outcome, json_path, timeout)
    progress(f"{tag}: {_summary(record)} ({outcome.elapsed:.1f}s)")
    return record


def _run_child(
    argv: Sequence[str],
    cwd: Path,
    target: str,
    progress: Progress,
    timeout: float | None,
) -> _Outcome:
    """Run argv, relaying its output lines prefixed with the target."""
    start = time.monotonic()
    tail: deque[str] = deque(maxlen=_TAIL_LINES)
    try:
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
            start_new_session=os.name == "posix",
        )
    except OSError as err:
        return _Outcome(None, [f"cannot start {argv[0]}: {err}"], 0.0, False)
    assert proc.stdout is not None and proc.stderr is not None
    readers = [
        _relay(proc.stdout, target, progress, None),
        _relay(proc.stderr, target, progress, tail),
    ]
    timed_out = False
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill(proc)
    except BaseException:
        _kill(proc)
        raise
    for reader in readers:
        reader.join(timeout=5)
    return _Outcome(proc.returncode, list(tail), time.monotonic() - start, timed_out)


def _relay(
    stream: IO[bytes], target: str, progress: Progress, tail: deque[str] | None
) -> threading.Thread:
    """Start a thread echoing a child's stream line by line (and keeping a tail)."""

    def pump() -> None:
        with stream:
            for raw in stream:
                for part in raw.decode("utf-8", "replace").split("\r"):
                    line = part.rstrip()
                    if not line:
                        continue
                    if tail is not None:
                        tail.append(line)
                    progress(f"    {target}| {line}")

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    return thread


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """Kill a child (and its process group on POSIX) and reap it."""
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def _make_record(
    job: CompareJob, outcome: _Outcome, json_path: Path, timeout: float | None
) -> dict:
    """Turn a child's outcome and result JSON into one flat record."""
    record = _empty_record(job, outcome.elapsed)
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
    return record | _metrics(data) | {"status": "ok"}


def _empty_record(job: CompareJob, elapsed: float) -> dict:
    """A record with every field present and unknown values as None."""
    return {
        "target": job.target,
        "module": job.module,
        "status": "failed",
        "error": None,
        "missing_module": None,
        "wall_seconds": round(elapsed, 3),
        "trainable_params": None,
        "non_trainable_params": None,
        "epochs": None,
        "epoch_seconds": None,
        "samples_per_second": None,
        "peak_memory_mb": None,
        "test_loss": None,
        "test_accuracy": None,
    }


def _failure(job: CompareJob, outcome: _Outcome) -> dict:
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
    """The numeric fields of a result JSON, validated; bad values become None."""
    seconds = data.get("epoch_seconds")
    epochs = [s for s in seconds if _number(s) is not None] if isinstance(seconds, list) else []
    return {
        "trainable_params": _integer(data.get("trainable_params")),
        "non_trainable_params": _integer(data.get("non_trainable_params")),
        "epochs": len(epochs) or None,
        "epoch_seconds": sum(epochs) / len(epochs) if epochs else None,
        "samples_per_second": _number(data.get("samples_per_second")),
        "peak_memory_mb": _number(data.get("peak_memory_mb")),
        "test_loss": _number(data.get("test_loss")),
        "test_accuracy": _number(data.get("test_accuracy")),
    }


def _number(value: object) -> float | None:
    """A finite float, or None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _integer(value: object) -> int | None:
    """An int (integral floats accepted), or None."""
    number = _number(value)
    return int(number) if number is not None and number == int(number) else None


def _summary(record: dict) -> str:
    """A few words on how a job ended."""
    if record["status"] == "ok":
        acc = record["test_accuracy"]
        return "ok" if acc is None else f"ok, test acc {acc:.2%}"
    return f"{record['status']}: {record['error']}"


def format_table(records: Sequence[dict]) -> str:
    """An aligned text table of the records, with failures explained underneath."""
    header = [title for title, _, _ in _COLUMNS]
    rows = [[_cell(record, key) for _, key, _ in _COLUMNS] for record in records]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(_COLUMNS))]
    lines = [_line(header, widths), _line(["-" * w for w in widths], widths)]
    lines += [_line(row, widths) for row in rows]
    notes = [
        f"  {record['target']}: {record['error']}"
        for record in records
        if record.get("status") != "ok" and record.get("error")
    ]
    return "\n".join(lines + notes)


def _cell(record: dict, key: str) -> str:
    """One formatted table cell; unknown values print as '-'."""
    value = record.get(key)
    if value is None:
        return "-"
    formatter = _FORMATS.get(key)
    return formatter(value) if formatter else str(value)


def _line(cells: Sequence[str], widths: Sequence[int]) -> str:
    """Join cells, left-aligning text columns and right-aligning numbers."""
    parts = [
        cell.ljust(width) if align == "<" else cell.rjust(width)
        for cell, width, (_, _, align) in zip(cells, widths, _COLUMNS, strict=True)
    ]
    return "  ".join(parts).rstrip()


def write_results(records: Sequence[dict], out_dir: Path, title: str) -> tuple[Path, Path]:
    """Write `results.json` and `results.png` into out_dir atomically; return both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "results.json"
    png_path = out_dir / "results.png"
    text = json.dumps(list(records), sort_keys=True, indent=2, allow_nan=False) + "\n"
    _atomic_write(json_path, text.encode("utf-8"))
    _atomic_write(png_path, _render_png(records, title))
    return json_path, png_path


def _atomic_write(path: Path, payload: bytes) -> None:
    """Write payload to path via a fsynced temporary file in the same folder."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, path)
    finally:
        Path(tmp_name).unlink(missing_ok=True)


def _render_png(records: Sequence[dict], title: str) -> bytes:
    """Two bar charts (test accuracy, seconds per epoch) as PNG bytes, drawn with Agg."""
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 4.5), dpi=100)
    FigureCanvasAgg(figure)
    accuracy_axes, speed_axes = figure.subplots(1, 2)
    _bars(accuracy_axes, records, "test_accuracy", "test accuracy", "{:.2%}")
    accuracy_axes.set_ylim(0, 1.1)
    _bars(speed_axes, records, "epoch_seconds", "seconds per epoch", "{:.2f}")
    figure.suptitle(title)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _bars(axes: Any, records: Sequence[dict], key: str, label: str, fmt: str) -> None:
    """One bar per target; a target without a value gets an empty bar and its status."""
    targets = [str(record["target"]) for record in records]
    values = [record.get(key) for record in records]
    heights = [value if value is not None else 0.0 for value in values]
    bars = axes.bar(targets, heights, color="tab:blue", edgecolor="black")
    top = max(heights, default=0.0) or 1.0
    for bar, record, value in zip(bars, records, values, strict=True):
        x = bar.get_x() + bar.get_width() / 2
        if value is None:
            bar.set_fill(False)
            bar.set_linestyle("--")
            text = str(record.get("status") or "n/a")
            axes.text(x, top * 0.02, text, ha="center", va="bottom", rotation=90, color="red")
        else:
            axes.text(x, value, fmt.format(value), ha="center", va="bottom", fontsize=8)
    axes.set_title(label)
    axes.set_ylabel(label)
    axes.margins(y=0.15)
