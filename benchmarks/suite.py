"""The issue-8 benchmark: vcprov's commands beside a stock-Ansible baseline and a floor.

For each lab size (31, 250, 1,000 sites) a lab is started with ``--no-deviations`` on a
``--net`` of its own, and on that same lab, run after run, each entry of :data:`ENTRIES` is
measured with :mod:`measure` (wall time, CPU time and peak memory of its whole process
tree; the lab process is not part of it):

* ``floor``: ``benchmarks/floor.py``, the reads with vcprov's drivers in one plain process;
* ``baseline``: ``ansible-playbook benchmarks/baseline/read.yml`` from its own venv, stock
  modules only (``ansible.builtin.uri``, ``ansible.netcommon.cli_command``), ``--forks``;
* the vcprov commands (``vcprov check``, ``vcprov apply --check``, the firmware rollout).
  A vcprov command whose ``vcprov <cmd> --help`` fails is recorded as not available, and
  measured as soon as it exists, with no change here.

Entries that change the lab (the firmware rollout) get a fresh lab for every run.  Runs are
interleaved (run 1 of every entry, then run 2...) so that a slow minute of a shared machine
does not land on one entry only.  Medians of the runs are reported.

Environment: ``BENCH_SIZES`` (``31,250,1000``), ``BENCH_RUNS`` (3), ``BENCH_BASELINE_RUNS``
(default: ``BENCH_RUNS``), ``BENCH_RETRIES`` (2) and ``BENCH_MAX_OTHER_LOAD`` (0.5 cores: a
run during which other work took more is run again), ``BENCH_ONLY`` (entry keys, comma
separated), ``BENCH_FORKS`` (50, for the baseline and the vcprov commands alike),
``BENCH_TIME_SCALE`` (0.01: the time scale of the labs of entries that wait on devices,
the firmware rollout; the lab the reads share runs at time scale 1, the devices' own
timers: at 0.01 a Poly REST session expires after 6 s idle, less than a stock playbook
leaves between two tasks of a host), ``BENCH_UPGRADE_TO`` (the rollout's version).
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(HERE))

import measure  # noqa: E402
from baseline import inventory as baseline_inventory  # noqa: E402

from vcprov.lab import manage  # noqa: E402

BASELINE_DIR = HERE / "baseline"
BASELINE_VENV = HERE / ".venv-baseline"
VENV_BIN = Path(sys.executable).parent
DEFAULT_SIZES = (31, 250, 1000)
FIRST_NET = 150
READ_TIME_SCALE = 1.0  # the lab the reads share: the devices' own timers
FLOOR_WORKERS = 50

# The targets (issue 8): `vcprov check`, and the firmware rollout's overhead.
# Thresholds, not measurements.
TARGETS: dict[int, dict[str, float]] = {
    31: {"max_wall_s": 10.0, "min_speedup_vs_baseline": 5.0, "max_rollout_overhead_pct": 5.0},
    1000: {
        "max_wall_s": 120.0,
        "min_speedup_vs_baseline": 10.0,
        "max_peak_rss_mib": 1024.0,
        "max_ratio_to_floor": 3.0,
    },
}


@dataclass
class Entry:
    """One row of the table: how to run it, and when."""

    key: str
    label: str
    kind: str  # "floor", "baseline" or "vcprov"
    argv: list[str]  # placeholders: {lab} {json} {inventory} {forks} {firmware_to}
    help: list[str] = field(default_factory=list)  # vcprov: available when this exits 0
    sizes: tuple[int, ...] | None = None  # None: every size
    fresh_lab: bool = False  # it changes the lab: a new lab for each run
    ok_codes: tuple[int, ...] = (0,)


ENTRIES: list[Entry] = [
    Entry("floor", f"floor: vcprov drivers, one process, {FLOOR_WORKERS} threads", "floor", []),
    Entry("baseline", "stock Ansible baseline (forks {forks})", "baseline", []),
    Entry(
        "check",
        "`vcprov check`",
        "vcprov",
        ["check", "--lab", "{lab}", "--forks", "{forks}", "--json", "{json}"],
        help=["check", "--help"],
        ok_codes=(0,),
    ),
    Entry(
        "apply_check",
        "`vcprov apply --check`",
        "vcprov",
        ["apply", "--lab", "{lab}", "--check", "--forks", "{forks}", "--json", "{json}"],
        help=["apply", "--help"],
        ok_codes=(0,),
    ),
    Entry(
        "upgrade",
        "firmware rollout `vcprov upgrade --now --soak 0`",
        "vcprov",
        [
            "upgrade",
            "--lab",
            "{lab}",
            "--to",
            "{firmware_to}",
            "--now",
            "--soak",
            "0",
            "--json",
            "{json}",
        ],
        help=["upgrade", "--help"],
        sizes=(31,),
        fresh_lab=True,
        ok_codes=(0,),
    ),
]


# ----------------------------------------------------------------------------- helpers


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def baseline_sample(doc: dict[str, Any], max_sites: int) -> list[str] | None:
    """The devices the baseline reads in a lab of more than ``max_sites`` sites: both
    devices of ``max_sites`` sites spread evenly over the lab (every family is in it);
    None: the whole lab (``max_sites`` 0, or a lab no larger)."""
    sites: list[str] = []
    for d in doc["devices"]:
        if d["site"] not in sites:
            sites.append(d["site"])
    if max_sites <= 0 or len(sites) <= max_sites:
        return None
    chosen = {sites[(i * len(sites)) // max_sites] for i in range(max_sites)}
    return [d["name"] for d in doc["devices"] if d["site"] in chosen]


def env_sizes(default: Sequence[int] = DEFAULT_SIZES) -> list[int]:
    value = os.environ.get("BENCH_SIZES", "").strip()
    return [int(s) for s in value.split(",") if s.strip()] if value else list(default)


def free_net(start: int) -> int:
    """The first 127.N.0.0/16 block from ``start`` whose first codec address is free."""
    net = start
    while net < 255:
        probe = socket.socket()
        try:
            probe.bind((f"127.{net}.0.1", 8443))
            return net
        except OSError:
            net += 1
        finally:
            probe.close()
    raise RuntimeError("no free 127.N.0.0/16 block for a lab")


def vcprov_env() -> dict[str, str]:
    """vcprov as `make` runs it: the venv's tools first on PATH, the repository's config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["ANSIBLE_CONFIG"] = str(ROOT / "ansible.cfg")
    return env


def baseline_env() -> dict[str, str]:
    """The baseline's own venv and ansible.cfg; nothing of vcprov's environment."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ANSIBLE_", "VIRTUAL_ENV", "PYTHON"))
    }
    env["PATH"] = f"{BASELINE_VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["ANSIBLE_CONFIG"] = str(BASELINE_DIR / "ansible.cfg")
    return env


def ensure_baseline_venv() -> str:
    """Make benchmarks/.venv-baseline (idempotent); its ansible-core version line."""
    subprocess.run(["bash", str(BASELINE_DIR / "setup.sh")], check=True)
    out = subprocess.run(
        [str(BASELINE_VENV / "bin" / "ansible-playbook"), "--version"],
        capture_output=True,
        text=True,
        check=True,
        env=baseline_env(),
    ).stdout
    return out.splitlines()[0].strip()


def baseline_versions() -> dict[str, str]:
    """The versions of the ansible package and of the collections the playbook uses."""
    code = (
        "import json, importlib.metadata as m, pathlib, ansible_collections as a\n"
        "root = pathlib.Path(a.__path__[0])\n"
        "out = {'ansible': m.version('ansible'), 'ansible-core': m.version('ansible-core'),\n"
        "       'paramiko': m.version('paramiko')}\n"
        "for c in ('ansible/netcommon', 'cisco/ios', 'arista/eos'):\n"
        "    info = json.loads((root / c / 'MANIFEST.json').read_text())['collection_info']\n"
        "    out[c.replace('/', '.')] = info['version']\n"
        "print(json.dumps(out))\n"
    )
    out = subprocess.run(
        [str(BASELINE_VENV / "bin" / "python"), "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=baseline_env(),
    ).stdout
    versions: dict[str, str] = json.loads(out)
    return versions


def available(entry: Entry) -> tuple[bool, str]:
    """Whether a vcprov command exists yet (its ``--help`` exits 0)."""
    if entry.kind != "vcprov":
        return True, ""
    argv = [str(VENV_BIN / "vcprov"), *entry.help]
    proc = subprocess.run(argv, capture_output=True, text=True, env=vcprov_env())
    if proc.returncode == 0:
        return True, ""
    why = (proc.stderr or proc.stdout).strip().splitlines()
    return False, f"`vcprov {' '.join(entry.help)}` exits {proc.returncode}" + (
        f": {why[-1]}" if why else ""
    )


def firmware_to(doc: dict[str, Any]) -> str:
    """The rollout's target: BENCH_UPGRADE_TO, else the newest package the lab lists for the
    codec family with the most devices (lab.json lists each family's versions in order)."""
    forced = os.environ.get("BENCH_UPGRADE_TO", "").strip()
    if forced:
        return forced
    counts: dict[str, int] = {}
    for row in doc["devices"]:
        if row["role"] == "endpoint":
            counts[row["family"]] = counts.get(row["family"], 0) + 1
    family = max(counts, key=lambda f: counts[f])
    versions = [fw["version"] for fw in doc.get("firmware", []) if fw["family"] == family]
    return versions[-1] if versions else ""


_RECAP = re.compile(
    r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=\d+\s+unreachable=(?P<unr>\d+)\s+"
    r"failed=(?P<failed>\d+)",
    re.M,
)


def parse_recap(text: str) -> dict[str, Any]:
    """Hosts of an ``ansible-playbook`` PLAY RECAP: how many, which failed."""
    hosts = {}
    for m in _RECAP.finditer(text):
        hosts[m["host"]] = int(m["unr"]) == 0 and int(m["failed"]) == 0
    failed = sorted(h for h, ok in hosts.items() if not ok)
    return {"devices": len(hosts), "read": len(hosts) - len(failed), "failed": failed[:20]}


def outcome_floor(stdout: str, _json: Path | None) -> dict[str, Any]:
    try:
        doc = json.loads(stdout)
    except ValueError:
        return {"devices": 0, "read": 0, "note": "no JSON summary on stdout"}
    return {
        "devices": doc["devices"],
        "read": doc["read"],
        "errors": doc["errors"][:20],
        "settings_read": doc.get("settings_read"),
        "suspect_configs": doc.get("suspect_configs", [])[:20],
    }


def outcome_baseline(stdout: str, _json: Path | None) -> dict[str, Any]:
    return parse_recap(stdout)


def outcome_vcprov(_stdout: str, json_path: Path | None) -> dict[str, Any]:
    """Counts from the command's --json document, when it wrote one."""
    if json_path is None or not json_path.exists():
        return {}
    try:
        doc = json.loads(json_path.read_text(encoding="utf-8"))
    except ValueError:
        return {"note": "--json output is not JSON"}
    if not isinstance(doc, dict):
        return {}
    rows = doc.get("devices", doc.get("hosts"))
    out: dict[str, Any] = {"summary": doc.get("summary")}
    if "device_seconds" in doc:  # a firmware rollout: its own clock, and the devices' share
        results = [r.get("result") for r in rows or [] if isinstance(r, dict)]
        out["rollout"] = {
            "seconds": doc.get("seconds"),
            "device_seconds": doc.get("device_seconds"),
            "codecs": len(results),
            "upgraded": results.count("upgraded"),
            "halted": doc.get("halted"),
        }
        return out
    if isinstance(rows, list):
        out["devices"] = len(rows)
        bad = [
            r
            for r in rows
            if isinstance(r, dict)
            and (
                str(r.get("status", "")).lower() in ("unreachable", "error", "failed")
                or r.get("failed")
                or r.get("unreachable")
            )
        ]
        out["read"] = len(rows) - len(bad)
        out["failed"] = [
            {
                "name": r.get("name", r.get("host", "?")),
                "why": str(r.get("error") or r.get("msg") or r.get("status") or "")[:300],
            }
            for r in bad[:20]
        ]
    return out


OUTCOME: dict[str, Callable[[str, Path | None], dict[str, Any]]] = {
    "floor": outcome_floor,
    "baseline": outcome_baseline,
    "vcprov": outcome_vcprov,
}


# ----------------------------------------------------------------------------- running


class LabRun:
    """A lab of ``sites`` on a net of its own, in a temporary state directory."""

    def __init__(self, sites: int, net: int, time_scale: float):
        self.sites = sites
        self.net = free_net(net)
        self.time_scale = time_scale
        self.tmp = Path(tempfile.mkdtemp(prefix=f"vcprov-bench-{sites}-"))
        self.state = self.tmp / "lab"
        self.info: dict[str, Any] = {}
        self.doc: dict[str, Any] = {}

    def __enter__(self) -> LabRun:
        settings = manage.LabSettings(
            sites=self.sites, net=self.net, time_scale=self.time_scale, deviations=False
        )
        t0 = time.monotonic()
        self.info = manage.up(self.state, settings, fleet_given=True, timeout=600)
        self.start_s = round(time.monotonic() - t0, 2)
        self.doc = manage.read_lab(self.state)
        return self

    def __exit__(self, *exc: object) -> None:
        manage.down(self.state)
        shutil.rmtree(self.tmp, ignore_errors=True)

    @property
    def pid(self) -> int:
        return int(self.info["pid"])


def argv_of(
    entry: Entry, lab: LabRun, json_path: Path, inv: Path, forks: int, limit: Path | None = None
) -> list[str]:
    if entry.kind == "floor":
        return [
            sys.executable,
            str(HERE / "floor.py"),
            "--lab",
            str(lab.state),
            "--workers",
            str(FLOOR_WORKERS),
        ]
    if entry.kind == "baseline":
        return [
            str(BASELINE_VENV / "bin" / "ansible-playbook"),
            "-i",
            str(inv),
            str(BASELINE_DIR / "read.yml"),
            "--forks",
            str(forks),
            *(["--limit", f"@{limit}"] if limit is not None else []),
        ]
    values = {
        "lab": str(lab.state),
        "json": str(json_path),
        "forks": str(forks),
        "firmware_to": firmware_to(lab.doc),
    }
    return [str(VENV_BIN / "vcprov"), *(a.format(**values) for a in entry.argv)]


def measure_entry(
    entry: Entry,
    lab: LabRun,
    work: Path,
    run_no: int,
    inv: Path,
    forks: int,
    limit: Path | None = None,
) -> dict[str, Any]:
    label = f"{lab.sites}-{entry.key}-{run_no}"
    json_path = work / f"{label}.json"
    argv = argv_of(entry, lab, json_path, inv, forks, limit if entry.kind == "baseline" else None)
    env = baseline_env() if entry.kind == "baseline" else vcprov_env()
    lab_cpu0, busy0, load0 = (
        measure.process_cpu_s(lab.pid),
        measure.machine_busy_s(),
        os.getloadavg(),
    )
    run = measure.run_once(argv, env=env, cwd=ROOT, out_dir=work, label=label)
    lab_cpu = measure.process_cpu_s(lab.pid) - lab_cpu0
    busy = measure.machine_busy_s() - busy0
    stdout = Path(run.stdout).read_text(errors="replace")
    result = run.as_dict()
    del result["stdout"], result["stderr"]  # files of a work directory that is removed
    result["lab_cpu_s"] = round(lab_cpu, 2)
    # CPU the machine spent on neither the tree, the lab nor this harness's sampling (other
    # work on a shared machine): a run with much of it is a noisy run.
    harness = float(run.extra.get("harness_cpu_s", 0.0))
    result["other_cpu_s"] = round(max(0.0, busy - run.cpu_s - lab_cpu - harness), 2)
    result["loadavg_1m_before"] = round(load0[0], 2)
    result["outcome"] = OUTCOME[entry.kind](stdout, json_path)
    if run.exit_code not in entry.ok_codes:
        err = Path(run.stderr).read_text(errors="replace").strip().splitlines()
        out = stdout.strip().splitlines()
        result["tail"] = (out if len(out) > len(err) else err)[-40:]
    result["argv"] = [a if not a.startswith(str(work)) else Path(a).name for a in argv]
    print(
        f"  {entry.key:<12} run {run_no + 1}: exit {run.exit_code}, {run.wall_s:.1f} s wall, "
        f"{run.cpu_s:.1f} s CPU, {run.peak_rss_mib:.0f} MiB peak, "
        f"read {result['outcome'].get('read', '?')}/{result['outcome'].get('devices', '?')}",
        flush=True,
    )
    return result


def quiet_runs(attempt: Callable[[], dict[str, Any]]) -> list[dict[str, Any]]:
    """One run, tried again (up to BENCH_RETRIES times, default 2) while other work on the
    machine took more than BENCH_MAX_OTHER_LOAD cores (default 0.5) of it.  Every attempt
    is kept; the noisy ones are marked and left out of the medians when a quiet one exists."""
    retries = env_int("BENCH_RETRIES", 2)
    limit = float(os.environ.get("BENCH_MAX_OTHER_LOAD", "") or 0.5)
    out: list[dict[str, Any]] = []
    for _ in range(retries + 1):
        result = attempt()
        result["other_cores"] = round(result["other_cpu_s"] / max(result["wall_s"], 1e-9), 2)
        result["noisy"] = result["other_cores"] > limit
        out.append(result)
        if not result["noisy"]:
            break
        print(f"    (other load {result['other_cores']:.1f} cores: run again)", flush=True)
    # the run is the quiet attempt, or else the least disturbed one; the others are kept
    keep = min(range(len(out)), key=lambda i: (out[i]["noisy"], out[i]["other_cores"]))
    for i, r in enumerate(out):
        if i != keep:
            r["superseded"] = True
    return out


def run_size(
    sites: int,
    net: int,
    entries: Sequence[Entry],
    runs: int,
    baseline_runs: int,
    forks: int,
    time_scale: float,
) -> dict[str, Any]:
    mine = [e for e in entries if e.sizes is None or sites in e.sizes]
    status: dict[str, str] = {}
    for entry in mine:
        ok, why = available(entry)
        if not ok:
            status[entry.key] = why
    todo = [e for e in mine if e.key not in status]
    shared = [e for e in todo if not e.fresh_lab]
    fresh = [e for e in todo if e.fresh_lab]
    results: dict[str, list[dict[str, Any]]] = {e.key: [] for e in todo}
    out: dict[str, Any] = {
        "sites": sites,
        "forks": forks,
        "time_scale": READ_TIME_SCALE,
        "rollout_time_scale": time_scale,
        "runs": runs,
        "baseline_runs": baseline_runs,
    }
    with tempfile.TemporaryDirectory(prefix=f"vcprov-bench-work-{sites}-") as tmp:
        work = Path(tmp)
        with LabRun(sites, net, READ_TIME_SCALE) as lab:
            out.update(devices=len(lab.doc["devices"]), net=lab.net, lab_start_s=lab.start_s)
            inv = work / "baseline-inventory.yml"
            out["baseline_inventory"] = baseline_inventory.write(lab.state, inv)
            sample = baseline_sample(lab.doc, env_int("BENCH_BASELINE_MAX_SITES", 100))
            limit: Path | None = None
            if sample is not None:
                limit = work / "baseline-limit.txt"
                limit.write_text("\n".join(sample) + "\n", encoding="utf-8")
                out["baseline_sample"] = len(sample)
            print(
                f"{sites} sites, {out['devices']} devices on 127.{lab.net}.0.0/16 "
                f"(lab up in {lab.start_s:.1f} s)",
                flush=True,
            )
            for run_no in range(runs):
                for entry in shared:
                    if entry.kind == "baseline" and run_no >= baseline_runs:
                        continue
                    results[entry.key] += quiet_runs(
                        functools.partial(
                            measure_entry, entry, lab, work, run_no, inv, forks, limit
                        )
                    )
        for entry in fresh:
            for run_no in range(runs):

                def rollout(e: Entry = entry, n: int = run_no) -> dict[str, Any]:
                    with LabRun(sites, net + 1, time_scale) as lab:
                        return measure_entry(e, lab, work, n, work / "none.yml", forks)

                results[entry.key] += quiet_runs(rollout)
    rows = []
    for entry in mine:
        row: dict[str, Any] = {"key": entry.key, "label": entry.label.format(forks=forks)}
        if entry.key in status:
            row["available"] = False
            row["why"] = status[entry.key]
        else:
            row["available"] = True
            sampled = out.get("baseline_sample") if entry.kind == "baseline" else None
            row.update(summarize_entry(entry, results[entry.key], sampled or out["devices"]))
            rollout = rollout_overhead(results[entry.key], time_scale)
            if rollout:
                row["rollout"] = rollout
            if sampled and row.get("runs"):
                # what the whole lab would take at the sample's per-device cost
                row["sample_devices"] = sampled
                row["projected_wall_s"] = round(
                    row["wall_ms_per_device"] * out["devices"] / 1000, 1
                )
                row["projected_cpu_s"] = round(row["cpu_ms_per_device"] * out["devices"] / 1000, 1)
        rows.append(row)
    out["entries"] = rows
    out["targets"] = evaluate_targets(sites, rows)
    return out


def rollout_overhead(attempts: list[dict[str, Any]], time_scale: float) -> dict[str, Any]:
    """A rollout's time beyond the devices' own install and reboot time (medians over the
    runs that upgraded every codec): measured at the lab's time scale, and at time scale 1,
    where the devices' times are 1/time_scale longer and vcprov's own are the same."""
    runs = [
        r["outcome"]["rollout"]
        for r in attempts
        if not r.get("superseded")
        and (r.get("outcome") or {}).get("rollout")
        and r["outcome"]["rollout"]["device_seconds"]
    ]
    whole = [x for x in runs if x["upgraded"] == x["codecs"] and not x["halted"]]
    if not whole:
        return {}
    own = statistics.median(x["seconds"] - x["device_seconds"] for x in whole)
    dev = statistics.median(x["device_seconds"] for x in whole)
    return {
        "runs": len(whole),
        "codecs": whole[0]["codecs"],
        "seconds": round(statistics.median(x["seconds"] for x in whole), 2),
        "device_seconds": round(dev, 2),
        "own_seconds": round(own, 2),
        "overhead_pct": round(100 * own / dev, 1),
        "time_scale": time_scale,
        "overhead_pct_at_scale_1": round(100 * own / (dev / time_scale), 2),
    }


def summarize_entry(entry: Entry, attempts: list[dict[str, Any]], devices: int) -> dict[str, Any]:
    runs = [r for r in attempts if not r.get("superseded")]
    clean = [
        r
        for r in runs
        if r["exit_code"] in entry.ok_codes
        and not r["timed_out"]
        and r["outcome"].get("read", devices) == devices
    ]
    chosen = clean or runs
    fields = measure.Run.__dataclass_fields__
    as_runs = [measure.Run(**{k: v for k, v in r.items() if k in fields}) for r in chosen]
    out = measure.summarize(as_runs, devices)
    out["valid"] = bool(clean) and len(clean) == len(runs)
    out["clean_runs"] = len(clean)
    out["read"] = min((r["outcome"].get("read", 0) for r in runs), default=0)
    out["lab_cpu_s"] = round(statistics.median(r["lab_cpu_s"] for r in chosen), 2)
    # cores busy with other work while it ran (a shared machine): high means a noisy figure
    out["other_cores"] = round(statistics.median(r["other_cores"] for r in chosen), 2)
    out["noisy_runs"] = sum(bool(r.get("noisy")) for r in runs)
    out["attempts"] = len(attempts)
    out["all"] = attempts
    return out


def _row(rows: list[dict[str, Any]], key: str) -> dict[str, Any] | None:
    for row in rows:
        if row["key"] == key and row.get("available") and row.get("runs"):
            return row
    return None


def base_wall(row: dict[str, Any]) -> float:
    """The baseline's wall time for the whole lab: measured, or projected from a sample."""
    return float(row.get("projected_wall_s") or row["wall_s"])


def evaluate_targets(sites: int, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The issue's targets for `vcprov check` at this size, each met, missed or unmeasured."""
    want = TARGETS.get(sites)
    if not want:
        return []
    check, base, floor = _row(rows, "check"), _row(rows, "baseline"), _row(rows, "floor")
    out: list[dict[str, Any]] = []

    def add(name: str, measured: float | None, limit: float, better: str) -> None:
        met = None
        if measured is not None:
            met = measured <= limit if better == "lower" else measured >= limit
        out.append({"target": name, "limit": limit, "measured": measured, "met": met})

    wall = check["wall_s"] if check else None
    if "max_wall_s" in want:
        add("check wall time (s) at most", wall, want["max_wall_s"], "lower")
    if "min_speedup_vs_baseline" in want:
        speed = round(base_wall(base) / wall, 1) if (base and wall) else None
        add(
            "check faster than the baseline (x) at least",
            speed,
            want["min_speedup_vs_baseline"],
            "higher",
        )
    if "max_peak_rss_mib" in want:
        pss = check["peak_pss_mib"] if check else None
        add(
            "check peak memory of the tree, PSS (MiB) at most",
            pss,
            want["max_peak_rss_mib"],
            "lower",
        )
        rss = check["peak_rss_mib"] if check else None
        add(
            "check peak memory of the tree, sum of RSS (MiB, upper bound) at most",
            rss,
            want["max_peak_rss_mib"],
            "lower",
        )
    if "max_rollout_overhead_pct" in want:
        up = next((r.get("rollout") for r in rows if r["key"] == "upgrade"), None) or {}
        add(
            "rollout time above the devices' own install and reboot time (%), at time scale 1 "
            "(projected: see the note)",
            up.get("overhead_pct_at_scale_1"),
            want["max_rollout_overhead_pct"],
            "lower",
        )
    if "max_ratio_to_floor" in want:
        ratio = round(wall / floor["wall_s"], 1) if (floor and wall) else None
        add("check wall time / floor wall time at most", ratio, want["max_ratio_to_floor"], "lower")
    return out


def source_state() -> dict[str, Any]:
    """HEAD and the files under python/ that differ from it (a shared work tree can change
    under a long benchmark: the results say what was measured)."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], capture_output=True, text=True, cwd=ROOT
        ).stdout.strip()

    dirty = [ln[3:] for ln in git("status", "--porcelain", "--", "python").splitlines()]
    return {"commit": git("rev-parse", "--short", "HEAD"), "python_modified": dirty}


def run_suite(sizes: Sequence[int] | None = None, runs: int | None = None) -> dict[str, Any]:
    sizes = list(sizes) if sizes is not None else env_sizes()
    runs = runs if runs is not None else env_int("BENCH_RUNS", 3)
    baseline_runs = env_int("BENCH_BASELINE_RUNS", runs)
    forks = env_int("BENCH_FORKS", 50)
    time_scale = float(os.environ.get("BENCH_TIME_SCALE", "") or 0.01)
    only = {k.strip() for k in os.environ.get("BENCH_ONLY", "").split(",") if k.strip()}
    entries = [e for e in ENTRIES if not only or e.key in only]
    doc: dict[str, Any] = {
        "runs": runs,
        "baseline_runs": baseline_runs,
        "forks": forks,
        "time_scale": time_scale,
        "sizes": [],
    }
    if any(e.kind == "baseline" for e in entries):
        doc["baseline"] = {
            "ansible_playbook": ensure_baseline_venv(),
            "versions": baseline_versions(),
            "vrp_network_os": baseline_inventory.DEFAULT_VRP_NETWORK_OS,
            "playbook": "benchmarks/baseline/read.yml",
        }
    for i, sites in enumerate(sizes):
        before = source_state()
        size = run_size(sites, FIRST_NET + 4 * i, entries, runs, baseline_runs, forks, time_scale)
        size["source"] = {"before": before, "after": source_state()}
        doc["sizes"].append(size)
    return doc


# ----------------------------------------------------------------------------- report


def _fmt_s(value: float) -> str:
    return f"{value:.1f} s" if value < 100 else f"{value:.0f} s"


def render(doc: dict[str, Any]) -> str:
    """The Markdown table of a suite run (``doc`` as :func:`run_suite` returns it)."""
    lines = [
        "`vcprov check` and friends beside a stock-Ansible baseline and the floor, on the "
        "same lab in the same run: medians; CPU and memory are of the whole process tree, the "
        "lab not counted (memory PSS: each shared page counted once; ΣRSS: summed per process, "
        "an upper bound).",
        "",
        "| sites | devices | what | runs | wall | CPU | peak memory PSS / ΣRSS "
        "| per device (wall / CPU) | devices read | × floor | baseline ÷ this | other load |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for size in doc["sizes"]:
        rows = size["entries"]
        floor, base = _row(rows, "floor"), _row(rows, "baseline")
        for row in rows:
            label = row["label"] + (f" (measured {row['measured']})" if row.get("measured") else "")
            head = f"| {size['sites']} | {size['devices']} | {label} |"
            if not row.get("available"):
                lines.append(f"{head} – | not available ({row['why']}) | | | | | | | |")
                continue
            if not row.get("runs"):
                lines.append(f"{head} 0 | not run | | | | | | | |")
                continue
            note = "" if row["valid"] else " ⚠"
            note += " ≈" if row.get("noisy_runs") else ""
            wall = base_wall(row) if row["key"] == "baseline" else row["wall_s"]
            vs_floor = f"{wall / floor['wall_s']:.1f}" if floor else "–"
            speed = f"{base_wall(base) / row['wall_s']:.1f}x" if base else "–"
            if row.get("sample_devices"):
                speed = "1.0x"
                note += (
                    f" (on {row['sample_devices']} of {size['devices']} devices; whole lab "
                    f"projected: {_fmt_s(row['projected_wall_s'])} wall, "
                    f"{_fmt_s(row['projected_cpu_s'])} CPU)"
                )
            read = f"{row['read']}/{size['devices']}"
            if row["key"] == "upgrade":  # it waits on reboots: no read to compare
                vs_floor = speed = "–"
                ro = row.get("rollout")
                read = f"{ro['codecs']} codecs upgraded" if ro else "not every codec upgraded"
            lines.append(
                f"{head} {row['runs']} | {_fmt_s(row['wall_s'])}{note} | {_fmt_s(row['cpu_s'])} "
                f"| {row['peak_pss_mib']:.0f} / {row['peak_rss_mib']:.0f} MiB "
                f"| {row['wall_ms_per_device']:.0f} ms / "
                f"{row['cpu_ms_per_device']:.0f} ms | {read} "
                f"| {vs_floor} | {speed} | {row['other_cores']:.1f} cores |"
            )
    targets = [(s["sites"], t) for s in doc["sizes"] for t in s["targets"]]
    if targets:
        lines += ["", "Targets of issue 8:", ""]
        lines += ["| sites | target | limit | measured | met |", "|---|---|---|---|---|"]
        for sites, t in targets:
            met = {True: "yes", False: "**no**", None: "not measured"}[t["met"]]
            measured = "–" if t["measured"] is None else t["measured"]
            lines.append(f"| {sites} | {t['target']} | {t['limit']:g} | {measured} | {met} |")
    notes = []
    for size in doc["sizes"]:
        src = size.get("source", {})
        before, after = src.get("before", {}), src.get("after", {})
        changed = ""
        if before and (before != after):
            changed = f"; the source changed during the run (commit {before['commit']} to "
            changed += f"{after['commit']})"
        if before.get("python_modified") or after.get("python_modified"):
            changed += "; uncommitted changes under python/ were present"
        notes.append(
            f"{size['sites']} sites: measured {size.get('when', doc.get('when', '?'))} (commit "
            f"{size.get('commit', '?')}), forks {size['forks']}, lab time scale "
            f"{size['time_scale']:g} (rollout labs {size.get('rollout_time_scale', '?')})"
            f"{changed}."
        )
    notes.append(
        "other load: cores the machine spent on work that was neither the command, the lab "
        "nor the harness while it ran (other jobs on a shared machine); figures measured "
        "with much of it are slower than the command is."
    )
    if any(r.get("noisy_runs") for s in doc["sizes"] for r in s["entries"]):
        notes.append(
            "≈: some of its runs stayed noisy (other load above the limit) after the retries; "
            "the median takes the least disturbed attempt of each."
        )
    if any(not r.get("valid", True) for s in doc["sizes"] for r in s["entries"]):
        notes.append(
            "⚠: at least one run failed or did not read every device; see the JSON (`all`)."
        )
    for size in doc["sizes"]:
        for r in size["entries"]:
            ro = r.get("rollout")
            if ro:
                notes.append(
                    f"Firmware rollout, {size['sites']} sites at time scale {ro['time_scale']:g}"
                    f" (median of {ro['runs']}): {ro['seconds']:.1f} s, of which the codecs "
                    f"were installing or rebooting {ro['device_seconds']:.1f} s; vcprov's own "
                    f"time {ro['own_seconds']:.1f} s, {ro['overhead_pct']:.1f} % above the "
                    f"devices' time at this scale.  At time scale 1 the devices' times are "
                    f"{1 / ro['time_scale']:g} times longer and vcprov's (requests, checks) are "
                    f"not: {ro['overhead_pct_at_scale_1']:.2f} % (projected)."
                )
    if any(r.get("sample_devices") for s in doc["sizes"] for r in s["entries"]):
        notes.append(
            "Baseline on a sample: in labs of more than BENCH_BASELINE_MAX_SITES sites "
            "(default 100) the stock playbook reads both devices of that many sites spread "
            "over the same lab (`--limit`), and its per-device cost gives the whole lab's time "
            "(× floor and baseline ÷ this use that projection).  Read in full, its per-device "
            "cost barely moves with the lab's size (the 31-site row; 500 devices read in full "
            "on 2026-11-23: 1.97 s, benchmarks/README.md); BENCH_BASELINE_MAX_SITES=0 reads "
            "the whole lab."
        )
    base = doc.get("baseline")
    if base:
        v = base["versions"]
        notes.append(
            f"Baseline: ansible {v['ansible']} (ansible-core {v['ansible-core']}, "
            f"ansible.netcommon {v['ansible.netcommon']}, cisco.ios {v['cisco.ios']}), "
            f"forks as above; Huawei VRP through network_os `{base['vrp_network_os']}` "
            "(the package bundles no Huawei plugin: benchmarks/README.md)."
        )
    if notes:
        lines += ["", *notes]
    return "\n".join(lines) + "\n"
