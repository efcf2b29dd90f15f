"""Mutation checks: break one pinned semantic at a time and prove a test catches it.

    python scripts/mutants.py            # every mutant
    python scripts/mutants.py --fast     # the CI subset (FAST below)
    python scripts/mutants.py WORD ...   # only mutants whose id contains a WORD

The tree is copied to a scratch folder first (a crash can never leave a file mutated). For
each test selection the unmutated tests must pass (the baseline); then each mutant replaces
one exact snippet in the scratch copy and runs its tests. A mutant is CAUGHT only when pytest
exits 1 with at least one failed test; every other outcome is an ERROR naming the mutant and
the reason (the baseline failed, the snippet is gone, pytest missing, an import or collection
error, exit codes 2-5, a timeout), and the script exits 1.

The table MUTANTS is the one list; tests/test_mutants_table.py checks that every semantic
row of docs/semantics.md names a mutant here and every mutant a row there.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 900  # seconds per pytest run


@dataclass(frozen=True)
class Mutant:
    id: str  # the semantic it breaks: the `[m:ID]` marker of its docs/semantics.md row
    file: str
    old: str
    new: str
    tests: tuple[str, ...]


CONTRACT = ("tests/test_contract.py",)
SEMANTICS = ("tests/test_semantics.py",)
STEP = ("tests/test_step_parity.py",)

# id: "<target>/<semantic>"; the semantic is the `[m:...]` marker of a docs/semantics.md row
MUTANTS: list[Mutant] = [
    Mutant(
        "torch/bn-momentum",
        "dsl/targets/torch.py",
        '"momentum": round(1.0 - op.momentum, 12)',
        '"momentum": op.momentum',
        SEMANTICS,
    ),
]  # fmt: skip

# the CI subset: one or more mutants per semantic, chosen to run in under five minutes
FAST: set[str] = {"torch/bn-momentum"}


def _copy_tree(scratch: Path) -> None:
    """The tracked files (and new ones not ignored) of the repository, into scratch."""
    listed = (
        subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            target = scratch / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    (scratch / "nndsl").symlink_to("dsl")  # `import nndsl` finds the scratch copy first


def _pytest(scratch: Path, tests: tuple[str, ...]) -> tuple[int | None, str]:
    command = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests]
    try:
        result = subprocess.run(
            command, cwd=scratch, capture_output=True, text=True, timeout=TIMEOUT
        )
    except subprocess.TimeoutExpired:
        return None, f"timed out after {TIMEOUT}s"
    lines = (result.stdout + result.stderr).strip().splitlines()
    return result.returncode, lines[-1] if lines else ""


def _failed(summary: str) -> bool:
    return re.search(r"\b\d+ failed\b", summary) is not None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("words", nargs="*", help="only mutants whose id contains a word")
    parser.add_argument("--fast", action="store_true", help="the CI subset")
    args = parser.parse_args(argv)
    chosen = [m for m in MUTANTS if not args.words or any(w in m.id for w in args.words)]
    if args.fast:
        chosen = [m for m in chosen if m.id in FAST]
    errors = 0
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="nndsl-mutants-") as folder:
        scratch = Path(folder)
        _copy_tree(scratch)
        baselines: dict[tuple[str, ...], tuple[int | None, str]] = {}
        for m in chosen:
            if m.tests not in baselines:
                baselines[m.tests] = _pytest(scratch, m.tests)
            code, summary = baselines[m.tests]
            if code != 0:
                print(f"ERROR  {m.id}: the unmutated tests do not pass ({summary})", flush=True)
                errors += 1
                continue
            path = scratch / m.file
            text = path.read_text(encoding="utf-8")
            if text.count(m.old) != 1:
                found = "not found" if m.old not in text else "found more than once"
                print(f"ERROR  {m.id}: snippet {found} in {m.file}", flush=True)
                errors += 1
                continue
            path.write_text(text.replace(m.old, m.new), encoding="utf-8")
            try:
                code, summary = _pytest(scratch, m.tests)
            finally:
                path.write_text(text, encoding="utf-8")
            if code == 1 and _failed(summary):
                print(f"CAUGHT {m.id}: {summary}", flush=True)
            else:
                reason = "no test failed" if code == 0 else f"pytest exit {code}: {summary}"
                print(f"ERROR  {m.id}: {reason}", flush=True)
                errors += 1
    seconds = time.perf_counter() - start
    print(f"{len(chosen) - errors} of {len(chosen)} mutants caught in {seconds:.0f}s")
    return 1 if errors or not chosen else 0


if __name__ == "__main__":
    sys.exit(main())
