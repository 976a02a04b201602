"""Firmware rollouts against the lab (issue 6): real HTTPS to the simulated codecs, the
packages served by vcprov's own package server, the lab's counters as the proof.

The 4-site lab: so-tttt-codec (Group Series, the hub) is the canary ring; ubnd-tinh-codec
(Poly OS), tinh-uy-codec (Group Series) and kkt-nghi-son-codec (RoomOS) are the
leadership ring; the switches are never upgraded.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from vcprov import firmware_cli

from .conftest import ROOT, VENV_BIN, Lab, next_net

CANARY = "so-tttt-codec"
LEADERSHIP = ["ubnd-tinh-codec", "tinh-uy-codec", "kkt-nghi-son-codec"]
CODECS = [CANARY, *LEADERSHIP]
SWITCHES = ["so-tttt-sw", "ubnd-tinh-sw", "tinh-uy-sw", "kkt-nghi-son-sw"]

pytestmark = pytest.mark.slow


def vcprov(*argv: str) -> int:
    return firmware_cli.main(list(argv))


def versions(lab: Lab, kind: str) -> dict[str, str]:
    """Each codec family's old/target/next version as lab.json lists its packages."""
    out: dict[str, list[str]] = {}
    for row in lab.doc["firmware"]:
        out.setdefault(row["family"], []).append(row["version"])
    index = {"old": 0, "target": 1, "next": 2}[kind]
    return {
        dev["name"]: out[dev["family"]][index] for dev in lab.devices if dev["role"] == "endpoint"
    }


def live(lab: Lab) -> dict[str, dict[str, Any]]:
    return lab.control.devices()


def configs(lab: Lab, names: list[str]) -> dict[str, Any]:
    return {n: lab.control.device(n)["config"] for n in names}


def journal(lab: Lab) -> list[dict[str, Any]]:
    folder = lab.state / "vcprov" / "firmware"
    paths = sorted(folder.glob("*.jsonl"))
    assert paths, "no journal written"
    return [json.loads(line) for line in paths[-1].read_text().splitlines() if line.strip()]


def wait_until(predicate: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


def by_name(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["name"]: d for d in doc["devices"]}


@pytest.fixture()
def six_sites(lab_factory: Any) -> Any:
    """Six sites: the hub (canary), tp-thanh-hoa (ring1), tp-sam-son (ring2) and the three
    leadership offices (inventory/thanhhoa/hosts.yml's rings)."""
    lab = lab_factory(sites=6, deviations=False)
    yield lab
    lab.stop()


RING_ORDER = [
    ("ring_canary", [CANARY]),
    ("ring1", ["tp-thanh-hoa-codec"]),
    ("ring2", ["tp-sam-son-codec"]),
    ("ring_leadership", LEADERSHIP),
]


def test_rollout_goes_ring_by_ring_and_ends_on_target(six_sites: Lab, tmp_path: Path) -> None:
    lab = six_sites
    codecs = [name for _, names in RING_ORDER for name in names]
    switches = [d["name"] for d in lab.devices if d["role"] == "switch"]
    before = live(lab)
    config_before = configs(lab, codecs)
    out = tmp_path / "rollout.json"

    rc = vcprov("upgrade", "--lab", str(lab.state), "--to", "target", "--now",
                "--soak", "30", "--json", str(out))  # fmt: skip

    assert rc == 0
    doc = json.loads(out.read_text())
    assert doc["halted"] is False
    results = by_name(doc)
    assert list(results) == codecs  # canary, ring1, ring2, leadership, in inventory order
    assert [(r["ring"], r["status"]) for r in doc["rings"]] == [
        (ring, "passed") for ring, _ in RING_ORDER
    ]
    target = versions(lab, "next")
    now = live(lab)
    for name in codecs:
        assert results[name]["result"] == "upgraded"
        assert results[name]["from"] == versions(lab, "target")[name]
        assert results[name]["to"] == target[name]
        assert now[name]["version"] == target[name]
        assert now[name]["sip_registered"] and now[name]["h323_registered"]
        steps = [s["step"] for s in results[name]["steps"] if s["status"] in ("ok", "started")]
        assert steps[:5] == ["precheck", "snapshot", "upgrade", "wait", "verify"]
    # the device's own configuration is what it was (Poly's update keys put back too)
    assert configs(lab, codecs) == config_before
    # each ring passed (its soak and the health check after it included) before the next
    # ring's first codec was touched
    lines = journal(lab)
    for (ring, names), (_, later) in itertools.pairwise(RING_ORDER):
        passed = next(i for i, r in enumerate(lines) if r.get("event") == "ring"
                      and r["ring"] == ring and r["status"] == "passed")  # fmt: skip
        assert passed < min(i for i, r in enumerate(lines) if r.get("device") in later)
        for name in names:
            soaked = [r for r in lines[:passed] if r.get("device") == name
                      and r.get("step") == "soak"]  # fmt: skip
            assert [r["status"] for r in soaked] == ["ok"], name
    # switches are codecs' neighbours, not part of a firmware rollout
    assert {s["name"] for s in doc["out_of_scope"]} == set(switches)
    for name in switches:
        assert now[name]["writes"] == before[name]["writes"]
        assert now[name]["boots"] == before[name]["boots"]
    # no secret in the journal or the snapshots
    secrets = {d["password"] for d in lab.devices} | {d["snmp_community"] for d in lab.devices}
    written = [p.read_text() for p in (lab.state / "vcprov").rglob("*.json*")]
    assert written and not any(s in text for s in secrets for text in written)

    # a second rollout finds every codec on its target: skipped, nothing written
    writes = {n: d["writes"] for n, d in live(lab).items()}
    assert vcprov("upgrade", "--lab", str(lab.state), "--to", "target", "--now",
                  "--json", str(out)) == 0  # fmt: skip
    assert {d["result"] for d in json.loads(out.read_text())["devices"]} == {"skipped"}
    assert {n: d["writes"] for n, d in live(lab).items()} == writes


def test_install_failure_on_the_canary_rolls_back_and_halts(fresh_lab: Lab, tmp_path: Path) -> None:
    lab = fresh_lab
    lab.control.fault(CANARY, "firmware-install-fail")
    before = live(lab)
    config_before = configs(lab, [CANARY])
    out = tmp_path / "rollout.json"

    rc = vcprov("upgrade", "--lab", str(lab.state), "--to", "target", "--now",
                "--soak", "0", "--json", str(out))  # fmt: skip

    assert rc == 3
    doc = json.loads(out.read_text())
    assert doc["halted"] is True
    results = by_name(doc)
    assert results[CANARY]["result"] == "rolled-back"
    steps = [(s["step"], s["status"]) for s in results[CANARY]["steps"]]
    assert ("wait", "failed") in steps and ("restore", "ok") in steps
    assert ("verify-rollback", "ok") in steps
    now = live(lab)
    # back on its old version with its configuration
    assert now[CANARY]["version"] == versions(lab, "target")[CANARY]
    assert configs(lab, [CANARY]) == config_before
    assert now[CANARY]["sip_registered"] and now[CANARY]["faults"] == []
    # later rings untouched: not a write, not a boot
    for name in [*LEADERSHIP, *SWITCHES]:
        assert now[name]["writes"] == before[name]["writes"], name
        assert now[name]["boots"] == before[name]["boots"], name
    for name in LEADERSHIP:
        assert results[name]["result"] == "not-started"
        assert results[name]["steps"] == []


def test_broken_image_and_lost_configuration_are_rolled_back(
    fresh_lab: Lab, tmp_path: Path
) -> None:
    lab = fresh_lab
    old = versions(lab, "target")
    out = tmp_path / "rollout.json"

    # RoomOS comes back on the new version but cannot register (no media): unhealthy
    lab.control.fault("kkt-nghi-son-codec", "firmware-no-media")
    config_before = configs(lab, ["kkt-nghi-son-codec", "ubnd-tinh-codec"])
    rc = vcprov("upgrade", "--lab", str(lab.state), "--to", "target", "--now", "--soak", "0",
                "--limit", "kkt-nghi-son-codec", "--json", str(out))  # fmt: skip
    assert rc == 3  # the leadership ring's budget is 0
    result = by_name(json.loads(out.read_text()))["kkt-nghi-son-codec"]
    assert result["result"] == "rolled-back"
    failed = [s for s in result["steps"] if s["status"] == "failed"]
    assert failed[0]["step"] == "verify" and "SIP not registered" in failed[0]["detail"]
    device = live(lab)["kkt-nghi-son-codec"]
    assert device["version"] == old["kkt-nghi-son-codec"]
    assert device["sip_registered"] and device["h323_registered"]

    # Poly OS comes back on the new version with factory settings: configuration differs
    lab.control.fault("ubnd-tinh-codec", "firmware-config-loss")
    rc = vcprov("upgrade", "--lab", str(lab.state), "--to", "target", "--now", "--soak", "0",
                "--limit", "ubnd-tinh-codec", "--json", str(out))  # fmt: skip
    assert rc == 3
    result = by_name(json.loads(out.read_text()))["ubnd-tinh-codec"]
    assert result["result"] == "rolled-back"
    failed = [s for s in result["steps"] if s["status"] == "failed"]
    assert failed[0]["step"] == "verify" and "configuration differs" in failed[0]["detail"]
    device = live(lab)["ubnd-tinh-codec"]
    assert device["version"] == old["ubnd-tinh-codec"] and device["sip_registered"]
    after = configs(lab, ["kkt-nghi-son-codec", "ubnd-tinh-codec"])
    assert after["kkt-nghi-son-codec"] == config_before["kkt-nghi-son-codec"]
    # the snapshot holds no secrets, so what it restores equals the configuration apart
    # from the secrets the factory reset took (docs/firmware.md: run vcprov apply after)
    lost = {k for k, v in config_before["ubnd-tinh-codec"].items()
            if after["ubnd-tinh-codec"].get(k) != v}  # fmt: skip
    assert lost <= {"snmp.community", "voIpProt.SIP.auth.password", "device.prov.password",
                    "snmp.auth.password", "sec.auth.admin.password"}  # fmt: skip


def test_a_codec_in_a_call_is_deferred_never_interrupted(fresh_lab: Lab, tmp_path: Path) -> None:
    lab = fresh_lab
    out = tmp_path / "rollout.json"
    call = lab.control.dial(CANARY, "kkt-nghi-son")
    assert call["state"] == "CONNECTED"
    before = live(lab)

    # the canary is in a meeting: deferred; a ring with no codec on the target holds the
    # rollout (nothing later is touched)
    rc = vcprov("upgrade", "--lab", str(lab.state), "--to", "target", "--now",
                "--soak", "0", "--call-wait", "60", "--json", str(out))  # fmt: skip
    assert rc == 3
    doc = json.loads(out.read_text())
    assert by_name(doc)[CANARY]["result"] == "deferred"
    assert {by_name(doc)[n]["result"] for n in LEADERSHIP} == {"not-started"}
    now = live(lab)
    for name in [*CODECS, *SWITCHES]:
        assert now[name]["writes"] == before[name]["writes"], name
        assert now[name]["boots"] == before[name]["boots"], name
    assert now[CANARY]["calls"] == before[CANARY]["calls"]  # the same call, still up

    # the meeting ends; another starts in the leadership ring; --resume goes on
    lab.control.hangup(CANARY)
    lab.control.hangup("kkt-nghi-son-codec")
    assert lab.control.dial("tinh-uy-codec", "ubnd-tinh")["state"] == "CONNECTED"
    before = live(lab)
    rc = vcprov("upgrade", "--lab", str(lab.state), "--resume", "--now", "--json", str(out))
    assert rc == 2  # not every codec ended on the target
    results = by_name(json.loads(out.read_text()))
    assert results[CANARY]["result"] == "upgraded"
    assert results["kkt-nghi-son-codec"]["result"] == "upgraded"
    now = live(lab)
    for name in ("tinh-uy-codec", "ubnd-tinh-codec"):
        assert results[name]["result"] == "deferred"
        assert now[name]["calls"] == before[name]["calls"] and now[name]["in_call"]
        assert now[name]["writes"] == before[name]["writes"]
        assert now[name]["version"] == before[name]["version"]

    # after that meeting, --resume again: the deferred codecs, and only they
    lab.control.hangup("tinh-uy-codec")
    lab.control.hangup("ubnd-tinh-codec")
    done = {n: now[n] for n in (CANARY, "kkt-nghi-son-codec")}
    assert vcprov("upgrade", "--lab", str(lab.state), "--resume", "--now", "--json", str(out)) == 0
    assert {d["result"] for d in json.loads(out.read_text())["devices"]} == {"upgraded"}
    now = live(lab)
    for name, was in done.items():
        assert now[name]["writes"] == was["writes"] and now[name]["boots"] == was["boots"]


def _interruptible() -> None:
    # A test run started in the background by a shell without job control (nohup ... &)
    # inherits SIGINT ignored, and Python then installs no KeyboardInterrupt handler: the
    # operator's terminal, where Ctrl-C works, is what these tests stand for.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _spawn(lab: Lab, *extra: str) -> subprocess.Popen[str]:
    """``vcprov upgrade`` as an operator runs it, in its own process."""
    return subprocess.Popen(
        [str(VENV_BIN / "vcprov"), "upgrade", "--lab", str(lab.state),
         "--to", "target", "--now", "--soak", "0", *extra],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        preexec_fn=_interruptible,
    )  # fmt: skip


def _journal_has(lab: Lab, device: str, step: str, status: str) -> bool:
    folder = lab.state / "vcprov" / "firmware"
    if not any(folder.glob("*.jsonl")):
        return False
    return any(
        r.get("device") == device and r.get("step") == step and r.get("status") == status
        for r in journal(lab)
    )


def test_ctrl_c_then_resume_does_not_redo_finished_devices(fresh_lab: Lab, tmp_path: Path) -> None:
    lab = fresh_lab
    proc = _spawn(lab)
    try:
        wait_until(lambda: _journal_has(lab, CANARY, "upgrade", "started"))
        proc.send_signal(signal.SIGINT)  # Ctrl-C while the canary installs
        output, _ = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, output
    first = by_name({"devices": [{"name": r["device"], **r} for r in journal(lab)
                                 if r.get("event") == "result"]})  # fmt: skip
    assert first[CANARY]["result"] == "upgraded"  # the device under way was finished
    assert not any(r.get("device") in LEADERSHIP for r in journal(lab))
    canary = live(lab)[CANARY]

    out = tmp_path / "resume.json"
    assert vcprov("upgrade", "--lab", str(lab.state), "--resume", "--now", "--json", str(out)) == 0
    results = by_name(json.loads(out.read_text()))
    assert {results[n]["result"] for n in CODECS} == {"upgraded"}
    now = live(lab)
    assert now[CANARY]["writes"] == canary["writes"] and now[CANARY]["boots"] == canary["boots"]
    assert results[CANARY]["steps"][0]["step"] == "precheck"  # its steps from the first run


def test_crash_mid_install_then_resume_verifies_without_reinstalling(
    fresh_lab: Lab, tmp_path: Path
) -> None:
    lab = fresh_lab
    victim = "ubnd-tinh-codec"
    boots = live(lab)[victim]["boots"]
    proc = _spawn(lab)
    try:
        wait_until(lambda: _journal_has(lab, victim, "upgrade", "started"))
        # the Poly route: a reboot, the pull (up again), then the install's own reboot
        phases: list[str] = []

        def installing() -> bool:
            power = live(lab)[victim]["power"]
            if not phases or phases[-1] != power:
                phases.append(power)
            return phases[-3:] == ["rebooting", "up", "rebooting"]

        wait_until(installing)
        proc.send_signal(signal.SIGKILL)  # a crash in the middle of the install
        proc.communicate(timeout=30)
    finally:
        proc.kill()
    canary = live(lab)[CANARY]
    out = tmp_path / "resume.json"

    assert vcprov("upgrade", "--lab", str(lab.state), "--resume", "--now", "--json", str(out)) == 0

    results = by_name(json.loads(out.read_text()))
    assert {results[n]["result"] for n in CODECS} == {"upgraded"}
    now = live(lab)
    assert now[victim]["version"] == versions(lab, "next")[victim]
    # one install (the Poly route: the reboot that starts the pull, then the install's own)
    assert now[victim]["boots"] == boots + 2
    assert now[CANARY]["writes"] == canary["writes"]  # finished before the crash: not redone


def test_check_prints_the_plan_and_writes_nothing(lab: Lab, tmp_path: Path, capsys: Any) -> None:
    before = live(lab)
    out = tmp_path / "plan.json"

    assert vcprov("upgrade", "--lab", str(lab.state), "--to", "target", "--check",
                  "--json", str(out)) == 0  # fmt: skip

    text = capsys.readouterr().out
    assert text.index("ring_canary") < text.index("ring_leadership")
    assert "estimated" in text and ".pkg" in text
    assert live(lab) == before  # not a write, not a boot, not a version
    assert not (lab.state / "vcprov" / "firmware").exists() or not any(
        (lab.state / "vcprov" / "firmware").glob("*.jsonl")
    )
    plan = by_name(json.loads(out.read_text()))
    nxt = versions(lab, "next")
    for name in CODECS:
        assert plan[name]["plan"]["path"] == [nxt[name]]
        assert plan[name]["result"] == "not-started"
    # the lab's newest release is not yet the standard's firmware.target: the plan says that
    # vcprov check will call it drift, and names the file to change
    notes = json.loads(out.read_text())["standard_disagreements"]
    assert notes and all("firmware.target" in n and "group_vars/" in n for n in notes)
    for name in CODECS:
        assert sum(name in n for n in notes) == 1, name
    assert "note: " in text


def test_a_bad_catalogue_is_refused_by_name_before_anything_runs(
    lab: Lab, tmp_path: Path, capsys: Any
) -> None:
    rows = {(r["family"], r["version"]): r for r in lab.doc["firmware"]}
    gs = [r for r in lab.doc["firmware"] if r["family"] == "poly-group-series"]
    catalogue = tmp_path / "firmware.yml"
    catalogue.write_text(
        json.dumps(
            {
                "families": {
                    "poly-group-series": {
                        "models": ["RealPresence Group 500", "RealPresence Group 310"],
                        "versions": [
                            {"version": gs[1]["version"], "package": gs[1]["file"],
                             "sha512": gs[1]["sha512"], "downgrade": True},
                            # no checksum; and nothing leads from gs[1] to it
                            {"version": gs[2]["version"], "package": gs[2]["file"],
                             "from": [gs[0]["version"]], "target": True},
                        ],
                    },
                    "cisco-ios": {"models": ["WS-C2960X-48FPD-L"], "versions": []},
                }
            }
        )
    )  # fmt: skip
    assert rows  # the lab has packages
    before = live(lab)

    rc = vcprov("upgrade", "--lab", str(lab.state), "--catalog", str(catalogue),
                "--to", "target", "--now")  # fmt: skip

    err = capsys.readouterr().err
    assert rc == 1
    assert "no device was touched" in err
    where = f"{catalogue}: family poly-group-series: model RealPresence Group 500"
    assert f"{where}: version {gs[2]['version']}: key sha512: missing" in err
    assert f"{where}: version {gs[2]['version']}: key target: the target" in err
    assert f"{catalogue}: family cisco-ios: key family: unknown codec family" in err
    assert live(lab) == before


def test_outside_the_maintenance_window_nothing_starts(lab: Lab, tmp_path: Path) -> None:
    import datetime as dt
    import shutil

    inventory = tmp_path / "thanhhoa"
    shutil.copytree(ROOT / "inventory" / "thanhhoa", inventory)
    start = (dt.datetime.now() + dt.timedelta(hours=2)).strftime("%H:%M")
    end = (dt.datetime.now() + dt.timedelta(hours=3)).strftime("%H:%M")
    for ring in ("ring_canary", "ring_leadership"):
        path = inventory / "group_vars" / f"{ring}.yml"
        path.write_text(path.read_text() + f'vc_fw_window: "{start}-{end}"\n')
    before = live(lab)

    rc = vcprov("upgrade", "--lab", str(lab.state), "-i", str(inventory), "--to", "target")

    assert rc == 4
    assert live(lab) == before


def test_manual_rollback_to_the_last_snapshot_and_to_a_named_one(
    fresh_lab: Lab, tmp_path: Path
) -> None:
    lab = fresh_lab
    config_before = configs(lab, [CANARY])
    assert vcprov("upgrade", "--lab", str(lab.state), "--to", "target", "--now",
                  "--soak", "0", "--limit", CANARY) == 0  # fmt: skip
    assert live(lab)[CANARY]["version"] == versions(lab, "next")[CANARY]

    out = tmp_path / "rollback.json"
    assert vcprov("rollback", "--lab", str(lab.state), "--limit", CANARY, "--json", str(out)) == 0
    result = json.loads(out.read_text())["devices"][0]
    assert result["result"] == "rolled-back"
    assert live(lab)[CANARY]["version"] == versions(lab, "target")[CANARY]
    assert configs(lab, [CANARY]) == config_before

    # the rollback kept what the device held before it: go back there by name
    folder = lab.state / "vcprov" / "snapshots" / CANARY
    regretted = sorted(folder.glob("*-before-rollback.json"))[-1]
    assert vcprov("rollback", "--lab", str(lab.state), "--limit", CANARY,
                  "--to", regretted.name) == 0  # fmt: skip
    assert live(lab)[CANARY]["version"] == versions(lab, "next")[CANARY]

    # a codec in a call is not rolled back (nothing is written to it)
    assert lab.control.dial(CANARY, "tinh-uy")["state"] == "CONNECTED"
    writes = live(lab)[CANARY]["writes"]
    assert vcprov("rollback", "--lab", str(lab.state), "--limit", CANARY) == 2
    assert live(lab)[CANARY]["writes"] == writes and live(lab)[CANARY]["in_call"]


def test_a_boot_loop_halts_the_rollout_and_a_power_cycle_and_rollback_recover(
    fresh_lab: Lab, tmp_path: Path
) -> None:
    """The incident drill of docs/lab.md: the canary never comes back from its install."""
    lab = fresh_lab
    lab.control.fault(CANARY, "firmware-boot-loop")
    config_before = configs(lab, [CANARY])
    before = live(lab)
    out = tmp_path / "rollout.json"

    rc = vcprov("upgrade", "--lab", str(lab.state), "--to", "target", "--now",
                "--soak", "0", "--json", str(out))  # fmt: skip

    assert rc == 3
    result = by_name(json.loads(out.read_text()))[CANARY]
    assert result["result"] == "failed"
    assert "ROLLBACK FAILED" in result["message"] and "power it off and on" in result["message"]
    assert live(lab)[CANARY]["power"] == "down"
    for name in LEADERSHIP:
        assert live(lab)[name]["writes"] == before[name]["writes"]

    lab.control.power_cycle(CANARY)  # boots its previous image
    lab.control.wait_power(CANARY, "up")
    assert vcprov("rollback", "--lab", str(lab.state), "--limit", CANARY) == 0
    assert live(lab)[CANARY]["version"] == versions(lab, "target")[CANARY]
    assert configs(lab, [CANARY]) == config_before


def test_make_demo_firmware_rolls_the_canary_back_and_halts(tmp_path: Path) -> None:
    """`make demo-firmware`, as an operator runs it: its own lab, a bad release on the
    canary, the automatic rollback, the halt, the later rings untouched."""
    state = tmp_path / "demo"
    exe = str(VENV_BIN / "python")
    try:
        done = subprocess.run(
            [exe, "-m", "vcprov.firmware_demo", "--state", str(state), "--net", str(next_net())],
            capture_output=True, text=True, cwd=ROOT, timeout=240,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
        out = done.stdout
        assert "=> ROLLED-BACK" in out and "HALTED" in out
        doc = json.loads((state / "rollout.json").read_text())
        results = {d["name"]: d["result"] for d in doc["devices"]}
        assert results.pop(CANARY) == "rolled-back"
        assert set(results.values()) == {"not-started"}
        assert out.count("(not touched)") == len(results)
    finally:
        subprocess.run([str(VENV_BIN / "vcprov"), "lab", "down", "--state", str(state)],
                       capture_output=True, check=False)  # fmt: skip


def test_plain_ansible_playbooks_roll_firmware_out_and_back(fresh_lab: Lab) -> None:
    """playbooks/firmware.yml and rollback.yml (role endpoint_firmware, vc_firmware,
    vc_firmware_rollback) with plain ansible-playbook, as AWX runs them."""
    from vcprov import labinv

    lab = fresh_lab
    inv = labinv.ensure(lab.state)
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
           "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")}  # fmt: skip
    two = ["ubnd-tinh-codec", "kkt-nghi-son-codec"]

    def play(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(VENV_BIN / "ansible-playbook"), "-i", str(inv), *argv],
            capture_output=True, text=True, env=env, cwd=ROOT, timeout=600,
        )  # fmt: skip

    before = live(lab)
    rollout = ["playbooks/firmware.yml", "--limit", ",".join(two),
               "-e", "endpoint_firmware_now=true", "-e", "endpoint_firmware_soak=0"]  # fmt: skip
    proc = play(*rollout, "--check")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert live(lab) == before  # check mode: the plan only
    proc = play(*rollout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "changed=1" in proc.stdout  # the one run_once task
    after = live(lab)
    nxt, old = versions(lab, "next"), versions(lab, "target")
    for name in two:
        assert after[name]["version"] == nxt[name]
    untouched = [d["name"] for d in lab.devices if d["name"] not in two]
    assert all(after[n]["writes"] == before[n]["writes"] for n in untouched)

    proc = play("playbooks/rollback.yml")  # no --limit: refused, nothing touched
    assert proc.returncode != 0 and "name the codecs to roll back with --limit" in proc.stdout
    proc = play("playbooks/rollback.yml", "--limit", two[0])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    now = live(lab)
    assert now[two[0]]["version"] == old[two[0]] and now[two[0]]["sip_registered"]
    assert now[two[1]]["version"] == nxt[two[1]]  # only the codec named
