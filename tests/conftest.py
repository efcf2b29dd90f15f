"""Shared fixtures: specs, analysed programs, and generated modules imported from a package.

Generated modules import their package's `_harness` (and a target's `_<target>_support`),
so tests render them into one session-wide package in a temporary folder and import them
from there. Rendering skips black (the golden record in generated/ covers formatting).
"""

from __future__ import annotations

import hashlib
import importlib
import sys
from pathlib import Path
from types import ModuleType

import pytest

import nndsl
from nndsl import codegen, ir, targets
from tests.cases import random_inputs, random_weights  # noqa: F401  (fixtures' helpers)

ROOT = Path(__file__).resolve().parents[1]
SPECS = sorted((ROOT / "specs").glob("*.nn"))
# the targets whose modules have the Python module API; tests that take a `target` parameter
# skip the others (tfjs: an ES module for node) unless marked `any_runtime`
TARGETS = list(targets.python_targets())
PACKAGE = "nndsl_generated_for_tests"


def program_of(path: Path) -> ir.Program:
    """Parse and analyse a spec file."""
    return nndsl.load(path)


class Package:
    """A package folder of generated modules, importable under PACKAGE."""

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        (folder / codegen.INIT).write_text("")
        (folder / codegen.HARNESS).write_text(codegen._harness_source())
        for target in targets.python_targets().values():
            if target.support_module:
                source = codegen._support_source(target)
                (folder / f"{target.support_module}.py").write_text(source)
        self.cache: dict[str, ModuleType] = {}

    def module(self, program: ir.Program, target: str, spec_file: str = "spec.nn") -> ModuleType:
        """Render `program` for `target` (no black) and import it under a unique name."""
        source = codegen.render_source(program, targets.get(target), spec_file)
        digest = hashlib.sha256(source.encode()).hexdigest()[:12]
        name = f"{program.name}_{target}_{digest}"
        if name not in self.cache:
            (self.folder / f"{name}.py").write_text(source)
            importlib.invalidate_caches()
            self.cache[name] = importlib.import_module(f"{PACKAGE}.{name}")
        return self.cache[name]


# Modules whose tests run programs end to end (process launches, node, wheel builds, the
# module CLI, training steps compared across every target, ONNX Runtime, hostile files fed
# to every target): `make test` runs them, `make test-fast` leaves them out (-m "not integration").
INTEGRATION = {
    "test_compare", "test_compiled_step", "test_distributed", "test_gluon", "test_hostile_modules",
    "test_hostile_tool", "test_modules", "test_onnx", "test_semantics", "test_shards", "test_specs",
    "test_step_parity", "test_tf", "test_tf_distribute", "test_tfjs", "test_theano", "test_wheel",
}  # fmt: skip


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The one place where Python-module tests leave out targets of another runtime, and
    where the integration modules are marked."""
    for item in items:
        if item.module is not None and item.module.__name__.rpartition(".")[2] in INTEGRATION:
            item.add_marker(pytest.mark.integration)
        name = getattr(getattr(item, "callspec", None), "params", {}).get("target")
        name = getattr(name, "name", name)
        if not isinstance(name, str) or name not in targets.NAMES:
            continue
        target = targets.get(name)
        if target.runtime != "python" and item.get_closest_marker("any_runtime") is None:
            reason = f"{name} modules run under {target.runtime}, without the Python module API"
            item.add_marker(
                pytest.mark.skip(reason=f"{reason} (tests/test_{name}.py covers them)")
            )


@pytest.fixture(scope="session")
def package(tmp_path_factory: pytest.TempPathFactory) -> Package:
    root = tmp_path_factory.mktemp("generated")
    sys.path.insert(0, str(root))
    return Package(root / PACKAGE)


@pytest.fixture(scope="session")
def modules(package: Package):
    """(spec path, target) -> imported generated module, cached."""

    def get(spec: Path, target: str) -> ModuleType:
        return package.module(program_of(spec), target, spec.name)

    return get


def import_generated(program: ir.Program, target: str, package: Package) -> ModuleType:
    """The generated module of `program` for `target`, imported from `package`."""
    return package.module(program, target)
