"""`nndsl compare`: generate a spec for each target, train each K times from the same
starting point, then tabulate, chart and report the runs (see `nndsl.compare`)."""

from __future__ import annotations

import argparse
import hashlib
import io
import shlex
import sys
import time
from pathlib import Path

import numpy as np

from nndsl import __version__, codegen, compare_format, compare_report, initial, ir, targets
from nndsl.compare import CompareJob, Repeat, run_compare
from nndsl.errors import NndslError, SpecError


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def compare(args: argparse.Namespace) -> int:
    """Run the comparison described by the parsed `nndsl compare` arguments."""
    if args.source is not None:
        return _redraw(args)
    if args.spec is None:
        raise NndslError("compare needs a SPEC (or --from RESULTS)")
    for flag, value in (("--epochs", args.epochs), ("--repeats", args.repeats)):
        if value < 1:
            raise NndslError(f"{flag} must be at least 1")
    if args.limit is not None and args.limit < 1:
        raise NndslError("--limit must be at least 1")
    if args.timeout is not None and not args.timeout > 0:
        raise NndslError("--timeout must be a positive number of seconds")
    chosen = targets.select(args.targets)
    if args.targets == "all":  # every target that trains; inference-only ones are left out
        chosen = [target for target in chosen if target.trains]
    for target in chosen:
        if not target.trains:
            raise NndslError(
                f"target {target.name} does not train (inference only): compare trains"
            )
    program, spec_file = codegen.load_program(Path(args.spec))
    if program.train is None:
        raise SpecError("the spec has no train section to compare", file=spec_file)
    first = program.train.seed if args.seed is None else args.seed
    seeds = [first + k for k in range(args.repeats)]
    if not (0 <= first and seeds[-1] < 2**31):
        raise NndslError(f"--seed: seeds {seeds[0]}..{seeds[-1]} must lie in [0, 2**31)")
    folder = compare_report.run_folder(args.out, program.name)
    package = folder / "generated"
    outputs = codegen.plan([(program, spec_file)], chosen, package)
    codegen.write_package(outputs, package)
    jobs = [
        CompareJob(target=t.name, module=f"generated.{path.stem}", cwd=folder.resolve())
        for t, (path, _) in zip(chosen, outputs)
    ]
    repeats = [_repeat(n, seed, program, folder, args.own_init) for n, seed in enumerate(seeds, 1)]
    limit = f", first {args.limit:,} samples" if args.limit else ""
    _progress(
        f"comparing {program.name} in {len(jobs)} target(s), {args.repeats} run(s) each:"
        f" {args.epochs} epoch(s){limit}, seeds {seeds[0]}..{seeds[-1]}, into {folder}"
    )
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    records = run_compare(
        jobs,
        folder,
        epochs=args.epochs,
        limit=args.limit,
        data_dir=Path(args.data_dir) if args.data_dir else None,
        progress=_progress,
        timeout=args.timeout,
        repeats=repeats,
    )
    meta = _meta(args, program, spec_file, [t.name for t in chosen], seeds, records, started)
    doc = compare_format.document(meta, records)
    written = compare_report.write_outputs(doc, folder, report=args.report)
    print(compare_format.render(doc, args.format))
    _progress("wrote " + ", ".join(str(path) for path in written))
    return 0 if any(r["status"] == "ok" for r in records) else 1


def _redraw(args: argparse.Namespace) -> int:
    """`--from`: print a saved document and write its chart (and report) again."""
    if args.spec is not None:
        raise NndslError("give a SPEC or --from RESULTS, not both")
    source = Path(args.source)
    doc = compare_report.load_document(source)
    folder = Path(args.out) if args.out else (source if source.is_dir() else source.parent)
    written = compare_report.write_outputs(doc, folder, report=args.report)
    print(compare_format.render(doc, args.format))
    _progress("wrote " + ", ".join(str(path) for path in written))
    return 0


def _repeat(number: int, seed: int, program: ir.Program, folder: Path, own: bool) -> Repeat:
    """Repeat `number`: its seed and, unless `own`, its canonical initial weights written to
    init/seed-<seed>.npz with compare's sha256 of them."""
    if own:
        return Repeat(number, seed)
    weights = initial.initial_weights(program.weights, seed)
    path = folder / "init" / f"seed-{seed}.npz"
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    np.savez(buffer, **weights)
    compare_report.atomic_write(path, buffer.getvalue())
    return Repeat(number, seed, path, initial.weights_sha256(weights))


def _meta(
    args: argparse.Namespace,
    program: ir.Program,
    spec_file: str,
    names: list[str],
    seeds: list[int],
    records: list[dict],
    started: str,
) -> dict:
    """What, where, when and with which versions the comparison ran."""
    versions: dict[str, set[str]] = {}
    for record in records:
        for package, version in (record.get("versions") or {}).items():
            versions.setdefault(package, set()).add(version)
    samples = {r["train_samples"] for r in records if r.get("train_samples")}
    command = ["nndsl", "compare", args.spec, "--targets", args.targets]
    command += ["--epochs", str(args.epochs), "--repeats", str(args.repeats)]
    command += ["--seed", str(seeds[0])]
    command += ["--limit", str(args.limit)] if args.limit else []
    command += ["--own-init"] if args.own_init else []
    return {
        "model": program.name,
        "spec_file": spec_file,
        "spec_sha256": hashlib.sha256(program.source.encode("utf-8")).hexdigest(),
        "targets": names,
        "epochs": args.epochs,
        "limit": args.limit,
        "train_samples": next(iter(samples)) if len(samples) == 1 else (sorted(samples) or None),
        "repeats": args.repeats,
        "seeds": seeds,
        "initial_weights": "own" if args.own_init else "shared",
        "batch_order": "shared",
        "dropout": "each framework's own",
        "machine": compare_report.machine(),
        "versions": {k: " / ".join(sorted(v)) for k, v in sorted(versions.items())},
        "nndsl": __version__,
        "date": started,
        "command": shlex.join(command),
    }
