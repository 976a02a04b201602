"""Run a command and measure its whole process tree: wall time, CPU time, peak memory.

    python benchmarks/measure.py [--runs N] [--devices D] -- COMMAND ARGS...

What is measured, per run:

* ``wall_s``: from start until the command exits and every process it started (also the
  daemons it left behind, such as Ansible's ``ansible-connection``) has gone.
* ``cpu_s`` (``user_s`` + ``sys_s``): CPU time of every process of the tree.  The
  ``resource.getrusage(RUSAGE_CHILDREN)`` delta around the run: the kernel adds a process's
  CPU time (and that of all the children it waited for) to its parent when the parent
  reaps it.  While the command runs, this process is a *child subreaper*
  (``prctl(PR_SET_CHILD_SUBREAPER)``), so a descendant that daemonizes is re-parented here
  and reaped here, and its CPU time is counted too.  A descendant still alive after the
  grace period is read from ``/proc/PID/stat`` and then terminated (by its pid).
* ``peak_rss_mib``: the largest sum, over all live processes of the tree, of their
  resident memory (``/proc/PID/statm``), sampled every ``interval`` seconds (0.2).  A sum of RSS
  counts pages that forked processes share once per process, so it is an upper bound;
  ``peak_pss_mib`` (proportional set size, ``/proc/PID/smaps_rollup``) counts a shared page
  once in total; it costs more to read, so it is read every ``pss_every``-th sample (every
  0.4 s).  A process that lives less than one sampling interval can be missed; the
  largest single process (``max_rss_one_mib``, from ``ru_maxrss`` of the reaped children)
  is recorded as a cross-check.
* ``processes``: how many distinct processes the tree had (sampled), and the most at once.
* ``harness_cpu_s`` (in ``extra``): this process's own CPU time during the run (sampling
  ``/proc``), which the command did not use but the machine did.

Processes that were not started by the command are never counted: a lab running in the
background (started before) is not part of the tree.  Linux only (``/proc``).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

PAGE = os.sysconf("SC_PAGE_SIZE")
TICK = os.sysconf("SC_CLK_TCK")
MIB = 1024 * 1024
PR_SET_CHILD_SUBREAPER = 36


@dataclass
class Run:
    """One measured run of a command."""

    exit_code: int
    wall_s: float
    cpu_s: float
    user_s: float
    sys_s: float
    peak_rss_mib: float
    peak_pss_mib: float
    max_rss_one_mib: float
    processes: int
    max_concurrent: int
    lingering: int = 0  # descendants still alive after the grace period (then terminated)
    timed_out: bool = False
    stdout: str = ""  # path of the captured output
    stderr: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _stat(pid: int) -> tuple[int, float] | None:
    """(ppid, utime+stime+cutime+cstime seconds) of a live process, None when gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: split after the last ')'
    rest = raw[raw.rfind(b")") + 2 :].split()
    if not rest or rest[0] == b"Z":
        return None
    ppid = int(rest[1])
    ticks = sum(int(x) for x in rest[11:15])  # utime stime cutime cstime
    return ppid, ticks / TICK


def _rss(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def _pss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    return 0


def _pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def machine_busy_s() -> float:
    """CPU seconds the whole machine has been busy since boot (all cores, /proc/stat)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    ticks = [int(x) for x in fields]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    return (sum(ticks[:8]) - idle) / TICK


def process_cpu_s(pid: int) -> float:
    """CPU seconds a live process has used so far (with its reaped children); 0 if gone."""
    stat = _stat(pid)
    return stat[1] if stat else 0.0


def _set_subreaper(on: bool) -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_CHILD_SUBREAPER, 1 if on else 0, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


class TreeSampler(threading.Thread):
    """Samples the process tree under ``root`` every ``interval`` seconds.

    A process belongs to the tree when its parent does, or when it was re-parented to
    this process (the subreaper) and is not one of the children this process had before.
    """

    def __init__(self, root: int, exclude: set[int], interval: float = 0.2, pss_every: int = 2):
        super().__init__(daemon=True)
        self.root = root
        self.me = os.getpid()
        self.exclude = exclude
        self.interval = interval
        self.pss_every = max(1, pss_every)
        self.tree: set[int] = {root}
        self.alive: set[int] = {root}
        self.cpu_last: dict[int, float] = {}
        self.peak_rss = 0
        self.peak_pss = 0
        self.max_concurrent = 0
        self.samples = 0
        self._halt = threading.Event()

    def sample(self) -> None:
        parents: dict[int, int] = {}
        cpu: dict[int, float] = {}
        for pid in _pids():
            stat = _stat(pid)
            if stat is not None:
                parents[pid], cpu[pid] = stat
        changed = True
        while changed:  # a child listed before its parent is found on the next pass
            changed = False
            for pid, ppid in parents.items():
                if pid in self.tree or pid in self.exclude:
                    continue
                if ppid in self.tree or (ppid == self.me and pid != self.root):
                    self.tree.add(pid)
                    changed = True
        alive = {p for p in self.tree if p in parents}
        self.alive = alive
        for pid in alive:
            self.cpu_last[pid] = cpu[pid]
        self.max_concurrent = max(self.max_concurrent, len(alive))
        self.peak_rss = max(self.peak_rss, sum(_rss(p) for p in alive))
        if self.samples % self.pss_every == 0:
            self.peak_pss = max(self.peak_pss, sum(_pss(p) for p in alive))
        self.samples += 1

    def run(self) -> None:
        while not self._halt.is_set():
            self.sample()
            self._halt.wait(self.interval)

    def halt(self) -> None:
        """Stop the background sampling (the caller samples by hand from then on)."""
        self._halt.set()
        self.join()


def _reap(pids: set[int]) -> set[int]:
    """Reap those of ``pids`` that are this process's exited children (zombies)."""
    reaped = set()
    for pid in pids:
        with contextlib.suppress(ChildProcessError):
            if os.waitpid(pid, os.WNOHANG)[0]:
                reaped.add(pid)
    return reaped


def _children_of_me() -> set[int]:
    me = os.getpid()
    out = set()
    for pid in _pids():
        stat = _stat(pid)
        if stat is not None and stat[0] == me:
            out.add(pid)
    return out


def run_once(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    out_dir: Path | None = None,
    label: str = "run",
    timeout: float = 7200.0,
    grace: float = 60.0,
    interval: float = 0.2,
) -> Run:
    """Run ``argv`` once and measure its whole process tree (see the module docstring)."""
    out_dir = out_dir or Path(os.environ.get("TMPDIR", "/tmp"))
    out_dir.mkdir(parents=True, exist_ok=True)
    stdout_path = out_dir / f"{label}.out"
    stderr_path = out_dir / f"{label}.err"
    before_children = _children_of_me()
    reaper = _set_subreaper(True)
    self0 = resource.getrusage(resource.RUSAGE_SELF)
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    timed_out = False
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        proc = subprocess.Popen(
            list(argv),
            env=dict(env) if env is not None else None,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
        sampler = TreeSampler(proc.pid, before_children, interval=interval)
        sampler.start()
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # the group this run started
            code = proc.wait()
        except BaseException:  # interrupted: stop what this run started, then go on up
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            sampler.halt()
            if reaper:
                _set_subreaper(False)
            raise
    sampler.halt()
    # Daemons the command left behind (re-parented here): wait for them, reaping each.
    lingering: set[int] = set()
    deadline = time.monotonic() + grace
    while True:
        _reap(sampler.tree - {proc.pid})
        sampler.sample()
        left = sampler.alive - {proc.pid}
        if not left:
            break
        if time.monotonic() > deadline:
            lingering = left
            break
        time.sleep(0.05)
    wall = time.monotonic() - t0
    for pid in lingering:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    time.sleep(0.2 if lingering else 0)
    reaped = _reap(sampler.tree - {proc.pid})
    # a lingering process reaped here is in RUSAGE_CHILDREN; any other, by its last sample
    lingering_cpu = sum(sampler.cpu_last.get(p, 0.0) for p in lingering - reaped)
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    self1 = resource.getrusage(resource.RUSAGE_SELF)
    harness = (self1.ru_utime - self0.ru_utime) + (self1.ru_stime - self0.ru_stime)
    if reaper:
        _set_subreaper(False)
    user = ru1.ru_utime - ru0.ru_utime
    system = ru1.ru_stime - ru0.ru_stime
    return Run(
        exit_code=code,
        wall_s=round(wall, 3),
        cpu_s=round(user + system + lingering_cpu, 3),
        user_s=round(user, 3),
        sys_s=round(system, 3),
        peak_rss_mib=round(sampler.peak_rss / MIB, 1),
        peak_pss_mib=round(sampler.peak_pss / MIB, 1),
        max_rss_one_mib=round(ru1.ru_maxrss / 1024, 1),
        processes=len(sampler.tree),
        max_concurrent=sampler.max_concurrent,
        lingering=len(lingering),
        timed_out=timed_out,
        stdout=str(stdout_path),
        stderr=str(stderr_path),
        extra={
            "subreaper": reaper,
            "samples": sampler.samples,
            "harness_cpu_s": round(harness, 3),
        },
    )


def summarize(runs: Sequence[Run], devices: int) -> dict[str, Any]:
    """Medians over the runs, and the per-device cost of the median run."""
    if not runs:
        return {}
    wall = statistics.median(r.wall_s for r in runs)
    cpu = statistics.median(r.cpu_s for r in runs)
    out: dict[str, Any] = {
        "runs": len(runs),
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "peak_rss_mib": round(statistics.median(r.peak_rss_mib for r in runs), 1),
        "peak_pss_mib": round(statistics.median(r.peak_pss_mib for r in runs), 1),
        "max_concurrent": max(r.max_concurrent for r in runs),
        "exit_codes": sorted({r.exit_code for r in runs}),
        "timed_out": any(r.timed_out for r in runs),
    }
    if devices:
        out["wall_ms_per_device"] = round(1000 * wall / devices, 1)
        out["cpu_ms_per_device"] = round(1000 * cpu / devices, 1)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description="measure a command's whole process tree")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--devices", type=int, default=0, help="for the per-device cost")
    parser.add_argument("--out-dir", type=Path, default=None)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    argv = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not argv:
        parser.error("no command given (after --)")
    runs = [run_once(argv, out_dir=args.out_dir, label=f"run{i}") for i in range(args.runs)]
    print(
        json.dumps(
            {"summary": summarize(runs, args.devices), "runs": [r.as_dict() for r in runs]},
            indent=1,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
