"""Generated torch training on a GPU against an expert's eager PyTorch, plus the compiled step
and bf16; exits 0 saying so when there is no GPU.

    python benchmarks/gpu.py [--pairs 3] [--epochs 3] [--json FILE]

The expert (benchmarks/experts/torch_expert.py) keeps the data on the device, uses
channels_last, fused optimizers and cudnn.benchmark. Throughput is steady state: epochs 2
and later (the first holds the warm-up and any compilation). Each pair runs generated and
expert alternately (A/B, then B/A). Sized to finish in under 8 minutes on one H200.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from runner import ROOT, expert, generated, machine


def steady(record: dict) -> float | None:
    """Samples/s over every epoch but the first."""
    seconds = record.get("epoch_seconds") or []
    if "error" in record or len(seconds) < 2:
        return None
    return record["train_samples"] * (len(seconds) - 1) / sum(seconds[1:])


def gpu_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def matmul_tflops() -> dict:
    import torch

    out = {}
    for name, dtype in (("fp32", torch.float32), ("tf32", "tf32"), ("bf16", torch.bfloat16)):
        torch.backends.cuda.matmul.allow_tf32 = dtype == "tf32"
        real = torch.float32 if dtype == "tf32" else dtype
        a = torch.randn(8192, 8192, device="cuda", dtype=real)
        for _ in range(3):
            a @ a
        torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(10):
            a @ a
        torch.cuda.synchronize()
        out[name] = 10 * 2 * 8192**3 / (time.perf_counter() - start) / 1e12
    torch.backends.cuda.matmul.allow_tf32 = False
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--device", default="cuda", help="cuda; cpu only to try the script")
    parser.add_argument("--limit", type=int, help="train samples (to try the script quickly)")
    parser.add_argument("--json", help="write every figure to this JSON file")
    args = parser.parse_args()
    if args.device == "cuda" and not gpu_available():
        print("benchmarks/gpu.py: no GPU found (torch.cuda.is_available() is False): skipped")
        return 0
    record: dict = {"machine": machine()}
    if args.device == "cuda":
        import torch

        record["gpu"] = torch.cuda.get_device_name()
        record["matmul_tflops"] = matmul_tflops()
        print(f"{record['gpu']}: matmul {record['matmul_tflops']}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="nndsl-gpu-") as folder:
        work = Path(folder)
        shutil.copytree(ROOT / "generated", work / "generated")  # the committed golden record
        limit = ("--limit", str(args.limit)) if args.limit else ()
        samples = {"cnn": 0.1, "mlp": 0.0}  # the specs' validation_split
        cases = [("cnn", 128), ("mlp", 128), ("cnn", 1024), ("mlp", 1024)]
        for model, batch in cases:
            train = args.limit or 60000 - int(60000 * samples[model])
            common = ("--device", args.device, "--batch-size", str(batch))
            pairs = []
            for index in range(args.pairs):
                pair = {}
                for which in (("gen", "exp") if index % 2 == 0 else ("exp", "gen")):
                    if which == "gen":
                        pair[which] = generated(
                            work, model, "torch", args.epochs, (*common, *limit)
                        )
                    else:
                        pair[which] = expert(work, model, "torch", args.epochs, train, common)
                pairs.append(pair)
                print(
                    f"  {model} b{batch}: gen {steady(pair['gen'])} exp {steady(pair['exp'])}",
                    flush=True,
                )
            rows.append(_summary(model, batch, "eager", pairs))
        for model, batch, extra in (
            ("cnn", 128, ("--compile",)),
            ("cnn", 128, ("--precision", "bf16")),
        ):
            common = ("--device", args.device, "--batch-size", str(batch), *extra, *limit)
            runs = [
                generated(work, model, "torch", args.epochs, common)
                for _ in range(2 if "--compile" in extra else 1)
            ]
            rows.append(
                {
                    "model": model,
                    "batch": batch,
                    "variant": " ".join(extra),
                    "generated": statistics.median([steady(r) or 0.0 for r in runs]),
                    "first_step_seconds": [r.get("first_step_seconds") for r in runs],
                    "accuracy": [r.get("test_accuracy") for r in runs],
                    "runs": runs,
                }
            )
            print(f"  {model} b{batch} {' '.join(extra)}: {rows[-1]['generated']}", flush=True)
    record["rows"] = rows
    for row in rows:
        print(json.dumps({k: v for k, v in row.items() if k not in ("pairs", "runs")}))
    if args.json:
        Path(args.json).write_text(json.dumps(record, indent=2) + "\n")
    return 0


def _summary(model: str, batch: int, variant: str, pairs: list[dict]) -> dict:
    gen = [steady(p["gen"]) for p in pairs]
    exp = [steady(p["exp"]) for p in pairs]
    ratios = [g / e for g, e in zip(gen, exp) if g and e]
    return {
        "model": model,
        "batch": batch,
        "variant": variant,
        "generated": statistics.median([g for g in gen if g] or [0.0]),
        "expert": statistics.median([e for e in exp if e] or [0.0]),
        "ratio": statistics.median(ratios) if ratios else None,
        "accuracy": [p["gen"].get("test_accuracy") for p in pairs],
        "expert_accuracy": [p["exp"].get("test_accuracy") for p in pairs],
        "pairs": pairs,
    }


if __name__ == "__main__":
    sys.exit(main())
