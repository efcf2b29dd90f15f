"""The mutation checks themselves: docs/semantics.md and scripts/mutant_table.py name each
other, every snippet is still in the tree, and scripts/mutants.py reports CAUGHT only for a
real test failure (a missing snippet, a missing pytest or an uncaught mutant is an ERROR)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

SCRIPT = ROOT / "scripts" / "mutants.py"
DOC = ROOT / "docs" / "semantics.md"
MARKER = re.compile(r"\[m:([a-z0-9-]+)\]")


def _table():
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import mutants
    finally:
        sys.path.remove(str(SCRIPT.parent))
    return mutants.load_table(mutants.TABLE)


TABLE = _table()


def _rows() -> list[str]:
    """The body rows of every table of docs/semantics.md (headers and rules left out)."""
    lines = DOC.read_text(encoding="utf-8").splitlines()
    return [
        line
        for line, after in zip(lines, lines[1:] + [""])
        if line.startswith("|") and not line.startswith("|---") and not after.startswith("|---")
    ]


def test_every_pinned_row_names_a_mutant_and_every_mutant_a_row():
    rows = _rows()
    assert len(rows) > 30
    unmarked = [r for r in rows if not MARKER.search(r) and "no mutant: " not in r]
    assert not unmarked, f"rows with neither [m:ID] nor 'no mutant: why': {unmarked}"
    markers = {m for r in rows for m in MARKER.findall(r)}
    semantics = {m.semantic for m in TABLE.MUTANTS}
    assert not markers - semantics, f"markers naming no mutant: {markers - semantics}"
    assert not semantics - markers, f"mutants without a row: {semantics - markers}"


def test_the_table_is_well_formed():
    ids = [m.id for m in TABLE.MUTANTS]
    assert len(ids) == len(set(ids))
    assert TABLE.FAST <= set(ids), TABLE.FAST - set(ids)
    families = TABLE.FAMILIES
    grouped = [s for members in families.values() for s in members]
    assert len(grouped) == len(set(grouped))
    assert set(grouped) == {m.semantic for m in TABLE.MUTANTS}
    fast = {m.semantic for m in TABLE.MUTANTS if m.id in TABLE.FAST}
    missing = [family for family, members in families.items() if not fast & set(members)]
    assert not missing, f"families without a FAST mutant: {missing}"
    for m in TABLE.MUTANTS:
        assert m.old != m.new and m.tests, m.id
        for test in m.tests:
            assert (ROOT / test.split("::")[0]).is_file(), (m.id, test)


@pytest.mark.parametrize("mutant", TABLE.MUTANTS, ids=lambda m: m.id)
def test_every_snippet_occurs_once(mutant):
    """A snippet that moved makes the script report ERROR; this says so in a second."""
    assert (ROOT / mutant.file).read_text(encoding="utf-8").count(mutant.old) == 1


# --- the script on tables of one mutant each (cheap tests, no framework) ---

FAKE = """
from dataclasses import dataclass


@dataclass(frozen=True)
class Mutant:
    id: str
    file: str
    old: str
    new: str
    tests: tuple


MUTANTS = [Mutant("initial/compare-init", "dsl/initial.py", {old!r}, {new!r}, ({test!r},))]
FAST = set()
"""
OLD = 'np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])'
TEST = "tests/test_compare.py::test_constant_initialisers_and_determinism"


def _script(
    tmp_path: Path, *python_flags: str, old: str = OLD, new: str = "np.random.default_rng(seed)"
):
    table = tmp_path / "table.py"
    table.write_text(FAKE.format(old=old, new=new, test=TEST))
    command = [sys.executable, *python_flags, str(SCRIPT), "--table", str(table)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    return result.returncode, result.stdout + result.stderr


@pytest.mark.integration  # runs a program or compiles: not in make test-fast
def test_a_caught_mutant_exits_0(tmp_path):
    code, out = _script(tmp_path)
    assert code == 0 and "CAUGHT initial/compare-init: 1 failed" in out, out
    assert "1 of 1 mutants caught" in out


def test_a_missing_snippet_is_an_error(tmp_path):
    code, out = _script(tmp_path, old="a snippet that is nowhere")
    assert code == 1 and "ERROR  initial/compare-init: snippet not found" in out, out
    assert "CAUGHT" not in out


def test_without_pytest_every_mutant_is_an_error(tmp_path):
    """-I -S: this interpreter without its site-packages, so without pytest."""
    code, out = _script(tmp_path, "-I", "-S")
    assert code == 1 and "ERROR  initial/compare-init: the unmutated tests" in out, out
    assert "No module named pytest" in out and "CAUGHT" not in out


@pytest.mark.integration  # runs a program or compiles: not in make test-fast
def test_a_mutant_no_test_notices_is_an_error(tmp_path):
    code, out = _script(tmp_path, new=OLD + "  # the same")
    assert code == 1 and "ERROR  initial/compare-init: no test failed" in out, out
