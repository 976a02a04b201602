"""The Cisco RoomOS simulator over real HTTPS (httpx), as endpoint-apis.md part B says."""

from __future__ import annotations

import asyncio
import time
import xml.etree.ElementTree as ET

import httpx
import pytest

from tests.conftest import Lab

CODEC = "kkt-nghi-son-codec"


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


def test_basic_auth_rate_limit_queue_30_then_503(fresh_lab: Lab) -> None:
    d = fresh_lab.spec(CODEC)

    async def flood() -> list[int]:
        async with httpx.AsyncClient(
            verify=False, timeout=3, auth=(d["username"], d["password"])
        ) as client:

            async def one() -> int:
                try:
                    return (await client.get(url(fresh_lab, "/status.xml"))).status_code
                except httpx.TimeoutException:
                    return 0  # still queued (1 request per second)

            return list(await asyncio.gather(*(one() for _ in range(40))))

    codes = asyncio.run(flood())
    assert codes.count(503) >= 5, codes
    assert codes.count(200) >= 1


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
    return f"{package_server}/cisco-roomos/cisco-roomos-ce11.17.3.0.81a0d1f5a64.pkg"


def upgrade(lab: Lab, package: str) -> None:
    client = session(lab)
    res = putxml(
        client,
        lab,
        '<Command><SystemUnit><SoftwareUpgrade command="True">'
        f"<URL>{package}</URL></SoftwareUpgrade></SystemUnit></Command>",
    )
    assert result_status(res) == "OK"
    client.close()


def upgrade_status(lab: Lab) -> dict[str, str]:
    d = lab.spec(CODEC)
    root = ET.fromstring(
        httpx.get(
            url(lab, "/getxml"),
            auth=(d["username"], d["password"]),
            params={"location": "/Status/Provisioning/Software"},
            verify=False,
        ).text
    )
    node = root.find("Provisioning/Software/UpgradeStatus")
    assert node is not None
    return {c.tag: c.text or "" for c in node}


def test_software_upgrade_walks_phases_and_reboots_onto_the_new_version(
    fresh_lab: Lab, package_url: str
) -> None:
    upgrade(fresh_lab, package_url)
    phases = set()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        dev = fresh_lab.control.devices()[CODEC]
        if dev["version"] == "ce11.17.3.0.81a0d1f5a64" and dev["power"] == "up":
            break
        if dev["power"] == "up":
            phases.add(upgrade_status(fresh_lab)["Phase"])
        time.sleep(0.05)
    assert dev["version"] == "ce11.17.3.0.81a0d1f5a64"
    assert (
        dev["last_shutdown"] == "Upgrade" and dev["previous_version"] == "ce11.14.4.0.b7ab7ab3b9f"
    )
    assert phases & {"Downloading", "Installing", "AboutToInstallUpgrade", "DownloadDone"}
    assert upgrade_status(fresh_lab)["Status"] == "Succeeded"


@pytest.mark.parametrize(
    ("fault", "status"),
    [("firmware-download-fail", "Failed"), ("firmware-install-fail", "InstallationFailed")],
)
def test_failed_upgrades_report_status_and_keep_the_version(
    fresh_lab: Lab, package_url: str, fault: str, status: str
) -> None:
    fresh_lab.control.fault(CODEC, fault)
    upgrade(fresh_lab, package_url)
    deadline = time.monotonic() + 20
    while (
        upgrade_status(fresh_lab)["Status"] in ("None", "InProgress")
        and time.monotonic() < deadline
    ):
        time.sleep(0.1)
    assert upgrade_status(fresh_lab)["Status"] == status
    assert fresh_lab.control.devices()[CODEC]["version"] == "ce11.14.4.0.b7ab7ab3b9f"


def test_factory_reset_restores_defaults_and_factory_credentials(fresh_lab: Lab) -> None:
    client = session(fresh_lab)
    res = putxml(
        client,
        fresh_lab,
        '<Command><SystemUnit><FactoryReset command="True">'
        "<Confirm>Yes</Confirm></FactoryReset></SystemUnit></Command>",
    )
    assert result_status(res) == "OK"
    fresh_lab.control.wait_power(CODEC, "rebooting", timeout=5)
    fresh_lab.control.wait_power(CODEC, "up", timeout=30)
    d = fresh_lab.spec(CODEC)
    assert (
        httpx.get(
            url(fresh_lab, "/status.xml"), auth=(d["username"], d["password"]), verify=False
        ).status_code
        == 401
    )
    resp = httpx.get(
        url(fresh_lab, "/getxml"),
        params={"location": "/Configuration/Conference"},
        auth=("admin", ""),
        verify=False,
    )
    assert ET.fromstring(resp.text).findtext("Conference/DefaultCall/Rate") == "6000"
