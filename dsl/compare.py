"""`nndsl compare`: train generated modules one at a time, each in its own process.

A comparison is K repeats; repeat k has its own seed and (by default) its own canonical
initial weights, which every target imports. Within a repeat the targets run one after
another; the order rotates from one repeat to the next, so machine drift hits every target
alike. Each run leaves one flat record (`compare_records`); a failing run never stops the
others. `compare_format` tabulates the records, `compare_chart` draws them and
`compare_report` writes a run's folder; `compare_cli` is the command.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from nndsl.compare_records import Outcome, make_record, summary

Progress = Callable[[str], None]

_TAIL_LINES = 50

# Set for the children only: TensorFlow's C++ logging at errors (TF_CPP_MIN_LOG_LEVEL=2 hides
# INFO and WARNING lines), gRPC and glog likewise. oneDNN stays on (TF_ENABLE_ONEDNN_OPTS is
# left alone: turning it off would change what is measured).
CHILD_ENVIRONMENT = {
    "PYTHONUNBUFFERED": "1",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "GRPC_VERBOSITY": "ERROR",
    "GLOG_minloglevel": "2",
}
# Lines that TensorFlow's absl logging writes before any setting applies (the oneDNN notice,
# once per loaded library): left out of compare's output, kept in each run's log file.
_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|[IW]\d{4} [\d:.]+\s+\d+ [\w.]+:\d+\] .*"
    r"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IW] .*"
    r"|To enable the following instructions: .* rebuild TensorFlow with the appropriate compiler"
    r" flags\.)$"
)


@dataclass(frozen=True)
class CompareJob:
    """One generated module to train: `python -m <module>` run from `cwd`."""

    target: str
    module: str
    cwd: Path


@dataclass(frozen=True)
class Repeat:
    """One repeat: its number (from 1), the seed passed to every target (None: the module's
    own), and the canonical initial weights every target imports (None: each framework draws
    its own) with compare's sha256 of them."""

    number: int = 1
    seed: int | None = None
    initial_weights: Path | None = None
    weights_sha256: str | None = None


def child_environment(base: dict[str, str] | None = None) -> dict[str, str]:
    """The children's environment: CHILD_ENVIRONMENT under ours (a variable the user set
    wins, so `TF_CPP_MIN_LOG_LEVEL=0 nndsl compare ...` shows TensorFlow's logs again)."""
    base = dict(os.environ if base is None else base)
    return {**CHILD_ENVIRONMENT, **base, "PYTHONUNBUFFERED": "1"}


def build_command(
    job: CompareJob,
    json_path: Path,
    epochs: int,
    limit: int | None,
    data_dir: Path | None,
    repeat: Repeat | None = None,
) -> list[str]:
    """The argv that trains one generated module and writes its result JSON."""
    argv = [sys.executable, "-m", job.module, "train", "--epochs", str(epochs)]
    if limit is not None:
        argv += ["--limit", str(limit)]
    if data_dir is not None:
        argv += ["--data-dir", str(Path(data_dir).resolve())]
    if repeat is not None and repeat.seed is not None:
        argv += ["--seed", str(repeat.seed)]
    if repeat is not None and repeat.initial_weights is not None:
        argv += ["--initial-weights", str(Path(repeat.initial_weights).resolve())]
    return argv + ["--json", str(json_path)]


def run_order(
    jobs: Sequence[CompareJob], repeats: Sequence[Repeat]
) -> list[tuple[Repeat, CompareJob]]:
    """(repeat, job) pairs in run order: repeat by repeat, the jobs rotated by one each time."""
    count = len(jobs)
    return [
        (repeat, jobs[(index + shift) % count])
        for shift, repeat in enumerate(repeats)
        for index in range(count)
    ]


def run_compare(
    jobs: list[CompareJob],
    out_dir: Path,
    epochs: int,
    limit: int | None,
    data_dir: Path | None,
    progress: Progress,
    timeout: float | None = None,
    repeats: Sequence[Repeat] = (Repeat(),),
) -> list[dict]:
    """Train every job once per repeat, one subprocess at a time, and return one record per
    run in run order. A failing run never stops the others; its record says why it failed.

    Each run writes `runs/<target>-<repeat>.json` and `logs/<target>-<repeat>.log` (its whole
    output) under out_dir.
    """
    for folder in ("runs", "logs"):
        (out_dir / folder).mkdir(parents=True, exist_ok=True)
    order = run_order(jobs, repeats) if jobs else []
    records = []
    for index, (repeat, job) in enumerate(order, 1):
        tag = f"[{index}/{len(order)}] {job.target}"
        if len(repeats) > 1:
            tag += f" (repeat {repeat.number}/{len(repeats)}, seed {repeat.seed})"
        run = _Run(job, repeat, tag, out_dir, epochs, limit, data_dir, progress, timeout)
        records.append(run.execute())
    return records


@dataclass
class _Run:
    """One run: one job in one repeat."""

    job: CompareJob
    repeat: Repeat
    tag: str
    out_dir: Path
    epochs: int
    limit: int | None
    data_dir: Path | None
    progress: Progress
    timeout: float | None

    def execute(self) -> dict:
        """Run the job, report its end, and build its record."""
        name = f"{self.job.target}-{self.repeat.number}"
        json_path = (self.out_dir / "runs" / f"{name}.json").resolve()  # the child runs in cwd
        log_path = self.out_dir / "logs" / f"{name}.log"
        json_path.unlink(missing_ok=True)
        self.progress(f"{self.tag}: training...")
        argv = build_command(
            self.job, json_path, self.epochs, self.limit, self.data_dir, self.repeat
        )
        with open(log_path, "w", encoding="utf-8") as log:
            outcome = _run_child(
                argv, self.job.cwd, self.job.target, self.progress, log, self.timeout
            )
        record = make_record(self.job, self.repeat, outcome, json_path, self.timeout)
        record["log"] = str(log_path)
        hidden = f", {outcome.hidden} log line(s) only in {log_path}" if outcome.hidden else ""
        self.progress(f"{self.tag}: {summary(record)} ({outcome.elapsed:.1f}s{hidden})")
        return record


def _run_child(
    argv: Sequence[str],
    cwd: Path,
    target: str,
    progress: Progress,
    log: IO[str],
    timeout: float | None = None,
) -> Outcome:
    """Run argv, relaying its output lines prefixed with the target (framework noise left
    out) and writing all of them to `log`."""
    start = time.monotonic()
    tail: deque[str] = deque(maxlen=_TAIL_LINES)
    try:
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=child_environment(),
            start_new_session=os.name == "posix",
        )
    except OSError as err:
        return Outcome(None, [f"cannot start {argv[0]}: {err}"], 0.0, False)
    assert proc.stdout is not None and proc.stderr is not None
    hidden = [0]
    lock = threading.Lock()
    readers = [
        _relay(proc.stdout, target, progress, None, log, lock, hidden),
        _relay(proc.stderr, target, progress, tail, log, lock, hidden),
    ]
    timed_out = False
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill(proc)
    except BaseException:
        _kill(proc)
        raise
    for reader in readers:
        reader.join(timeout=5)
    elapsed = time.monotonic() - start
    return Outcome(proc.returncode, list(tail), elapsed, timed_out, hidden[0])


def _relay(
    stream: IO[bytes],
    target: str,
    progress: Progress,
    tail: deque[str] | None,
    log: IO[str],
    lock: threading.Lock,
    hidden: list[int],
) -> threading.Thread:
    """Start a thread echoing a child's stream line by line (and keeping a tail)."""

    def pump() -> None:
        with stream:
            for raw in stream:
                for part in raw.decode("utf-8", "replace").split("\r"):
                    line = part.rstrip()
                    if not line:
                        continue
                    with lock:
                        log.write(line + "\n")
                        if _NOISE.match(line):
                            hidden[0] += 1
                            continue
                    if tail is not None:
                        tail.append(line)
                    progress(f"    {target}| {line}")

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    return thread


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """Kill a child (and its process group on POSIX) and reap it."""
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()
