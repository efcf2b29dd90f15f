"""A `nndsl compare` run's folder: where it goes, the machine it ran on, the files it holds.

`results/<model>/<YYYYmmdd-HHMMSS>/` (or `--out`) holds `results.json` (the document of
`compare_format`), `results.csv`, `chart.png`, `chart.svg`, with `--report` a `report.md`
that can be pasted into an article, and the run's inputs: `generated/` (the modules),
`init/seed-<seed>.npz` (the canonical initial weights), `runs/` (each run's result JSON)
and `logs/` (each run's whole output).
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from pathlib import Path

from nndsl import compare_chart, compare_format
from nndsl.errors import NndslError


def machine() -> dict:
    """CPU model, logical cores, memory, operating system and Python of this machine."""
    cpu = platform.processor() or platform.machine()
    memory = None
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                memory = round(int(line.split()[1]) / 2**20, 1)
                break
    except (OSError, ValueError, IndexError):
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": memory,
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }


def run_folder(out: str | None, model: str, root: Path = Path("results")) -> Path:
    """A new folder `root/<model>/<timestamp>` (suffixed when taken), or `out`, which must not
    hold another spec's results."""
    if out is not None:
        folder = Path(out)
        existing = folder / "results.json"
        if existing.is_file():
            try:
                other = json.loads(existing.read_text("utf-8")).get("meta", {}).get("model")
            except (ValueError, AttributeError):
                other = "?"
            if other != model:
                raise NndslError(
                    f"{folder} holds the results of another spec ({other}): choose another --out"
                )
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for suffix in ["", *(f"-{n}" for n in range(2, 100))]:
        folder = root / model / f"{stamp}{suffix}"
        try:
            folder.mkdir(parents=True)
            return folder
        except FileExistsError:
            continue
    raise NndslError(f"{root / model}: no free folder for {stamp}")


def atomic_write(path: Path, payload: bytes) -> None:
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


def write_outputs(doc: dict, folder: Path, report: bool = False) -> list[Path]:
    """results.json, results.csv, chart.png, chart.svg (and report.md) in folder."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "results.json": (compare_format.render(doc, "json") + "\n").encode("utf-8"),
        "results.csv": compare_format.render(doc, "csv").encode("utf-8"),
        "chart.png": compare_chart.render(doc, "png"),
        "chart.svg": compare_chart.render(doc, "svg"),
    }
    if report:
        files["report.md"] = report_markdown(doc, "chart.svg").encode("utf-8")
    for name, payload in files.items():
        atomic_write(folder / name, payload)
    return [folder / name for name in files]


def load_document(path: Path) -> dict:
    """A results document from results.json or the folder holding it."""
    file = path / "results.json" if path.is_dir() else path
    try:
        doc = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NndslError(f"{file}: no such results file") from None
    except (OSError, ValueError) as err:
        raise NndslError(f"{file}: not a readable results document: {err}") from None
    if not isinstance(doc, dict) or doc.get("format") != compare_format.FORMAT:
        raise NndslError(f"{file}: not a `nndsl compare` results document")
    doc["summary"] = compare_format.summarise(doc["runs"])
    return doc


def report_markdown(doc: dict, chart: str) -> str:
    """A Markdown report: caption, chart, table, notes, method and every run."""
    meta = doc["meta"]
    repeats, seeds = meta.get("repeats", 1), meta.get("seeds") or []
    order = ", ".join(meta.get("targets", []))
    shared = meta.get("initial_weights") == "shared"
    lines = [
        f"# {meta.get('model', '?')}: {order or 'targets'} compared",
        "",
        compare_chart.caption(meta),
        "",
        f"![{meta.get('model', '?')}: accuracy, speed, memory and loss per target]({chart})",
        "",
        compare_format.format_markdown(doc["runs"], doc["summary"]),
        "",
        "## How it was measured",
        "",
        f"- Each target ran {repeats} time(s)"
        + (f" with seeds {', '.join(map(str, seeds))}" if seeds else "")
        + ", each run in its own process, one at a time; the order of the targets rotated"
        " from one repeat to the next so that drift of the machine hits all of them alike.",
        (
            "- Initial weights: drawn once per seed in numpy from the spec's initialisers"
            " (`nndsl.initial`, Keras' definitions) and imported into every target; each run"
            " reports the sha256 of the weights it started from, read back after the import."
            if shared
            else "- Initial weights: each framework drew its own (`--own-init`)."
        ),
        "- Batch order: one permutation per epoch drawn from the seed, the same in every"
        " target; each run reports the sha256 of the orders it used.",
        "- Dropout masks: each framework's own random numbers (seeded with the run's seed),"
        " not shared.",
        "- Timing: samples/s counts the training steps after the first; the first step"
        " (tracing, compilation, first allocations) is the first-step column. Process start,"
        " imports, data loading, validation and test evaluation are in neither.",
        "- Peak MB: the peak resident memory of the run's process (framework included);"
        " GPU memory is not measured.",
        "- Spread: ± is the sample standard deviation over the runs, min-max their range; two"
        " targets whose accuracy ranges overlap differ by less than the run-to-run spread."
        " A few runs give a rough guide, not a significance test.",
        "",
        "## Every run",
        "",
        "| target | repeat | seed | status | first step s | s/epoch | samples/s | peak MB"
        " | test loss | test acc | initial weights | batch order |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in doc["runs"]:
        cells = [r["target"], r.get("repeat"), r.get("seed"), r["status"]]
        cells += [_fmt(r.get(key), spec) for key, spec in _RUN_CELLS]
        cells += [_hash(r, "initial_weights_sha256"), _hash(r, "batch_order_sha256")]
        lines.append("| " + " | ".join("-" if c is None else str(c) for c in cells) + " |")
    if meta.get("command"):
        lines += ["", f"Command: `{meta['command']}`"]
    return "\n".join(lines) + "\n"


_RUN_CELLS = (
    ("first_step_seconds", "{:.2f}"),
    ("epoch_seconds", "{:.2f}"),
    ("samples_per_second", "{:,.0f}"),
    ("peak_memory_mb", "{:,.1f}"),
    ("test_loss", "{:.4f}"),
    ("test_accuracy", "{:.2%}"),
)


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else spec.format(value)


def _hash(record: dict, key: str) -> str:
    """The first 12 hex digits of a digest, with a check mark when compare's own agrees."""
    digest = record.get(key)
    if digest is None:
        return "-"
    match = record.get("weights_match" if key.startswith("initial") else "order_match")
    mark = {True: " ✓", False: " ✗ (differs)"}.get(match, "")
    return f"`{digest[:12]}`{mark}"
