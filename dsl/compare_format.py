"""Summaries and formats of `nndsl compare` results: table, Markdown, JSON and CSV.

A results document is `{"format", "meta", "runs", "summary"}`: `runs` holds one record per
target and repeat (`compare_records`), `summary` one row per target with the mean, sample
standard deviation, minimum and maximum of every metric over its successful runs, and the
targets whose test-accuracy range (min-max) overlaps its own.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Sequence
from typing import Any

FORMAT = "nndsl-compare/2"
FORMATS = ("table", "markdown", "json", "csv")
METRICS = (
    "trainable_params",
    "first_step_seconds",
    "epoch_seconds",
    "samples_per_second",
    "peak_memory_mb",
    "test_loss",
    "test_accuracy",
    "wall_seconds",
)
_VALUE: dict[str, Callable[[float], str]] = {
    "trainable_params": lambda v: f"{int(v):,}",
    "first_step_seconds": lambda v: f"{v:.2f}",
    "epoch_seconds": lambda v: f"{v:.2f}",
    "samples_per_second": lambda v: f"{v:,.0f}",
    "peak_memory_mb": lambda v: f"{v:,.1f}",
    "test_loss": lambda v: f"{v:.4f}",
    "test_accuracy": lambda v: f"{v:.2%}",
}
_SPREAD: dict[str, Callable[[float], str]] = {
    **_VALUE,
    "test_accuracy": lambda v: f"{100 * v:.2f}",  # percentage points
}
# (title, summary metric or special column, right-aligned)
_COLUMNS = (
    ("target", "target", False),
    ("runs ok", "runs", False),
    ("trainable params", "trainable_params", True),
    ("first step s", "first_step_seconds", True),
    ("s/epoch", "epoch_seconds", True),
    ("samples/s", "samples_per_second", True),
    ("peak MB", "peak_memory_mb", True),
    ("test loss", "test_loss", True),
    ("test acc", "test_accuracy", True),
    ("acc min-max", "range", True),
    ("acc overlaps", "overlaps", False),
)


def statistics(values: Sequence[float]) -> dict[str, float | int | None]:
    """n, mean, sample standard deviation (None for one value), min and max."""
    n = len(values)
    if n == 0:
        return {"n": 0, "mean": None, "std": None, "min": None, "max": None}
    mean = math.fsum(values) / n
    std = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else None
    return {"n": n, "mean": mean, "std": std, "min": min(values), "max": max(values)}


def overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """Whether two closed intervals (low, high) share a point."""
    return a[0] <= b[1] and b[0] <= a[1]


def summarise(records: Sequence[dict]) -> list[dict]:
    """One summary row per target, in the order targets first appear in `records`."""
    targets = list(dict.fromkeys(r["target"] for r in records))
    rows = [_summary_row(t, [r for r in records if r["target"] == t]) for t in targets]
    ranges = {
        row["target"]: (row["test_accuracy_min"], row["test_accuracy_max"])
        for row in rows
        if row["test_accuracy_n"] >= 2
    }
    for row in rows:  # None: no range of its own, or no other range to compare it with
        mine = ranges.get(row["target"])
        row["accuracy_overlaps"] = (
            None
            if mine is None or len(ranges) < 2
            else [t for t, other in ranges.items() if t != row["target"] and overlap(mine, other)]
        )
    return rows


def _summary_row(target: str, runs: Sequence[dict]) -> dict:
    ok = [r for r in runs if r.get("status") == "ok"]
    failed = [r for r in runs if r.get("status") != "ok"]
    if not failed:
        status = "ok"
    elif not ok:
        status = str(failed[-1].get("status") or "failed")
    else:
        status = f"{len(ok)}/{len(runs)} ok"
    row: dict[str, Any] = {
        "row": "summary",
        "target": target,
        "runs": len(runs),
        "ok": len(ok),
        "status": status,
        "error": next((r.get("error") for r in failed if r.get("error")), None),
    }
    for metric in METRICS:
        found = [r[metric] for r in ok if r.get(metric) is not None]
        row |= {f"{metric}_{key}": value for key, value in statistics(found).items()}
    histories = [r["loss_history"] for r in ok if r.get("loss_history")]
    epochs = max((len(h) for h in histories), default=0)
    per_epoch = [
        statistics([h[e] for h in histories if len(h) > e and h[e] is not None])
        for e in range(epochs)
    ]
    for key in ("mean", "min", "max"):
        row[f"loss_history_{key}"] = [s[key] for s in per_epoch]
    return row


def document(meta: dict, records: Sequence[dict]) -> dict:
    """The results document written as results.json."""
    return {"format": FORMAT, "meta": meta, "runs": list(records), "summary": summarise(records)}


def render(doc: dict, fmt: str) -> str:
    """The document in one of FORMATS."""
    if fmt == "json":
        return json.dumps(doc, sort_keys=True, indent=2, allow_nan=False)
    if fmt == "csv":
        return format_csv(doc)
    if fmt == "markdown":
        return format_markdown(doc["runs"], doc["summary"])
    return format_table(doc["runs"], doc["summary"])


def _cells(row: dict) -> list[str]:
    """A summary row's table cells: mean (and ±std over several runs)."""
    cells = []
    for _, key, _ in _COLUMNS:
        if key == "target":
            cells.append(str(row["target"]))
        elif key == "runs":
            cells.append(f"{row['ok']}/{row['runs']}" + ("" if row["ok"] else f" {row['status']}"))
        elif key == "range":
            low, high = row["test_accuracy_min"], row["test_accuracy_max"]
            several = row["test_accuracy_n"] >= 2
            cells.append(f"{100 * low:.2f}-{100 * high:.2f}" if several else "-")
        elif key == "overlaps":
            found = row["accuracy_overlaps"]
            cells.append("-" if found is None else ", ".join(found) or "none")
        else:
            mean, std = row[f"{key}_mean"], row[f"{key}_std"]
            if mean is None:
                cells.append("-")
            elif std is None or key == "trainable_params":
                cells.append(_VALUE[key](mean))
            else:
                cells.append(f"{_VALUE[key](mean)} ±{_SPREAD[key](std)}")
    return cells


def format_table(records: Sequence[dict], summary: Sequence[dict] | None = None) -> str:
    """An aligned text table (one row per target), with the notes underneath."""
    summary = summarise(records) if summary is None else summary
    header = [title for title, _, _ in _COLUMNS]
    rows = [_cells(row) for row in summary]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(_COLUMNS))]

    def line(cells: Sequence[str]) -> str:
        parts = [
            cell.rjust(width) if right else cell.ljust(width)
            for cell, width, (_, _, right) in zip(cells, widths, _COLUMNS, strict=True)
        ]
        return "  ".join(parts).rstrip()

    lines = [line(header), line(["-" * w for w in widths]), *map(line, rows)]
    return "\n".join(lines + [f"  {note}" for note in notes(records, summary)])


def format_markdown(records: Sequence[dict], summary: Sequence[dict] | None = None) -> str:
    """A Markdown table (one row per target) and the notes as a list."""
    summary = summarise(records) if summary is None else summary
    header = [title for title, _, _ in _COLUMNS]
    rule = ["---:" if right else "---" for _, _, right in _COLUMNS]
    rows = [[cell.replace("|", "\\|") for cell in _cells(row)] for row in summary]
    lines = ["| " + " | ".join(cells) + " |" for cells in [header, rule, *rows]]
    return "\n".join(lines + [""] + [f"- {note}" for note in notes(records, summary)])


def format_csv(doc: dict) -> str:
    """One CSV row per run, then one per target summary; lists and dicts as JSON."""
    rows = [*doc["runs"], *doc["summary"]]
    columns = list(dict.fromkeys(key for row in rows for key in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: _csv_value(row.get(key)) for key in columns})
    return buffer.getvalue()


def _csv_value(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value, sort_keys=True)
    return value


def notes(records: Sequence[dict], summary: Sequence[dict]) -> list[str]:
    """What the table means and what went wrong: failures, the accuracy differences against
    the run-to-run spread, and whether every run started alike."""
    out = [
        f"{r['target']} (repeat {r.get('repeat', 1)}): {r['status']}: {r['error']}"
        for r in records
        if r.get("status") != "ok" and r.get("error")
    ]
    repeats = max((row["runs"] for row in summary), default=0)
    if repeats > 1:
        out.append(
            f"± is the standard deviation over the successful runs (of {repeats}); acc min-max"
            " is the range of test accuracy in percent; acc overlaps names the targets whose"
            " ranges overlap: their differences lie within the run-to-run spread"
        )
    out += accuracy_verdicts(summary)
    return out + control_notes(records)


def accuracy_verdicts(summary: Sequence[dict]) -> list[str]:
    """One line per pair of targets: their accuracy difference, within or beyond the spread."""
    rows = [row for row in summary if row["test_accuracy_n"]]
    out = []
    for i, a in enumerate(rows):
        for b in rows[i + 1 :]:
            diff = 100 * (a["test_accuracy_mean"] - b["test_accuracy_mean"])
            head = f"{a['target']} vs {b['target']}: test accuracy {diff:+.2f} pp"
            if min(a["test_accuracy_n"], b["test_accuracy_n"]) < 2:
                out.append(f"{head} (one run: no spread measured; use --repeats)")
            elif b["target"] in (a["accuracy_overlaps"] or []):
                out.append(f"{head}, within the spread (min-max ranges overlap)")
            else:
                out.append(f"{head}, beyond the spread (min-max ranges do not overlap)")
    return out


def control_notes(records: Sequence[dict]) -> list[str]:
    """Whether every successful run started from the weights compare drew for its repeat and
    used the batch order of its seed; every exception named."""
    ok = [r for r in records if r.get("status") == "ok"]
    if not ok:
        return []
    out = []
    weights = [r for r in ok if r.get("weights_match") is not None]
    if weights and all(r["weights_match"] for r in weights):
        out.append(
            f"initial weights: all {len(weights)} run(s) started from the canonical weights"
            " compare drew for their repeat (sha256 checked after import)"
        )
    elif not weights and len({r.get("initial_weights_sha256") for r in ok}) > 1:
        out.append("initial weights: each framework's own draw (--own-init)")
    orders = [r for r in ok if r.get("order_match") is not None]
    if orders and all(r["order_match"] for r in orders):
        out.append(f"batch order: all {len(orders)} run(s) used the order of their seed")
    for r in ok:
        where = f"{r['target']} (repeat {r.get('repeat', 1)})"
        if r.get("weights_match") is False:
            out.append(f"MISMATCH: {where} did not start from the canonical initial weights")
        if r.get("order_match") is False:
            out.append(f"MISMATCH: {where} did not use the batch order of seed {r['seed']}")
        if r.get("seed") is not None and r.get("batch_order_sha256") is None:
            out.append(f"unchecked: {where} reported no batch order")
    if orders or weights:
        out.append("dropout masks: each framework's own random numbers (seeded per repeat)")
    return out
