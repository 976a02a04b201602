"""The Cisco RoomOS simulator over real HTTPS (httpx), as endpoint-apis.md part B says."""

from __future__ import annotations

import asyncio
import ssl
import time
import xml.etree.ElementTree as ET
from typing import Any

import httpx
import pytest

from tests.conftest import Lab
from vcprov.lab.xapi import RateLimiter

CODEC = "kkt-nghi-son-codec"
OLD, NEW = "ce11.14.4.0.b7ab7ab3b9f", "ce11.17.3.0.81a0d1f5a64"


def url(lab: Lab, path: str) -> str:
    d = lab.spec(CODEC)
    return f"https://{d['host']}:{d['port']}{path}"


def session(lab: Lab) -> httpx.Client:
    d = lab.spec(CODEC)
    client = httpx.Client(verify=False, timeout=10)
    resp = client.post(url(lab, "/xmlapi/session/begin"), auth=(d["username"], d["password"]))
    assert resp.status_code == 204
    return client


def result_status(res: ET.Element) -> str:
    """Status of a command result (``<XResult status="OK"/>``, named after the command)."""
    found = [e for e in res if e.tag.endswith("Result")]
    assert found, ET.tostring(res)
    return str(found[0].get("status"))


def putxml(client: httpx.Client, lab: Lab, body: str) -> ET.Element:
    resp = client.post(url(lab, "/putxml"), content=body, headers={"Content-Type": "text/xml"})
    assert resp.status_code == 200, resp.text
    return ET.fromstring(resp.text)


def status(lab: Lab, location: str, auth: tuple[str, str] | None = None) -> ET.Element:
    """GET /getxml with Basic auth (the device's current credentials by default)."""
    d = lab.spec(CODEC)
    resp = httpx.get(
        url(lab, "/getxml"),
        params={"location": location},
        auth=auth or (d["username"], d["password"]),
        verify=False,
        timeout=10,
    )
    assert resp.status_code == 200, resp.text
    return ET.fromstring(resp.text)


def command(lab: Lab, body: str) -> ET.Element:
    """One putxml in a session of its own; the result element (``<…Result status=…>``)."""
    client = session(lab)
    res = putxml(client, lab, body)
    client.post(url(lab, "/xmlapi/session/end"))
    client.close()
    found = [e for e in res if e.tag.endswith("Result")]
    assert found, ET.tostring(res)
    return found[0]


def test_bad_credentials_get_401_with_the_realm(lab: Lab) -> None:
    resp = httpx.get(url(lab, "/status.xml"), auth=("admin", "wrong"), verify=False)
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"] == 'Basic realm="CISCO-Endpoint"'


def test_session_begin_204_cookie_then_end(lab: Lab) -> None:
    client = session(lab)
    assert client.cookies.get("SessionId")
    assert (
        client.get(url(lab, "/getxml"), params={"location": "/Status/SystemUnit"}).status_code
        == 200
    )
    assert client.post(url(lab, "/xmlapi/session/end")).status_code == 204
    assert (
        client.get(url(lab, "/getxml"), params={"location": "/Status/SystemUnit"}).status_code
        == 401
    )
    client.close()


def test_getxml_status_identity(lab: Lab) -> None:
    d = lab.spec(CODEC)
    resp = httpx.get(
        url(lab, "/getxml"),
        params={"location": "/Status/SystemUnit"},
        auth=(d["username"], d["password"]),
        verify=False,
    )
    root = ET.fromstring(resp.text)
    assert root.findtext("SystemUnit/Software/Version") == "ce11.14.4.0.b7ab7ab3b9f"
    assert root.findtext("SystemUnit/Software/DisplayName") == "RoomOS 11.14.4.0 b7ab7ab3b9f"
    assert root.findtext("SystemUnit/Hardware/Module/SerialNumber") == d["serial"]
    assert root.find("SIP") is None  # only the subtree asked for


def test_configuration_xml_value_spaces_items_and_hidden_secrets(fresh_lab: Lab) -> None:
    client = session(fresh_lab)
    putxml(
        client,
        fresh_lab,
        "<Configuration><SIP><Authentication><Password>s3cret</Password>"
        "</Authentication></SIP></Configuration>",
    )
    root = ET.fromstring(client.get(url(fresh_lab, "/configuration.xml")).text)
    rate = root.find("Conference/DefaultCall/Rate")
    assert rate is not None and rate.text == "2048"
    assert rate.get("valueSpaceRef") == "/Valuespace/INT_64_6000"
    proxies = root.findall("SIP/Proxy")
    assert [p.get("item") for p in proxies] == ["1", "2", "3", "4"]
    assert proxies[0].findtext("Address") == "sip.vc.thanhhoa.lab"
    assert root.findtext("SIP/Authentication/Password") == "***"
    assert "s3cret" not in client.get(url(fresh_lab, "/configuration.xml")).text
    client.close()


def test_putxml_success_error_and_action_error(fresh_lab: Lab) -> None:
    client = session(fresh_lab)
    before = fresh_lab.control.writes(CODEC)
    ok = putxml(
        client,
        fresh_lab,
        "<Configuration><Conference><DefaultCall><Rate>1024</Rate></DefaultCall>"
        "</Conference></Configuration>",
    )
    assert ok.find("Success") is not None
    bad = putxml(
        client,
        fresh_lab,
        '<Configuration><Network item="1"><QoS><Diffserv><Audio>70</Audio></Diffserv>'
        "</QoS></Network></Configuration>",
    )
    assert bad.find("Error") is not None and bad.find("Success") is None
    no_action = putxml(
        client,
        fresh_lab,
        "<Command><Audio><Volume><Set><Level>50</Level></Set></Volume></Audio></Command>",
    )
    assert no_action.tag == "ActionError"
    assert no_action.findtext("Reason") == "No action detected in document"
    root = ET.fromstring(
        client.get(url(fresh_lab, "/getxml"), params={"location": "/Configuration/Conference"}).text
    )
    assert root.findtext("Conference/DefaultCall/Rate") == "1024"
    assert fresh_lab.control.writes(CODEC) == before + 3
    client.close()


def test_reads_write_nothing(lab: Lab) -> None:
    before = lab.control.writes(CODEC)
    client = session(lab)
    for path in ("/status.xml", "/configuration.xml", "/valuespace.xml", "/command.xml"):
        assert client.get(url(lab, path)).status_code == 200
    client.post(url(lab, "/xmlapi/session/end"))
    assert lab.control.writes(CODEC) == before


def test_boot_command_reboots(fresh_lab: Lab) -> None:
    client = session(fresh_lab)
    res = putxml(
        client,
        fresh_lab,
        '<Command><SystemUnit><Boot command="True"><Action>Restart'
        "</Action></Boot></SystemUnit></Command>",
    )
    assert result_status(res) == "OK"
    fresh_lab.control.wait_power(CODEC, "rebooting", timeout=5)
    dev = fresh_lab.control.wait_power(CODEC, "up", timeout=30)
    assert dev["last_shutdown"] == "UserInitiated"


def test_rate_limiter_serves_in_turn_refuses_beyond_the_queue_and_frees_cancelled_slots() -> None:
    async def scenario() -> None:
        limiter = RateLimiter(rate=20.0, queue=3)  # 50 ms apart, 3 waiting
        started = time.monotonic()
        tasks = [asyncio.ensure_future(limiter.acquire()) for _ in range(6)]
        await asyncio.sleep(0.01)
        assert limiter.waiting == 3
        results = await asyncio.gather(*tasks)
        # One served at once, three queued and served 50 ms apart, two refused.
        assert results.count(True) == 4 and results.count(False) == 2
        assert 0.14 < time.monotonic() - started < 0.5
        # A waiter whose client went away leaves the queue.
        tasks = [asyncio.ensure_future(limiter.acquire()) for _ in range(3)]
        await asyncio.sleep(0.01)
        tasks[-1].cancel()
        await asyncio.sleep(0)
        assert limiter.waiting == 2
        assert await limiter.acquire() is True
        assert limiter.waiting == 0

    asyncio.run(scenario())


async def flood(lab: Lab, n: int, timeout: float, *, with_session: bool) -> list[int]:
    """``n`` concurrent GETs; 0 for those still queued when the client gives up."""
    d = lab.spec(CODEC)
    async with httpx.AsyncClient(verify=False, timeout=timeout) as client:
        if with_session:
            begin = await client.post(
                url(lab, "/xmlapi/session/begin"), auth=(d["username"], d["password"])
            )
            assert begin.status_code == 204
        else:
            client.auth = httpx.BasicAuth(d["username"], d["password"])

        async def one() -> int:
            try:
                return (await client.get(url(lab, "/getxml?location=/Status/SIP"))).status_code
            except httpx.TimeoutException:
                return 0

        return list(await asyncio.gather(*(one() for _ in range(n))))


def test_basic_auth_rate_limit_1_per_second_queue_30_then_503(fresh_lab: Lab) -> None:
    codes = asyncio.run(flood(fresh_lab, 40, 2.0, with_session=False))
    # 1 served at once + 30 queued (served 1/s: about 2 within the 2 s), 9 refused at once.
    assert 7 <= codes.count(503) <= 9, codes
    assert 1 <= codes.count(200) <= 4, codes
    # The client gave up: its queued requests left the queue, the device answers again.
    time.sleep(1.1)
    assert status(fresh_lab, "/Status/SystemUnit").find("SystemUnit") is not None


def test_session_rate_limit_15_per_second_queue_90_then_503(fresh_lab: Lab) -> None:
    codes = asyncio.run(flood(fresh_lab, 150, 2.0, with_session=True))
    assert codes.count(503) >= 10, codes  # 150 - 1 - 90 - what was served while they came
    assert 15 <= codes.count(200) <= 45, codes  # 15 per second for 2 s


def test_rate_limit_fault_floods_503(fresh_lab: Lab) -> None:
    fresh_lab.control.fault(CODEC, "rate-limit")
    d = fresh_lab.spec(CODEC)
    assert (
        httpx.get(
            url(fresh_lab, "/status.xml"), auth=(d["username"], d["password"]), verify=False
        ).status_code
        == 503
    )


@pytest.fixture()
def package_url(package_server: str) -> str:
    return f"{package_server}/cisco-roomos/cisco-roomos-{NEW}.pkg"


def upgrade(lab: Lab, package: str, forced: str = "") -> None:
    forced_xml = f"<Forced>{forced}</Forced>" if forced else ""
    res = command(
        lab,
        '<Command><SystemUnit><SoftwareUpgrade command="True">'
        f"<URL>{package}</URL>{forced_xml}</SoftwareUpgrade></SystemUnit></Command>",
    )
    assert res.tag == "SystemUnitSoftwareUpgradeResult" and res.get("status") == "OK"


def upgrade_status(lab: Lab) -> dict[str, str]:
    node = status(lab, "/Status/Provisioning/Software").find("Provisioning/Software/UpgradeStatus")
    assert node is not None
    return {c.tag: c.text or "" for c in node}


def wait_upgrade(lab: Lab, timeout: float = 20) -> tuple[dict[str, Any], set[str]]:
    """Until the device is up on the new version, or the upgrade ended without it."""
    phases: set[str] = set()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dev = lab.control.devices()[CODEC]
        if dev["power"] == "up":
            up = upgrade_status(lab)
            phases.add(up["Phase"])
            if dev["version"] == NEW or up["Status"] in ("Failed", "InstallationFailed"):
                return dev, phases
        time.sleep(0.05)
    return lab.control.devices()[CODEC], phases


def test_software_upgrade_walks_phases_and_reboots_onto_the_new_version(
    fresh_lab: Lab, package_url: str
) -> None:
    upgrade(fresh_lab, package_url)
    dev, phases = wait_upgrade(fresh_lab)
    assert dev["version"] == NEW
    assert dev["last_shutdown"] == "Upgrade" and dev["previous_version"] == OLD
    assert phases & {"Downloading", "Installing", "AboutToInstallUpgrade", "DownloadDone"}
    root = status(fresh_lab, "/Status")
    assert root.findtext("SystemUnit/LastShutdownReason") == "Upgrade"
    assert root.findtext("SystemUnit/Software/Version") == NEW
    assert root.findtext("SystemUnit/Software/DisplayName") == "RoomOS 11.17.3.0 81a0d1f5a64"
    up = upgrade_status(fresh_lab)
    assert (up["Status"], up["Phase"], up["VersionId"]) == ("Succeeded", "None", NEW)
    assert root.findtext("Provisioning/Software/Current/VersionId") == NEW
    assert root.findtext("Provisioning/Software/Current/URL") == package_url
    assert root.findtext("Provisioning/Software/Current/CompletedAt")
    assert root.findtext("SIP/Registration/Status") == "Registered"


def test_upgrade_not_forced_waits_postponed_until_complete_upgrade(
    fresh_lab: Lab, package_url: str
) -> None:
    upgrade(fresh_lab, package_url, forced="False")
    deadline = time.monotonic() + 10
    while upgrade_status(fresh_lab)["Phase"] != "Postponed" and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)  # longer than the whole install at this time scale: it still waits
    up = upgrade_status(fresh_lab)
    assert (up["Status"], up["Phase"]) == ("InProgress", "Postponed")
    assert fresh_lab.control.devices()[CODEC]["version"] == OLD
    res = command(fresh_lab, '<Command><Provisioning><CompleteUpgrade command="True"/>'
                  "</Provisioning></Command>")  # fmt: skip
    assert res.tag == "ProvisioningCompleteUpgradeResult" and res.get("status") == "OK"
    dev, _ = wait_upgrade(fresh_lab)
    assert dev["version"] == NEW and dev["last_shutdown"] == "Upgrade"
    again = command(fresh_lab, '<Command><Provisioning><CompleteUpgrade command="True"/>'
                    "</Provisioning></Command>")  # fmt: skip
    assert again.get("status") == "Error"


@pytest.mark.parametrize(
    ("fault", "status_", "phase"),
    [
        ("firmware-download-fail", "Failed", "None"),
        ("firmware-install-fail", "InstallationFailed", "None"),
    ],
)
def test_failed_upgrades_report_status_and_keep_the_version(
    fresh_lab: Lab, package_url: str, fault: str, status_: str, phase: str
) -> None:
    fresh_lab.control.fault(CODEC, fault)
    upgrade(fresh_lab, package_url)
    dev, _ = wait_upgrade(fresh_lab)
    up = upgrade_status(fresh_lab)
    assert (up["Status"], up["Phase"]) == (status_, phase)
    assert up["Message"]
    assert dev["version"] == OLD and dev["boots"] == 1
    diag = status(fresh_lab, "/Status/Diagnostics")
    assert "SoftwareUpgrade" in [m.findtext("Type") for m in diag.iter("Message")]
    assert fault not in fresh_lab.control.devices()[CODEC]["faults"]  # fired once


def test_firmware_boot_loop_stays_down_until_power_cycle_then_previous_image(
    fresh_lab: Lab, package_url: str
) -> None:
    fresh_lab.control.fault(CODEC, "firmware-boot-loop")
    upgrade(fresh_lab, package_url)
    dev = fresh_lab.control.wait_power(CODEC, "down", timeout=20)
    assert dev["version"] == NEW
    with pytest.raises(httpx.ConnectError):
        httpx.get(url(fresh_lab, "/status.xml"), verify=False, timeout=2)
    fresh_lab.control.power_cycle(CODEC)
    dev = fresh_lab.control.wait_power(CODEC, "up", timeout=20)
    assert dev["version"] == OLD
    root = status(fresh_lab, "/Status")
    assert root.findtext("SystemUnit/Software/Version") == OLD
    assert root.findtext("Provisioning/Software/UpgradeStatus/Status") == "InstallationFailed"


def test_firmware_config_loss_comes_back_on_the_new_version_with_factory_settings(
    fresh_lab: Lab, package_url: str
) -> None:
    fresh_lab.control.fault(CODEC, "firmware-config-loss")
    upgrade(fresh_lab, package_url)
    dev, _ = wait_upgrade(fresh_lab)
    assert dev["version"] == NEW
    root = status(fresh_lab, "/Configuration/Conference")  # the admin account is kept
    assert root.findtext("Conference/DefaultCall/Rate") == "6000"
    assert status(fresh_lab, "/Status/SIP").findtext("SIP/Registration/Status") == "Failed"


def test_firmware_no_media_new_version_cannot_register_or_call(
    fresh_lab: Lab, package_url: str
) -> None:
    fresh_lab.control.fault(CODEC, "firmware-no-media")
    upgrade(fresh_lab, package_url)
    dev, _ = wait_upgrade(fresh_lab)
    assert dev["version"] == NEW and not dev["sip_registered"]
    root = status(fresh_lab, "/Status")
    assert root.findtext("SIP/Registration/Status") == "Failed"
    assert root.findtext("H323/Gatekeeper/Status") == "Rejected"
    res = command(fresh_lab, '<Command><Dial command="True"><Number>so-tttt@vc.thanhhoa.lab'
                  "</Number></Dial></Command>")  # fmt: skip
    assert res.get("status") == "Error"


def test_factory_reset_restores_defaults_and_factory_credentials(fresh_lab: Lab) -> None:
    res = command(
        fresh_lab,
        '<Command><SystemUnit><FactoryReset command="True">'
        "<Confirm>Yes</Confirm></FactoryReset></SystemUnit></Command>",
    )
    assert res.get("status") == "OK"
    fresh_lab.control.wait_power(CODEC, "rebooting", timeout=5)
    fresh_lab.control.wait_power(CODEC, "up", timeout=30)
    d = fresh_lab.spec(CODEC)
    assert (
        httpx.get(
            url(fresh_lab, "/status.xml"), auth=(d["username"], d["password"]), verify=False
        ).status_code
        == 401
    )
    factory = ("admin", "")
    root = status(fresh_lab, "/Configuration/Conference", auth=factory)
    assert root.findtext("Conference/DefaultCall/Rate") == "6000"
    root = status(fresh_lab, "/Status", auth=factory)
    assert root.findtext("SystemUnit/LastShutdownReason") == "FactoryReset"
    assert "ValidPasswords" in [m.findtext("Type") for m in root.iter("Message")]


def test_factory_reset_needs_confirm_yes(lab: Lab) -> None:
    res = command(
        lab,
        '<Command><SystemUnit><FactoryReset command="True"></FactoryReset></SystemUnit></Command>',
    )
    assert res.get("status") == "Error"
    assert res.findtext("Reason") == "Missing parameter: Confirm"
    assert lab.control.devices()[CODEC]["power"] == "up"


def certificate(lab: Lab) -> str:
    d = lab.spec(CODEC)
    return ssl.get_server_certificate((d["host"], d["port"]))


def test_boot_restart_status_reason_and_a_new_certificate(fresh_lab: Lab) -> None:
    before = certificate(fresh_lab)
    res = command(fresh_lab, '<Command><SystemUnit><Boot command="True"/></SystemUnit></Command>')
    assert res.tag == "SystemUnitBootResult" and res.get("status") == "OK"
    fresh_lab.control.wait_power(CODEC, "rebooting", timeout=5)
    dev = fresh_lab.control.wait_power(CODEC, "up", timeout=30)
    assert dev["boots"] == 2
    root = status(fresh_lab, "/Status/SystemUnit")
    assert root.findtext("SystemUnit/LastShutdownReason") == "Restart"
    assert int(root.findtext("SystemUnit/Uptime") or "99") < 5
    assert certificate(fresh_lab) != before


def test_in_call_status_and_boot_without_force_is_refused(fresh_lab: Lab) -> None:
    fresh_lab.control.fault(CODEC, "in-call")
    root = status(fresh_lab, "/Status")
    assert root.findtext("SystemUnit/State/System") == "InCall"
    assert root.findtext("SystemUnit/State/NumberOfActiveCalls") == "1"
    call = root.find("Call")
    assert call is not None and call.get("item") == "1"
    assert call.findtext("Status") == "Connected" and call.findtext("Direction") == "Incoming"
    assert call.findtext("RemoteNumber") == "meeting@vc.thanhhoa.lab"
    res = command(
        fresh_lab,
        '<Command><SystemUnit><Boot command="True"><Action>Restart</Action>'
        "<Force>False</Force></Boot></SystemUnit></Command>",
    )
    assert res.get("status") == "Error"
    assert fresh_lab.control.devices()[CODEC]["power"] == "up"
    fresh_lab.control.clear(CODEC, "in-call")
    assert status(fresh_lab, "/Status/SystemUnit").findtext("SystemUnit/State/System") == (
        "Initialized"
    )


def test_dial_shows_the_call_and_media_then_disconnect(fresh_lab: Lab) -> None:
    res = command(
        fresh_lab,
        '<Command><Dial command="True"><Number>so-tttt@vc.thanhhoa.lab</Number>'
        "<Protocol>Sip</Protocol><CallRate>1024</CallRate></Dial></Command>",
    )
    assert res.tag == "DialResult" and res.get("status") == "OK", ET.tostring(res)
    call_id = res.findtext("CallId")
    root = status(fresh_lab, "/Status")
    call = root.find("Call")
    assert call is not None and call.get("item") == call_id
    assert call.findtext("Direction") == "Outgoing" and call.findtext("Protocol") == "Sip"
    assert call.findtext("TransmitCallRate") == "1024"
    assert call.findtext("Encryption/Type") == "Aes-128"
    protocols = [c.findtext("Video/Protocol") for c in root.iter("Channel")]
    assert "H264" in protocols
    assert fresh_lab.control.devices()["so-tttt-codec"]["in_call"]
    res = command(
        fresh_lab,
        f'<Command><Call><Disconnect command="True"><CallId>{call_id}</CallId></Disconnect>'
        "</Call></Command>",
    )
    assert res.tag == "CallDisconnectResult" and res.get("status") == "OK"
    devices = fresh_lab.control.devices()
    assert not devices[CODEC]["in_call"] and not devices["so-tttt-codec"]["in_call"]
    assert status(fresh_lab, "/Status").find("Call") is None


def test_passphrase_change_and_set(fresh_lab: Lab) -> None:
    d = fresh_lab.spec(CODEC)
    before = fresh_lab.control.writes(CODEC)
    res = command(
        fresh_lab,
        '<Command><UserManagement><User><Passphrase><Change command="True">'
        f"<OldPassphrase>{d['password']}</OldPassphrase><NewPassphrase>N3w-pass</NewPassphrase>"
        "</Change></Passphrase></User></UserManagement></Command>",
    )
    assert res.tag == "PassphraseChangeResult" and res.get("status") == "OK"
    old = httpx.get(url(fresh_lab, "/status.xml"), auth=("admin", d["password"]), verify=False)
    assert old.status_code == 401
    assert status(fresh_lab, "/Status/SystemUnit", auth=("admin", "N3w-pass")) is not None
    wrong_user = (
        '<Command><UserManagement><User><Passphrase><Set command="True">'
        "<Username>nobody</Username><NewPassphrase>x</NewPassphrase>"
        "</Set></Passphrase></User></UserManagement></Command>"
    )
    client = httpx.Client(verify=False, auth=("admin", "N3w-pass"))
    res = putxml(client, fresh_lab, wrong_user)
    client.close()
    assert res.find("PassphraseSetResult") is not None
    assert res.find("PassphraseSetResult").get("status") == "Error"  # type: ignore[union-attr]
    assert fresh_lab.control.writes(CODEC) == before + 2


def test_session_exhaustion_refuses_sessions_but_basic_works(fresh_lab: Lab) -> None:
    fresh_lab.control.fault(CODEC, "session-exhaustion")
    d = fresh_lab.spec(CODEC)
    begin = httpx.post(
        url(fresh_lab, "/xmlapi/session/begin"), auth=(d["username"], d["password"]), verify=False
    )
    assert begin.status_code == 503
    assert status(fresh_lab, "/Status/SystemUnit").find("SystemUnit") is not None


def test_bad_credentials_unreachable_and_slow_faults(fresh_lab: Lab) -> None:
    d = fresh_lab.spec(CODEC)
    fresh_lab.control.fault(CODEC, "bad-credentials")
    resp = httpx.get(url(fresh_lab, "/status.xml"), auth=(d["username"], d["password"]),
                     verify=False)  # fmt: skip
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"] == 'Basic realm="CISCO-Endpoint"'
    fresh_lab.control.clear(CODEC, "bad-credentials")
    fresh_lab.control.fault(CODEC, "slow", delay=0.6)
    started = time.monotonic()
    status(fresh_lab, "/Status/SystemUnit")
    assert time.monotonic() - started >= 0.6
    fresh_lab.control.clear(CODEC, "slow")
    fresh_lab.control.fault(CODEC, "unreachable")
    with pytest.raises(httpx.ConnectError):
        httpx.get(url(fresh_lab, "/status.xml"), verify=False, timeout=2)
    fresh_lab.control.clear(CODEC, "unreachable")
    assert status(fresh_lab, "/Status/SystemUnit").find("SystemUnit") is not None


def test_standard_configuration_as_the_province_sets_it(lab: Lab) -> None:
    d = lab.spec(CODEC)
    root = status(lab, "/Configuration")
    get = root.findtext
    assert get("SystemUnit/Name") == d["system_name"][:50]  # MaxLength 50 in the schema
    assert get("SIP/URI") == "kkt-nghi-son@vc.thanhhoa.lab"
    assert get("H323/H323Alias/E164") == d["e164"]
    assert get("H323/Gatekeeper/Address") == "gk.vc.thanhhoa.lab"
    assert get("Conference/Encryption/Mode") == "BestEffort"
    assert get("Conference/AutoAnswer/Mode") == "On" and get("Conference/AutoAnswer/Mute") == "On"
    assert get("Conference/MaxReceiveCallRate") == "2048"
    net = root.find("Network")
    assert net is not None and net.get("item") == "1"
    assert [net.findtext(f"QoS/Diffserv/{k}") for k in ("Audio", "Video", "Signalling")] == [
        "46",
        "34",
        "24",
    ]
    servers = root.findall("NetworkServices/NTP/Server")
    assert [s.findtext("Address") for s in servers][:2] == [
        "ntp1.vc.thanhhoa.lab",
        "ntp2.vc.thanhhoa.lab",
    ]
    assert get("NetworkServices/NTP/Mode") == "Manual" and get("Time/Zone") == "Asia/Ho_Chi_Minh"
    assert get("NetworkServices/SNMP/Mode") == "ReadOnly"
    assert get("NetworkServices/SNMP/CommunityName") == d["snmp_community"]
    assert get("NetworkServices/HTTPS/Server/MinimumTLSVersion") == "TLSv1.2"
    assert get("Provisioning/Mode") == "Off"
    sip = status(lab, "/Status/SIP")
    assert sip.findtext("SIP/Registration/Status") == "Registered"
    assert sip.findtext("SIP/Proxy/Address") == "sip.vc.thanhhoa.lab"


def test_putxml_mixed_document_unknown_paths_literals_and_commands(fresh_lab: Lab) -> None:
    client = session(fresh_lab)
    before = fresh_lab.control.writes(CODEC)
    res = putxml(
        client,
        fresh_lab,
        "<Configuration><Conference><AutoAnswer><Mode>off</Mode><Delay>99</Delay></AutoAnswer>"
        "</Conference><Bogus><Key>1</Key></Bogus></Configuration>",
    )
    # Not atomic: the good leaf is applied, each bad one answers an <Error> with its XPath.
    assert res.find("Success") is None
    xpaths = sorted(e.findtext("XPath") or "" for e in res.findall("Error"))
    assert xpaths == ["/Configuration/Bogus/Key", "/Configuration/Conference/AutoAnswer/Delay"]
    conf = status(fresh_lab, "/Configuration/Conference")
    assert conf.findtext("Conference/AutoAnswer/Mode") == "Off"  # the schema's spelling
    assert conf.findtext("Conference/AutoAnswer/Delay") == "0"
    unknown = putxml(client, fresh_lab, '<Command><Foo><Bar command="True"/></Foo></Command>')
    assert unknown.find("FooBarResult").get("status") == "Error"  # type: ignore[union-attr]
    bad_arg = putxml(
        client,
        fresh_lab,
        '<Command><SystemUnit><Boot command="True"><Action>Explode</Action></Boot>'
        "</SystemUnit></Command>",
    )
    assert bad_arg.find("SystemUnitBootResult").get("status") == "Error"  # type: ignore[union-attr]
    assert fresh_lab.control.devices()[CODEC]["power"] == "up"
    assert fresh_lab.control.writes(CODEC) == before + 3
    # A command that only reads is not a write.
    listed = putxml(
        client,
        fresh_lab,
        '<Command><SystemUnit><OptionKey><List command="True"/></OptionKey></SystemUnit></Command>',
    )
    assert listed.find("OptionKeyListResult").get("status") == "OK"  # type: ignore[union-attr]
    assert fresh_lab.control.writes(CODEC) == before + 3
    client.close()
