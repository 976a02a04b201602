"""Waivers: reading waivers.yml (named errors), and what they do to findings and statuses."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from vcprov import waivers
from vcprov.findings import CheckRun, DeviceResult, Finding
from vcprov.inventory import InvalidStandard
from vcprov.waivers import InvalidWaivers, Waiver, WaiverError

ROOT = Path(__file__).resolve().parent.parent
TODAY = dt.date(2026, 11, 23)


def w(device: str, setting: str, expires: dt.date, reason: str = "r") -> Waiver:
    return Waiver(device, setting, reason, "Lê Văn Hùng", expires)


def codec(name: str, *findings: Finding, status: str = "compliant") -> DeviceResult:
    site = name.rsplit("-", 1)[0]
    return DeviceResult(name, site, site, "poly-group-series", "endpoint", status, list(findings))


def audio(**kw: object) -> Finding:
    return Finding("qos.dscp.audio", "qos.diffServ.audio", "drifted", 46, 0, **kw)  # type: ignore[arg-type]


def telnet() -> Finding:
    return Finding("mgmt.telnet", "sec.telnet.enabled", "extra", False, True)


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "waivers.yml").write_text(text, encoding="utf-8")
    return tmp_path


# --- reading ---------------------------------------------------------------------


def test_the_inventory_example_is_valid() -> None:
    found = waivers.load(ROOT / "inventory" / "thanhhoa")
    assert len(found) == 1
    (one,) = found
    assert one.device == "ha-trung-*" and one.setting == "qos.*"
    assert one.owner and one.reason and isinstance(one.expires, dt.date)
    assert one.index == 1 and one.line > 1
    # also from the hosts file's path
    assert waivers.load(ROOT / "inventory" / "thanhhoa" / "hosts.yml") == found


def test_no_file_no_waivers(tmp_path: Path) -> None:
    assert waivers.load(tmp_path) == []
    assert waivers.load(write(tmp_path, "# nothing waived\n")) == []


def test_dates_quoted_or_not(tmp_path: Path) -> None:
    text = (
        "- {device: a-*, setting: qos.dscp.audio, reason: r, owner: o, expires: 2026-12-31}\n"
        "- {device: b-*, setting: 'sip.*', reason: r, owner: o, expires: '2027-01-15'}\n"
    )
    got = waivers.load(write(tmp_path, text))
    assert [x.expires for x in got] == [dt.date(2026, 12, 31), dt.date(2027, 1, 15)]
    assert [x.line for x in got] == [1, 2]


BAD = [
    (
        "- device: ha-trung-*\n  setting: qos.*\n  owner: An\n  expires: 2026-12-31\n",
        "waivers.yml:1: entry 1 (device ha-trung-*): key reason: is missing",
    ),
    (
        "- device: ha-trung-*\n  setting: qos.*\n  reason: r\n  owner: An\n",
        "waivers.yml:1: entry 1 (device ha-trung-*): key expires: is missing",
    ),
    (
        "- device: ha-trung-*\n  setting: qos.*\n  reason: ''\n  owner: An\n"
        "  expires: 2026-12-31\n",
        "waivers.yml:3: entry 1 (device ha-trung-*): key reason: is missing",
    ),
    (
        "- device: ha-trung-*\n  setting: qos.dscp.audoi\n  reason: r\n  owner: An\n"
        "  expires: 2026-12-31\n",
        "waivers.yml:2: entry 1 (device ha-trung-*): key setting: 'qos.dscp.audoi' is not a "
        "setting of the standard (did you mean qos.dscp.audio?)",
    ),
    (
        "- device: ha-trung-*\n  setting: voip.*\n  reason: r\n  owner: An\n"
        "  expires: 2026-12-31\n",
        "waivers.yml:2: entry 1 (device ha-trung-*): key setting: the pattern 'voip.*' matches "
        "no setting of the standard",
    ),
    (
        "- device: ha-trung-*\n  setting: qos.*\n  reason: r\n  owner: An\n  expires: 2026-13-01\n",
        "waivers.yml:5: entry 1 (device ha-trung-*): key expires: '2026-13-01' is not a date "
        "(YYYY-MM-DD)",
    ),
    (
        "- device: ha-trung-*\n  setting: qos.*\n  reason: r\n  owner: An\n  expires: 31/12/2026\n",
        "key expires: '31/12/2026' is not a date (YYYY-MM-DD)",
    ),
    (
        "- device: ha-trung-*\n  setting: qos.*\n  reason: r\n  owner: An\n"
        "  expires: 2026-12-31 10:00:00\n",
        "key expires: '2026-12-31 10:00:00' has a time; give a date (YYYY-MM-DD)",
    ),
    (
        "- device: ha-trung-*\n  setting: qos.*\n  reason: r\n  owner: An\n  expiry: 2026-12-31\n",
        "waivers.yml:5: entry 1 (device ha-trung-*): key expiry: unknown key (did you mean "
        "expires?)",
    ),
    (
        "- setting: qos.*\n  reason: r\n  owner: An\n  expires: 2026-12-31\n",
        "waivers.yml:1: entry 1: key device: is missing",
    ),
    (
        "- device: [a, b]\n  setting: qos.*\n  reason: r\n  owner: An\n  expires: 2026-12-31\n",
        "waivers.yml:1: entry 1: key device: must be a non-empty text",
    ),
    ("device: ha-trung-*\nsetting: qos.*\n", "waivers.yml:1: must be a list of waivers"),
    ("- ha-trung-*\n", "waivers.yml:1: entry 1: must be a mapping"),
    ("- device: [unclosed\n", "waivers.yml:2: not valid YAML"),
]


@pytest.mark.parametrize(("text", "message"), BAD, ids=[m[:60] for _, m in BAD])
def test_a_bad_waiver_is_a_named_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(InvalidWaivers) as exc:
        waivers.parse(text, "waivers.yml")
    assert isinstance(exc.value, InvalidStandard)  # the commands report it as a bad standard
    assert message in str(exc.value)
    err = exc.value.errors[0]
    assert isinstance(err, WaiverError) and err.file == "waivers.yml"


def test_every_problem_of_a_file_is_reported_at_once(tmp_path: Path) -> None:
    text = (
        "- device: ha-trung-*\n"
        "  setting: qos.*\n"
        "  reason: the leased line is being replaced\n"
        "  owner: Lê Văn Hùng\n"
        "  expires: 2026-12-31\n"
        "- device: tinh-uy-codec\n"
        "  setting: call.encryptoin\n"
        "  owner: Trần Quốc Bảo\n"
        "  expires: soon\n"
    )
    inv = write(tmp_path, text)
    with pytest.raises(InvalidWaivers) as exc:
        waivers.load(inv)
    lines = str(exc.value).splitlines()
    where = f"{tmp_path / 'waivers.yml'}"
    assert lines == [
        f"{where}:6: entry 2 (device tinh-uy-codec): key reason: is missing (every waiver "
        "needs device, setting, reason, owner, expires)",
        f"{where}:7: entry 2 (device tinh-uy-codec): key setting: 'call.encryptoin' is not a "
        "setting of the standard (did you mean call.encryption?)",
        f"{where}:9: entry 2 (device tinh-uy-codec): key expires: 'soon' is not a date "
        "(YYYY-MM-DD)",
    ]
    assert [(e.index, e.device, e.key) for e in exc.value.errors] == [
        (2, "tinh-uy-codec", "reason"),
        (2, "tinh-uy-codec", "setting"),
        (2, "tinh-uy-codec", "expires"),
    ]


# --- applying ------------------------------------------------------------------------


def test_a_waived_finding_keeps_its_data_and_shows_the_waiver() -> None:
    d = codec("ha-trung-codec", audio())
    state = waivers.apply([d], [w("ha-trung-*", "qos.*", dt.date(2026, 12, 31))], TODAY)
    (f,) = d.findings
    assert d.status == "waived"
    assert (f.setting, f.expected, f.actual) == ("qos.dscp.audio", 46, 0)
    assert f.waived and f.waiver == {
        "device": "ha-trung-*",
        "setting": "qos.*",
        "reason": "r",
        "owner": "Lê Văn Hùng",
        "expires": "2026-12-31",
        "expired": False,
    }
    assert state[0]["findings"] == 1


def test_a_device_with_one_unwaived_finding_is_drifted() -> None:
    d = codec("ha-trung-codec", audio(), telnet())
    waivers.apply([d], [w("ha-trung-*", "qos.*", dt.date(2026, 12, 31))], TODAY)
    assert d.status == "drifted"
    assert [f.waived for f in d.findings] == [True, False]


def test_an_expired_waiver_no_longer_waives_and_says_so() -> None:
    d = codec("ha-trung-codec", audio())
    waivers.apply([d], [w("ha-trung-*", "qos.*", dt.date(2026, 11, 22))], TODAY)
    (f,) = d.findings
    assert d.status == "drifted"
    assert not f.waived and f.waiver_expired
    assert f.waiver is not None and f.waiver["expired"] is True
    # it still holds on its expiry day
    d = codec("ha-trung-codec", audio())
    waivers.apply([d], [w("ha-trung-*", "qos.*", TODAY)], TODAY)
    assert d.status == "waived"


def test_a_valid_waiver_wins_over_an_expired_one() -> None:
    rules = [
        w("ha-trung-*", "qos.*", dt.date(2026, 1, 1), reason="old"),
        w("*-codec", "qos.dscp.*", dt.date(2027, 1, 1), reason="new"),
    ]
    d = codec("ha-trung-codec", audio())
    state = waivers.apply([d], rules, TODAY)
    assert d.status == "waived" and d.findings[0].waiver is not None
    assert d.findings[0].waiver["reason"] == "new"
    assert [s["findings"] for s in state] == [0, 1]


def test_patterns_are_globs_on_device_and_setting() -> None:
    rules = [w("*-sw", "port.*", dt.date(2027, 1, 1))]
    sw = DeviceResult(
        "ha-trung-sw",
        "ha-trung",
        "UBND huyện Hà Trung",
        "cisco-ios",
        "switch",
        findings=[
            Finding("port.bpdu_guard", "interface Gi1/0/5: bpduguard", "missing", True, None)
        ],
    )
    other = codec("ha-trung-codec", audio())
    waivers.apply([sw, other], rules, TODAY)
    assert (sw.status, other.status) == ("waived", "drifted")
    # globs match the whole name, case-sensitively
    d = codec("HA-TRUNG-codec", audio())
    waivers.apply([d], [w("ha-trung-*", "qos.*", dt.date(2027, 1, 1))], TODAY)
    assert d.status == "drifted"


def test_a_cross_device_finding_is_waived_by_either_device() -> None:
    f = Finding(
        "qos.codec_switch_consistency",
        "nga-son-codec / nga-son-sw",
        "drifted",
        "trusted",
        "not trusted",
        devices=["nga-son-codec", "nga-son-sw"],
    )
    d = codec("nga-son-codec", f)
    waivers.apply(
        [d], [w("nga-son-sw", "qos.codec_switch_consistency", dt.date(2027, 1, 1))], TODAY
    )
    assert d.status == "waived"


def test_unreachable_and_error_stay_what_they_are() -> None:
    a = codec("a-codec", status="unreachable")
    b = codec("b-codec", status="error")
    waivers.apply([a, b], [w("*", "*", dt.date(2027, 1, 1))], TODAY)
    assert (a.status, b.status) == ("unreachable", "error")


def test_applying_again_replaces_earlier_waivers() -> None:
    d = codec("ha-trung-codec", audio())
    waivers.apply([d], [w("ha-trung-*", "qos.*", dt.date(2027, 1, 1))], TODAY)
    assert d.status == "waived"
    waivers.apply([d], [], TODAY)
    assert d.status == "drifted" and d.findings[0].waiver is None


def test_a_run_is_judged_on_its_own_date_and_keeps_the_waiver_state() -> None:
    rules = waivers.load(ROOT / "inventory" / "thanhhoa")
    before = CheckRun(
        "2026-12-31T02:00:00+07:00",
        "",
        "inventory/thanhhoa",
        devices=[codec("ha-trung-codec", audio())],
    )
    after = CheckRun(
        "2027-01-01T02:00:00+07:00",
        "",
        "inventory/thanhhoa",
        devices=[codec("ha-trung-codec", audio())],
    )
    waivers.apply(before, rules)
    waivers.apply(after, rules)
    assert before.devices[0].status == "waived" and before.waivers[0]["expired"] is False
    assert after.devices[0].status == "drifted" and after.waivers[0]["expired"] is True
    assert after.waivers[0]["findings"] == 1
