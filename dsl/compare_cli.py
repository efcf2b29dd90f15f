"""`nndsl compare`: generate a spec for each target, train each in its own process, tabulate."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nndsl import codegen, targets
from nndsl.compare import CompareJob, format_table, run_compare, write_results
from nndsl.errors import NndslError, SpecError


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def compare(args: argparse.Namespace) -> int:
    """Run the comparison described by the parsed `nndsl compare` arguments."""
    if args.epochs < 1:
        raise NndslError("--epochs must be at least 1")
    if args.limit is not None and args.limit < 1:
        raise NndslError("--limit must be at least 1")
    chosen = targets.select(args.targets)
    program, spec_file = codegen.load_program(Path(args.spec))
    if program.spec.train is None:
        raise SpecError("the spec has no train section to compare", file=spec_file)
    out_dir = Path(args.out)
    package = out_dir / "generated"
    outputs = codegen.plan([(program, spec_file)], chosen, package)
    codegen.write_package(outputs, package)
    jobs = [
        CompareJob(target=t.name, module=f"generated.{path.stem}", cwd=out_dir.resolve())
        for t, (path, _) in zip(chosen, outputs)
    ]
    limit = f", first {args.limit:,} samples" if args.limit else ""
    _progress(f"comparing {program.name} in {len(jobs)} target(s): {args.epochs} epoch(s){limit}")
    records = run_compare(
        jobs,
        out_dir,
        epochs=args.epochs,
        limit=args.limit,
        data_dir=Path(args.data_dir) if args.data_dir else None,
        progress=_progress,
        timeout=args.timeout,
    )
    print(format_table(records))
    title = f"{program.name}: {args.epochs} epoch(s){limit}"
    json_path, png_path = write_results(records, out_dir, title)
    print(f"wrote {json_path} and {png_path}")
    return 0 if any(r["status"] == "ok" for r in records) else 1
