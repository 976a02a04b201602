"""`vcprov lab` end to end: the real CLI, the background process, every device answering
over its own protocol through vcprov's drivers."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import VENV_BIN, next_net
from vcprov.devices import AuthFailed, Target, Unreachable, driver_for
from vcprov.lab import manage
from vcprov.reachability import ask_all


def vcprov(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VENV_BIN / "vcprov"), *args], capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def cli_lab(tmp_path_factory: pytest.TempPathFactory):
    state = tmp_path_factory.mktemp("clilab")
    net = str(next_net())
    out = vcprov(
        "lab", "up", "--sites", "4", "--state", str(state), "--net", net, "--time-scale", "0.01"
    )
    assert out.returncode == 0, out.stderr
    assert "8 devices answering" in out.stdout
    yield state
    vcprov("lab", "down", "--state", str(state))


def targets(state: Path) -> dict[str, Target]:
    doc = json.loads((state / "lab.json").read_text())
    return {d["name"]: Target.from_lab(d, timeout=10) for d in doc["devices"]}


def test_lab_json_lists_every_device_and_is_private(cli_lab: Path) -> None:
    doc = json.loads((cli_lab / "lab.json").read_text())
    assert len(doc["devices"]) == 8
    assert (cli_lab / "lab.json").stat().st_mode & 0o077 == 0


def test_every_device_answers_over_its_own_protocol_and_reads_write_nothing(cli_lab: Path) -> None:
    client = manage.LabClient(cli_lab)
    before = client.writes()
    answers = ask_all(list(targets(cli_lab).values()))
    assert [a.name for a in answers if not a.ok] == []
    for a in answers:
        assert a.version, a
    assert client.writes() == before


def test_status_shows_every_device(cli_lab: Path) -> None:
    out = vcprov("lab", "status", "--state", str(cli_lab), "--json")
    assert out.returncode == 0, out.stderr
    devices = json.loads(out.stdout)["devices"]
    assert len(devices) == 8 and all(d["power"] == "up" for d in devices)
    assert "password" not in out.stdout


def test_unreachable_fault_is_a_refused_connection_until_cleared(cli_lab: Path) -> None:
    t = targets(cli_lab)["tinh-uy-sw"]
    assert (
        vcprov("lab", "fault", "tinh-uy-sw", "unreachable", "--state", str(cli_lab)).returncode == 0
    )
    with pytest.raises(Unreachable), driver_for(t) as drv:
        drv.facts()
    assert (
        vcprov(
            "lab", "fault", "tinh-uy-sw", "unreachable", "--clear", "--state", str(cli_lab)
        ).returncode
        == 0
    )
    with driver_for(t) as drv:
        assert drv.facts().version


def test_bad_credentials_fault_refuses_logins(cli_lab: Path) -> None:
    client = manage.LabClient(cli_lab)
    for name in ("ubnd-tinh-codec", "kkt-nghi-son-codec", "tinh-uy-codec", "so-tttt-sw"):
        client.fault(name, "bad-credentials")
        try:
            with pytest.raises(AuthFailed), driver_for(targets(cli_lab)[name]) as drv:
                drv.facts()
        finally:
            client.clear(name, "bad-credentials")


def test_unknown_device_or_fault_is_a_clear_error(cli_lab: Path) -> None:
    out = vcprov("lab", "fault", "no-such-sw", "slow", "--state", str(cli_lab))
    assert out.returncode == 1 and "no-such-sw" in out.stderr
    out = vcprov("lab", "fault", "tinh-uy-sw", "rate-limit", "--state", str(cli_lab))
    assert out.returncode == 1 and "does not apply" in out.stderr


def test_in_call_fault_is_visible(cli_lab: Path) -> None:
    client = manage.LabClient(cli_lab)
    client.fault("tinh-uy-codec", "in-call")
    assert client.devices()["tinh-uy-codec"]["in_call"]
    client.clear("tinh-uy-codec", "in-call")
    assert not client.devices()["tinh-uy-codec"]["in_call"]


def test_state_survives_down_and_up(tmp_path: Path) -> None:
    net = str(next_net())
    args = ["--state", str(tmp_path)]
    assert (
        vcprov("lab", "up", "--sites", "4", "--net", net, "--time-scale", "0.01", *args).returncode
        == 0
    )
    try:
        out = vcprov("lab", "reset", "ubnd-tinh-codec", "--factory", *args)
        assert out.returncode == 0, out.stderr
        factory = manage.LabClient(tmp_path).devices()["ubnd-tinh-codec"]
        assert vcprov("lab", "down", *args).returncode == 0
        assert not manage.is_running(tmp_path)
        assert vcprov("lab", "up", "--time-scale", "0.01", *args).returncode == 0
        again = manage.LabClient(tmp_path).devices()["ubnd-tinh-codec"]
        assert again["version"] == factory["version"] != "4.1.0"
        doc = json.loads((tmp_path / "lab.json").read_text())
        spec = next(d for d in doc["devices"] if d["name"] == "ubnd-tinh-codec")
        factory_target = Target.from_lab(
            spec, username=spec["factory_username"], password=spec["factory_password"]
        )
        with driver_for(factory_target) as drv:
            assert drv.facts().version == factory["version"]
    finally:
        vcprov("lab", "down", *args)


def test_power_cycle_reboots(cli_lab: Path) -> None:
    client = manage.LabClient(cli_lab)
    boots = client.devices()["kkt-nghi-son-sw"]["boots"]
    assert vcprov("lab", "power-cycle", "kkt-nghi-son-sw", "--state", str(cli_lab)).returncode == 0
    dev = client.wait_power("kkt-nghi-son-sw", "up", timeout=30)
    assert dev["boots"] == boots + 1
    assert dev["last_shutdown"] == "PowerFailure"
