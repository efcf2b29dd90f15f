"""Fast checks that every IR kind is covered everywhere it must be (no framework imported).

Removing a target's view, macro, inference rule or reference function for a kind fails one
of these tests naming the target and the kind.
"""

from __future__ import annotations

import pytest

from nndsl import codegen, ir, reference, rules, targets
from tests.cases import CASES, load

TARGETS = list(targets.registry().values())


def test_every_layer_kind_has_an_inference_rule():
    missing = sorted(
        set(ir.LAYERS)
        - set(rules.RULES)
        - {k for k, c in ir.LAYERS.items() if issubclass(c, ir.MergeOp)}
    )
    assert not missing, f"no rule in nndsl/rules.py for: {missing}"


def test_every_layer_kind_has_a_reference_function():
    missing = sorted(set(ir.LAYERS) - set(reference.LAYERS))
    extra = sorted(set(reference.LAYERS) - set(ir.LAYERS))
    assert not missing and not extra, f"missing: {missing}, extra: {extra}"


@pytest.mark.any_runtime
@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.name)
def test_every_kind_is_rendered_or_listed_unsupported(target: targets.Target):
    neither = sorted(ir.all_kinds() - target.kinds - set(target.unsupported))
    both = sorted(target.kinds & set(target.unsupported))
    assert not neither, f"target {target.name} has no view for: {', '.join(neither)}"
    assert not both, f"target {target.name} renders and refuses: {', '.join(both)}"


@pytest.mark.any_runtime
@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.name)
def test_every_case_renders(target: targets.Target):
    """Every layer case renders to valid Python (a view or macro missing fails here)."""
    failures = []
    for case_id, body in CASES:
        program = load(body)
        kinds = {node.op.kind for node in program.nodes}
        if kinds & set(target.unsupported):
            continue
        try:
            source = codegen.render_source(program, target, "x.nn")
            if target.runtime == "python":  # tests/test_tfjs.py runs the others' modules
                codegen._checked(source, target.name)
        except Exception as err:  # noqa: BLE001 - collect every failing case
            failures.append(f"{case_id} ({', '.join(sorted(kinds))}): {type(err).__name__}: {err}")
    assert not failures, f"target {target.name}:\n" + "\n".join(failures)
