"""The check history (a real git repository per test) and the noise filter it relies on."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from vcprov import history, noise
from vcprov.findings import CheckRun, DeviceResult, Finding

SECRETS = ("Pr0vince-RO", "Sw1tch-Adm1n", "En4ble-S3cret", "Hu4wei-L0cal", "C0dec-Adm1n-PW")

IOS_CONFIG = """\
Building configuration...

Current configuration : {size} bytes
!
! Last configuration change at {stamp} UTC Mon Nov 23 2026 by vcprov
! NVRAM config last updated at {stamp} UTC Mon Nov 23 2026 by vcprov
!
version 15.2
hostname ha-trung-sw
!
enable secret 5 En4ble-S3cret
username vcprov privilege 15 secret 9 Sw1tch-Adm1n
!
crypto pki trustpoint TP-self-signed-3735928559
 enrollment selfsigned
 revocation-check none
!
crypto pki certificate chain TP-self-signed-3735928559
 certificate self-signed 01
  3082022B 30820194 A0030201 02020101 300D0609 2A864886 F70D0101 05050030
  {cert}
  \tquit
!
mls qos
!
interface GigabitEthernet1/0/5
 description VC codec ha-trung-codec RealPresence Group 310
 switchport access vlan {vlan}
 switchport mode access
 mls qos trust dscp
 spanning-tree portfast
 spanning-tree bpduguard enable
!
snmp-server community Pr0vince-RO RO 10
ntp clock-period {period}
ntp server ntp1.so-tttt.vc.example
line vty 0 4
 password 7 Sw1tch-Adm1n
!
end
"""

HUAWEI_CONFIG = """\
!Software Version V200R019C10SPC500
!Last configuration was updated at 2026-11-{day} 02:14:07+07:00
#
sysname tinh-uy-sw
#
local-user vcprov password irreversible-cipher Hu4wei-L0cal
snmp-agent community read cipher Pr0vince-RO
#
interface GigabitEthernet0/0/5
 description VC codec tinh-uy-codec
 port link-type access
 port default vlan 120
 trust dscp
 stp edged-port enable
#
return
"""


def ios(stamp: str = "02:14:07", vlan: int = 120, period: int = 36028797, cert: str = "AB") -> str:
    text = IOS_CONFIG.format(stamp=stamp, vlan=vlan, period=period, cert=cert * 16, size=0)
    return text.replace(
        "Current configuration : 0 bytes", f"Current configuration : {len(text)} bytes"
    )


def codec_config(**over: Any) -> dict[str, Any]:
    base = {
        "qos.diffServ.audio": "46",
        "qos.diffServ.video": "34",
        "voIpProt.SIP.registrar": "sip.so-tttt.vc.example",
        "sec.auth.admin.password": "C0dec-Adm1n-PW",
        "snmp.community": "Pr0vince-RO",
        "device.uptime": "3 days 04:12:55",
        "sec.tls.certificate.pem": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
        "device.local.deviceName": "UBND huyện Hà Trung",
    }
    base.update(over)
    return base


def make_run(date: str, devices: list[DeviceResult], limit: str | None = None) -> CheckRun:
    run = CheckRun(
        f"{date}T02:00:00+07:00", f"{date}T02:04:10+07:00", "inventory/thanhhoa", limit, devices
    )
    run.finalise()
    return run


def codec(
    status: str = "compliant", findings: list[Finding] | None = None, **cfg: Any
) -> DeviceResult:
    return DeviceResult(
        "ha-trung-codec",
        "ha-trung",
        "UBND huyện Hà Trung",
        "poly-group-series",
        "endpoint",
        status=status,
        findings=list(findings or []),
        error="no answer (timed out)" if status == "unreachable" else "",
        config=None if status in ("unreachable", "error") else codec_config(**cfg),
    )


def switch(
    status: str = "compliant", findings: list[Finding] | None = None, **cfg: Any
) -> DeviceResult:
    return DeviceResult(
        "ha-trung-sw",
        "ha-trung",
        "UBND huyện Hà Trung",
        "cisco-ios",
        "switch",
        status=status,
        findings=list(findings or []),
        error="credentials refused" if status == "error" else "",
        config=None if status in ("unreachable", "error") else ios(**cfg),
    )


def huawei(day: str = "23", **kw: Any) -> DeviceResult:
    return DeviceResult(
        "tinh-uy-sw",
        "tinh-uy",
        "Văn phòng Tỉnh ủy Thanh Hóa",
        "huawei-vrp",
        "switch",
        config=HUAWEI_CONFIG.format(day=day),
        **kw,
    )


def audio(actual: int = 0) -> Finding:
    return Finding("qos.dscp.audio", "qos.diffServ.audio", "drifted", 46, actual)


def telnet() -> Finding:
    return Finding("mgmt.telnet", "sec.telnet.enabled", "extra", False, True)


def bpdu() -> Finding:
    return Finding(
        "port.bpdu_guard",
        "interface GigabitEthernet1/0/5: spanning-tree bpduguard enable",
        "missing",
        True,
        None,
    )


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    ).stdout


# --- history ----------------------------------------------------------------------


def test_first_seen_is_carried_across_runs_and_resolved_is_listed(tmp_path: Path) -> None:
    repo = tmp_path / "history"
    assert history.previous(repo) is None

    # night 1: audio DSCP drifted on the codec
    run1 = make_run("2026-11-20", [codec(findings=[audio()]), switch()])
    sha1 = history.record(repo, run1)
    (f1,) = run1.device("ha-trung-codec").findings
    assert (f1.first_seen, f1.new) == ("2026-11-20", True)
    assert run1.resolved == [] and run1.previous_status is None

    # night 2: still there (another value), telnet on as well, BPDU guard gone on the switch
    run2 = make_run("2026-11-21", [codec(findings=[audio(8), telnet()]), switch(findings=[bpdu()])])
    history.record(repo, run2)
    a2, t2 = run2.device("ha-trung-codec").findings
    (b2,) = run2.device("ha-trung-sw").findings
    assert (a2.first_seen, a2.new) == ("2026-11-20", False)
    assert (t2.first_seen, t2.new) == ("2026-11-21", True)
    assert (b2.first_seen, b2.new) == ("2026-11-21", True)
    assert run2.resolved == []
    assert run2.previous_status == {"ha-trung-codec": "drifted", "ha-trung-sw": "compliant"}

    # night 3: telnet fixed, audio still wrong, the switch is back to the standard
    run3 = make_run("2026-11-22", [codec(findings=[audio(8)]), switch()])
    sha3 = history.record(repo, run3)
    (a3,) = run3.device("ha-trung-codec").findings
    assert (a3.first_seen, a3.new) == ("2026-11-20", False)
    assert sorted((r["device"], r["setting"], r["first_seen"]) for r in run3.resolved) == [
        ("ha-trung-codec", "mgmt.telnet", "2026-11-21"),
        ("ha-trung-sw", "port.bpdu_guard", "2026-11-21"),
    ]
    assert all(r["resolved"] == "2026-11-22" for r in run3.resolved)

    log = git(repo, "log", "--format=%H %ad %s", "--date=short").splitlines()
    assert len(log) == 3
    assert log[0].startswith(f"{sha3} 2026-11-22 check 2026-11-22 02:00: 1 compliant, 1 drifted")
    assert log[-1].startswith(f"{sha1} 2026-11-20 ")
    body = git(repo, "log", "-1", "--format=%B")
    assert "Resolved: 2" in body and "ha-trung-codec mgmt.telnet extra" in body
    assert "Status changes: 1" in body and "ha-trung-sw: drifted -> compliant" in body
    assert "Inventory: inventory/thanhhoa" in body and "Limit: (every device)" in body


def test_an_unreachable_night_resolves_nothing_and_forgets_nothing(tmp_path: Path) -> None:
    repo = tmp_path / "history"
    history.record(
        repo, make_run("2026-11-20", [codec(findings=[audio()]), switch(findings=[bpdu()])])
    )
    before = (repo / "devices" / "ha-trung-codec.json").read_text(encoding="utf-8")

    # night 2: the codec does not answer, the switch refuses the credentials
    run2 = make_run("2026-11-21", [codec(status="unreachable"), switch(status="error")])
    history.record(repo, run2)
    assert run2.resolved == []
    assert [d.status for d in run2.devices] == ["unreachable", "error"]
    state = json.loads((repo / "findings.json").read_text(encoding="utf-8"))
    entry = state["devices"]["ha-trung-codec"]
    assert entry["status"] == "unreachable" and entry["stale"] is True
    assert [f["setting"] for f in entry["findings"]] == ["qos.dscp.audio"]
    assert (repo / "devices" / "ha-trung-codec.json").read_text(encoding="utf-8") == before

    # night 3: back, the same finding keeps its first night; the switch's one is resolved
    run3 = make_run("2026-11-22", [codec(findings=[audio()]), switch()])
    history.record(repo, run3)
    (f,) = run3.device("ha-trung-codec").findings
    assert (f.first_seen, f.new) == ("2026-11-20", False)
    assert [(r["device"], r["setting"]) for r in run3.resolved] == [
        ("ha-trung-sw", "port.bpdu_guard")
    ]
    assert run3.previous_status == {"ha-trung-codec": "unreachable", "ha-trung-sw": "error"}


def test_git_log_shows_real_changes_and_never_volatile_ones(tmp_path: Path) -> None:
    repo = tmp_path / "history"
    history.record(repo, make_run("2026-11-20", [codec(), switch(), huawei(day="20")]))
    # night 2: only clocks, counters, certificates and build stamps moved
    run2 = make_run(
        "2026-11-21",
        [
            codec(**{"device.uptime": "4 days 04:12:55"}),
            switch(stamp="23:59:01", period=36028111, cert="CD"),
            huawei(day="21"),
        ],
    )
    history.record(repo, run2)
    assert git(repo, "show", "--stat", "--format=", "HEAD").strip() == ""  # an empty commit
    assert git(repo, "log", "-1", "--format=%s").strip().endswith("; no change")
    assert "Configuration changed: none" in git(repo, "log", "-1", "--format=%B")
    # night 3: someone moved the codec's port to another VLAN
    history.record(repo, make_run("2026-11-22", [codec(), switch(vlan=130), huawei(day="22")]))
    patch = git(repo, "log", "-p", "-1", "--format=%s", "--", "devices/ha-trung-sw.txt")
    assert "- switchport access vlan 120" in patch and "+ switchport access vlan 130" in patch
    assert "Configuration changed: ha-trung-sw" in git(repo, "log", "-1", "--format=%B")
    changed = git(repo, "log", "--format=", "--name-only", "--", "devices/").split()
    assert sorted(changed) == [
        "devices/ha-trung-codec.json",
        "devices/ha-trung-sw.txt",  # night 1
        "devices/ha-trung-sw.txt",  # night 3
        "devices/tinh-uy-sw.txt",
    ]
    kept = (repo / "devices" / "ha-trung-sw.txt").read_text(encoding="utf-8")
    for volatile in ("Building configuration", "Current configuration", "Last configuration",
                     "NVRAM", "ntp clock-period", "crypto pki", "3082022B", "quit"):  # fmt: skip
        assert volatile not in kept, volatile
    assert kept.startswith("!\nversion 15.2\n") and "ntp server ntp1.so-tttt.vc.example" in kept
    assert "spanning-tree bpduguard enable" in kept
    vrp = (repo / "devices" / "tinh-uy-sw.txt").read_text(encoding="utf-8")
    assert vrp.startswith("#\nsysname tinh-uy-sw\n") and "Software Version" not in vrp
    kv = json.loads((repo / "devices" / "ha-trung-codec.json").read_text(encoding="utf-8"))
    assert list(kv) == sorted(kv)
    assert "device.uptime" not in kv and "sec.tls.certificate.pem" not in kv
    assert kv["device.local.deviceName"] == "UBND huyện Hà Trung"


def test_no_secret_reaches_the_history(tmp_path: Path) -> None:
    repo = tmp_path / "history"
    snmp = Finding("snmp.community", "snmp.community", "drifted", "Pr0vince-RO", "public")
    history.record(repo, make_run("2026-11-20", [codec(findings=[snmp]), switch(), huawei()]))
    history.record(repo, make_run("2026-11-21", [codec(), switch(vlan=130), huawei()]))
    everything = git(repo, "log", "-p", "--all", "--format=%B")
    everything += "".join(p.read_text(encoding="utf-8") for p in repo.rglob("*") if p.is_file()
                          and ".git" not in p.parts)  # fmt: skip
    for secret in SECRETS:
        assert secret not in everything, secret
    sw = (repo / "devices" / "ha-trung-sw.txt").read_text(encoding="utf-8")
    assert "enable secret 5 <removed>" in sw
    assert "username vcprov privilege 15 secret 9 <removed>" in sw
    assert "snmp-server community <removed> RO 10" in sw
    assert " password 7 <removed>" in sw
    vrp = (repo / "devices" / "tinh-uy-sw.txt").read_text(encoding="utf-8")
    assert "local-user vcprov password irreversible-cipher <removed>" in vrp
    assert "snmp-agent community read cipher <removed>" in vrp
    kv = json.loads((repo / "devices" / "ha-trung-codec.json").read_text(encoding="utf-8"))
    assert kv["sec.auth.admin.password"] == kv["snmp.community"] == "<removed>"
    first = json.loads(git(repo, "show", "HEAD~1:findings.json"))
    (f,) = first["devices"]["ha-trung-codec"]["findings"]
    assert f["expected"] == f["actual"] == "<secret>"


@pytest.mark.parametrize(
    ("line", "redacted"),
    [
        ("snmp-server community Pr0vince-RO RO", "snmp-server community <removed> RO"),
        ("snmp-server host 10.0.0.9 version 2c Pr0vince-RO",
         "snmp-server host 10.0.0.9 version 2c <removed>"),
        ("username admin secret Sw1tch", "username admin secret <removed>"),
        ("username admin algorithm-type scrypt secret Sw1tch",
         "username admin algorithm-type scrypt secret <removed>"),
        ("enable password 7 0822455D0A16", "enable password 7 <removed>"),
        ("local-user admin password cipher %^%#x", "local-user admin password cipher <removed>"),
        ("tacacs-server key 7 Xy", "tacacs-server key 7 <removed>"),
        (" key 7 Xy", " key 7 <removed>"),
        ("ntp authentication-key 1 md5 Xy 7", "ntp authentication-key 1 md5 <removed> 7"),
        ("radius-server shared-key cipher Xy", "radius-server shared-key cipher <removed>"),
        ("service password-encryption", "service password-encryption"),
        ("crypto key generate rsa modulus 2048", "crypto key generate rsa modulus 2048"),
        (" description secret room", " description secret room"),
    ],
)  # fmt: skip
def test_secret_lines(line: str, redacted: str) -> None:
    assert history.redact_lines(line) == redacted


def test_secret_keys() -> None:
    got = history.redact_keys(
        {
            "sec.auth.admin.password": "x",
            "Configuration.SIP.Authentication.Password": "x",
            "snmp.community": "x",
            "provisioning.apiKey": "x",
            "sip.auth.key": "x",
            "Audio.SoundsAndAlerts.KeyTones.Mode": "On",
            "SystemUnit.KeyboardLayout": "US",
            "sec.auth.guest.password": "",
            "nested": {"token": "x", "name": "n"},
        }
    )
    assert got == {
        "sec.auth.admin.password": "<removed>",
        "Configuration.SIP.Authentication.Password": "<removed>",
        "snmp.community": "<removed>",
        "provisioning.apiKey": "<removed>",
        "sip.auth.key": "<removed>",
        "Audio.SoundsAndAlerts.KeyTones.Mode": "On",
        "SystemUnit.KeyboardLayout": "US",
        "sec.auth.guest.password": "",
        "nested": {"token": "<removed>", "name": "n"},
    }


def test_a_limited_run_leaves_the_other_devices_alone(tmp_path: Path) -> None:
    repo = tmp_path / "history"
    history.record(repo, make_run("2026-11-20", [codec(findings=[audio()]), switch(), huawei()]))
    run2 = make_run("2026-11-21", [huawei()], limit="tinh-uy-*")
    history.record(repo, run2)
    assert run2.resolved == []
    state = json.loads((repo / "findings.json").read_text(encoding="utf-8"))
    assert set(state["devices"]) == {"ha-trung-codec", "ha-trung-sw", "tinh-uy-sw"}
    assert "Limit: tinh-uy-*" in git(repo, "log", "-1", "--format=%B")
    # the next full run still knows the codec's finding from night 1
    run3 = make_run("2026-11-22", [codec(findings=[audio()]), switch(), huawei()])
    history.record(repo, run3)
    assert run3.device("ha-trung-codec").findings[0].first_seen == "2026-11-20"
    # a full run without the Hà Trung devices: they left the inventory
    history.record(repo, make_run("2026-11-23", [huawei()]))
    state = json.loads((repo / "findings.json").read_text(encoding="utf-8"))
    assert set(state["devices"]) == {"tinh-uy-sw"}
    assert sorted(p.name for p in (repo / "devices").iterdir()) == ["tinh-uy-sw.txt"]


def test_the_repository_is_made_with_its_own_identity(tmp_path: Path) -> None:
    repo = tmp_path / "deep" / "history"
    sha = history.record(repo, make_run("2026-11-20", [switch()]))
    assert git(repo, "config", "user.name").strip() == "vcprov check"
    assert git(repo, "rev-parse", "HEAD").strip() == sha
    assert git(repo, "log", "-1", "--format=%an <%ae> %cn").strip() == (
        "vcprov check <vcprov-check@localhost> vcprov check"
    )
    assert git(repo, "log", "-1", "--format=%aI %cI").split() == [
        "2026-11-20T02:00:00+07:00",
        "2026-11-20T02:04:10+07:00",
    ]
    assert git(repo, "status", "--porcelain") == ""
    state = json.loads(git(repo, "show", "HEAD:findings.json"))
    assert state["format"] == 1 and "new" not in json.dumps(state)


def test_a_broken_history_is_a_named_error(tmp_path: Path) -> None:
    repo = tmp_path / "history"
    history.record(repo, make_run("2026-11-20", [switch()]))
    (repo / "findings.json").write_text("{not json", encoding="utf-8")
    git(repo, "commit", "-qam", "broken by hand")
    with pytest.raises(
        history.HistoryError, match=r"findings\.json of the last commit is not JSON"
    ):
        history.record(repo, make_run("2026-11-21", [switch()]))


# --- noise ----------------------------------------------------------------------------


def test_every_noise_rule_drops_its_own_example() -> None:
    rules = noise.rules()
    assert rules.lines and rules.blocks and rules.keys and rules.values
    for rule in rules.lines:
        fams = sorted(rule.families) if rule.families else ["cisco-ios"]
        for fam in fams:
            assert noise.is_noise_line(rule.example, fam), (rule.pattern, fam)
            assert noise.clean_lines(f"hostname x\n{rule.example}\n", fam) == "hostname x\n"
    for rule in rules.blocks:
        fam = sorted(rule.families)[0] if rule.families else "cisco-ios"
        text = f"hostname x\n{rule.example}\n body line\n  deeper\nend\n"
        got = noise.clean_lines(text, fam)
        if rule.end:
            assert got == "hostname x\n", rule.start
        else:
            assert got == "hostname x\nend\n", rule.start
    for rule in rules.keys:
        fam = sorted(rule.families)[0] if rule.families else "poly-os"
        assert noise.is_noise_key(rule.example, fam), rule.pattern
        assert noise.clean_keys({rule.example: "1", "qos.diffServ.audio": "46"}, fam) == {
            "qos.diffServ.audio": "46"
        }
    for rule in rules.values:
        assert noise.clean_keys({"k": rule.example, "j": "v"}, None) == {"j": "v"}


def test_noise_rules_are_per_family() -> None:
    assert noise.is_noise_line("ntp clock-period 36028797", "cisco-ios")
    assert not noise.is_noise_line("ntp clock-period 36028797", "huawei-vrp")
    assert noise.is_noise_line("!Software Version V200R019C10SPC500", "huawei-vrp")
    assert not noise.is_noise_line("!Software Version V200R019C10SPC500", "cisco-ios")
    assert noise.is_noise_key("device.local.time", "poly-os")
    assert not noise.is_noise_key("device.local.time", "cisco-roomos")


def test_real_lines_survive_the_filter() -> None:
    text = ios()
    cleaned = noise.clean_lines(text.replace("\n", "\r\n"), "cisco-ios")
    assert "\r" not in cleaned
    for line in text.splitlines():
        if line.startswith(("interface", " switchport", " mls", "ntp server", "hostname")):
            assert line in cleaned.splitlines(), line
    assert noise.clean_lines("", "cisco-ios") == ""


def test_noise_findings_are_dropped() -> None:
    keep = Finding("qos.dscp.audio", "qos.diffServ.audio", "drifted", 46, 0)
    clock = Finding("time.zone", "device.local.timestamp", "drifted", "x", "y")
    period = Finding("time.ntp_servers", "ntp clock-period 36028797", "extra", None, "x")
    assert noise.drop_noise([keep, clock], "poly-os") == [keep]
    assert noise.drop_noise([keep, period], "cisco-ios") == [keep]


def test_a_bad_noise_rule_is_named() -> None:
    with pytest.raises(ValueError, match=r"noise.yml: lines rule 1: '\(' is not a regular"):
        noise.load("lines:\n  - {pattern: '(', families: '*', why: w, example: e}\n")
    with pytest.raises(ValueError, match="keys rule 1: every rule needs why and example"):
        noise.load("keys:\n  - {pattern: '*x*'}\n")
    with pytest.raises(ValueError, match="blocks rule 1: key start: missing"):
        noise.load("blocks:\n  - {pattern: 'x', why: w, example: e}\n")
