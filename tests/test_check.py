"""`vcprov check` end to end against the lab: hand changes over each device's own protocol
(as an operator on the web page or CLI would), then the check reports exactly those."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from netmiko import ConnectHandler

from .conftest import Lab, LabFactory
from .test_apply import vcprov

NETMIKO = {"cisco-ios": "cisco_ios", "cisco-iosxe": "cisco_xe", "huawei-vrp": "huawei_vrp"}


def check(lab: Lab, tmp_path: Path, *extra: str) -> tuple[int, dict[str, Any], str]:
    report = tmp_path / "check.json"
    proc = vcprov("check", "--lab", str(lab.state), "--json", str(report), *extra)
    doc = json.loads(report.read_text(encoding="utf-8")) if report.exists() else {}
    return proc.returncode, doc, proc.stdout + proc.stderr


def poly_set(dev: dict[str, Any], name: str, value: str) -> None:
    with httpx.Client(verify=False, timeout=30) as web:
        base = f"https://{dev['host']}:{dev['port']}"
        login = {"user": dev["username"], "password": dev["password"]}
        if dev["family"] == "poly-group-series":
            login["action"] = "Login"
        web.post(f"{base}/rest/session", json=login).raise_for_status()
        headers = {"x-xsrf-token": web.cookies.get("XSRF-TOKEN") or ""}
        answer = web.post(
            f"{base}/rest/config", json={"vars": [{"name": name, "value": value}]}, headers=headers
        ).json()
        assert answer["vars"][0]["result"] == "NOERROR", answer
        web.post(f"{base}/rest/session", json={"action": "Logout"}, headers=headers)


def cisco_putxml(dev: dict[str, Any], xml: str) -> None:
    with httpx.Client(verify=False, timeout=30, auth=(dev["username"], dev["password"])) as web:
        resp = web.post(f"https://{dev['host']}:{dev['port']}/putxml", content=xml)
        assert resp.status_code == 200 and "<Success" in resp.text, resp.text


def switch_config(dev: dict[str, Any], lines: list[str]) -> None:
    conn = ConnectHandler(
        device_type=NETMIKO[dev["family"]],
        host=dev["host"],
        port=dev["port"],
        username=dev["username"],
        password=dev["password"],
    )
    try:
        conn.send_config_set(lines)
        conn.save_config()
    finally:
        conn.disconnect()


@pytest.fixture()
def std_lab(lab_factory: LabFactory) -> Any:
    lab = lab_factory(sites=4, deviations=False)
    yield lab
    lab.stop()


def test_a_standard_lab_is_compliant_and_the_check_writes_nothing(
    std_lab: Lab, tmp_path: Path
) -> None:
    writes = std_lab.control.writes()
    code, doc, out = check(std_lab, tmp_path)
    assert code == 0, out
    assert doc["summary"] == {
        "compliant": 8,
        "drifted": 0,
        "unreachable": 0,
        "error": 0,
        "waived": 0,
    }
    assert std_lab.control.writes() == writes


@pytest.mark.parametrize("mode", [(), ("--per-host",)], ids=["one-task", "per-host"])
def test_hand_changes_are_reported_exactly(
    std_lab: Lab, tmp_path: Path, mode: tuple[str, ...]
) -> None:
    lab = std_lab
    poly = lab.first("poly-os")
    cisco = lab.first("cisco-roomos")
    switch = lab.spec(lab.first("poly-group-series")["switch"])
    poly_set(poly, "qos.diffServ.audio", "0")
    poly_set(poly, "qos.diffServ.fecc", "8")  # not owned by the standard: never reported
    cisco_putxml(
        cisco,
        "<Configuration><Conference><Encryption><Mode>Off</Mode></Encryption>"
        "</Conference></Configuration>",
    )
    port = switch["codec_port"]
    switch_config(
        switch,
        [
            *(f"interface {port}", "no spanning-tree bpduguard enable", "exit"),
            *("interface GigabitEthernet1/0/2", "description printer", "exit"),  # out of scope
        ],
    )
    writes = lab.control.writes()
    code, doc, out = check(lab, tmp_path, *mode)
    assert code == 2, out
    assert lab.control.writes() == writes, "the check wrote to a device"
    found = {
        d["name"]: sorted((f["setting"], f["kind"]) for f in d["findings"])
        for d in doc["devices"]
        if d["findings"]
    }
    assert found == {
        poly["name"]: [("qos.dscp.audio", "drifted")],
        cisco["name"]: [("call.encryption", "drifted")],
        switch["name"]: [("port.bpdu_guard", "missing")],
    }, out
    row = next(d for d in doc["devices"] if d["name"] == poly["name"])
    first = row["findings"][0]
    assert {k: first[k] for k in ("setting", "vendor_key", "kind", "expected", "actual")} == {
        "setting": "qos.dscp.audio",
        "vendor_key": "qos.diffServ.audio",
        "kind": "drifted",
        "expected": 46,
        "actual": 0,
    }
    assert first["new"] and first["first_seen"] == doc["run"]["started"][:10]
    assert {d["status"] for d in doc["devices"] if d["name"] not in found} == {"compliant"}
    assert len(doc["devices"]) == 8 and len({d["name"] for d in doc["devices"]}) == 8


def test_a_port_that_does_not_trust_the_codec_marking_is_one_site_finding(
    std_lab: Lab, tmp_path: Path
) -> None:
    lab = std_lab
    codec = lab.first("poly-group-series")
    switch = lab.spec(codec["switch"])
    switch_config(switch, [f"interface {switch['codec_port']}", "no mls qos trust dscp", "exit"])
    code, doc, out = check(lab, tmp_path, "--limit", f"{codec['site']}-*")
    assert code == 2, out
    rows = {d["name"]: d for d in doc["devices"]}
    site = [f for f in rows[codec["name"]]["findings"] if f["setting"].startswith("qos.codec")]
    assert len(site) == 1 and site[0]["devices"] == [codec["name"], switch["name"]]
    assert "trust" in site[0]["actual"]


def test_unreachable_and_refused_are_never_compliant(std_lab: Lab, tmp_path: Path) -> None:
    lab = std_lab
    lab.control.fault("kkt-nghi-son-codec", "unreachable")
    lab.control.fault("tinh-uy-sw", "bad-credentials")
    code, doc, out = check(lab, tmp_path)
    lab.control.clear("kkt-nghi-son-codec")
    lab.control.clear("tinh-uy-sw")
    assert code == 4, out
    rows = {d["name"]: d for d in doc["devices"]}
    assert rows["kkt-nghi-son-codec"]["status"] == "unreachable"
    assert rows["tinh-uy-sw"]["status"] == "error"
    assert "credentials" in rows["tinh-uy-sw"]["error"]
    secrets = {d["password"] for d in lab.devices} | {d["snmp_community"] for d in lab.devices}
    text = json.dumps(doc) + out
    assert not any(s in text for s in secrets)


def test_fix_heals_only_what_the_policy_allows(std_lab: Lab, tmp_path: Path) -> None:
    lab = std_lab
    poly = lab.first("poly-os")
    poly_set(poly, "qos.diffServ.audio", "0")  # class qos: healed
    poly_set(poly, "voIpProt.SIP.registrarServer", "sip.rogue.example")  # call-control: never
    code, doc, out = check(lab, tmp_path, "--fix", "--limit", poly["name"])
    assert code == 2, out
    assert doc["run"]["fixed"] == [
        {
            "name": poly["name"],
            "settings": ["qos.dscp.audio"],
            "result": "changed",
            "msg": doc["run"]["fixed"][0]["msg"],
        }
    ]
    row = doc["devices"][0]
    assert [f["setting"] for f in row["findings"]] == ["sip.registrar"]
    snaps = list((lab.state / "vcprov" / "snapshots" / poly["name"]).glob("*.json"))
    assert snaps, "the fix went through the apply path without a snapshot"


def test_history_first_seen_resolved_waivers_and_reports(std_lab: Lab, tmp_path: Path) -> None:
    """Two runs into one history: first seen is kept, a fix shows as resolved; a valid
    waiver waives, an expired one does not; the HTML, JUnit and JSON (schema) reports;
    no device password anywhere, the history repository included."""
    import shutil
    import subprocess

    import jsonschema
    import yaml

    from .conftest import ROOT

    lab = std_lab
    poly, cisco = lab.first("poly-os"), lab.first("cisco-roomos")
    inv = tmp_path / "inv"
    shutil.copytree(ROOT / "inventory/thanhhoa", inv)
    (inv / "waivers.yml").write_text(
        yaml.safe_dump(
            [
                {"device": cisco["name"], "setting": "call.encryption", "reason": "MCU test",
                 "owner": "Trung tâm CNTT", "expires": "2099-12-31"},
                {"device": poly["name"], "setting": "qos.dscp.video", "reason": "old",
                 "owner": "Trung tâm CNTT", "expires": "2020-01-01"},
            ],
            allow_unicode=True,
        ),
        encoding="utf-8",
    )  # fmt: skip
    repo = tmp_path / "history"
    poly_set(poly, "qos.diffServ.audio", "0")
    poly_set(poly, "qos.diffServ.video", "0")
    cisco_putxml(
        cisco,
        "<Configuration><Conference><Encryption><Mode>Off</Mode></Encryption>"
        "</Conference></Configuration>",
    )
    base = ("-i", str(inv), "--history", str(repo))
    code, one, out = check(lab, tmp_path, *base)
    assert code == 2, out
    rows = {d["name"]: d for d in one["devices"]}
    assert rows[cisco["name"]]["status"] == "waived"
    video = next(f for f in rows[poly["name"]]["findings"] if f["setting"] == "qos.dscp.video")
    assert video["waiver"]["expired"] and rows[poly["name"]]["status"] == "drifted"

    poly_set(poly, "qos.diffServ.audio", "46")  # an operator puts audio back
    html, junit = tmp_path / "r.html", tmp_path / "r.xml"
    code, two, out = check(lab, tmp_path, *base, "--html", str(html), "--junit", str(junit))
    assert code == 2, out
    still = next(f for d in two["devices"] if d["name"] == poly["name"] for f in d["findings"])
    assert still["setting"] == "qos.dscp.video" and not still["new"]
    assert still["first_seen"] == one["run"]["started"][:10]
    assert [(r["device"], r["setting"]) for r in two["run"]["resolved"]] == [
        (poly["name"], "qos.dscp.audio")
    ]
    schema = json.loads((ROOT / "docs/check-report.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(two, schema)
    page = html.read_text(encoding="utf-8")
    assert page.count('class="device') >= len(lab.devices) and "Sở Thông tin" in page
    assert junit.read_text(encoding="utf-8").count("<testcase") == len(lab.devices)
    log = subprocess.run(
        ["git", "-C", str(repo), "log", "-p", "--all"], capture_output=True, text=True, check=True
    ).stdout
    assert log.count("\ncommit ") + log.startswith("commit ") == 2
    secrets = {d["password"] for d in lab.devices} | {d["snmp_community"] for d in lab.devices}
    for text in (log, page, json.dumps(two), junit.read_text(encoding="utf-8")):
        assert not any(s in text for s in secrets)
