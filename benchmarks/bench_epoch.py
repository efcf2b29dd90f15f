"""Seconds per training epoch of each generated target, as ratios to a hand-written baseline.

Runs the hand-written PyTorch CNN (baseline_torch_cnn.py) and each generated target's
`train` on the same samples in the same run, each in its own process, and prints
`target  s/epoch  ratio-to-baseline`. Usage (after `nndsl data fetch mnist`):

    python benchmarks/bench_epoch.py [--limit 20000] [--targets all]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from nndsl import codegen, targets

HERE = Path(__file__).resolve().parent
SPEC = HERE.parent / "specs" / "cnn.nn"


def run(command: list[str], cwd: Path) -> float:
    out = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=True)
    record = json.loads(out.stdout.strip().splitlines()[-1])
    return sum(record["epoch_seconds"]) / len(record["epoch_seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=20000)
    parser.add_argument("--targets", default="all")
    args = parser.parse_args()
    baseline = run(
        [sys.executable, str(HERE / "baseline_torch_cnn.py"), "--limit", str(args.limit)], HERE
    )
    print(f"{'baseline-torch':<16}{baseline:8.2f} s/epoch  1.00")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        package = work / "generated"
        chosen = targets.select(args.targets)
        outputs = codegen.plan([codegen.load_program(SPEC)], chosen, package)
        codegen.write_package(outputs, package)
        for target, (path, _) in zip(chosen, outputs):
            report = work / f"{target.name}.json"
            command = [sys.executable, "-m", f"generated.{path.stem}", "train", "--epochs", "1"]
            command += ["--limit", str(args.limit), "--quiet", "--json", str(report)]
            subprocess.run(command, cwd=work, check=True, capture_output=True)
            seconds = json.loads(report.read_text())["epoch_seconds"]
            mean = sum(seconds) / len(seconds)
            print(f"{target.name:<16}{mean:8.2f} s/epoch  {mean / baseline:.2f}")


if __name__ == "__main__":
    main()
