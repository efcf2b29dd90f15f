"""Break one pinned default at a time in a template and check that the named tests fail.

Each mutant replaces one exact snippet, runs its tests, and restores the file. Usage:

    python scripts/mutants.py [WORD ...]    # only mutants whose label contains a WORD

Prints CAUGHT or MISSED per mutant; exits 1 if any was missed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PARITY = ["tests/test_parity.py::test_outputs_agree_across_targets"]
STEP = ["tests/test_step_parity.py"]
TORCH = "dsl/targets/torch.py"

MUTANTS: list[tuple[str, str, str, str, list[str]]] = [
    ("torch BatchNorm momentum copied literally", TORCH,
     '"momentum": round(1.0 - op.momentum, 12)', '"momentum": op.momentum', STEP),
    ("torch max-pool pads with 0 instead of -inf", "templates/torch/layers.j2",
     'value=float("-inf")', "value=0.0", PARITY),
    ("torch avg-pool counts padding", TORCH,
     'kwargs["count_include_pad"] = False', 'kwargs["count_include_pad"] = True', PARITY),
    ("torch leaky_relu slope left to torch", TORCH,
     'kwargs={"negative_slope": op.negative_slope}', "kwargs={}", PARITY),
    ("torch gelu tanh approximation", TORCH,
     '"tanh" if op.approximate else "none"', '"tanh"', PARITY),
    ("torch flatten in NCHW order", "templates/torch/module.py.j2",
     "        x = x.permute{{ layer.to_last | lit }}  # channels-last: the canonical order\n",
     "", PARITY),
    ("torch loss summed, not averaged", TORCH,
     'kwargs={"reduction": loss.reduction}', 'kwargs={"reduction": "sum"}', STEP),
    ("torch glorot init replaced by torch's default", TORCH,
     'Call("nn.init.xavier_uniform_", kwargs={"gain": 1.0})',
     'Call("nn.init.kaiming_uniform_", kwargs={"a": 5**0.5})', ["tests/test_target_torch.py"]),
    ("torch Adam with torch's epsilon placement", "templates/torch/training.j2",
     'state["v"].sqrt().add_(group["eps"])',
     'state["v"].sqrt().add_(group["eps"] * (1 - beta_2**t) ** 0.5)',
     ["tests/test_target_torch.py"]),
    ("gluon Trainer.step(batch) rescaling", "templates/gluon/module.py.j2",
     "    trainer.step(1)", "    trainer.step(len(x))", STEP),
    ("gluon max-pool pads with 0 instead of -inf", "templates/gluon/layers.j2",
     '_padded(step.pad, "-np.inf", "x")', '_padded(step.pad, "0.0", "x")', PARITY),
    ("gluon BatchNorm epsilon left to MXNet", "dsl/targets/gluon.py",
     '        "epsilon": op.epsilon,\n', "", PARITY),
    ("tf BatchNorm momentum inverted", "dsl/targets/tf.py",
     "        momentum=op.momentum,", "        momentum=round(1.0 - op.momentum, 12),", STEP),
    ("keras BatchNorm momentum inverted", "dsl/targets/keras.py",
     '"momentum": op.momentum,', '"momentum": round(1.0 - op.momentum, 12),', STEP),
    ("keras loss on probabilities (from_logits off)", "dsl/targets/keras.py",
     'constants = {"from_logits": "FROM_LOGITS"} if takes_logits else {}', "constants = {}",
     STEP),
]  # fmt: skip


def run(label: str, relative: str, old: str, new: str, tests: list[str]) -> bool:
    """Apply one mutant, run its tests, restore the file; True when a test failed."""
    path = ROOT / relative
    text = path.read_text()
    if old not in text:
        print(f"STALE  {label}: snippet not found in {relative}")
        return False
    path.write_text(text.replace(old, new, 1))
    try:
        command = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests]
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    finally:
        path.write_text(text)
    last = (result.stdout.strip().splitlines() or ["?"])[-1]
    caught = result.returncode != 0
    print(f"{'CAUGHT' if caught else 'MISSED'} {label}: {last}", flush=True)
    return caught


def main() -> int:
    words = sys.argv[1:]
    chosen = [m for m in MUTANTS if not words or any(w in m[0] for w in words)]
    results = [run(*mutant) for mutant in chosen]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
