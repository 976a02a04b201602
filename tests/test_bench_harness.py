"""The benchmark harness (benchmarks/, issue 8): the floor reads every device of a lab, the
baseline inventory holds every device, the measurement follows a whole process tree.

Counts and structure only: no test asserts on a time.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import yaml

from .conftest import ROOT, LabFactory

BENCH = ROOT / "benchmarks"


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_floor_reads_every_device_of_a_lab(lab_factory: LabFactory, tmp_path: Path) -> None:
    lab = lab_factory(sites=2, deviations=False)
    out = tmp_path / "floor.json"
    proc = subprocess.run(
        [sys.executable, str(BENCH / "floor.py"), "--lab", str(lab.state), "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads(proc.stdout)
    assert summary == json.loads(out.read_text())
    devices = lab.devices
    assert summary["devices"] == len(devices) == 4
    assert summary["endpoints"] == sum(d["role"] == "endpoint" for d in devices)
    assert summary["switches"] == sum(d["role"] == "switch" for d in devices)
    assert summary["errors"] == []
    assert summary["suspect_configs"] == []
    assert summary["read"] == len(devices)
    families = {d["family"] for d in devices}
    assert set(summary["by_family"]) == families
    assert all(f["read"] == f["devices"] for f in summary["by_family"].values())
    assert summary["settings_read"] > 0 and summary["config_bytes"] > 0


def test_floor_reports_an_unreachable_device_as_an_error(
    lab_factory: LabFactory, tmp_path: Path
) -> None:
    lab = lab_factory(sites=1, deviations=False)
    target = next(d for d in lab.devices if d["role"] == "endpoint")
    lab.control.fault(target["name"], "unreachable")
    try:
        proc = subprocess.run(
            [sys.executable, str(BENCH / "floor.py"), "--lab", str(lab.state), "--timeout", "5"],
            capture_output=True,
            text=True,
            timeout=240,
        )
    finally:
        lab.control.clear(target["name"], "unreachable")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["read"] == summary["devices"] - 1
    assert [(e["name"], e["kind"]) for e in summary["errors"]] == [(target["name"], "unreachable")]


def test_baseline_inventory_holds_every_device(lab_factory: LabFactory, tmp_path: Path) -> None:
    lab = lab_factory(sites=2, deviations=False)
    inventory = _load("bench_baseline_inventory", BENCH / "baseline" / "inventory.py")
    out = tmp_path / "inventory.yml"
    counts = inventory.write(lab.state, out)
    assert out.stat().st_mode & 0o077 == 0  # it holds the lab's passwords
    assert sum(counts.values()) == len(lab.devices)
    doc = yaml.safe_load(out.read_text())
    groups = doc["all"]["children"]
    hosts = {
        name: host
        for parent in groups.values()
        for group in parent["children"].values()
        for name, host in group["hosts"].items()
    }
    assert set(hosts) == {d["name"] for d in lab.devices}
    for dev in lab.devices:
        host = hosts[dev["name"]]
        assert host["ansible_host"] == dev["host"]
        if dev["role"] == "switch":
            assert host["ansible_port"] == dev["port"]
            assert host["ansible_network_os"]
    names = groups["codecs"]["children"]["poly"]["vars"]["bl_names_by_family"]
    assert set(names) == {"poly-os", "poly-group-series"}
    assert all(names.values())


def test_measure_follows_the_whole_process_tree(tmp_path: Path) -> None:
    """A child and a grandchild that daemonizes (double fork, new session) are both counted,
    and the run waits for the daemon before it ends."""
    measure = _load("bench_measure", BENCH / "measure.py")
    script = tmp_path / "tree.py"
    marker = tmp_path / "daemon-done"
    script.write_text(
        "import os, subprocess, sys, time\n"
        "if os.fork() == 0:\n"
        "    if os.fork() == 0:\n"
        "        os.setsid()\n"
        "        time.sleep(0.5)\n"
        f"        open({str(marker)!r}, 'w').close()\n"
        "        os._exit(0)\n"
        "    os._exit(0)\n"
        "subprocess.run([sys.executable, '-c', 'import time; time.sleep(0.3)'])\n"
    )
    run = measure.run_once([sys.executable, str(script)], out_dir=tmp_path, label="tree")
    assert run.exit_code == 0
    assert marker.exists()  # the run ended only after the daemon had
    assert run.lingering == 0
    assert run.processes >= 3  # the script, its subprocess, the daemon
    assert run.peak_rss_mib > 0
    summary = measure.summarize([run], devices=2)
    assert summary["runs"] == 1 and "wall_ms_per_device" in summary


def _suite() -> ModuleType:
    sys.path.insert(0, str(BENCH))
    try:
        return _load("bench_suite", BENCH / "suite.py")
    finally:
        sys.path.remove(str(BENCH))


def test_baseline_sample_spreads_over_the_lab_and_keeps_sites_whole() -> None:
    suite = _suite()
    families = ["poly-os", "poly-group-series", "cisco-roomos"]
    doc = {
        "devices": [
            {"name": f"s{i}-{role}", "site": f"s{i}", "family": families[i % 3]}
            for i in range(1000)
            for role in ("codec", "sw")
        ]
    }
    assert suite.baseline_sample(doc, 0) is None  # 0: the whole lab
    assert suite.baseline_sample(doc, 1000) is None  # a lab no larger than the limit
    names = suite.baseline_sample(doc, 100)
    sites = {n.split("-")[0] for n in names}
    assert len(sites) == 100 and len(names) == 200  # both devices of each sampled site
    numbers = sorted(int(s[1:]) for s in sites)
    assert numbers[0] == 0 and numbers[-1] >= 900  # spread over the whole lab
    assert {doc["devices"][2 * n]["family"] for n in numbers} == set(families)


def test_a_sampled_baseline_is_shown_as_measured_and_projected() -> None:
    suite = _suite()

    def row(key: str, wall: float, devices: int, **extra: object) -> dict[str, object]:
        return {
            "key": key, "label": key, "available": True, "runs": 1, "valid": True,
            "wall_s": wall, "cpu_s": wall, "peak_pss_mib": 1, "peak_rss_mib": 1,
            "wall_ms_per_device": 1000 * wall / devices, "cpu_ms_per_device": 1000 * wall / devices,
            "read": devices, "other_cores": 0.0, **extra,
        }  # fmt: skip

    base = row("baseline", 400.0, 200, sample_devices=200, projected_wall_s=4000.0,
               projected_cpu_s=4000.0)  # fmt: skip
    rows = [row("floor", 40.0, 2000), base, row("check", 80.0, 2000)]
    targets = suite.evaluate_targets(1000, rows)
    speed = next(t for t in targets if "baseline" in t["target"])
    assert speed["measured"] == 50.0  # the projection (4000 s), not the sample's 400 s
    size = {"sites": 1000, "devices": 2000, "entries": rows, "targets": targets, "forks": 50,
            "time_scale": 1}  # fmt: skip
    text = suite.render({"sizes": [size]})
    line = next(ln for ln in text.splitlines() if "| baseline |" in ln)
    assert "on 200 of 2000 devices" in line and "4000 s wall" in line
    assert "| 100.0 |" in line  # × floor: the projection over the floor
    assert "50.0x" in next(ln for ln in text.splitlines() if "| check |" in ln)


def test_rollout_overhead_is_measured_and_projected_to_time_scale_one() -> None:
    suite = _suite()

    def attempt(seconds: float, device: float, upgraded: int = 31) -> dict[str, object]:
        rollout = {"seconds": seconds, "device_seconds": device, "codecs": 31,
                   "upgraded": upgraded, "halted": False}  # fmt: skip
        return {"outcome": {"rollout": rollout}}

    runs = [attempt(44.0, 40.0), attempt(45.0, 40.0), attempt(90.0, 40.0, upgraded=30)]
    ro = suite.rollout_overhead(runs, 0.01)
    assert ro["runs"] == 2  # a rollout that left a codec behind is not a measure of overhead
    assert ro["own_seconds"] == 4.5 and ro["overhead_pct"] == 11.2
    assert ro["overhead_pct_at_scale_1"] == 0.11  # 4.5 s beside 4,000 s of device time
    assert suite.rollout_overhead([attempt(10.0, 8.0, upgraded=0)], 0.01) == {}
    rows = [{"key": "upgrade", "rollout": ro}]
    target = next(t for t in suite.evaluate_targets(31, rows) if "rollout" in t["target"])
    assert target["measured"] == 0.11 and target["met"] is True
