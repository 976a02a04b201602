"""The Poly simulators over real HTTPS (httpx) and SSH (paramiko), as endpoint-apis.md A says."""

from __future__ import annotations

import ssl
import time
from typing import Any

import httpx
import paramiko
import pytest

from tests.conftest import Lab

POLY_OS = "ubnd-tinh-codec"
GS = "tinh-uy-codec"


def base(lab: Lab, name: str) -> str:
    d = lab.spec(name)
    return f"https://{d['host']}:{d['port']}"


def login(lab: Lab, name: str, form: str = "plain") -> tuple[httpx.Client, dict[str, str]]:
    d = lab.spec(name)
    client = httpx.Client(verify=False, timeout=10)
    body: dict[str, Any] = {"user": d["username"], "password": d["password"]}
    if form == "action":
        body = {"action": "Login", **body}
    resp = client.post(f"{base(lab, name)}/rest/session", json=body)
    assert resp.status_code == 200, resp.text
    assert resp.json()["success"] is True
    xsrf = client.cookies.get("XSRF-TOKEN")
    return client, ({"x-xsrf-token": xsrf} if xsrf else {})


def logout(lab: Lab, name: str, client: httpx.Client, headers: dict[str, str]) -> None:
    client.post(f"{base(lab, name)}/rest/session", json={"action": "Logout"}, headers=headers)
    client.close()


def read(lab: Lab, name: str, *keys: str) -> dict[str, Any]:
    client, headers = login(lab, name)
    try:
        resp = client.post(
            f"{base(lab, name)}/rest/config", json={"names": list(keys)}, headers=headers
        )
        return {v["name"]: v for v in resp.json()["vars"]}
    finally:
        logout(lab, name, client, headers)


def write(lab: Lab, name: str, **values: str) -> dict[str, Any]:
    client, headers = login(lab, name)
    try:
        resp = client.post(
            f"{base(lab, name)}/rest/config",
            json={"vars": [{"name": k.replace("__", "."), "value": v} for k, v in values.items()]},
            headers=headers,
        )
        assert resp.status_code == 200
        result: dict[str, Any] = resp.json()
        return result
    finally:
        logout(lab, name, client, headers)


@pytest.mark.parametrize("form", ["plain", "action"])
@pytest.mark.parametrize("name", [POLY_OS, GS])
def test_both_login_forms_give_a_session_cookie(lab: Lab, name: str, form: str) -> None:
    client, headers = login(lab, name, form)
    assert client.cookies.get("session_id")
    assert client.get(f"{base(lab, name)}/rest/system").status_code == 200
    logout(lab, name, client, headers)


def test_poly_os_sets_xsrf_and_refuses_writes_without_it(fresh_lab: Lab) -> None:
    lab = fresh_lab
    client, headers = login(lab, POLY_OS)
    assert headers, "Poly OS sets an XSRF-TOKEN cookie"
    url = f"{base(lab, POLY_OS)}/rest/config"
    assert client.post(url, json={"names": ["qos.tosType"]}).status_code == 403
    assert client.post(url, json={"names": ["qos.tosType"]}, headers=headers).status_code == 200
    before = lab.control.writes(POLY_OS)
    write_body = {"vars": [{"name": "qos.tosType", "value": "IP_Precedence"}]}
    assert client.post(url, json=write_body).status_code == 403
    assert lab.control.writes(POLY_OS) == before + 1, "a refused write is still counted"
    logout(lab, POLY_OS, client, headers)


@pytest.mark.parametrize("name", [POLY_OS, GS])
def test_no_session_and_after_logout_is_403(lab: Lab, name: str) -> None:
    assert httpx.get(f"{base(lab, name)}/rest/system", verify=False).status_code == 403
    client, headers = login(lab, name)
    client.post(f"{base(lab, name)}/rest/session", json={"action": "Logout"}, headers=headers)
    assert client.get(f"{base(lab, name)}/rest/system").status_code == 403
    client.close()


def test_wrong_password_is_refused(lab: Lab) -> None:
    d = lab.spec(GS)
    resp = httpx.post(
        f"{base(lab, GS)}/rest/session", json={"user": "admin", "password": "nope"}, verify=False
    )
    assert resp.status_code == 401 and resp.json()["success"] is False
    assert d["password"] not in resp.text


def test_system_shapes_differ_by_family(lab: Lab) -> None:
    client, h = login(lab, GS)
    gs = client.get(f"{base(lab, GS)}/rest/system").json()
    logout(lab, GS, client, h)
    assert gs["softwareVersion"] == "Release - 6.2.2.8-670021" and gs["build"] == "670021"
    assert gs["rcBatteryCondition"] == "BATTERY_GOOD"
    assert gs["serialNumber"] == lab.spec(GS)["serial"]
    client, h = login(lab, POLY_OS)
    pos = client.get(f"{base(lab, POLY_OS)}/rest/system").json()
    logout(lab, POLY_OS, client, h)
    assert pos["softwareVersion"] == "4.1.0" and pos["build"] == "466026"
    assert "rcBatteryCondition" not in pos and pos["model"] == "G7500"


def test_status_item_shapes_and_registration(lab: Lab) -> None:
    client, h = login(lab, GS)
    gs = client.get(f"{base(lab, GS)}/rest/system/status").json()
    uptime = client.get(f"{base(lab, GS)}/rest/system/uptime").json()
    logout(lab, GS, client, h)
    sip = next(i for i in gs if i["name"] == "system.status.sipserver")
    assert sip["state"] == ["up"] and "languageTag" in sip
    assert isinstance(uptime, int)
    client, h = login(lab, POLY_OS)
    pos = client.get(f"{base(lab, POLY_OS)}/rest/system/status").json()
    logout(lab, POLY_OS, client, h)
    sip = next(i for i in pos if i["name"] == "system.status.sipserver")
    assert sip["stateList"] == ["up"] and "langtag" in sip


def test_config_read_both_naming_schemes_on_poly_os(lab: Lab) -> None:
    got = read(
        lab,
        POLY_OS,
        "comm.callpreference.preferredspeed.ipoutgoing",
        "call.preferredSpeed.outgoing",
        "no.such.key",
    )
    assert got["comm.callpreference.preferredspeed.ipoutgoing"]["value"] == "2048"
    assert got["call.preferredSpeed.outgoing"]["value"] == "2048"
    assert got["no.such.key"]["result"] != "NOERROR"


def test_config_write_per_var_result_and_value_space(fresh_lab: Lab) -> None:
    lab = fresh_lab
    before = lab.control.writes(POLY_OS)
    out = write(
        lab,
        POLY_OS,
        comm__callpreference__preferredspeed__ipoutgoing="1024",
        qos__diffServ__audio="70",
        bogus__key="1",
    )
    results = {v["name"]: v["result"] for v in out["vars"]}
    assert results["comm.callpreference.preferredspeed.ipoutgoing"] == "NOERROR"
    assert results["qos.diffServ.audio"] != "NOERROR"
    assert results["bogus.key"] != "NOERROR"
    assert "rebootNeeded" in out
    got = read(lab, POLY_OS, "call.preferredSpeed.outgoing", "qos.diffServ.audio")
    assert got["call.preferredSpeed.outgoing"]["value"] == "1024"
    assert got["qos.diffServ.audio"]["value"] == "46"
    assert lab.control.writes(POLY_OS) == before + 1
    out = write(lab, POLY_OS, sec__web__httpsOnly="false")
    assert out["rebootNeeded"] is True


def test_reads_count_no_write(lab: Lab) -> None:
    before = lab.control.writes()
    for name in (POLY_OS, GS):
        read(lab, name, "qos.diffServ.audio")
        client, h = login(lab, name)
        for path in ("/rest/system", "/rest/system/status", "/rest/conferences"):
            assert client.get(base(lab, name) + path).status_code == 200
        logout(lab, name, client, h)
    assert lab.control.writes() == before


def test_provisioning_config_hides_secrets(lab: Lab) -> None:
    client, h = login(lab, POLY_OS)
    text = client.get(f"{base(lab, POLY_OS)}/rest/provisioning/config").text
    logout(lab, POLY_OS, client, h)
    assert text.startswith("<PHONE_CONFIG><ALL ")
    assert 'sec.auth.admin.password="REMOVED_SECURE_CONTENT"' in text
    assert text.count('="') > 350
    assert lab.spec(POLY_OS)["password"] not in text


def test_conferences_idle_shapes_and_a_call_between_sites(fresh_lab: Lab) -> None:
    lab = fresh_lab
    client, h = login(lab, GS)
    idle = client.get(f"{base(lab, GS)}/rest/conferences").json()
    assert idle[0]["id"] == "PENDING" and idle[0]["isPendingConference"] is True
    logout(lab, GS, client, h)
    client, h = login(lab, POLY_OS)
    url = f"{base(lab, POLY_OS)}/rest/conferences"
    assert client.get(url).json() == []
    resp = client.post(url, json={"address": "so-tttt", "rate": 4096, "dialType": "SIP"}, headers=h)
    assert resp.status_code == 201, resp.text
    conn = resp.json()["connections"][0]
    assert conn["state"] == "CONNECTED" and conn["rate"] == 2048 and conn["encrypted"] is True
    assert lab.control.devices()["so-tttt-codec"]["in_call"]
    cid = resp.json()["id"]
    assert client.delete(f"{url}/{cid}", headers=h).status_code == 200
    assert client.get(url).json() == []
    logout(lab, POLY_OS, client, h)
    assert not lab.control.devices()["so-tttt-codec"]["in_call"]


def test_in_call_fault_shows_a_call(fresh_lab: Lab) -> None:
    fresh_lab.control.fault(GS, "in-call")
    client, h = login(fresh_lab, GS)
    confs = client.get(f"{base(fresh_lab, GS)}/rest/conferences").json()
    status = client.get(f"{base(fresh_lab, GS)}/rest/system/status").json()
    logout(fresh_lab, GS, client, h)
    assert confs[0]["id"] != "PENDING" and confs[0]["connections"][0]["state"] == "CONNECTED"
    assert confs[-1]["id"] == "PENDING"
    assert next(i for i in status if i["name"] == "system.status.inacall")["state"] == ["on"]


def test_session_cap_and_exhaustion(fresh_lab: Lab) -> None:
    lab = fresh_lab
    d = lab.spec(GS)
    clients = []
    for _ in range(10):
        c = httpx.Client(verify=False)
        body = {"user": d["username"], "password": d["password"]}
        assert c.post(f"{base(lab, GS)}/rest/session", json=body).status_code == 200
        clients.append(c)
    resp = httpx.post(f"{base(lab, GS)}/rest/session", json=body, verify=False)
    assert resp.status_code == 409 and resp.json()["reason"] == "SessionLimitReached"
    for c in clients:
        c.post(f"{base(lab, GS)}/rest/session", json={"action": "Logout"})
        c.close()
    login(lab, GS)[0].close()  # a slot is free again (left open: expiry below)
    lab.control.fault(POLY_OS, "session-exhaustion")
    p = lab.spec(POLY_OS)
    body = {"user": p["username"], "password": p["password"]}
    resp = httpx.post(f"{base(lab, POLY_OS)}/rest/session", json=body, verify=False)
    assert resp.status_code == 409


def test_idle_session_expires(fresh_lab: Lab) -> None:
    write(fresh_lab, GS, sec__web__idleSessionTimeout="1")  # 1 minute, x 0.01 = 0.6 s
    client, _ = login(fresh_lab, GS)
    assert client.get(f"{base(fresh_lab, GS)}/rest/system").status_code == 200
    time.sleep(1.0)
    assert client.get(f"{base(fresh_lab, GS)}/rest/system").status_code == 403
    client.close()


def cert_of(lab: Lab, name: str) -> bytes:
    d = lab.spec(name)
    pem = ssl.get_server_certificate((d["host"], d["port"]))
    return pem.encode()


def test_reboot_goes_away_and_comes_back_with_a_new_certificate(fresh_lab: Lab) -> None:
    lab = fresh_lab
    before = cert_of(lab, POLY_OS)
    client, h = login(lab, POLY_OS)
    assert (
        client.post(
            f"{base(lab, POLY_OS)}/rest/system/reboot", json={"action": "reboot"}, headers=h
        ).status_code
        == 200
    )
    client.close()
    lab.control.wait_power(POLY_OS, "rebooting", timeout=5)
    dev = lab.control.wait_power(POLY_OS, "up", timeout=30)
    assert dev["last_shutdown"] == "UserInitiated"
    assert cert_of(lab, POLY_OS) != before


def upgrade_via_pull(lab: Lab, name: str, url: str) -> None:
    write(lab, name, upgrade__auto__enable="true", upgrade__auto__server__address=url)
    client, h = login(lab, name)
    client.post(f"{base(lab, name)}/rest/system/reboot", json={"action": "reboot"}, headers=h)
    client.close()


def wait_version(lab: Lab, name: str, version: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dev = lab.control.devices()[name]
        if dev["version"] == version and dev["power"] == "up":
            return dev
        time.sleep(0.1)
    raise AssertionError(f"{name} is not on {version}: {lab.control.devices()[name]}")


def test_firmware_pull_upgrades_poly_os_to_next(fresh_lab: Lab, package_server: str) -> None:
    url = f"{package_server}/poly-os/poly-os-4.2.1.pkg"
    upgrade_via_pull(fresh_lab, POLY_OS, url)
    dev = wait_version(fresh_lab, POLY_OS, "4.2.1")
    assert dev["previous_version"] == "4.1.0" and dev["last_shutdown"] == "Upgrade"
    client, h = login(fresh_lab, POLY_OS)
    assert (
        client.get(f"{base(fresh_lab, POLY_OS)}/rest/system").json()["softwareVersion"] == "4.2.1"
    )
    logout(fresh_lab, POLY_OS, client, h)


def test_group_series_refuses_a_package_for_another_family(
    fresh_lab: Lab, package_server: str
) -> None:
    upgrade_via_pull(fresh_lab, GS, f"{package_server}/poly-os/poly-os-4.2.1.pkg")
    fresh_lab.control.wait_power(GS, "up", timeout=30)
    time.sleep(1.0)
    assert fresh_lab.control.devices()[GS]["version"] == "6.2.2.8-670021"


@pytest.mark.parametrize("fault", ["firmware-download-fail", "firmware-install-fail"])
def test_failed_download_or_install_keeps_the_version(
    fresh_lab: Lab, package_server: str, fault: str
) -> None:
    fresh_lab.control.fault(GS, fault)
    upgrade_via_pull(
        fresh_lab, GS, f"{package_server}/poly-group-series/poly-group-series-6.2.2.10-690087.pkg"
    )
    fresh_lab.control.wait_power(GS, "up", timeout=30)
    deadline = time.monotonic() + 10
    while fault in fresh_lab.control.devices()[GS]["faults"] and time.monotonic() < deadline:
        time.sleep(0.1)
    dev = fresh_lab.control.devices()[GS]
    assert fault not in dev["faults"], "the fault fired"
    assert dev["version"] == "6.2.2.8-670021"


def test_boot_loop_until_power_cycle_then_previous_image(
    fresh_lab: Lab, package_server: str
) -> None:
    lab = fresh_lab
    lab.control.fault(GS, "firmware-boot-loop")
    upgrade_via_pull(
        lab, GS, f"{package_server}/poly-group-series/poly-group-series-6.2.2.10-690087.pkg"
    )
    lab.control.wait_power(GS, "down", timeout=30)
    time.sleep(0.5)
    assert lab.control.devices()[GS]["power"] == "down"
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{base(lab, GS)}/rest/system", verify=False, timeout=2)
    lab.control.power_cycle(GS)
    dev = lab.control.wait_power(GS, "up", timeout=30)
    assert dev["version"] == "6.2.2.8-670021"


def test_config_loss_and_no_media(fresh_lab: Lab, package_server: str) -> None:
    lab = fresh_lab
    lab.control.fault(POLY_OS, "firmware-config-loss")
    upgrade_via_pull(lab, POLY_OS, f"{package_server}/poly-os/poly-os-4.2.1.pkg")
    dev = wait_version(lab, POLY_OS, "4.2.1")
    assert not dev["sip_registered"]
    assert (
        read(lab, POLY_OS, "call.preferredSpeed.outgoing")["call.preferredSpeed.outgoing"]["value"]
        == "6144"
    )
    lab.control.fault(GS, "firmware-no-media")
    upgrade_via_pull(
        lab, GS, f"{package_server}/poly-group-series/poly-group-series-6.2.2.10-690087.pkg"
    )
    dev = wait_version(lab, GS, "6.2.2.10-690087")
    assert not dev["sip_registered"] and dev["broken"]["kind"] == "no-media"
    assert lab.control.dial(GS, "so-tttt")["state"] == "FAILED"


def test_rate_limit_slow_and_bad_credentials(fresh_lab: Lab) -> None:
    lab = fresh_lab
    lab.control.fault(GS, "rate-limit")
    assert httpx.get(f"{base(lab, GS)}/rest/system", verify=False).status_code == 503
    lab.control.clear(GS)
    lab.control.fault(GS, "slow", delay=1)
    t0 = time.monotonic()
    httpx.get(f"{base(lab, GS)}/rest/system", verify=False)
    assert time.monotonic() - t0 >= 1.0
    lab.control.clear(GS)


def shell(lab: Lab, name: str) -> tuple[paramiko.SSHClient, Any, str]:
    d = lab.spec(name)
    ssh = paramiko.SSHClient()
    ssh.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    ssh.connect(
        d["host"],
        port=d["ssh_port"],
        username=d["username"],
        password=d["password"],
        look_for_keys=False,
        allow_agent=False,
        timeout=10,
    )
    chan = ssh.invoke_shell()
    chan.settimeout(5)
    return ssh, chan, read_until(chan, "SNMP Enabled:")


def read_until(chan: Any, marker: str, timeout: float = 5) -> str:
    buf = ""
    deadline = time.monotonic() + timeout
    while marker not in buf and time.monotonic() < deadline:
        if chan.recv_ready():
            buf += chan.recv(65535).decode(errors="replace")
        else:
            time.sleep(0.02)
    return buf


def cmd(chan: Any, line: str, marker: str) -> str:
    chan.send(line + "\r")
    return read_until(chan, marker)


def test_group_series_cli(fresh_lab: Lab) -> None:
    ssh, chan, banner = shell(fresh_lab, GS)
    try:
        assert "Model: RealPresence Group 310" in banner and "\r\r\n" in banner
        assert 'version "Release - 6.2.2.8-670021"' in cmd(chan, "version", 'version "')
        out = cmd(chan, "systemsetting get sipregistrarserver", "sip.vc.thanhhoa.lab")
        assert "systemsetting sipregistrarserver sip.vc.thanhhoa.lab" in out
        assert "error: command not found" in cmd(chan, "frobnicate", "error:")
        assert "status end" in cmd(chan, "status", "status end")
        assert "system is not in a call" in cmd(chan, "callinfo all", "system is not in a call")
        before = fresh_lab.control.writes(GS)
        assert "diffservaudio 40" in cmd(chan, "diffservaudio set 40", "diffservaudio 40")
        assert fresh_lab.control.writes(GS) == before + 1
    finally:
        ssh.close()
    got = read(fresh_lab, GS, "qos.diffServ.audio")
    assert got["qos.diffServ.audio"]["value"] == "40"


def test_group_series_cli_drops_mid_config(fresh_lab: Lab) -> None:
    fresh_lab.control.fault(GS, "ssh-drop-mid-config", after=1)
    ssh, chan, _ = shell(fresh_lab, GS)
    try:
        cmd(chan, "diffservaudio set 40", "diffservaudio 40")
        chan.send("diffservvideo set 30\r")
        time.sleep(0.5)
        assert chan.closed or chan.exit_status_ready() or not ssh.get_transport().is_active()  # type: ignore[union-attr]
    finally:
        ssh.close()
    got = read(fresh_lab, GS, "qos.diffServ.audio", "qos.diffServ.video")
    assert got["qos.diffServ.audio"]["value"] == "40" and got["qos.diffServ.video"]["value"] == "34"


def test_booleans_and_session_settings_have_value_spaces(fresh_lab: Lab) -> None:
    out = write(fresh_lab, GS, sec__web__httpsOnly="maybe", sec__access__maxSessions="0")
    assert all(v["result"] != "NOERROR" for v in out["vars"]), out
    out = write(fresh_lab, GS, sec__web__httpsOnly="FALSE")
    assert out["vars"][0]["result"] == "NOERROR"
    assert read(fresh_lab, GS, "sec.web.httpsOnly")["sec.web.httpsOnly"]["value"] == "false"


def test_group_series_password_change(fresh_lab: Lab) -> None:
    lab = fresh_lab
    client, h = login(lab, GS)
    url = base(lab, GS)
    body = {
        "ids": None,
        "passwords": [{"password": "N3w-pass", "passwordType": "Admin"}],
        "save": True,
    }
    refused = client.post(f"{url}/rest/security/profile/low/verify", json=body).json()
    assert refused["passwordResults"][0]["error"] != "NOERROR"
    ok = client.post(
        f"{url}/rest/session",
        json={
            "action": "VerifyIdentity",
            "passwordType": "Admin",
            "password": lab.spec(GS)["password"],
        },
    ).json()
    assert ok == {"verified": True}
    done = client.post(f"{url}/rest/security/profile/low/verify", json=body).json()
    assert done["passwordResults"][0]["error"] == "NOERROR"
    logout(lab, GS, client, h)
    resp = httpx.post(
        f"{url}/rest/session", json={"user": "admin", "password": "N3w-pass"}, verify=False
    )
    assert resp.status_code == 200
