"""The switch simulators with unmodified netmiko (cisco_ios, cisco_xe, huawei_vrp)."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
from netmiko import BaseConnection, ConnectHandler
from netmiko.exceptions import ConfigInvalidException

from tests.conftest import Lab
from vcprov.lab.base import LabContext
from vcprov.lab.cli_switch import CiscoIOS, CiscoIOSXE, HuaweiVRP

TYPES = {"cisco-ios": "cisco_ios", "cisco-iosxe": "cisco_xe", "huawei-vrp": "huawei_vrp"}
ERRORS = r"^% Invalid|^Error:"
IOS, XE, HUAWEI = "tinh-uy-sw", "ubnd-tinh-sw", "kkt-nghi-son-sw"
LONG = "so-tttt-sw"  # IOS-XE with a hostname longer than 16 characters


def connect(lab: Lab, name: str) -> BaseConnection:
    d = lab.spec(name)
    return ConnectHandler(
        device_type=TYPES[d["family"]],
        host=d["host"],
        port=d["port"],
        username=d["username"],
        password=d["password"],
        fast_cli=True,
    )


def show_run(conn: BaseConnection, huawei: bool) -> str:
    return str(
        conn.send_command("display current-configuration" if huawei else "show running-config")
    )


@pytest.mark.parametrize("name", [IOS, XE, LONG, HUAWEI])
def test_netmiko_connects_and_reads_the_standard_port(lab: Lab, name: str) -> None:
    before = lab.control.writes(name)
    conn = connect(lab, name)
    try:
        huawei = name == HUAWEI
        text = show_run(conn, huawei)
        port = lab.spec(name)["codec_port"]
        assert f"interface {port}" in text
        if huawei:
            assert text.startswith("!Software Version") and text.rstrip().endswith("return")
            assert "trust dscp override" in text and "stp edged-port enable" in text
        else:
            assert "spanning-tree portfast" in text and "switchport access vlan 120" in text
            assert "ntp clock-period" in text or name != IOS
        if name == IOS:
            assert "mls qos trust dscp" in text and "\nmls qos" in text
        if name in (XE, LONG):
            assert "service-policy output VC-EDGE-OUT" in text and "priority level 1" in text
    finally:
        conn.disconnect()
    assert lab.control.writes(name) == before


@pytest.mark.parametrize("name", [IOS, XE, LONG])
def test_cisco_config_save_and_read_back(fresh_lab: Lab, name: str) -> None:
    conn = connect(fresh_lab, name)
    before = fresh_lab.control.writes(name)
    try:
        conn.send_config_set(
            [
                "interface GigabitEthernet1/0/5",
                "switchport access vlan 130",
                "no spanning-tree portfast",
            ],
            error_pattern=ERRORS,
            cmd_verify=True,
        )
        running = str(conn.send_command("show running-config interface GigabitEthernet1/0/5"))
        assert "switchport access vlan 130" in running and "vlan 120" not in running
        assert "portfast" not in running
        assert "vlan 130" not in str(conn.send_command("show startup-config"))
        conn.save_config()
        assert "switchport access vlan 130" in str(conn.send_command("show startup-config"))
        assert conn.find_prompt().endswith("#")
    finally:
        conn.disconnect()
    assert fresh_lab.control.writes(name) == before + 3 + 1  # 3 config lines + write memory


def test_huawei_config_save_and_read_back(fresh_lab: Lab) -> None:
    conn = connect(fresh_lab, HUAWEI)
    before = fresh_lab.control.writes(HUAWEI)
    try:
        assert conn.find_prompt() == "<SW-KKT-NGHI-SON>"
        # netmiko's timing-based Huawei config-mode check: about 9 s (switch-qos.md 3.7).
        conn.send_config_set(
            ["interface GigabitEthernet0/0/5", "port default vlan 130", "trust 8021p"],
            error_pattern=ERRORS,
            cmd_verify=True,
        )
        text = str(
            conn.send_command("display current-configuration interface GigabitEthernet0/0/5")
        )
        assert (
            "port default vlan 130" in text and "trust 8021p" in text and "trust dscp" not in text
        )
        assert "vlan 130" not in str(conn.send_command("display saved-configuration"))
        out = conn.save_config()
        assert "successfully" in out
        assert "port default vlan 130" in str(conn.send_command("display saved-configuration"))
    finally:
        conn.disconnect()
    assert fresh_lab.control.writes(HUAWEI) == before + 3 + 1  # 3 config lines + one save


@pytest.mark.parametrize("name", [IOS, HUAWEI])
def test_invalid_lines_get_the_platform_error(fresh_lab: Lab, name: str) -> None:
    conn = connect(fresh_lab, name)
    port = fresh_lab.spec(name)["codec_port"]
    try:
        with pytest.raises(ConfigInvalidException) as err:
            conn.send_config_set([f"interface {port}", "bogus command here"], error_pattern=ERRORS)
        assert ("% Invalid" if name == IOS else "Error:") in str(err.value)
        # netmiko leaves the session in config mode; stay there (a Huawei config-mode check
        # costs 2 s of netmiko timing reads).
        with pytest.raises(ConfigInvalidException):
            conn.send_config_set(
                [
                    f"interface {port}",
                    "switchport access vlan 5000" if name == IOS else "port default vlan 5000",
                ],
                error_pattern=ERRORS,
                enter_config_mode=False,
                exit_config_mode=False,
            )
        conn.send_command("return" if name == HUAWEI else "end", expect_string=r"[>#]\s*$")
        text = show_run(conn, name == HUAWEI)
    finally:
        conn.disconnect()
    assert "bogus" not in text and "5000" not in text


def test_iosxe_rejects_mls_qos_and_unknown_policies(fresh_lab: Lab) -> None:
    conn = connect(fresh_lab, XE)
    port = "int Gi1/0/5"  # abbreviated as operators type it; stored with the full name
    try:
        with pytest.raises(ConfigInvalidException):
            conn.send_config_set(["mls qos"], error_pattern=ERRORS)
        conn.exit_config_mode()
        with pytest.raises(ConfigInvalidException):
            conn.send_config_set(
                [port, "service-policy output NO-SUCH-POLICY"], error_pattern=ERRORS
            )
        conn.exit_config_mode()
        conn.send_config_set(
            [
                "policy-map VC-NEW",
                "class VC-AUDIO",
                "priority level 1 percent 20",
                port,
                "service-policy output VC-NEW",
            ],
            error_pattern=ERRORS,
            cmd_verify=True,
        )
        text = str(conn.send_command("show running-config"))
        policy = str(conn.send_command("show policy-map interface Gi1/0/5"))
    finally:
        conn.disconnect()
    assert "NO-SUCH-POLICY" not in text and "\nmls qos" not in text
    assert "interface Gi1/0/5" not in text
    lines = text.splitlines()
    at = lines.index("policy-map VC-NEW")
    assert lines[at + 1 : at + 3] == [" class VC-AUDIO", "  priority level 1 percent 20"]
    # re-setting the output policy replaces the old one
    assert (
        "service-policy output VC-NEW" in text and "service-policy output VC-EDGE-OUT" not in text
    )
    assert "Service-policy output: VC-NEW" in policy


def test_textfsm_parsing(lab: Lab) -> None:
    conn = connect(lab, IOS)
    try:
        ver = conn.send_command("show version", use_textfsm=True)
        assert isinstance(ver, list) and ver[0]["version"] == "15.2(7)E8"
        assert ver[0]["hostname"] == "SW-TINH-UY" and ver[0]["serial"] == [lab.spec(IOS)["serial"]]
        sw = conn.send_command("show interfaces switchport", use_textfsm=True)
        assert isinstance(sw, list)
        port = next(p for p in sw if p["interface"] == "Gi1/0/5")
        assert port["access_vlan"] == "120" and port["admin_mode"] == "static access"
        status = conn.send_command("show interfaces status", use_textfsm=True)
        assert isinstance(status, list)
        row = next(p for p in status if p["port"] == "Gi1/0/5")
        assert (row["status"], row["vlan_id"]) == ("connected", "120")
        codec = lab.spec("tinh-uy-codec")
        for command in ("show cdp neighbors", "show lldp neighbors"):
            table = conn.send_command(command, use_textfsm=True)
            assert isinstance(table, list) and table[0]["neighbor_name"] == "tinh-uy-codec"
        for command in ("show cdp neighbors detail", "show lldp neighbors detail"):
            table = conn.send_command(command, use_textfsm=True)
            assert isinstance(table, list) and table[0]["neighbor_name"] == "tinh-uy-codec"
            assert table[0]["mgmt_address"] == codec["host"]
            assert codec["model"] in table[0]["neighbor_description"]
        assert "trust state: trust dscp" in str(conn.send_command("show mls qos interface Gi1/0/5"))
    finally:
        conn.disconnect()
    conn = connect(lab, HUAWEI)
    try:
        ver = conn.send_command("display version", use_textfsm=True)
        assert isinstance(ver, list) and ver[0]["vrp_version"] == "5.170"
        assert "V200R019C10SPC500" in ver[0]["product_version"]
        assert ver[0]["model"].startswith(lab.spec(HUAWEI)["model"]) and ver[0]["uptime"]
        lldp = conn.send_command("display lldp neighbor", use_textfsm=True)
        assert isinstance(lldp, list) and lldp[0]["neighbor_name"] == "kkt-nghi-son-codec"
        assert lldp[0]["local_interface"] == lab.spec(HUAWEI)["codec_port"]
    finally:
        conn.disconnect()


def test_ssh_drop_mid_config_leaves_the_first_lines_applied(fresh_lab: Lab) -> None:
    fresh_lab.control.fault(IOS, "ssh-drop-mid-config", after=2)
    conn = connect(fresh_lab, IOS)
    with pytest.raises(Exception):  # noqa: B017 - netmiko raises OSError/EOFError/ReadTimeout
        conn.send_config_set(
            [
                "interface GigabitEthernet1/0/5",
                "switchport access vlan 130",
                "description half done",
                "no spanning-tree portfast",
            ],
            read_timeout=2,  # netmiko does not notice a closed channel: it times out
        )
    fresh_lab.control.clear(IOS)
    conn = connect(fresh_lab, IOS)
    try:
        text = str(conn.send_command("show running-config interface GigabitEthernet1/0/5"))
    finally:
        conn.disconnect()
    assert "switchport access vlan 130" in text
    assert "half done" not in text and "spanning-tree portfast" in text


def test_reboot_loses_unsaved_changes(fresh_lab: Lab) -> None:
    conn = connect(fresh_lab, IOS)
    conn.send_config_set(["interface GigabitEthernet1/0/5", "switchport access vlan 130"])
    conn.disconnect()
    fresh_lab.control.power_cycle(IOS)
    fresh_lab.control.wait_power(IOS, "up", timeout=30)
    conn = connect(fresh_lab, IOS)
    try:
        assert "vlan 130" not in str(conn.send_command("show running-config"))
    finally:
        conn.disconnect()


def test_session_exhaustion_and_slow(fresh_lab: Lab) -> None:
    fresh_lab.control.fault(HUAWEI, "session-exhaustion")
    d = fresh_lab.spec(HUAWEI)
    with pytest.raises(Exception):  # noqa: B017 - the session is closed before any prompt
        ConnectHandler(
            device_type="huawei_vrp",
            host=d["host"],
            port=d["port"],
            username=d["username"],
            password=d["password"],
            read_timeout_override=2,
        )
    fresh_lab.control.clear(HUAWEI)
    conn = connect(fresh_lab, IOS)
    try:
        fresh_lab.control.fault(IOS, "slow", delay=1)
        t0 = time.monotonic()
        conn.send_command("show clock")
        assert time.monotonic() - t0 >= 1.0
    finally:
        fresh_lab.control.clear(IOS)
        conn.disconnect()


@pytest.mark.parametrize("name", [IOS, XE, HUAWEI])
def test_deviations_change_running_and_startup(lab: Lab, name: str, tmp_path: Path) -> None:
    (tmp_path / "devices").mkdir()
    spec = lab.spec(name)
    cls = {"cisco-ios": CiscoIOS, "cisco-iosxe": CiscoIOSXE, "huawei-vrp": HuaweiVRP}
    dev = cls[spec["family"]](LabContext(state_dir=tmp_path), spec, None)
    standard = dev.standard_config()
    assert standard["running"] == standard["startup"]
    for seed in range(5):
        config = dev.standard_config()
        done = dev.deviate(config, random.Random(seed))
        assert 1 <= len(done) <= 3
        assert config["running"] != standard["running"]
        assert config["startup"] == config["running"]
    factory = dev.factory_config()
    text = dev.render(factory["running"])
    assert ("sysname HUAWEI" if name == HUAWEI else "hostname Switch") in text
    assert "trust" not in text and "VC codec" not in text
