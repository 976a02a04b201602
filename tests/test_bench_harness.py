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
