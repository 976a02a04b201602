"""`vcprov apply` end to end: ansible-runner, playbooks/site.yml, the action plugins, the
drivers, against a lab over real HTTPS/SSH."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from vcprov import hosts, labinv, standard
from vcprov.devices import driver_for

from .conftest import ROOT, VENV_BIN, Lab, LabFactory

ENV = {
    **os.environ,
    "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
}


def vcprov(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VENV_BIN / "vcprov"), *argv],
        capture_output=True,
        text=True,
        env=ENV,
        cwd=cwd or ROOT,
        timeout=600,
    )


def apply(lab: Lab, tmp_path: Path, *extra: str) -> tuple[subprocess.CompletedProcess[str], Any]:
    report = tmp_path / f"apply-{len(list(tmp_path.glob('apply-*.json')))}.json"
    proc = vcprov("apply", "--lab", str(lab.state), "--json", str(report), *extra)
    doc = json.loads(report.read_text(encoding="utf-8")) if report.exists() else None
    return proc, doc


def plans(lab: Lab) -> dict[str, list[str]]:
    """Every device read back over its own protocol: the settings still off the standard."""
    inv = hosts.load_inventory(lab.state)
    out = {}
    for name in inv.hosts:
        dev = hosts.device_of(inv, name)
        with driver_for(dev.target) as drv:
            out[name] = [c.setting for c in drv.plan(standard.effective(inv, name).desired())]  # type: ignore[attr-defined]
    return out


def config_of(lab: Lab, name: str) -> dict[str, Any]:
    """What the device holds in the sections/keys the standard owns (a driver snapshot)."""
    inv = hosts.load_inventory(lab.state)
    with driver_for(hosts.device_of(inv, name).target) as drv:
        data: dict[str, Any] = drv.snapshot().data  # type: ignore[attr-defined]
    data.pop("running_sha256", None)
    return data


@pytest.fixture()
def defaults_lab(lab_factory: LabFactory) -> Any:
    """4 sites (every family) at vendor defaults: everything to change."""
    lab = lab_factory(sites=4, vendor_defaults=True)
    yield lab
    lab.stop()


def test_vendor_defaults_to_standard_then_nothing_to_do(defaults_lab: Lab, tmp_path: Path) -> None:
    lab = defaults_lab
    names = [d["name"] for d in lab.devices]
    assert all(plans(lab)[n] for n in names), "every device starts off the standard"

    proc, doc = apply(lab, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert {h["name"] for h in doc["hosts"]} == set(names)
    assert all(h["changed"] and not h["failed"] for h in doc["hosts"]), doc
    assert "8 hosts: 8 changed, 0 ok, 0 failed, 0 unreachable" in proc.stdout
    poly = next(h for h in doc["hosts"] if h["family"] == "poly-os")
    assert poly["rebooted"] and poly["snapshot"] and Path(poly["snapshot"]).exists()
    switch = next(h for h in doc["hosts"] if h["family"] == "cisco-ios")
    assert any(line.startswith("interface ") for line in switch["writes"])

    assert plans(lab) == {n: [] for n in names}, "read back: every device holds the standard"

    proc, doc = apply(lab, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not any(h["changed"] for h in doc["hosts"]), "second apply changed something"

    writes = lab.control.writes()
    proc, doc = apply(lab, tmp_path, "--check", "--diff")
    assert proc.returncode == 0
    assert not any(h["changes"] for h in doc["hosts"])
    assert lab.control.writes() == writes, "check mode wrote to a device"


def test_check_mode_shows_exact_writes_and_writes_nothing(
    defaults_lab: Lab, tmp_path: Path
) -> None:
    lab = defaults_lab
    writes = lab.control.writes()
    proc, doc = apply(lab, tmp_path, "--check", "--diff", "--limit", "tinh-uy-*")
    assert proc.returncode == 0, proc.stderr
    assert lab.control.writes() == writes
    rows = {h["name"]: h for h in doc["hosts"]}
    assert set(rows) == {"tinh-uy-codec", "tinh-uy-sw"}
    codec, switch = rows["tinh-uy-codec"], rows["tinh-uy-sw"]
    assert codec["writes"]["qos.diffServ.audio"] == "46"
    assert "mls qos trust dscp" in switch["writes"]
    assert "+ qos.dscp.audio (qos.diffServ.audio): 46" in proc.stdout  # --diff


# fault kind, device, expected: the faulted device and its site partner are left as they
# were; the other sites reach the standard.
FAULTS = [
    ("unreachable", "kkt-nghi-son-codec"),
    ("bad-credentials", "tinh-uy-sw"),
    ("session-exhaustion", "ubnd-tinh-codec"),
    ("rate-limit", "kkt-nghi-son-codec"),
    ("ssh-drop-mid-config", "tinh-uy-sw"),
]


@pytest.mark.parametrize(("kind", "device"), FAULTS, ids=[f[0] for f in FAULTS])
def test_a_fault_leaves_its_site_as_it_was(
    defaults_lab: Lab, tmp_path: Path, kind: str, device: str
) -> None:
    lab = defaults_lab
    partner = device.rsplit("-", 1)[0] + ("-sw" if device.endswith("-codec") else "-codec")
    before = {n: config_of(lab, n) for n in (device, partner)}
    lab.control.fault(device, kind)
    proc, doc = apply(lab, tmp_path)
    lab.control.clear(device)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    rows = {h["name"]: h for h in doc["hosts"]}
    assert rows[device]["failed"] or rows[device]["unreachable"]
    assert rows[partner]["failed"], f"{partner} not reported with its site"
    for name in (device, partner):
        assert config_of(lab, name) == before[name], f"{name} was left half-changed"
    others = {n: p for n, p in plans(lab).items() if n not in (device, partner)}
    assert others == {n: [] for n in others}, "the other sites must reach the standard"


def test_a_codec_in_a_call_gets_no_restart_changes(defaults_lab: Lab, tmp_path: Path) -> None:
    lab = defaults_lab
    lab.control.fault("ubnd-tinh-codec", "in-call")
    proc, doc = apply(lab, tmp_path, "--limit", "ubnd-tinh-codec")
    row = doc["hosts"][0]
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert row["deferred"] and all(d["reboot"] for d in row["deferred"])
    assert not row["rebooted"]
    assert lab.control.device("ubnd-tinh-codec")["calls"], "the meeting was interrupted"
    left = plans(lab)["ubnd-tinh-codec"]
    assert sorted(left) == sorted(d["setting"] for d in row["deferred"])


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        ({"qos.dscp.audio": 70}, "qos.dscp.audio"),
        ({"qos.dscp.voice": 46}, "qos.dscp.voice: unknown setting"),
        ({"call.max_rate_in_kbps": 99999}, "call.max_rate_in_kbps"),
    ],
    ids=["dscp-70", "unknown-setting", "rate-out-of-range"],
)
def test_bad_standard_stops_before_any_device(
    lab: Lab, tmp_path: Path, edit: dict[str, Any], expected: str
) -> None:
    inv = tmp_path / "inv"
    shutil.copytree(ROOT / "inventory/thanhhoa", inv)
    path = inv / "group_vars/all/standard.yml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["vc_standard"].update(edit)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    writes = lab.control.writes()
    proc = vcprov("apply", "--lab", str(lab.state), "-i", str(inv))
    labinv.write(lab.state)  # back to the repository's standard for the other tests
    assert proc.returncode == 1
    assert "no device was touched" in proc.stderr
    assert "standard.yml" in proc.stderr and expected in proc.stderr, proc.stderr
    assert lab.control.writes() == writes


def test_a_codec_without_its_switch_port_is_a_named_error(lab: Lab, tmp_path: Path) -> None:
    inv = tmp_path / "inv"
    shutil.copytree(ROOT / "inventory/thanhhoa", inv)
    hosts_file = inv / "hosts.yml"
    text = hosts_file.read_text(encoding="utf-8")
    text = text.replace("              vc_switch_port: GigabitEthernet1/0/5\n", "", 1)
    hosts_file.write_text(text, encoding="utf-8")
    proc = vcprov("apply", "-i", str(inv), "--check")
    assert proc.returncode == 1
    assert "vc_switch_port" in proc.stderr and "hosts.yml" in proc.stderr, proc.stderr


def test_secrets_appear_in_no_output(defaults_lab: Lab, tmp_path: Path) -> None:
    lab = defaults_lab
    proc, doc = apply(lab, tmp_path, "--diff")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    secrets = {d["password"] for d in lab.devices} | {d["snmp_community"] for d in lab.devices}
    texts = [proc.stdout, proc.stderr, json.dumps(doc)]
    state = hosts.state_dir(lab.state)
    texts += [p.read_text(encoding="utf-8") for p in state.rglob("*.json")]
    assert any(h["changes"] and "<secret>" in json.dumps(h["changes"]) for h in doc["hosts"])
    for text in texts:
        for secret in secrets:
            assert secret not in text


def test_plain_ansible_playbook_runs_the_same_play(lab: Lab) -> None:
    inv = labinv.ensure(lab.state)
    proc = subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), "-i", str(inv), "playbooks/site.yml", "--check"],
        capture_output=True,
        text=True,
        env=ENV,
        cwd=ROOT,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "failed=0" in proc.stdout and "unreachable=0" in proc.stdout


@pytest.mark.parametrize(
    "module",
    [
        "vc_endpoint_config",
        "vc_switch_config",
        "vc_standard",
        "vc_site_guard",
        "vc_firmware",
        "vc_firmware_rollback",
        "vc_endpoint_facts",
        "vc_switch_facts",
    ],
)
def test_ansible_doc_renders(module: str) -> None:
    proc = subprocess.run(
        [str(VENV_BIN / "ansible-doc"), f"vcprov.network.{module}"],
        capture_output=True,
        text=True,
        env=ENV,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "EXAMPLES" in proc.stdout and "RETURN VALUES" in proc.stdout
