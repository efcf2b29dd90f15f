"""Training samples/s of the generated CNN in 1 process and in N data-parallel processes,
per target, launched as tests/test_distributed.py launches them (its LAUNCHERS table).

    python benchmarks/distributed.py [--workers 2] [--limit 12800] [--epochs 1] [--json FILE]

Each run is the module's own `train` command; the figure is rank 0's samples_per_second
(global samples over rank 0's epoch time, the first step left out), and its test accuracy.
Targets in the test's OPT_OUT table are listed with their reason. Not a test: on a 2-core
machine no speed-up is expected (two workers share the cores and add gradient exchange);
measure on a quiet machine and report `uptime` load with the figures. Threads per process are
the cores shared evenly (OMP_NUM_THREADS); on a loaded machine a 2-thread process is badly
oversubscribed (at load 9 on 2 cores, torch's CNN step ran 5x slower with 2 threads than
with 1), so figures from a busy machine say nothing about data parallelism.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import nndsl  # noqa: E402
from tests.test_distributed import LAUNCHERS, OPT_OUT, Process, write_package  # noqa: E402


def threads(workers: int) -> int:
    """Threads per process: the cores shared evenly (torchrun alone would set 1 per worker,
    and one process would take every core: an unfair comparison)."""
    return max(1, (os.cpu_count() or 1) // workers)


def launch(processes: list[Process], cwd: Path, timeout: float, workers: int) -> str | None:
    """Run every process to the end; None, or why the launch failed."""
    env = {**os.environ, "PYTHONPATH": str(cwd), "TF_CPP_MIN_LOG_LEVEL": "2"}
    env["OMP_NUM_THREADS"] = str(threads(workers))
    children = [
        subprocess.Popen(
            p.argv,
            cwd=cwd,
            env={**env, **p.env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for p in processes
    ]
    failure = None
    for child in children:
        try:
            _, err = child.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            failure = failure or f"timed out after {timeout:.0f}s"
            continue
        if child.returncode != 0 and failure is None:
            failure = f"exit {child.returncode}: {(err.strip().splitlines() or ['?'])[-1]}"
    return failure


def measure(target: str, workers: int, args: argparse.Namespace, work: Path) -> dict:
    """One run of specs/cnn.nn in `workers` processes: rank 0's JSON record, or an error."""
    record = work / f"{target}-{workers}.json"
    module = f"pkg.cnn_{target}"
    train = ["train", "--device", "cpu", "--quiet", "--epochs", str(args.epochs)]
    train += ["--limit", str(args.limit), "--json", str(record)]
    if workers == 1:
        processes = [Process([sys.executable, "-m", module, *train])]
    else:
        processes = LAUNCHERS[target].launch(module, workers, train)
    failure = launch(processes, work, args.timeout, workers)
    if failure or not record.exists():
        return {"error": failure or "no JSON record"}
    data = json.loads(record.read_text())
    keys = ("samples_per_second", "test_accuracy", "peak_memory_mb", "workers")
    return {key: data.get(key) for key in keys}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="processes of the parallel run")
    parser.add_argument("--limit", type=int, default=12_800, help="training samples per run")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per launch")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    results: dict[str, dict] = {"load_before": os.getloadavg()[0], "targets": {}}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        write_package(work, nndsl.load(ROOT / "specs" / "cnn.nn"), "specs/cnn.nn")
        print(f"OMP_NUM_THREADS: {threads(1)} for 1 process, {threads(args.workers)} per worker")
        print(f"| target | 1 process samples/s | {args.workers} processes samples/s | ratio |")
        print("|---|---|---|---|")
        for target in [*LAUNCHERS, *OPT_OUT]:
            if target in OPT_OUT:
                results["targets"][target] = {"opted_out": OPT_OUT[target]}
                print(f"| {target} | opted out: {OPT_OUT[target]} | | |")
                continue
            runs = {n: measure(target, n, args, work) for n in (1, args.workers)}
            results["targets"][target] = runs
            rates = [runs[n].get("samples_per_second") for n in (1, args.workers)]
            cells = [
                f"{r:,.0f}" if r else runs[n].get("error", "?")
                for r, n in zip(rates, (1, args.workers), strict=True)
            ]
            ratio = f"{rates[1] / rates[0]:.2f}" if all(rates) else ""
            print(f"| {target} | {cells[0]} | {cells[1]} | {ratio} |", flush=True)
    results["load_after"] = os.getloadavg()[0]
    print(
        f"load average (1 min): {results['load_before']:.2f} before, "
        f"{results['load_after']:.2f} after"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
