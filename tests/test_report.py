"""The reports of a check run (JSON against its schema, HTML, JUnit, text) and the mail,
on a realistic run with every status and every kind of finding."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import re
import socketserver
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from vcprov import mail, report, waivers
from vcprov.findings import STATUSES, CheckRun, DeviceResult, Finding

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "docs" / "check-report.schema.json").read_text(encoding="utf-8"))
COMMUNITY = "tinhuy-ro-2026"  # a secret value that must never be shown
XSS = "<script>alert('x')</script>"

WAIVERS_YML = """\
- device: ha-trung-*
  setting: qos.*
  reason: the leased line is being replaced (CR-2026-118)
  owner: Lê Văn Hùng
  expires: 2026-12-31
- device: dong-son-codec
  setting: sip.*
  reason: waiting for the new SIP registrar
  owner: Phạm Thị Lan
  expires: 2026-11-01
- device: nga-son-sw
  setting: qos.codec_switch_consistency
  reason: switch replaced next week
  owner: Trần Quốc Bảo
  expires: 2026-11-30
- device: yen-dinh-*
  setting: port.vlan
  reason: VLAN plan change at Yên Định
  owner: Trần Quốc Bảo
  expires: 2027-01-31
"""


def device(name: str, site: str, site_name: str, family: str, **kw: Any) -> DeviceResult:
    role = "switch" if family in ("cisco-ios", "cisco-iosxe", "huawei-vrp") else "endpoint"
    return DeviceResult(name, site, site_name, family, role, **kw)


def sample_run(started: str = "2026-11-23T02:00:05+07:00") -> CheckRun:
    """Ten devices at five sites: every status, every kind, a valid and an expired waiver,
    a cross-device finding, a secret setting, a value that looks like HTML."""
    devices = [
        device(
            "ha-trung-codec",
            "ha-trung",
            "UBND huyện Hà Trung",
            "poly-group-series",
            model="RealPresence Group 310",
            version="6.2.2.1-620157",
            findings=[Finding("qos.dscp.audio", "qos.diffServ.audio", "drifted", 46, 0)],
        ),
        device(
            "ha-trung-sw",
            "ha-trung",
            "UBND huyện Hà Trung",
            "cisco-ios",
            findings=[
                Finding(
                    "port.bpdu_guard",
                    "interface GigabitEthernet1/0/5: spanning-tree bpduguard enable",
                    "missing",
                    True,
                    None,
                )
            ],
        ),
        device(
            "tinh-uy-codec",
            "tinh-uy",
            "Văn phòng Tỉnh ủy Thanh Hóa",
            "poly-os",
            findings=[
                Finding("call.encryption", "enc.mode", "drifted", "when_available", "off"),
                Finding("mgmt.telnet", "sec.telnet.enabled", "extra", False, True),
                Finding("snmp.community", "snmp.community", "drifted", COMMUNITY, "public"),
                Finding(
                    "identity.system_name",
                    "device.local.deviceName",
                    "drifted",
                    "Văn phòng Tỉnh ủy Thanh Hóa",
                    XSS,
                ),
            ],
        ),
        device(
            "tinh-uy-sw",
            "tinh-uy",
            "Văn phòng Tỉnh ủy Thanh Hóa",
            "huawei-vrp",
            status="unreachable",
            error="no answer on 198.51.100.2:22 (timed out)",
        ),
        device(
            "muong-lat-codec",
            "muong-lat",
            "UBND huyện Mường Lát",
            "cisco-roomos",
            status="error",
            error="credentials refused: 401 Unauthorized",
        ),
        device("muong-lat-sw", "muong-lat", "UBND huyện Mường Lát", "cisco-iosxe"),
        device(
            "dong-son-codec",
            "dong-son",
            "UBND huyện Đông Sơn",
            "poly-group-series",
            findings=[
                Finding(
                    "sip.registrar",
                    "voIpProt.SIP.registrar",
                    "drifted",
                    "sip.so-tttt.vc.example",
                    "10.20.30.40",
                ),
                Finding(
                    "time.ntp_servers",
                    "device.sntp.serverName",
                    "missing",
                    ["ntp1.so-tttt.vc.example", "ntp2.so-tttt.vc.example"],
                    None,
                ),
            ],
        ),
        device("dong-son-sw", "dong-son", "UBND huyện Đông Sơn", "cisco-ios"),
        device(
            "nga-son-codec",
            "nga-son",
            "UBND huyện Nga Sơn",
            "cisco-roomos",
            findings=[
                Finding(
                    "qos.codec_switch_consistency",
                    "nga-son-codec: DSCP audio 46 video 34 / nga-son-sw: trust and priority queue",
                    "drifted",
                    "the switch port trusts the codec's DSCP and queues EF first",
                    "the port does not trust DSCP (the marking is re-written)",
                    devices=["nga-son-codec", "nga-son-sw"],
                )
            ],
        ),
        device(
            "nga-son-sw",
            "nga-son",
            "UBND huyện Nga Sơn",
            "huawei-vrp",
            findings=[
                Finding(
                    "port.trust_dscp",
                    "interface GigabitEthernet0/0/5: trust dscp",
                    "missing",
                    True,
                    False,
                ),
                Finding(
                    "port.edge",
                    "interface GigabitEthernet0/0/5: stp edged-port enable",
                    "extra",
                    False,
                    True,
                ),
            ],
        ),
    ]
    run = CheckRun(
        started=started,
        finished=started[:11] + "02:03:41" + started[19:],
        inventory="inventory/thanhhoa",
        limit=None,
        devices=devices,
    )
    waivers.apply(run, waivers.parse(WAIVERS_YML, "inventory/thanhhoa/waivers.yml"))
    return run


@pytest.fixture()
def run() -> CheckRun:
    return sample_run()


# --- the sample itself ------------------------------------------------------------------


def test_the_sample_run_has_every_status_and_kind(run: CheckRun) -> None:
    statuses = {d.name: d.status for d in run.devices}
    assert statuses == {
        "ha-trung-codec": "waived",
        "ha-trung-sw": "drifted",
        "tinh-uy-codec": "drifted",
        "tinh-uy-sw": "unreachable",
        "muong-lat-codec": "error",
        "muong-lat-sw": "compliant",
        "dong-son-codec": "drifted",  # its waiver expired
        "dong-son-sw": "compliant",
        "nga-son-codec": "waived",  # waived through the switch's name
        "nga-son-sw": "drifted",
    }
    assert {f.kind for _, f in run.findings()} == {"drifted", "missing", "extra"}
    assert run.summary() == {
        "compliant": 2,
        "drifted": 4,
        "unreachable": 1,
        "error": 1,
        "waived": 2,
    }


# --- JSON -------------------------------------------------------------------------------


def test_the_json_report_follows_the_contract_and_the_schema(run: CheckRun, tmp_path: Path) -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    path = tmp_path / "check.json"
    report.write_json(run, path)
    raw = path.read_bytes().decode("utf-8")
    assert "UBND huyện Hà Trung" in raw  # UTF-8, not \\u escapes
    doc = json.loads(raw)
    jsonschema.validate(doc, SCHEMA)
    assert set(doc) >= {"run", "summary", "devices"}
    assert set(doc["run"]) >= {"started", "finished", "inventory"}
    assert doc["summary"] == run.summary() and set(doc["summary"]) == set(STATUSES)
    names = [d["name"] for d in doc["devices"]]
    assert len(names) == len(set(names)) == 10
    for dev in doc["devices"]:
        assert set(dev) >= {"name", "site", "family", "status", "findings"}
        for f in dev["findings"]:
            assert set(f) >= {"setting", "vendor_key", "kind", "expected", "actual", "first_seen"}
    tinh_uy = next(d for d in doc["devices"] if d["name"] == "tinh-uy-codec")
    snmp = next(f for f in tinh_uy["findings"] if f["setting"] == "snmp.community")
    assert snmp["expected"] == snmp["actual"] == "<secret>"
    assert COMMUNITY not in raw and "public" not in raw
    dong_son = next(d for d in doc["devices"] if d["name"] == "dong-son-codec")
    assert dong_son["findings"][0]["waiver"]["expired"] is True
    assert {w["device"]: w["findings"] for w in doc["waivers"]} == {
        "ha-trung-*": 1,
        "dong-son-codec": 1,
        "nga-son-sw": 1,
        "yen-dinh-*": 0,
    }


def test_the_schema_rejects_what_breaks_the_contract(run: CheckRun) -> None:
    good = report.to_json(run)
    jsonschema.validate(good, SCHEMA)
    broken: list[dict[str, Any]] = []
    doc = json.loads(json.dumps(good))
    del doc["summary"]["waived"]
    broken.append(doc)
    doc = json.loads(json.dumps(good))
    doc["devices"][0]["status"] = "ok"
    broken.append(doc)
    doc = json.loads(json.dumps(good))
    doc["devices"][0]["findings"][0]["kind"] = "changed"
    broken.append(doc)
    doc = json.loads(json.dumps(good))
    del doc["devices"][2]["findings"][0]["vendor_key"]
    broken.append(doc)
    doc = json.loads(json.dumps(good))
    del doc["run"]["inventory"]
    broken.append(doc)
    doc = json.loads(json.dumps(good))
    doc["devices"][0]["findings"][0]["waiver"] = {"device": "x", "setting": "y"}
    broken.append(doc)
    doc = json.loads(json.dumps(good))
    doc["devices"][0]["findings"][0]["first_seen"] = "yesterday"
    broken.append(doc)
    for doc in broken:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(doc, SCHEMA)


def test_a_json_report_reads_back_into_the_same_run(run: CheckRun) -> None:
    doc = report.to_json(run)
    again = CheckRun.from_dict(json.loads(json.dumps(doc)))
    assert report.to_json(again) == doc
    assert again.device("nga-son-codec").findings[0].waived


def test_an_empty_run_still_has_all_five_counts() -> None:
    run = CheckRun("2026-11-23T02:00:00+07:00", "2026-11-23T02:00:01+07:00", "inv", "x-*")
    doc = report.to_json(run)
    jsonschema.validate(doc, SCHEMA)
    assert doc["summary"] == dict.fromkeys(STATUSES, 0)


# --- HTML -------------------------------------------------------------------------------


class _Page(HTMLParser):
    """Device rows, tags and attribute values of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, str]] = []
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        a = {k: v or "" for k, v in attrs}
        self.attrs += list(a.items())
        if tag == "tr" and "device" in a.get("class", "").split():
            self.rows.append(a)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse_page(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def test_the_html_page_is_self_contained(run: CheckRun, tmp_path: Path) -> None:
    path = tmp_path / "check.html"
    report.write_html(run, path)
    html = path.read_text(encoding="utf-8")
    page = parse_page(html)
    assert '<meta charset="utf-8">' in html
    assert "script" not in page.tags and "link" not in page.tags and "img" not in page.tags
    for name, value in page.attrs:
        if name in ("src", "href", "action", "srcset"):
            pytest.fail(f"external reference {name}={value}")
    style = html[html.index("<style>") : html.index("</style>")]
    assert "@import" not in style and "url(" not in style and "@font-face" not in style
    assert not re.search(r"https?://", html)


def test_the_html_page_shows_every_device_once_with_its_status(run: CheckRun) -> None:
    html = report.render_html(run)
    page = parse_page(html)
    assert [r["data-device"] for r in page.rows] == [
        # worst site first (an error), then unreachable, drifted..., compliant last;
        # the inventory's order within
        "muong-lat-codec",
        "muong-lat-sw",
        "tinh-uy-codec",
        "tinh-uy-sw",
        "ha-trung-codec",
        "ha-trung-sw",
        "dong-son-codec",
        "dong-son-sw",
        "nga-son-codec",
        "nga-son-sw",
    ]
    assert {r["data-device"]: r["data-status"] for r in page.rows} == {
        d.name: d.status for d in run.devices
    }
    text = " ".join(page.text)
    for name in ("UBND huyện Hà Trung", "Văn phòng Tỉnh ủy Thanh Hóa", "UBND huyện Mường Lát"):
        assert name in text
    counts = dict(re.findall(r'data-status="(\w+)"><span class="n">(\d+)</span>', html))
    assert {k: int(v) for k, v in counts.items()} == run.summary()


def test_the_html_page_details_findings_and_waivers(run: CheckRun) -> None:
    html = report.render_html(run)
    text = " ".join(parse_page(html).text)
    # setting, vendor key, expected, actual
    for part in ("qos.dscp.audio", "qos.diffServ.audio", "sip.registrar", "10.20.30.40",
                 "ntp1.so-tttt.vc.example, ntp2.so-tttt.vc.example", "(absent)",
                 "spanning-tree bpduguard enable"):  # fmt: skip
        assert part in text, part
    assert "credentials refused: 401 Unauthorized" in text
    # the valid waiver: owner, reason, expiry; the expired one says so
    assert "Lê Văn Hùng" in text and "CR-2026-118" in text and "2026-12-31" in text
    assert "EXPIRED" in text and "2026-11-01" in text and "Phạm Thị Lan" in text
    assert "(matches nothing)" in text  # yen-dinh-* waiver
    assert "Started 2026-11-23T02:00:05+07:00" in text
    # a device's own value is escaped, a secret never shown
    assert XSS not in html and "&lt;script&gt;" in html
    assert COMMUNITY not in html and "public" not in text
    assert html.count("<secret>") == 0 and html.count("&lt;secret&gt;") == 2


def test_the_html_page_shows_what_changed_since_the_last_run(run: CheckRun) -> None:
    run.previous_status = {d.name: "compliant" for d in run.devices}
    run.previous_status["nga-son-sw"] = "drifted"
    for _, f in run.findings():
        f.new, f.first_seen = False, "2026-11-20"
    run.device("tinh-uy-codec").findings[0].new = True
    run.resolved = [
        {
            "device": "muong-lat-sw",
            "site": "muong-lat",
            "setting": "port.vlan",
            "vendor_key": "interface GigabitEthernet1/0/5: switchport access vlan 120",
            "kind": "drifted",
            "expected": 120,
            "actual": 1,
            "first_seen": "2026-11-02",
            "resolved": "2026-11-23",
        }
    ]
    html = report.render_html(run)
    text = " ".join(parse_page(html).text)
    assert "1 new finding, 1 resolved, 7 status changes" in text
    assert "switchport access vlan 120" in text and "2026-11-02" in text
    assert html.count(">NEW<") == 1
    assert "(3 d)" in text  # first seen three days before the run


# --- JUnit ------------------------------------------------------------------------------


def test_junit_has_one_testcase_per_device(run: CheckRun, tmp_path: Path) -> None:
    path = tmp_path / "check.xml"
    report.write_junit(run, path)
    root = ET.parse(path).getroot()
    suite = root.find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert [(c.get("classname"), c.get("name")) for c in cases] == [
        (d.site, d.name) for d in run.devices
    ]
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("10", "6", "2")
    by_name = {c.get("name"): c for c in cases}
    for dev in run.devices:
        case = by_name[dev.name]
        failure, skipped = case.find("failure"), case.find("skipped")
        if dev.status in ("drifted", "unreachable", "error"):
            assert failure is not None and failure.get("type") == dev.status
            assert skipped is None
        elif dev.status == "waived":
            assert skipped is not None and failure is None
        else:
            assert failure is None and skipped is None
    tinh_uy = by_name["tinh-uy-codec"].find("failure")
    assert tinh_uy is not None and tinh_uy.text is not None
    assert "call.encryption (enc.mode): expected when_available, found off" in tinh_uy.text
    assert "snmp.community (snmp.community): expected <secret>, found <secret>" in tinh_uy.text
    assert "Văn phòng Tỉnh ủy Thanh Hóa" in ET.tostring(root, encoding="unicode")
    unreachable = by_name["tinh-uy-sw"].find("failure")
    assert unreachable is not None and "timed out" in (unreachable.text or "")
    waived = by_name["ha-trung-codec"].find("skipped")
    assert waived is not None and "Lê Văn Hùng" in (waived.get("message") or "")
    assert COMMUNITY not in path.read_text(encoding="utf-8")


def test_junit_survives_control_characters_in_device_values() -> None:
    run = CheckRun(
        "2026-11-23T02:00:00+07:00",
        "2026-11-23T02:01:00+07:00",
        "inv",
        devices=[
            device(
                "x-codec",
                "x",
                "X",
                "poly-os",
                findings=[Finding("identity.system_name", "k", "drifted", "X", "bad\x00\x07name")],
            )
        ],
    )
    run.finalise()
    root = ET.fromstring(report.render_junit(run).encode("utf-8"))
    assert root.get("failures") == "1"


# --- text and mail ------------------------------------------------------------------


def test_the_text_summary_lists_what_needs_attention(run: CheckRun) -> None:
    text = report.text_summary(run)
    assert "10 devices: 2 compliant, 4 drifted, 1 unreachable, 1 error, 2 waived" in text
    assert "muong-lat-codec [error] UBND huyện Mường Lát" in text
    assert "waiver EXPIRED 2026-11-01" in text
    assert "Expired waivers (no longer waive):" in text
    assert COMMUNITY not in text
    assert "dong-son-sw" not in text  # compliant devices are only counted
    assert report.subject(run) == (
        "vcprov check 2026-11-23 02:00: 4 drifted, 1 unreachable, 1 error, 2 waived (11 new)"
    )


class _SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP (RFC 5321) to take one message."""

    def handle(self) -> None:
        server: _SMTPServer = self.server  # type: ignore[assignment]
        self.wfile.write(b"220 test ESMTP\r\n")
        mail_from, rcpts = "", []
        while line := self.rfile.readline():
            cmd = line.decode("ascii", "replace").strip()
            verb = cmd.split(" ", 1)[0].split(":", 1)[0].upper()
            if verb == "EHLO":
                self.wfile.write(b"250-test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
            elif verb == "HELO":
                self.wfile.write(b"250 test\r\n")
            elif verb == "MAIL":
                mail_from = cmd.split(":", 1)[1].split()[0].strip("<>")
                self.wfile.write(b"250 OK\r\n")
            elif verb == "RCPT":
                rcpts.append(cmd.split(":", 1)[1].split()[0].strip("<>"))
                self.wfile.write(b"250 OK\r\n")
            elif verb == "DATA":
                self.wfile.write(b"354 go on\r\n")
                data = bytearray()
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                server.received.append((mail_from, rcpts, bytes(data)))
                self.wfile.write(b"250 queued\r\n")
            elif verb == "QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 OK\r\n")


class _SMTPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SMTPHandler)
        self.received: list[tuple[str, list[str], bytes]] = []


@pytest.fixture()
def smtp_server() -> Iterator[_SMTPServer]:
    server = _SMTPServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_the_mail_carries_the_summary_and_the_html_report(
    run: CheckRun, smtp_server: _SMTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = smtp_server.server_address[1]
    monkeypatch.setenv("VCPROV_SMTP", f"127.0.0.1:{port}")
    sent = mail.send(run, "noc@so-tttt.vc.example, truc-ca@so-tttt.vc.example",
                     sender="vcprov@so-tttt.vc.example")  # fmt: skip
    assert len(smtp_server.received) == 1
    mail_from, rcpts, data = smtp_server.received[0]
    assert mail_from == "vcprov@so-tttt.vc.example"
    assert rcpts == ["noc@so-tttt.vc.example", "truc-ca@so-tttt.vc.example"]
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    assert msg["Subject"] == report.subject(run) == sent["Subject"]
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert text is not None and html is not None
    assert "UBND huyện Mường Lát" in text.get_content()
    page = parse_page(html.get_content())
    assert len(page.rows) == len(run.devices)
    assert COMMUNITY.encode() not in data
    assert data.isascii()  # 7-bit clean: any relay passes it unchanged


def test_a_relay_that_does_not_answer_is_a_named_error(run: CheckRun) -> None:
    server = _SMTPServer()
    port = server.server_address[1]
    server.server_close()  # nothing listens there now
    with pytest.raises(mail.MailError, match=f"127.0.0.1:{port}"):
        mail.send(run, "noc@so-tttt.vc.example", smtp=f"127.0.0.1:{port}", timeout=5)


def test_the_relay_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VCPROV_SMTP", raising=False)
    assert mail.smtp_address() == ("localhost", 25)
    monkeypatch.setenv("VCPROV_SMTP", "relay.so-tttt.vc.example:2525")
    assert mail.smtp_address() == ("relay.so-tttt.vc.example", 2525)
    assert mail.smtp_address("relay") == ("relay", 25)
    assert mail.smtp_address("[::1]:2525") == ("::1", 2525)
    for bad in ("relay:http", "relay:70000", "::1:25", ":25", "[::1"):
        with pytest.raises(mail.MailError, match="VCPROV_SMTP"):
            mail.smtp_address(bad)
    with pytest.raises(mail.MailError, match="no recipient"):
        mail.build(sample_run(), " , ")


def test_quiet_when_nothing_changed(run: CheckRun) -> None:
    same = {d.name: d.status for d in run.devices}
    for _, f in run.findings():
        f.new = False
    assert not mail.should_mail(run, same)
    assert not mail.should_mail(run, sample_run())  # the previous run itself
    run.previous_status = same
    assert not mail.should_mail(run)  # the history's previous statuses
    # a status change, a new finding, a resolved one: mail
    assert mail.should_mail(run, dict(same, **{"tinh-uy-sw": "compliant"}))
    assert mail.should_mail(run, {k: v for k, v in same.items() if k != "dong-son-sw"})
    run.device("tinh-uy-codec").findings[1].new = True
    assert mail.should_mail(run, same)
    run.device("tinh-uy-codec").findings[1].new = False
    run.resolved = [{"device": "dong-son-sw", "setting": "port.vlan", "kind": "drifted"}]
    assert mail.should_mail(run, same)
    run.resolved = []
    # no history at all: the first run mails
    run.previous_status = None
    assert mail.should_mail(run)


def test_waiver_expiry_is_relative_to_the_run_date() -> None:
    later = sample_run(started="2027-01-01T02:00:00+07:00")
    assert later.device("ha-trung-codec").status == "drifted"  # expired on 2026-12-31
    assert later.device("nga-son-codec").status == "drifted"
    assert dt.date.fromisoformat(later.date) == dt.date(2027, 1, 1)
