"""The chart of a `nndsl compare` results document, as PNG and SVG (matplotlib, Agg).

Four panels, one colour per target: test accuracy on a zoomed axis (every run a dot, the mean
with min-max error bars), samples per second and peak memory (bars at the mean, min-max error
bars), and the training loss per epoch (mean line, min-max band). The caption names the spec,
the run settings, the machine, the versions and the date.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence
from typing import Any

_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")


def caption(meta: dict) -> str:
    """One paragraph: spec, settings, control, machine, versions, date."""
    seeds = meta.get("seeds") or []
    seed_text = (
        f"seeds {seeds[0]}-{seeds[-1]}" if len(seeds) > 1 else f"seed {seeds[0]}" if seeds else ""
    )
    init = "shared" if meta.get("initial_weights") == "shared" else "each framework's own"
    machine = meta.get("machine") or {}
    versions = ", ".join(f"{k} {v}" for k, v in sorted((meta.get("versions") or {}).items()))
    parts = [
        f"spec {meta.get('spec_file', '?')} (sha256 {str(meta.get('spec_sha256', '?'))[:12]})",
        f"{meta.get('epochs')} epoch(s) on {meta.get('train_samples') or '?'} training samples"
        + (f" (--limit {meta['limit']})" if meta.get("limit") else ""),
        f"{meta.get('repeats')} run(s) per target, {seed_text}".rstrip(", "),
        f"{init} initial weights, shared batch order, each framework's own dropout",
        f"{machine.get('cpu', '?')}, {machine.get('cores', '?')} logical cores,"
        f" {machine.get('system', '?')}",
        f"Python {machine.get('python', '?')}" + (f", {versions}" if versions else ""),
        f"nndsl {meta.get('nndsl', '?')}, {meta.get('date', '?')}",
    ]
    return "; ".join(p for p in parts if p) + "."


def render(doc: dict, fmt: str) -> bytes:
    """The chart as PNG or SVG bytes."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    summary = doc["summary"]
    colours = {row["target"]: _COLOURS[i % len(_COLOURS)] for i, row in enumerate(summary)}
    with matplotlib.rc_context({"svg.hashsalt": "nndsl-compare", "font.size": 9}):
        figure = Figure(figsize=(11, 8.2), dpi=100)
        FigureCanvasAgg(figure)
        axes = figure.subplots(2, 2)
        _accuracy(axes[0][0], doc["runs"], summary, colours)
        _bars(axes[0][1], summary, colours, "samples_per_second", "training samples/s", "{:,.0f}")
        _bars(axes[1][0], summary, colours, "peak_memory_mb", "peak memory (MB, RSS)", "{:,.0f}")
        _loss(axes[1][1], summary, colours)
        meta = doc.get("meta") or {}
        figure.suptitle(f"{meta.get('model', '?')}: nndsl compare", fontsize=13)
        text = "\n".join(textwrap.wrap(caption(meta), 150))
        figure.text(0.01, 0.01, text, fontsize=7.5, va="bottom", ha="left", color="#333333")
        figure.tight_layout(rect=(0, 0.075, 1, 0.96))
        buffer = io.BytesIO()
        metadata = {"Date": None} if fmt == "svg" else {"Software": "nndsl compare"}
        figure.savefig(buffer, format=fmt, metadata=metadata)
    return buffer.getvalue()


def _positions(summary: Sequence[dict]) -> tuple[list[int], list[str]]:
    return list(range(len(summary))), [str(row["target"]) for row in summary]


def _accuracy(axes: Any, runs: Sequence[dict], summary: Sequence[dict], colours: dict) -> None:
    """Every run's test accuracy as a dot, the mean with min-max error bars, zoomed."""
    xs, labels = _positions(summary)
    values = []
    for x, row in zip(xs, summary, strict=True):
        mine = [
            r["test_accuracy"]
            for r in runs
            if r["target"] == row["target"] and r.get("test_accuracy") is not None
        ]
        values += mine
        colour = colours[row["target"]]
        if not mine:
            axes.text(x, 0.5, row["status"], transform=axes.get_xaxis_transform(), ha="center")
            continue
        offsets = [x + 0.18 + 0.04 * (i % 5) for i in range(len(mine))]
        axes.scatter(offsets, [100 * v for v in mine], s=14, color=colour, alpha=0.6, zorder=3)
        mean, low, high = (row[f"test_accuracy_{k}"] for k in ("mean", "min", "max"))
        error = [[100 * (mean - low)], [100 * (high - mean)]]
        axes.errorbar(
            x, 100 * mean, yerr=error, fmt="o", color=colour, capsize=6, ms=7, lw=2, zorder=4
        )
        axes.annotate(
            f"{mean:.2%}", (x, 100 * mean), xytext=(-8, 0), textcoords="offset points",
            ha="right", va="center", fontsize=8,
        )  # fmt: skip
    if values:
        low, high = 100 * min(values), 100 * max(values)
        pad = max(0.1, 0.3 * (high - low))
        axes.set_ylim(low - pad, high + pad)
    axes.set_xticks(xs, labels)
    axes.set_xlim(-0.6, len(xs) - 0.4)
    axes.set_ylabel("test accuracy (%), zoomed")
    axes.set_title("test accuracy: runs, mean and min-max")
    axes.grid(axis="y", alpha=0.3)


def _bars(
    axes: Any, summary: Sequence[dict], colours: dict, key: str, label: str, fmt: str
) -> None:
    """A bar per target at the mean, min-max error bars; a failed target gets its status."""
    xs, labels = _positions(summary)
    means = [row[f"{key}_mean"] for row in summary]
    heights = [m if m is not None else 0.0 for m in means]
    low = [m - row[f"{key}_min"] if m is not None else 0 for m, row in zip(means, summary)]
    high = [row[f"{key}_max"] - m if m is not None else 0 for m, row in zip(means, summary)]
    cols = [colours[row["target"]] for row in summary]
    axes.bar(xs, heights, 0.6, color=cols, alpha=0.85, yerr=[low, high], capsize=6, edgecolor="k")
    top = max(heights, default=0.0) or 1.0
    for x, mean, row in zip(xs, means, summary, strict=True):
        if mean is None:
            axes.text(x, top * 0.05, row["status"], ha="center", rotation=90, color="red")
        else:
            axes.text(x, mean / 2, fmt.format(mean), ha="center", va="center", color="white")
    if key == "samples_per_second":  # the warm-up, which the rate leaves out
        firsts = [row.get("first_step_seconds_mean") for row in summary]
        labels = [
            label if first is None else f"{label}\nfirst step\n{first:.2f} s"
            for label, first in zip(labels, firsts, strict=True)
        ]
    axes.set_xticks(xs, labels)
    axes.set_xlim(-0.6, len(xs) - 0.4)
    axes.set_title(f"{label}: mean and min-max")
    axes.set_ylabel(label)
    axes.grid(axis="y", alpha=0.3)


def _loss(axes: Any, summary: Sequence[dict], colours: dict) -> None:
    """Training loss per epoch: the mean over runs, and the min-max band."""
    drawn, epochs_seen = False, 1
    for shift, row in enumerate(summary):
        means = row.get("loss_history_mean") or []
        if not means or None in means:
            continue
        drawn, epochs_seen = True, max(epochs_seen, len(means))
        colour = colours[row["target"]]
        epochs = [e + 1 + 0.03 * (shift - len(summary) / 2) for e in range(len(means))]
        low, high = row["loss_history_min"], row["loss_history_max"]
        error = [[m - lo for m, lo in zip(means, low)], [hi - m for m, hi in zip(means, high)]]
        axes.errorbar(
            epochs, means, yerr=error, color=colour, marker="o", capsize=4, label=row["target"]
        )
        if len(means) > 1:
            axes.fill_between(epochs, low, high, color=colour, alpha=0.15)
    if drawn:
        axes.legend(fontsize=8)
    ticks = range(1, epochs_seen + 1, max(1, epochs_seen // 10))
    axes.set_xticks(list(ticks))
    axes.set_xlim(0.5, epochs_seen + 0.5)
    axes.set_xlabel("epoch")
    axes.set_ylabel("mean training loss of the epoch")
    axes.set_title("training loss per epoch: mean and min-max")
    axes.grid(alpha=0.3)
