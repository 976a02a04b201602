"""The switch simulators with unmodified netmiko (cisco_ios, cisco_xe, huawei_vrp)."""

from __future__ import annotations

import time

import pytest
from netmiko import BaseConnection, ConnectHandler
from netmiko.exceptions import ConfigInvalidException

from tests.conftest import Lab

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
    try:
        assert conn.find_prompt() == "<SW-KKT-NGHI-SON>"
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


@pytest.mark.parametrize("name", [IOS, HUAWEI])
def test_invalid_lines_get_the_platform_error(fresh_lab: Lab, name: str) -> None:
    conn = connect(fresh_lab, name)
    port = fresh_lab.spec(name)["codec_port"]
    try:
        with pytest.raises(ConfigInvalidException) as err:
            conn.send_config_set([f"interface {port}", "bogus command here"], error_pattern=ERRORS)
        assert ("% Invalid" if name == IOS else "Error:") in str(err.value)
        conn.exit_config_mode()
        with pytest.raises(ConfigInvalidException):
            conn.send_config_set(
                [
                    f"interface {port}",
                    "switchport access vlan 5000" if name == IOS else "port default vlan 5000",
                ],
                error_pattern=ERRORS,
            )
        conn.exit_config_mode()
    finally:
        conn.disconnect()


def test_iosxe_rejects_mls_qos(fresh_lab: Lab) -> None:
    conn = connect(fresh_lab, XE)
    try:
        with pytest.raises(ConfigInvalidException):
            conn.send_config_set(["mls qos"], error_pattern=ERRORS)
        conn.exit_config_mode()
    finally:
        conn.disconnect()


def test_textfsm_parsing(lab: Lab) -> None:
    conn = connect(lab, IOS)
    try:
        ver = conn.send_command("show version", use_textfsm=True)
        assert isinstance(ver, list) and ver[0]["version"] == "15.2(7)E8"
        assert ver[0]["hostname"] == "SW-TINH-UY" and ver[0]["serial"] == [lab.spec(IOS)["serial"]]
        sw = conn.send_command("show interfaces switchport", use_textfsm=True)
        port = next(p for p in sw if p["interface"] == "Gi1/0/5")  # type: ignore[union-attr]
        assert port["access_vlan"] == "120"
        cdp = conn.send_command("show cdp neighbors", use_textfsm=True)
        assert isinstance(cdp, list) and cdp[0]["neighbor_name"] == "tinh-uy-codec"
        assert "trust state: trust dscp" in str(conn.send_command("show mls qos interface Gi1/0/5"))
    finally:
        conn.disconnect()
    conn = connect(lab, HUAWEI)
    try:
        ver = conn.send_command("display version", use_textfsm=True)
        assert isinstance(ver, list) and ver[0]["vrp_version"] == "5.170"
        assert "V200R019C10SPC500" in ver[0]["product_version"]
        lldp = str(conn.send_command("display lldp neighbor"))
        assert "kkt-nghi-son-codec" in lldp
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
            ]
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
    with pytest.raises(Exception):  # noqa: B017 - the session is closed before any prompt
        connect(fresh_lab, HUAWEI)
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
