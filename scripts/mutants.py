"""Mutation checks: break one pinned semantic at a time and prove a test catches it.

    python scripts/mutants.py            # every mutant
    python scripts/mutants.py --fast     # the CI subset (FAST in scripts/mutant_table.py)
    python scripts/mutants.py WORD ...   # only mutants whose id contains a WORD
    python scripts/mutants.py --table T  # the mutants of another table file (the tests use it)

The tree is copied to a scratch folder first (a crash can never leave a file mutated). Every
mutant's snippet must occur exactly once; the unmutated tests must pass (the baseline: one
pytest run over every selection, and one per selection only when that fails); then each
mutant replaces its snippet in the scratch copy and runs its tests. A mutant is CAUGHT only
when pytest exits 1 with at least one failed test; every other outcome is an ERROR naming the
mutant and the reason (the snippet is gone, the baseline failed, pytest missing, an import or
collection error, exit codes 2-5, a timeout), and the script exits 1.

pytest runs in the interpreter running this script, with its -I / -S flags: run with a Python
lacking pytest, every mutant is an ERROR.

The table (scripts/mutant_table.py) is the one list; tests/test_mutants_table.py checks that
every semantic row of docs/semantics.md names a mutant there and every mutant a row here.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TABLE = Path(__file__).resolve().with_name("mutant_table.py")
TIMEOUT = 900  # seconds per pytest run


def load_table(path: Path) -> ModuleType:
    """The table module at `path` (MUTANTS, FAST), loaded by path: no sys.path needed."""
    spec = importlib.util.spec_from_file_location("nndsl_mutant_table", path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


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
        if source.is_file() and not source.is_symlink():
            target = scratch / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    (scratch / "nndsl").symlink_to("dsl")  # `import nndsl` finds the scratch copy first


def _interpreter() -> list[str]:
    """This interpreter with the flags it runs under that decide what it can import."""
    flags = [flag for flag, on in (("-I", sys.flags.isolated), ("-S", sys.flags.no_site)) if on]
    return [sys.executable, *flags]


def _pytest(scratch: Path, tests: tuple[str, ...]) -> tuple[int | None, str]:
    command = [*_interpreter(), "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests]
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


def _baselines(scratch: Path, chosen: list[Any]) -> dict[tuple[str, ...], tuple[int | None, str]]:
    """(exit code, last line) of the unmutated tests per selection: one run over them all,
    one per selection only when that run fails."""
    selections = list(dict.fromkeys(m.tests for m in chosen))
    union = tuple(dict.fromkeys(test for tests in selections for test in tests))
    code, summary = _pytest(scratch, union) if union else (0, "")
    if code == 0 or len(selections) == 1:
        return {tests: (code, summary) for tests in selections}
    print(f"the baseline over every selection failed ({summary}): one run each", flush=True)
    return {tests: _pytest(scratch, tests) for tests in selections}


def run(chosen: list[Any]) -> int:
    """Check each mutant; print one line per mutant and a total; the number of ERRORs."""
    errors = 0
    with tempfile.TemporaryDirectory(prefix="nndsl-mutants-") as folder:
        scratch = Path(folder)
        _copy_tree(scratch)
        ready = []
        for m in chosen:
            path = scratch / m.file
            count = path.read_text(encoding="utf-8").count(m.old) if path.is_file() else 0
            if count != 1:
                found = "not found" if count == 0 else "found more than once"
                print(f"ERROR  {m.id}: snippet {found} in {m.file}", flush=True)
                errors += 1
            else:
                ready.append(m)
        baselines = _baselines(scratch, ready)
        for m in ready:
            code, summary = baselines[m.tests]
            if code != 0:
                print(f"ERROR  {m.id}: the unmutated tests do not pass ({summary})", flush=True)
                errors += 1
                continue
            path = scratch / m.file
            text = path.read_text(encoding="utf-8")
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
    return errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("words", nargs="*", help="only mutants whose id contains a word")
    parser.add_argument("--fast", action="store_true", help="the CI subset")
    parser.add_argument("--table", type=Path, default=TABLE, help="the table file")
    args = parser.parse_args(argv)
    table = load_table(args.table)
    chosen = [m for m in table.MUTANTS if not args.words or any(w in m.id for w in args.words)]
    if args.fast:
        chosen = [m for m in chosen if m.id in table.FAST]
    start = time.perf_counter()
    errors = run(chosen)
    seconds = time.perf_counter() - start
    print(f"{len(chosen) - errors} of {len(chosen)} mutants caught in {seconds:.0f}s")
    return 1 if errors or not chosen else 0


if __name__ == "__main__":
    sys.exit(main())
