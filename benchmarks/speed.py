"""The project's speed record: generated training against an expert's, and the generator.

    python benchmarks/speed.py [--pairs 3] [--targets all] [--models cnn,mlp] [--json FILE]

For every target and model (specs/cnn.nn, specs/mlp.nn) it trains the generated module
(`python -m <package>.<model>_<target> train`) and the expert's hand-written script of the
same model (benchmarks/experts/<target>_expert.py), alternating A/B and B/A in pairs, each
in its own process, on full MNIST. Figures are training samples/s after the first step
(the warm-up is reported apart) as each program times itself, the median over pairs, the
median of the per-pair ratios, peak memory and test accuracy. The same run measures a large
float32 matmul (the machine's practical peak) and the generator itself (all specs x all
targets, cold and warm; a 2,000-layer spec). Not a test: measure on a quiet machine
(`uptime` load below ~1.5), with nothing else running.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from runner import EXPERTS, ROOT, expert, generated, machine

import nndsl
from nndsl import codegen, ir, targets

MODELS = {"cnn": ROOT / "specs" / "cnn.nn", "mlp": ROOT / "specs" / "mlp.nn"}


def flops_per_sample(program: ir.Program) -> float:
    """Training FLOPs per sample: 2 per multiply-add, forward plus a backward of twice it."""
    macs = 0
    for node in program.nodes:
        op = node.op
        if op.kind == "dense":
            macs += int(np.prod(node.input_shape)) * op.units
        elif op.kind in ("conv1d", "conv2d"):
            per_output = int(np.prod(op.kernel)) * node.input_shape[-1] // op.groups
            macs += int(np.prod(node.output_shape)) * per_output
    return 2.0 * 3.0 * macs


def matmul_gflops(size: int = 2048, repeats: int = 5) -> float:
    """float32 matmul speed on every core (the best of several), in GFLOP/s."""
    a = np.random.default_rng(0).standard_normal((size, size), dtype=np.float32)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ a
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def _median(values: list[float]) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def bench_training(args: argparse.Namespace, work: Path) -> list[dict]:
    chosen = [
        t for t in targets.select(args.targets) if (EXPERTS / f"{t.name}_expert.py").exists()
    ]
    programs = {m: codegen.load_program(MODELS[m]) for m in args.models}
    outputs = codegen.plan(list(programs.values()), chosen, work / "generated")
    codegen.write_package(outputs, work / "generated")
    rows = []
    for model, (program, _) in programs.items():
        validation = program.train.dataset.validation_split
        samples = 60000 - int(60000 * validation)
        for target in chosen:
            pairs = []
            for index in range(args.pairs):
                order = ["gen", "exp"] if index % 2 == 0 else ["exp", "gen"]
                pair = {}
                for which in order:
                    if which == "gen":
                        pair[which] = generated(work, model, target.name, args.epochs)
                    else:
                        pair[which] = expert(work, model, target.name, args.epochs, samples)
                    print(f"  {model} {target.name} {which}: {_brief(pair[which])}", flush=True)
                pairs.append(pair)
            rows.append(_row(model, target.name, program, pairs))
    return rows


def _brief(record: dict) -> str:
    if "error" in record:
        return record["error"]
    return f"{record['samples_per_second']:,.0f} samples/s, acc {record['test_accuracy']:.4f}"


def _row(model: str, target: str, program: ir.Program, pairs: list[dict]) -> dict:
    def values(which: str, key: str) -> list[float]:
        return [p[which].get(key) for p in pairs if "error" not in p[which]]

    ratios = [
        p["gen"]["samples_per_second"] / p["exp"]["samples_per_second"]
        for p in pairs
        if "error" not in p["gen"] and "error" not in p["exp"]
    ]
    return {
        "model": model,
        "target": target,
        "pairs": pairs,
        "generated_samples_per_second": _median(values("gen", "samples_per_second")),
        "expert_samples_per_second": _median(values("exp", "samples_per_second")),
        "ratio": _median(ratios),
        "generated_first_step_seconds": _median(values("gen", "first_step_seconds")),
        "expert_first_step_seconds": _median(values("exp", "first_step_seconds")),
        "generated_peak_mb": _median(values("gen", "peak_memory_mb")),
        "expert_peak_mb": _median(values("exp", "peak_memory_mb")),
        "generated_accuracy": _median(values("gen", "test_accuracy")),
        "expert_accuracy": _median(values("exp", "test_accuracy")),
        "flops_per_sample": flops_per_sample(program),
    }


def bench_generator(work: Path) -> dict:
    """`nndsl gen specs --target all` cold (empty format cache) and warm; a 2,000-layer spec."""
    big = work / "big.nn"
    lines = ["model big {", "    input vector(64)", *["    dense(64, activation=relu)"] * 2000]
    big.write_text("\n".join([*lines, "    dense(10)", "}"]) + "\n")
    cache = work / "format-cache"

    def gen(spec: Path, out: str) -> float:
        command = [sys.executable, "-m", "nndsl", "gen", str(spec), "--target", "all", "-o", out]
        start = time.perf_counter()
        env = {**os.environ, "NNDSL_CACHE_DIR": str(cache)}
        subprocess.run(command, cwd=work, check=True, capture_output=True, env=env)
        return time.perf_counter() - start

    return {
        "specs_cold_seconds": gen(ROOT / "specs", "g1"),
        "specs_warm_seconds": gen(ROOT / "specs", "g2"),
        "big_cold_seconds": gen(big, "g3"),
        "big_warm_seconds": gen(big, "g4"),
    }


def table(rows: list[dict], peak: float) -> str:
    lines = [
        "| model | target | generated samples/s | expert samples/s | generated / expert |"
        " first step gen / exp (s) | peak MB gen / exp | accuracy gen / exp | GFLOP/s (% of matmul) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        gen, exp, ratio = (
            r["generated_samples_per_second"],
            r["expert_samples_per_second"],
            r["ratio"],
        )
        if gen is None or exp is None:
            lines.append(f"| {r['model']} | {r['target']} | failed | | | | | | |")
            continue
        gflops = gen * r["flops_per_sample"] / 1e9
        lines.append(
            f"| {r['model']} | {r['target']} | {gen:,.0f} | {exp:,.0f} | **{ratio:.2f}** |"
            f" {r['generated_first_step_seconds']:.2f} / {r['expert_first_step_seconds']:.2f} |"
            f" {r['generated_peak_mb']:,.0f} / {r['expert_peak_mb']:,.0f} |"
            f" {r['generated_accuracy']:.4f} / {r['expert_accuracy']:.4f} |"
            f" {gflops:.1f} ({gflops / peak:.0%}) |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--targets", default="all")
    parser.add_argument("--models", default="cnn,mlp")
    parser.add_argument("--skip-generator", action="store_true")
    parser.add_argument("--json", help="write every figure to this JSON file")
    args = parser.parse_args()
    args.models = [m.strip() for m in args.models.split(",") if m.strip()]
    info = {**machine(), "nndsl": nndsl.__version__}
    print(f"machine: {info}", flush=True)
    peak = matmul_gflops()
    print(f"float32 matmul: {peak:.0f} GFLOP/s", flush=True)
    with tempfile.TemporaryDirectory(prefix="nndsl-speed-") as folder:
        work = Path(folder)
        rows = bench_training(args, work)
        generator = {} if args.skip_generator else bench_generator(work)
    peak_after = matmul_gflops()
    print(table(rows, max(peak, peak_after)))
    if generator:
        print(f"generator: {generator}")
    record = {
        "machine": info,
        "load_after": os.getloadavg()[0],
        "matmul_gflops": [peak, peak_after],
        "training": rows,
        "generator": generator,
    }
    if args.json:
        Path(args.json).write_text(json.dumps(record, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
