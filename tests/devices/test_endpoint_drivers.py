"""The endpoint drivers (Poly REST, Cisco xAPI) against the lab's codecs over HTTPS.

The lab's codec simulators follow ``shared/reference/endpoint-apis.md`` on their own; these
tests hold the drivers' key mapping, plan, apply, snapshot/restore and status to what the
lab's devices say.  Hand changes are made as an operator would: raw HTTP on the device's own
protocol, not through the driver.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import Lab
from vcprov import standard
from vcprov.devices import UNREADABLE, ApplyError, Change, Endpoint, Target, driver_for
from vcprov.devices.cisco_roomos import NAME_MAX

ROOT = Path(__file__).resolve().parent.parent.parent
CODECS = {
    "poly-os": "ubnd-tinh-codec",
    "poly-group-series": "tinh-uy-codec",
    "cisco-roomos": "kkt-nghi-son-codec",
}
FAMILIES = list(CODECS)
NOT_CONFIG = {"firmware.target"}  # the firmware state machine's, not a configuration key
# Where the driver (following the reference) and the lab simulator disagree, to be
# reconciled in docs/devices.md; the other tests leave these settings out.
#  - Poly: the reference shows voIpProt.SIP.userName / comm.nics.sipnic.sipusername holding
#    the SIP URI ("sip@example.org"); the lab holds the bare user and no domain anywhere.
#  - Group Series: the reference has no REST name for H.323 enable / gatekeeper mode; the
#    driver uses the Poly OS provisioning names, which the lab's Group Series refuses.
DISAGREEMENTS: dict[str, set[str]] = {
    "poly-os": set(),
    "poly-group-series": set(),
    "cisco-roomos": set(),
}
# A snapshot reads every key the driver writes: refused while a key name is disagreed on.
SNAPSHOT_BLOCKED: set[str] = set()


def desired_of(lab: Lab, name: str, *, all_settings: bool = False) -> dict[str, Any]:
    inv = standard.load(
        str(ROOT / "inventory/thanhhoa"),
        hosts=standard.lab_overrides(lab.doc, str(lab.state / "lab.json")),
    )
    std = standard.effective(inv, name)
    skip = set() if all_settings else DISAGREEMENTS[std.family]
    return {k: v for k, v in std.desired().items() if k not in skip}


def target_of(lab: Lab, name: str) -> Target:
    return Target.from_lab(lab.spec(name), timeout=10.0)


def endpoint(lab: Lab, family: str) -> Endpoint:
    drv = driver_for(target_of(lab, CODECS[family]))
    assert isinstance(drv, Endpoint)
    return drv


def configured(desired: dict[str, Any], drv: Endpoint) -> dict[str, Any]:
    return {k: v for k, v in desired.items() if k in drv.keymap()}


# --- raw operator access ------------------------------------------------------------


class PolyRaw:
    """An operator's own REST session on a Poly codec (login, /rest/config, logout)."""

    def __init__(self, row: dict[str, Any]):
        self.base = f"https://{row['host']}:{row['port']}"
        self.client = httpx.Client(verify=False, timeout=10)
        body: dict[str, Any] = {"user": row["username"], "password": row["password"]}
        if row["family"] == "poly-group-series":
            body = {"action": "Login", **body}
        resp = self.client.post(f"{self.base}/rest/session", json=body)
        assert resp.status_code == 200, resp.text
        xsrf = self.client.cookies.get("XSRF-TOKEN")
        self.headers = {"x-xsrf-token": xsrf} if xsrf else {}

    def config(self, body: dict[str, Any]) -> Any:
        resp = self.client.post(f"{self.base}/rest/config", json=body, headers=self.headers)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def get(self, path: str) -> Any:
        resp = self.client.get(f"{self.base}{path}", headers=self.headers)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def close(self) -> None:
        self.client.post(
            f"{self.base}/rest/session", json={"action": "Logout"}, headers=self.headers
        )
        self.client.close()


def cisco_putxml(row: dict[str, Any], document: str) -> str:
    with httpx.Client(verify=False, timeout=10, auth=(row["username"], row["password"])) as c:
        resp = c.post(
            f"https://{row['host']}:{row['port']}/putxml",
            content=document.encode(),
            headers={"Content-Type": "text/xml"},
        )
    assert resp.status_code == 200, resp.text
    return resp.text


def hand_set_dscp_audio(lab: Lab, family: str, value: int) -> None:
    """Set audio DSCP by hand, as an operator on the device's own API."""
    row = lab.spec(CODECS[family])
    if family == "cisco-roomos":
        body = cisco_putxml(
            row,
            '<Configuration><Network item="1"><QoS><Diffserv>'
            f"<Audio>{value}</Audio></Diffserv></QoS></Network></Configuration>",
        )
        assert "Error" not in body, body
        return
    raw = PolyRaw(row)
    try:
        answer = raw.config({"vars": [{"name": "qos.diffServ.audio", "value": str(value)}]})
        assert [v["result"] for v in answer["vars"]] == ["NOERROR"], answer
    finally:
        raw.close()


# --- no lab needed --------------------------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES)
def test_every_endpoint_setting_is_mapped_or_declared_unsupported(family: str) -> None:
    drv = driver_for(Target("x", family, "127.0.0.1", 443, "admin", "pw"))
    assert isinstance(drv, Endpoint)
    endpoint_settings = {
        k for k, s in standard.SETTINGS.items() if "endpoint" in s.roles
    } - NOT_CONFIG
    keymap, unsupported = drv.keymap(), drv.unsupported()
    assert not set(keymap) & set(unsupported)
    assert set(keymap) | set(unsupported) == endpoint_settings
    group = standard.FAMILIES[family][1]
    doc = yaml.safe_load((ROOT / f"inventory/thanhhoa/group_vars/{group}.yml").read_text())
    assert set(unsupported) == set(doc.get("vc_standard_unsupported", {}))
    assert all(reason.strip() for reason in unsupported.values())


# --- against the lab ------------------------------------------------------------------


@pytest.fixture(params=FAMILIES)
def family(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_a_standard_device_reads_as_the_standard_and_plans_nothing(lab: Lab, family: str) -> None:
    name = CODECS[family]
    desired = desired_of(lab, name)
    writes = lab.control.writes(name)
    with endpoint(lab, family) as drv:
        wanted = configured(desired, drv)
        got = drv.read(wanted)
        for setting, value in wanted.items():
            if got[setting] is UNREADABLE:
                assert standard.SETTINGS[setting].secret, setting
                continue
            if family == "cisco-roomos" and setting == "identity.system_name":
                value = value[:NAME_MAX]  # the schema's MaxLength: "where the device allows it"
            assert got[setting] == value, (setting, drv.keymap()[setting])
        assert drv.plan(desired) == []
        drv.status()
        if family not in SNAPSHOT_BLOCKED:
            assert drv.snapshot().data
    assert lab.control.writes(name) == writes, "read/plan/status/snapshot wrote to the device"


def test_a_hand_change_is_planned_then_applied_once(fresh_lab: Lab, family: str) -> None:
    name = CODECS[family]
    desired = desired_of(fresh_lab, name)
    hand_set_dscp_audio(fresh_lab, family, 0)
    with endpoint(fresh_lab, family) as drv:
        plan = drv.plan(desired)
        assert [(c.setting, c.vendor_key, c.before, c.after) for c in plan] == [
            ("qos.dscp.audio", drv.keymap()["qos.dscp.audio"], 0, 46)
        ]
        drv.apply(plan)
        assert drv.plan(desired) == []
    writes = fresh_lab.control.writes(name)
    with endpoint(fresh_lab, family) as drv:
        assert drv.plan(desired) == []
    assert fresh_lab.control.writes(name) == writes


def test_snapshot_then_changes_then_restore_gives_the_device_back(
    fresh_lab: Lab, family: str
) -> None:
    if family in SNAPSHOT_BLOCKED:
        pytest.xfail("a key name of this family is disagreed on (SNAPSHOT_BLOCKED)")
    name = CODECS[family]
    desired = desired_of(fresh_lab, name)
    with endpoint(fresh_lab, family) as drv:
        snap = drv.snapshot()
        assert all(v != "***" and v != "REMOVED_SECURE_CONTENT" for v in snap.data.values())
        secret_keys = {drv.keymap()[s] for s in drv.keymap() if standard.SETTINGS[s].secret}
        assert not secret_keys & set(snap.data)
        drv.apply(
            [
                Change("call.max_rate_out_kbps", "", 2048, 1024),
                Change("time.ntp_servers", "", [], ["ntp9.example"]),
                Change("sip.user", "", "", "someone-else"),
                Change("call.auto_answer", "", True, False),
            ]
        )
        changed = {c.setting for c in drv.plan(desired)}
        assert (
            changed
            == {
                "call.max_rate_out_kbps",
                "time.ntp_servers",
                "sip.user",
                "call.auto_answer",
            }
            - DISAGREEMENTS[family]
        )
        drv.restore(snap)
        assert drv.plan(desired) == []


def test_a_refused_value_raises_apply_error_naming_the_key(fresh_lab: Lab, family: str) -> None:
    with endpoint(fresh_lab, family) as drv:
        key = drv.keymap()["call.max_rate_out_kbps"]
        with pytest.raises(ApplyError) as err:
            drv.apply([Change("call.max_rate_out_kbps", key, 2048, 99999)])
        assert key in str(err.value)


def test_status_of_an_idle_registered_codec(lab: Lab, family: str) -> None:
    with endpoint(lab, family) as drv:
        status = drv.status()
    assert status.sip_registered
    assert not status.in_call


def test_group_series_pending_conference_is_not_a_call(lab: Lab) -> None:
    row = lab.spec(CODECS["poly-group-series"])
    raw = PolyRaw(row)
    try:
        conferences = raw.get("/rest/conferences")
    finally:
        raw.close()
    assert [c["id"] for c in conferences] == ["PENDING"]
    with endpoint(lab, "poly-group-series") as drv:
        assert not drv.status().in_call


def test_a_codec_in_a_call_shows_in_call(fresh_lab: Lab, family: str) -> None:
    name = CODECS[family]
    fresh_lab.control.fault(name, "in-call")
    with endpoint(fresh_lab, family) as drv:
        assert drv.status().in_call


@pytest.mark.parametrize(
    "family",
    [
        pytest.param(f, marks=pytest.mark.xfail(strict=True, reason="DISAGREEMENTS"))
        if DISAGREEMENTS[f]
        else f
        for f in FAMILIES
    ],
)
def test_every_setting_reads_as_the_standard(lab: Lab, family: str) -> None:
    """Strict xfail while driver and lab disagree (DISAGREEMENTS): passes once reconciled."""
    desired = desired_of(lab, CODECS[family], all_settings=True)
    with endpoint(lab, family) as drv:
        assert drv.plan(desired) == []
