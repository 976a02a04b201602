"""The drift check's data model: findings, device results, runs, statuses."""

from __future__ import annotations

from typing import Any

import pytest

from vcprov.findings import (
    CHECK_SETTINGS,
    SECRET,
    STATUSES,
    CheckRun,
    DeviceResult,
    Finding,
    finalise_status,
    is_secret,
    known_settings,
    plain,
    sites,
)
from vcprov.standard import SETTINGS

STARTED = "2026-11-23T02:00:00+07:00"


def dev(name: str = "ha-trung-codec", **kw: Any) -> DeviceResult:
    return DeviceResult(
        name, "ha-trung", "UBND huyện Hà Trung", "poly-group-series", "endpoint", **kw
    )


def waiver(expired: bool = False) -> dict[str, Any]:
    return {
        "device": "ha-trung-*",
        "setting": "qos.*",
        "reason": "line replaced",
        "owner": "Lê Văn Hùng",
        "expires": "2026-12-31",
        "expired": expired,
    }


def test_a_secret_setting_never_holds_its_value() -> None:
    assert is_secret("snmp.community") and not is_secret("qos.dscp.audio")
    f = Finding("snmp.community", "snmp.community", "drifted", "s3cr3t-ro", "public")
    assert f.expected == f.actual == SECRET
    assert "s3cr3t-ro" not in repr(f) and "public" not in repr(f)
    assert f.to_dict()["expected"] == SECRET
    again = Finding.from_dict({**f.to_dict(), "expected": "leaked"})
    assert again.expected == SECRET


def test_kinds_and_statuses_are_checked() -> None:
    with pytest.raises(ValueError, match="kind 'changed' is not one of drifted, missing, extra"):
        Finding("qos.dscp.audio", "k", "changed", 46, 0)
    with pytest.raises(ValueError, match="status 'ok' is not one of compliant, drifted"):
        dev(status="ok")


@pytest.mark.parametrize(
    ("status", "findings", "expected"),
    [
        ("compliant", [], "compliant"),
        ("drifted", [], "compliant"),
        ("compliant", [{}], "drifted"),
        ("compliant", [{"waiver": waiver()}], "waived"),
        ("compliant", [{"waiver": waiver()}, {}], "drifted"),
        ("compliant", [{"waiver": waiver(expired=True)}], "drifted"),
        ("waived", [{"waiver": waiver(expired=True)}], "drifted"),
        ("unreachable", [], "unreachable"),
        ("error", [], "error"),
        ("unreachable", [{}], "unreachable"),
    ],
)
def test_finalise_status(status: str, findings: list[dict[str, Any]], expected: str) -> None:
    d = dev(
        status=status,
        findings=[Finding("qos.dscp.audio", "k", "drifted", 46, 0, **f) for f in findings],
    )
    finalise_status(d)
    assert d.status == expected


def test_a_finding_keeps_its_identity_when_its_values_change() -> None:
    a = Finding("qos.dscp.audio", "qos.diffServ.audio", "drifted", 46, 0)
    b = Finding("qos.dscp.audio", "comm.qos.audio", "drifted", 46, 8, first_seen="2026-11-01")
    c = Finding("qos.dscp.audio", "qos.diffServ.audio", "missing", 46, None)
    assert a.key() == b.key() != c.key()
    x = Finding("qos.codec_switch_consistency", "k", "drifted", "e", "a", devices=["c", "s"])
    y = Finding("qos.codec_switch_consistency", "k", "drifted", "e", "a", devices=["s", "c"])
    z = Finding("qos.codec_switch_consistency", "k", "drifted", "e", "a", devices=["c", "t"])
    assert x.key() == y.key() != z.key()


def test_a_run_counts_all_five_statuses_and_every_device_once() -> None:
    empty = CheckRun(STARTED, STARTED, "inventory/thanhhoa")
    assert empty.summary() == dict.fromkeys(STATUSES, 0)
    run = CheckRun(
        STARTED,
        STARTED,
        "inventory/thanhhoa",
        devices=[dev("a", status="error"), dev("b"), dev("c", status="unreachable")],
    )
    assert run.summary() == {
        "compliant": 1,
        "drifted": 0,
        "unreachable": 1,
        "error": 1,
        "waived": 0,
    }
    assert run.device("b").name == "b"
    with pytest.raises(KeyError):
        run.device("x")
    with pytest.raises(ValueError, match="device a appears twice"):
        CheckRun(STARTED, STARTED, "inv", devices=[dev("a"), dev("a")])
    assert run.date == "2026-11-23"
    with pytest.raises(ValueError, match="not an ISO 8601"):
        _ = CheckRun("last night", "", "inv").date


def test_status_changes_need_a_previous_run() -> None:
    run = CheckRun(STARTED, STARTED, "inv", devices=[dev("a"), dev("b", status="error")])
    assert run.status_changes() == []
    run.previous_status = {"a": "compliant", "b": "drifted"}
    assert run.status_changes() == [("b", "drifted", "error")]
    run.previous_status = {"a": "compliant"}
    assert run.status_changes() == [("b", None, "error")]


def test_a_device_from_the_check_engine_row() -> None:
    """The shape ``vcprov check`` assembles (findings as dicts, first_seen None)."""
    row = {
        "name": "tinh-uy-sw",
        "site": "tinh-uy",
        "site_name": "Văn phòng Tỉnh ủy Thanh Hóa",
        "role": "switch",
        "family": "huawei-vrp",
        "model": "S5720-28X-LI-AC",
        "version": "V200R019C10SPC500",
        "status": "drifted",
        "error": "",
        "findings": [
            {
                "setting": "port.bpdu_guard",
                "vendor_key": "interface GigabitEthernet0/0/5: bpdu enable",
                "kind": "missing",
                "expected": True,
                "actual": False,
                "first_seen": None,
            }
        ],
        "config": "#\nsysname tinh-uy-sw\n#\n",
    }
    d = DeviceResult.from_dict(row)
    assert d.findings[0].first_seen is None and d.findings[0].new
    assert d.config == row["config"]
    assert "config" not in d.to_dict()
    assert d.reached and not dev(status="unreachable").reached


def test_check_only_settings_are_known_but_not_in_the_standard() -> None:
    assert set(CHECK_SETTINGS).isdisjoint(SETTINGS)
    assert known_settings() == set(SETTINGS) | set(CHECK_SETTINGS)


def test_plain_values() -> None:
    class Odd:
        def __str__(self) -> str:
            return "odd"

    assert plain({"a": (1, Odd()), 2: {True, False}}) == {"a": [1, "odd"], "2": [False, True]}
    assert plain(None) is None and plain(1.5) == 1.5


def test_sites_keep_their_order() -> None:
    a = DeviceResult("a-codec", "a", "A", "poly-os", "endpoint")
    b = DeviceResult("b-codec", "b", "B", "poly-os", "endpoint")
    a2 = DeviceResult("a-sw", "a", "A", "cisco-ios", "switch")
    assert sites([a, b, a2]) == [("a", "A", [a, a2]), ("b", "B", [b])]
