"""Data-parallel training on each framework's own engine, launched as real processes.

Two tables drive every test: LAUNCHERS (target -> how to start N local processes, and the
weight tolerance measured for it) and OPT_OUT (target -> why it has no launcher yet). Every
target is in exactly one of them. A launch runs the generated module's own `train` command
under its framework's convention (torchrun, TF_CONFIG, DMLC roles, ...); each process has a
timeout, and a hung or failed launch fails the test with the tail of every process's log.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

import nndsl
from nndsl import codegen, targets
from tests.cases import random_weights
from tests.conftest import ROOT, TARGETS
from tests.test_training import _mnist_available

# the CNN of specs/cnn.nn, smaller, without dropout and without a validation split: the
# same-math check compares weights, so nothing random may differ between the runs
SPEC = """
model dist_cnn {
    input image(28, 28, 1)
    conv2d(8, 3, activation=relu)
    maxpool2d(2)
    flatten()
    dense(10, activation=softmax)
}

train {
    dataset mnist(batch_size=64)
    loss categorical_crossentropy
    optimizer adam(learning_rate=0.001)
    epochs 1
    seed 42
}
"""
WORKERS = 2
GLOBAL_BATCH = 64  # 32 rows per worker
# 3 full batches and a last one of 37 rows (19 + 18 per worker: unequal worker_weight)
LIMIT = 3 * GLOBAL_BATCH + 37
RANK0_ROWS = 3 * GLOBAL_BATCH // 2 + 19
TIMEOUT = 300.0  # seconds per launch (every process of it)
FLOOR = 0.97  # specs/cnn.nn after one epoch in one process (tests/test_training.py)

pytestmark = pytest.mark.skipif(
    not _mnist_available() and not os.environ.get("NNDSL_REQUIRE_DATA"),
    reason="MNIST not fetched: run `nndsl data fetch mnist`",
)


@dataclass(frozen=True)
class Process:
    """One process of a launch: its command line and the variables added to its env."""

    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)


# module (importable name), workers, the `train` command's arguments -> processes
Launch = Callable[[str, int, list[str]], list[Process]]


@dataclass(frozen=True)
class Launcher:
    """How a target starts N workers, and the max abs weight difference allowed between
    N workers and one process after 4 steps (measured; see the row's comment). `whole_uneven`:
    a batch that does not split evenly over the workers is computed whole on every worker
    (flax's SPMD jit cannot shard it), so rank 0 steps on all of its rows."""

    launch: Launch
    tolerance: float
    whole_uneven: bool = False


def free_port() -> int:
    """A TCP port the OS says is free now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def torchrun(module: str, workers: int, args: list[str]) -> list[Process]:
    """`torchrun --standalone` (a c10d rendezvous on a free localhost port): WORLD_SIZE, RANK,
    LOCAL_RANK, MASTER_ADDR and MASTER_PORT for each worker; gloo on the CPU."""
    run = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    return [Process([*run, f"--nproc_per_node={workers}", "-m", module, *args])]


def dmlc(module: str, workers: int, args: list[str]) -> list[Process]:
    """MXNet's DMLC roles on localhost: a scheduler on a free port, one server and N workers,
    all running the same command (importing mxnet as scheduler or server runs that role's
    loop and exits); the workers train on the dist_sync KVStore."""
    common = {"DMLC_PS_ROOT_URI": "127.0.0.1", "DMLC_PS_ROOT_PORT": str(free_port())}
    common |= {"DMLC_NUM_SERVER": "1", "DMLC_NUM_WORKER": str(workers)}
    argv = [sys.executable, "-m", module, *args]
    roles = ["scheduler", "server", *["worker"] * workers]
    return [Process(argv, {**common, "DMLC_ROLE": role}) for role in roles]


def jax_processes(module: str, workers: int, args: list[str]) -> list[Process]:
    """N processes joined by jax.distributed: JAX_COORDINATOR_ADDRESS (process 0 serves it on
    a free port), JAX_NUM_PROCESSES and JAX_PROCESS_ID; one CPU device each, gloo."""
    common = {"JAX_COORDINATOR_ADDRESS": f"127.0.0.1:{free_port()}"}
    common |= {"JAX_NUM_PROCESSES": str(workers)}
    argv = [sys.executable, "-m", module, *args]
    return [Process(argv, {**common, "JAX_PROCESS_ID": str(rank)}) for rank in range(workers)]


def tf_config(module: str, workers: int, args: list[str]) -> list[Process]:
    """One process per worker, each with $TF_CONFIG naming the cluster (a free localhost port
    per worker) and its own index: tf.distribute.MultiWorkerMirroredStrategy's convention."""
    cluster = {"worker": [f"localhost:{free_port()}" for _ in range(workers)]}
    return [
        Process(
            [sys.executable, "-m", module, *args],
            {
                "TF_CONFIG": json.dumps(
                    {"cluster": cluster, "task": {"type": "worker", "index": i}}
                )
            },
        )
        for i in range(workers)
    ]


LAUNCHERS: dict[str, Launcher] = {
    # measured: max abs diff 2.6e-8 after 4 Adam steps (2 workers vs 1 process; without
    # worker_weight on the uneven last batch it is 5.8e-5)
    "torch": Launcher(torchrun, 1e-6),
    # measured: max abs diff 9.2e-7 after 4 Adam steps, six launches alike (the KVStore sums
    # in another order than one process's batch reduction)
    "gluon": Launcher(dmlc, 5e-6),
    # measured: max abs diff 1.1e-6 after 4 Adam steps (XLA's cross-process gradient sum;
    # the uneven last batch, 37 rows on 2 devices, is replicated whole)
    "flax": Launcher(jax_processes, 5e-6, whole_uneven=True),
    # measured: max abs diff 1.14e-6 (keras) and 1.13e-6 (tf) after 4 Adam steps, at one
    # element of 13,520 (dense_1.kernel[656, 3], also torch's largest, 2.7e-7 in that run: its
    # gradient nearly cancels, so Adam's m / sqrt(v) magnifies float rounding); every other
    # element is within 1e-7.
    "keras": Launcher(tf_config, 5e-6),
    "tf": Launcher(tf_config, 5e-6),
}
OPT_OUT: dict[str, str] = {
    "theano": "Theano 1.0 has no data-parallel engine of its own (its multi-GPU `platoon` was"
    " never released with it): one process only",
}


def test_every_target_has_a_launcher_or_a_reason():
    assert sorted(TARGETS) == sorted([*LAUNCHERS, *OPT_OUT])
    assert not set(LAUNCHERS) & set(OPT_OUT)


def _launcher(target: str) -> Launcher:
    if target in OPT_OUT:
        pytest.skip(f"{target}: {OPT_OUT[target]}")
    return LAUNCHERS[target]


# ---- running launches ----


def write_package(root: Path, program: nndsl.ir.Program, spec_file: str) -> str:
    """Render `program` for every target into the package `root/pkg` (no import here)."""
    folder = root / "pkg"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / codegen.INIT).write_text("")
    (folder / codegen.HARNESS).write_text(codegen._harness_source())
    for target in map(targets.get, TARGETS):  # the targets whose modules train in Python
        if target.support_module:
            source = codegen._support_source(target)
            (folder / f"{target.support_module}.py").write_text(source)
        source = codegen.render_source(program, target, spec_file)
        (folder / f"{program.name}_{target.name}.py").write_text(source)
    return "pkg"


def run(processes: list[Process], cwd: Path, timeout: float = TIMEOUT) -> list[str]:
    """Start every process, wait for all; the logs (stdout + stderr) of each. A nonzero exit
    or a timeout fails the test with each process's log tail."""
    env = {**os.environ, "PYTHONPATH": str(cwd), "OMP_NUM_THREADS": "1"}
    env.pop("NNDSL_DEBUG", None)
    logs, running = [cwd / f"log{i}.txt" for i in range(len(processes))], []
    for process, log in zip(processes, logs, strict=True):
        handle = open(log, "w")  # noqa: SIM115 - closed below, after the process ends
        child = subprocess.Popen(
            process.argv,
            cwd=cwd,
            env={**env, **process.env},
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        running.append((child, handle))
    failure = None
    try:
        for child, _ in running:
            try:
                if child.wait(timeout=timeout) != 0 and failure is None:
                    failure = f"exit {child.returncode}"
            except subprocess.TimeoutExpired:
                failure = failure or f"timed out after {timeout:.0f}s"
                break
    finally:
        for child, handle in running:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
            handle.close()
    texts = [log.read_text(errors="replace") for log in logs]
    if failure:
        tails = "\n".join(
            f"--- process {i}: {p.argv}\n{t[-3000:]}"
            for i, (p, t) in enumerate(zip(processes, texts, strict=True))
        )
        pytest.fail(f"launch failed ({failure}):\n{tails}")
    return texts


def train_args(out: Path, name: str, limit: int, initial: Path | None) -> list[str]:
    args = ["train", "--device", "cpu", "--limit", str(limit), "--quiet"]
    args += ["--save", str(out / f"{name}.npz"), "--json", str(out / f"{name}.json")]
    return args + (["--initial-weights", str(initial)] if initial else [])


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A package of the spec in every target, and shared initial weights."""
    root = tmp_path_factory.mktemp("distributed")
    program = nndsl.loads(SPEC, "dist_cnn.nn")
    write_package(root, program, "dist_cnn.nn")
    weights = random_weights(program, seed=3)
    np.savez(root / "initial.npz", **{k: v.astype(np.float32) for k, v in weights.items()})
    return root


def _weights(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as archive:
        return {name: archive[name] for name in archive.files}


@pytest.fixture(scope="module")
def same_math(workdir: Path):
    """(target, limit) -> (one-process weights, N-worker weights, N-worker JSON record, N-worker
    logs), cached."""
    cache: dict[tuple[str, int], tuple] = {}

    def get(target: str, limit: int = LIMIT):
        if (target, limit) not in cache:
            module, initial = f"pkg.dist_cnn_{target}", workdir / "initial.npz"
            name = f"{target}-{limit}"
            one = train_args(workdir, f"{name}-1", limit, initial)
            run([Process([sys.executable, "-m", module, *one])], workdir)
            many = train_args(workdir, f"{name}-{WORKERS}", limit, initial)
            logs = run(LAUNCHERS[target].launch(module, WORKERS, many), workdir)
            record = json.loads((workdir / f"{name}-{WORKERS}.json").read_text())
            one_w, many_w = (_weights(workdir / f"{name}-{n}.npz") for n in (1, WORKERS))
            cache[target, limit] = (one_w, many_w, record, logs)
        return cache[target, limit]

    return get


def _compare(one: dict, many: dict, tolerance: float, initial: dict) -> None:
    assert sorted(one) == sorted(many)
    moved = max(float(np.abs(one[name] - initial[name]).max()) for name in one)
    assert moved > 100 * tolerance, "training barely moved the weights: no check"
    diff = max(float(np.abs(one[name] - many[name]).max()) for name in one)
    assert diff < tolerance, f"max abs weight diff {diff:.3g}"


@pytest.mark.parametrize("target", TARGETS)
def test_n_workers_give_the_weights_of_one_process(target, same_math, workdir):
    launcher = _launcher(target)
    one, many, record, logs = same_math(target)
    assert record["workers"] == WORKERS and record["train_samples"] == LIMIT
    # rank 0 stepped on its share only (all 37 rows of the last batch where it is whole)
    rank0 = LIMIT - 3 * GLOBAL_BATCH // 2 if launcher.whole_uneven else RANK0_ROWS
    assert record["worker_samples"] == rank0
    _compare(one, many, launcher.tolerance, _weights(workdir / "initial.npz"))
    # rank 0 alone prints the result
    assert "".join(logs).count("test accuracy") == 1


@pytest.mark.parametrize("target", TARGETS)
def test_a_last_batch_smaller_than_the_workers(target, same_math, workdir):
    """One full batch, then a batch of 1 row: the second worker has no row of its own."""
    launcher = _launcher(target)
    one, many, record, _ = same_math(target, GLOBAL_BATCH + 1)
    assert record["worker_samples"] == GLOBAL_BATCH // 2 + 1
    _compare(one, many, launcher.tolerance, _weights(workdir / "initial.npz"))


def test_weights_saved_by_workers_load_in_every_target(same_math, workdir):
    trained = next(iter(LAUNCHERS))
    _, many, _, logs = same_math(trained)
    printed = float("".join(logs).rsplit("test accuracy ", 1)[1].split()[0])
    weights = workdir / f"{trained}-{LIMIT}-{WORKERS}.npz"
    accuracies = {}
    for target in TARGETS:
        args = ["evaluate", "--device", "cpu", "--weights", str(weights)]
        args += [
            "--limit",
            str(LIMIT),
            "--json",
            str(workdir / f"eval-{target}.json"),
        ]
        run([Process([sys.executable, "-m", f"pkg.dist_cnn_{target}", *args])], workdir)
        accuracies[target] = json.loads((workdir / f"eval-{target}.json").read_text())["accuracy"]
    # the same predictions everywhere (one flip allowed: float rounding between frameworks)
    assert all(abs(a - printed) <= 1.5 / (LIMIT) for a in accuracies.values()), (
        printed,
        accuracies,
    )


@pytest.mark.slow
@pytest.mark.parametrize("target", TARGETS)
def test_one_epoch_with_workers_reaches_the_floor(target, tmp_path):
    launcher = _launcher(target)
    write_package(tmp_path, nndsl.load(ROOT / "specs" / "cnn.nn"), "specs/cnn.nn")
    args = ["train", "--device", "cpu", "--epochs", "1", "--quiet", "--json", "cnn.json"]
    run(launcher.launch(f"pkg.cnn_{target}", WORKERS, args), tmp_path, timeout=1800)
    record = json.loads((tmp_path / "cnn.json").read_text())
    assert record["workers"] == WORKERS
    assert record["test_accuracy"] >= FLOOR, record["test_accuracy"]


@pytest.mark.skipif(shutil.which("nvidia-smi") is not None, reason="this machine has a GPU")
@pytest.mark.parametrize("target", TARGETS)
def test_cuda_without_a_gpu_is_one_line_and_exit_2(target, workdir):
    argv = [sys.executable, "-m", f"pkg.dist_cnn_{target}", "train", "--device", "cuda"]
    env = {**os.environ, "PYTHONPATH": str(workdir)}
    done = subprocess.run(
        [*argv, "--limit", "8"], cwd=workdir, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"pkg.dist_cnn_{target}: error: device 'cuda'"), last
