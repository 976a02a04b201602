"""Poly Group Series and Poly OS (G7500) over the REST API (endpoint-apis.md part A).

One session per run: ``POST /rest/session`` on open, ``{"action":"Logout"}`` on close, also
after errors (leaked sessions lock a Poly device until it reboots).  Poly OS wants its
``XSRF-TOKEN`` cookie echoed in an ``x-xsrf-token`` header.

Configuration goes through ``POST /rest/config`` (A.3, A.4): a READ is a POST with
``{"names": [...]}``, a WRITE a POST with ``{"vars": [{"name", "value"}]}``; every var of the
answer carries a ``result`` that must be ``NOERROR``.  Values are strings.

Key names (A.3 "Two naming schemes"): Poly OS is driven with its provisioning names
(``voIpProt.SIP.registrarServer``, ``qos.diffServ.audio``...), which the Poly OS REST API
answers to.  Group Series is driven with its web/REST names where the reference confirms one
(``comm.callpreference...``, ``comm.nics.sipnic...``, ``comm.nics.h323nic...``,
``management.provisioning.enabled``); where the reference has no Group Series REST name
([unknown]: system name, H.323 enable and gatekeeper mode, NTP, time zone, QoS, SNMP, access,
auto-update) the Poly OS provisioning name is used, the one name the reference confirms for
the setting on any Poly.  ``docs/devices.md`` lists these choices.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from ..standard import SETTINGS
from .base import (
    UNREADABLE,
    ApplyError,
    AuthFailed,
    Change,
    Endpoint,
    EndpointStatus,
    Facts,
    ProtocolError,
    Snapshot,
    Target,
    Unreachable,
    Unreadable,
)

GS = "poly-group-series"
POLY_OS = "poly-os"
NOERROR = "NOERROR"
HIDDEN = "REMOVED_SECURE_CONTENT"  # how Poly shows a secret it will not reveal (A.3, A.9)
RETRIES_503 = 3  # short, bounded: a busy device is retried, a dead one is reported
NOT_CONFIG = {"firmware.target"}  # the firmware state machine's job (upgrade), not a key

# neutral setting -> the vendor key an operator finds (primary key of multi-key settings)
_POLY_OS_KEYS: dict[str, str] = {
    "identity.system_name": "device.local.deviceName",
    "call.max_rate_in_kbps": "call.preferredSpeed.maxIncoming",
    "call.max_rate_out_kbps": "call.preferredSpeed.outgoing",
    "call.encryption": "call.encryption.requireAES",
    "call.auto_answer": "call.autoAnswer.answerP2PCall",
    "call.auto_answer_mute": "call.autoAnswer.micMute",
    "sip.enabled": "voIpProt.SIP.enable",
    "sip.domain": "voIpProt.SIP.userName",  # the SIP URI <user>@<domain>
    "sip.registrar": "voIpProt.SIP.registrarServer",
    "sip.proxy": "voIpProt.SIP.proxyServer",
    "sip.user": "voIpProt.SIP.userName",
    "h323.enabled": "voIpProt.H323.enable",
    "h323.gatekeeper": "voIpProt.H323.gk.ipAddress",
    "h323.name": "voIpProt.H323.name",
    "h323.e164": "voIpProt.H323.e164",
    "qos.diffserv": "qos.tosType",
    "qos.dscp.audio": "qos.diffServ.audio",
    "qos.dscp.video": "qos.diffServ.video",
    "time.ntp_servers": "device.local.ntpServer.address.1",
    "time.zone": "device.local.timezone",
    "snmp.enabled": "snmp.enable",
    "snmp.community": "snmp.community",
    "snmp.trap_target": "snmp.trapTarget.1.address",
    "mgmt.telnet": "sec.telnet.enable",
    "mgmt.https_only": "sec.web.httpsOnly",
    "mgmt.tls_min": "sec.TLS.minimumVersion",
    "mgmt.auto_update": "upgrade.auto.enable",
    "mgmt.provisioning": "management.provisioning.enabled",
}
_GS_KEYS: dict[str, str] = {
    **_POLY_OS_KEYS,
    "call.max_rate_in_kbps": "comm.callpreference.preferredspeed.ipmaxincoming",
    "call.max_rate_out_kbps": "comm.callpreference.preferredspeed.ipoutgoing",
    "call.encryption": "comm.callsetting.callfeatures.encryptionenable",
    "call.auto_answer": "comm.callsetting.callfeatures.autoanswer.answersinglecall",
    "call.auto_answer_mute": "comm.callsetting.callfeatures.autoanswer.muteautoanswer",
    "sip.enabled": "comm.callpreference.sipenable",
    "sip.domain": "comm.nics.sipnic.sipusername",
    "sip.registrar": "comm.nics.sipnic.sipregistrarserver",
    "sip.proxy": "comm.nics.sipnic.sipproxyserver",
    "sip.user": "comm.nics.sipnic.sipusername",
    "h323.enabled": "comm.callpreference.h323enable",
    "h323.gatekeeper": "comm.nics.h323nic.gatekeeper.gkipaddress",
    "h323.name": "comm.nics.h323nic.h323name",
    "h323.e164": "comm.nics.h323nic.h323extension",
}
KEYS: dict[str, dict[str, str]] = {POLY_OS: _POLY_OS_KEYS, GS: _GS_KEYS}

# The other keys a multi-key setting writes (and a snapshot keeps), per family.  Group
# Series: the gatekeeper mode under its web name, beside ``comm.callpreference.sipenable``'s
# sibling ``h323enable`` (both [unknown] in the reference: docs/devices.md).
_NTP_EXTRA = ("device.local.ntpServer.address.2", "device.local.ntpServer.mode")
_EXTRA_KEYS: dict[str, dict[str, tuple[str, ...]]] = {
    POLY_OS: {"time.ntp_servers": _NTP_EXTRA, "h323.gatekeeper": ("voIpProt.H323.gk.mode",)},
    GS: {
        "time.ntp_servers": _NTP_EXTRA,
        "h323.gatekeeper": ("comm.nics.h323nic.gatekeeper.usegatekeeper",),
    },
}
# Gatekeeper mode words: Poly OS "Off"/"Specify" (X30 dump), Group Series "OFF"/"SPECIFY".
_GK_MODE = {POLY_OS: ("Off", "Specify"), GS: ("OFF", "SPECIFY")}
UNSUPPORTED: dict[str, dict[str, str]] = {
    family: {
        "qos.dscp.signalling": (
            "Poly marks audio, video, FECC and OAM traffic only (qos.diffServ.*): no SIP/H.323 "
            "signalling class (endpoint-apis.md A.3, known unknown 4)"
        )
    }
    for family in (POLY_OS, GS)
}

# Keys whose change takes effect only after a restart (the device answers rebootNeeded):
# an assumption for both families, written down in docs/devices.md.
REBOOT_KEYS = frozenset(
    {
        "voIpProt.H323.enable",
        "comm.callpreference.h323enable",
        "sec.web.httpsOnly",
        "sec.TLS.minimumVersion",
    }
)

# value spaces
_ENCRYPTION_OUT = {"when_available": "When_Available", "required": "Required_All", "off": "Off"}
_TLS_OUT = {"1.0": "tlsv1_0", "1.1": "tlsv1_1", "1.2": "tlsv1_2", "1.3": "tlsv1_3"}
_DIFFSERV = "DiffServ"
_PRECEDENCE = "IP_Precedence"
_YES_NO_KEYS = {  # auto-answer is Yes/No (call.autoAnswer.answerP2PCall="No"), not true/false
    "call.autoAnswer.answerP2PCall",
    "comm.callsetting.callfeatures.autoanswer.answersinglecall",
}


def _bool_out(key: str, value: bool) -> str:
    """A boolean as the key wants it: provisioning names "true"/"false" (X30 dump), web/REST
    names "True"/"False" (``management.provisioning.enabled="True"`` in A.4), auto-answer
    "Yes"/"No"."""
    if key in _YES_NO_KEYS:
        return "Yes" if value else "No"
    if key.startswith(("comm.", "management.")):
        return "True" if value else "False"
    return "true" if value else "false"


def _bool_in(raw: str) -> bool | str:
    word = raw.strip().lower()
    if word in ("true", "yes", "on", "1", "enabled"):
        return True
    if word in ("false", "no", "off", "0", "disabled"):
        return False
    return raw  # not a boolean: shown as the device says it (and differs from any bool)


def _encryption_in(raw: str) -> str:
    word = raw.strip().lower().replace(" ", "_").replace("-", "_")
    if word in ("when_available", "whenavailable", "yes", "true", "on", "best_effort"):
        return "when_available"
    if word in ("off", "no", "false", "disabled"):
        return "off"
    if word.startswith("required"):
        return "required"
    return raw


def _tls_in(raw: str) -> str:
    word = raw.strip().lower().removeprefix("tlsv").removeprefix("tls")
    return word.replace("_", ".") if word else raw


def _zone_out(zone: str) -> str:
    return zone.replace("/", "_")  # Asia/Ho_Chi_Minh -> Asia_Ho_Chi_Minh (Europe_Amsterdam)


def _zone_in(raw: str) -> str:
    if "/" in raw or "_" not in raw:
        return raw
    area, _, place = raw.partition("_")  # the area (Asia, Europe...) never has "_"
    return f"{area}/{place}"


def _int_in(raw: str) -> int | str:
    try:
        return int(raw.strip())
    except ValueError:
        return raw


def _split_uri(raw: str) -> tuple[str, str]:
    raw = raw.removeprefix("sip:")
    user, at, domain = raw.partition("@")
    return (user, domain) if at else (raw, "")


class PolyEndpoint(Endpoint):
    vendor = "Poly"

    def __init__(self, target: Target):
        super().__init__(target)
        self.family = target.family
        self.base = f"https://{target.host}:{target.port}"
        self.client: httpx.Client | None = None
        self.headers: dict[str, str] = {}
        self.reboot_needed = False  # a write answered rebootNeeded

    # ------------------------------------------------------------------ session
    def open(self) -> None:
        self.client = httpx.Client(verify=False, timeout=self.target.timeout)
        body: dict[str, Any] = {"user": self.target.username, "password": self.target.password}
        if self.family == "poly-group-series":
            body = {"action": "Login", **body}
        try:
            resp = self.client.post(f"{self.base}/rest/session", json=body)
        except httpx.TransportError as exc:
            self._drop()
            raise Unreachable(self.target.name, f"{exc.__class__.__name__}") from None
        if resp.status_code in (401, 403) or (
            resp.status_code == 200 and not resp.json().get("success", False)
        ):
            self._drop()
            raise AuthFailed(self.target.name, "login refused (check the credentials)")
        if resp.status_code != 200:
            self._drop()
            raise ProtocolError(self.target.name, f"login answered HTTP {resp.status_code}")
        xsrf = self.client.cookies.get("XSRF-TOKEN")
        self.headers = {"x-xsrf-token": xsrf} if xsrf else {}

    def close(self) -> None:
        if self.client is None:
            return
        try:
            self.client.post(
                f"{self.base}/rest/session", json={"action": "Logout"}, headers=self.headers
            )
        except httpx.TransportError:
            pass  # the device went away; its session will expire
        finally:
            self._drop()

    def _drop(self) -> None:
        if self.client is not None:
            self.client.close()
        self.client = None

    def _get(self, path: str) -> Any:
        if self.client is None:
            raise ProtocolError(self.target.name, "no session (use `with driver:`)")
        try:
            resp = self.client.get(f"{self.base}{path}", headers=self.headers)
        except httpx.TransportError as exc:
            raise Unreachable(self.target.name, f"{exc.__class__.__name__} on {path}") from None
        if resp.status_code != 200:
            raise ProtocolError(self.target.name, f"GET {path} answered HTTP {resp.status_code}")
        return resp.json()

    # ------------------------------------------------------------------ facts
    def facts(self) -> Facts:
        system = self._get("/rest/system")
        version = str(system.get("softwareVersion", ""))
        # Group Series says "Release - 6.2.2.8-670021"; Poly OS says "4.1.0" (build apart).
        version = version.removeprefix("Release - ").strip()
        return Facts(
            name=self.target.name,
            family=self.family,
            vendor=self.vendor,
            model=str(system.get("model", "")),
            serial=str(system.get("serialNumber", "")),
            version=version,
            system_name=str(system.get("systemName", "")),
        )

    # ------------------------------------------------------------------ settings
    def keymap(self) -> dict[str, str]:
        return dict(KEYS[self.family])

    def unsupported(self) -> dict[str, str]:
        return dict(UNSUPPORTED[self.family])

    def _keys_of(self, setting: str) -> list[str]:
        """Every vendor key a setting reads and writes, the primary key first."""
        keys = KEYS[self.family]
        if setting not in keys:
            raise ValueError(f"{self.target.name}: {setting} has no key on {self.family}")
        return [keys[setting], *_EXTRA_KEYS[self.family].get(setting, ())]

    def _all_keys(self) -> list[str]:
        out: list[str] = []
        for setting in KEYS[self.family]:
            for key in self._keys_of(setting):
                if key not in out:
                    out.append(key)
        return out

    def _secret_keys(self) -> set[str]:
        keys = KEYS[self.family]
        return {keys[s] for s in keys if SETTINGS[s].secret}

    def _post(self, path: str, body: dict[str, Any], *, writing: bool) -> Any:
        """POST with a short bounded retry on 503; errors typed for the caller."""
        if self.client is None:
            raise ProtocolError(self.target.name, "no session (use `with driver:`)")
        error = ApplyError if writing else ProtocolError
        for attempt in range(RETRIES_503 + 1):
            try:
                resp = self.client.post(f"{self.base}{path}", json=body, headers=self.headers)
            except httpx.TransportError as exc:
                raise Unreachable(self.target.name, f"{exc.__class__.__name__} on {path}") from None
            if resp.status_code == 503 and attempt < RETRIES_503:
                time.sleep(0.5 * (attempt + 1))
                continue
            if resp.status_code == 503:
                raise (ApplyError if writing else Unreachable)(
                    self.target.name, f"POST {path}: HTTP 503 after {RETRIES_503} retries"
                )
            if resp.status_code != 200:
                raise error(self.target.name, f"POST {path} answered HTTP {resp.status_code}")
            try:
                return resp.json()
            except ValueError:
                raise error(self.target.name, f"POST {path}: answer is not JSON") from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _read_raw(self, names: list[str]) -> dict[str, str | Unreadable]:
        """One ``POST /rest/config {"names": [...]}``: vendor key -> string or UNREADABLE."""
        if not names:
            return {}
        answer = self._post("/rest/config", {"names": names}, writing=False)
        out: dict[str, str | Unreadable] = {}
        for var in answer.get("vars", []) if isinstance(answer, dict) else []:
            name = var.get("name")
            if name not in names:
                continue
            if var.get("result", NOERROR) != NOERROR:
                raise ProtocolError(
                    self.target.name, f"reading {name}: {var.get('result')} (no such key?)"
                )
            value = var.get("value")
            if var.get("isSecure") or value == HIDDEN or value is None:
                out[name] = UNREADABLE
            else:
                out[name] = str(value)
        missing = [n for n in names if n not in out]
        if missing:
            raise ProtocolError(self.target.name, f"/rest/config did not answer {missing}")
        return out

    def _neutral(self, setting: str, raw: Mapping[str, str | Unreadable]) -> Any:
        keys = self._keys_of(setting)
        value = raw[keys[0]]
        if isinstance(value, Unreadable):
            return UNREADABLE
        spec = SETTINGS[setting]
        if setting == "time.ntp_servers":
            mode = str(raw[keys[2]]).strip().lower()
            if mode != "manual":
                return []  # Auto (from DHCP) or Off: no server of ours
            return [str(raw[k]) for k in keys[:2] if str(raw[k])]
        if setting == "h323.gatekeeper":
            mode = str(raw[keys[1]]).strip().lower()
            return value if mode == "specify" else ""
        if setting in ("sip.user", "sip.domain"):
            user, domain = _split_uri(value)
            return user if setting == "sip.user" else domain
        if setting == "qos.diffserv":
            return value.strip().lower() == _DIFFSERV.lower()
        if setting == "call.encryption":
            return _encryption_in(value)
        if setting == "mgmt.tls_min":
            return _tls_in(value)
        if setting == "time.zone":
            return _zone_in(value)
        if spec.type == "bool":
            return _bool_in(value)
        if spec.type == "int":
            return _int_in(value)
        return value

    def _vendor(self, setting: str, value: Any) -> dict[str, str]:
        """The vendor vars that give ``setting`` the neutral ``value`` (sip.user/domain apart)."""
        keys = self._keys_of(setting)
        key = keys[0]
        if setting == "time.ntp_servers":
            servers = [*value, "", ""][:2]
            return {
                keys[0]: servers[0],
                keys[1]: servers[1],
                keys[2]: "Manual" if value else "Off",
            }
        if setting == "h323.gatekeeper":
            off, specify = _GK_MODE[self.family]
            return {key: value, keys[1]: specify if value else off}
        if setting == "qos.diffserv":
            return {key: _DIFFSERV if value else _PRECEDENCE}
        if setting == "call.encryption":
            return {key: _ENCRYPTION_OUT[value]}
        if setting == "mgmt.tls_min":
            return {key: _TLS_OUT[value]}
        if setting == "time.zone":
            return {key: _zone_out(value)}
        if isinstance(value, bool):
            return {key: _bool_out(key, value)}
        return {key: str(value)}

    def read(self, settings: Iterable[str]) -> dict[str, Any]:
        wanted = [s for s in settings if s in KEYS[self.family]]
        names: list[str] = []
        for setting in wanted:
            names += [k for k in self._keys_of(setting) if k not in names]
        raw = self._read_raw(names)
        return {s: self._neutral(s, raw) for s in wanted}

    def plan(self, desired: Mapping[str, Any]) -> list[Change]:
        keys = KEYS[self.family]
        for setting in desired:
            if setting not in SETTINGS:
                raise ValueError(f"{self.target.name}: unknown setting {setting}")
        wanted = [s for s in desired if s in keys]
        current = self.read(wanted)
        changes = []
        for setting in wanted:
            after, before = desired[setting], current[setting]
            if isinstance(before, Unreadable):
                continue  # a hidden secret cannot be compared: not planned (docs/devices.md)
            if before == after:
                continue
            changes.append(
                Change(
                    setting,
                    keys[setting],
                    before,
                    after,
                    secret=SETTINGS[setting].secret,
                    reboot=any(k in REBOOT_KEYS for k in self._keys_of(setting)),
                )
            )
        return changes

    def _vars_of(self, changes: list[Change]) -> dict[str, str]:
        out: dict[str, str] = {}
        uri = {c.setting: c.after for c in changes if c.setting in ("sip.user", "sip.domain")}
        for change in changes:
            if change.setting in ("sip.user", "sip.domain"):
                continue
            out.update(self._vendor(change.setting, change.after))
        if uri:
            if len(uri) < 2:  # the other half of the URI as the device holds it
                uri = {**self.read(["sip.user", "sip.domain"]), **uri}
            user, domain = uri["sip.user"], uri["sip.domain"]
            out[KEYS[self.family]["sip.user"]] = f"{user}@{domain}" if domain else user
        return out

    def _write(self, values: Mapping[str, str], what: str) -> None:
        """One ``POST /rest/config {"vars": [...]}``; every var must come back NOERROR."""
        if not values:
            return
        body = {"vars": [{"name": k, "value": v} for k, v in values.items()]}
        answer = self._post("/rest/config", body, writing=True)
        results = {
            var.get("name"): var.get("result")
            for var in (answer.get("vars", []) if isinstance(answer, dict) else [])
        }
        refused = [
            f"{k}: {results.get(k) or 'no result'}" for k in values if results.get(k) != NOERROR
        ]
        if refused:
            raise ApplyError(self.target.name, f"{what} refused: {'; '.join(refused)}")
        if isinstance(answer, dict) and answer.get("rebootNeeded"):
            self.reboot_needed = True

    def writes(self, changes: list[Change]) -> dict[str, str]:
        return self._vars_of(changes)

    def apply(self, changes: list[Change]) -> None:
        self._write(self._vars_of(changes), "change")

    def snapshot(self) -> Snapshot:
        secret = self._secret_keys()
        raw = self._read_raw(self._all_keys())
        data = {k: v for k, v in raw.items() if k not in secret and isinstance(v, str)}
        facts = self.facts()
        return Snapshot(
            device=self.target.name,
            family=self.family,
            version=facts.version,
            taken=datetime.now(UTC).isoformat(timespec="seconds"),
            data=data,
        )

    def restore(self, snapshot: Snapshot) -> None:
        if snapshot.family != self.family:
            raise ValueError(f"{self.target.name}: snapshot of a {snapshot.family} device")
        self._write({k: str(v) for k, v in snapshot.data.items()}, "restore")

    def reboot(self) -> None:
        """``POST /rest/system/reboot`` (A.12); the device goes away at once."""
        with contextlib.suppress(Unreachable):  # it may go down before the answer comes back
            self._post("/rest/system/reboot", {}, writing=True)
        self.reboot_needed = False
        self._drop()  # the session dies with the reboot: nothing to log out

    # ------------------------------------------------------------------ status
    def status(self) -> EndpointStatus:
        items: dict[str, str] = {}
        for item in self._get("/rest/system/status") or []:
            states = item.get("stateList", item.get("state", []))  # Poly OS / Group Series
            if isinstance(states, str):
                states = [states]
            name = str(item.get("name", "")).removeprefix("system.status.")
            items[name] = ",".join(str(s) for s in states)
        calls = [
            c
            for c in self._get("/rest/conferences") or []
            if c.get("id") != "PENDING" and not c.get("isPendingConference", False)
        ]
        system = self._get("/rest/system")
        return EndpointStatus(
            sip_registered="up" in items.get("sipserver", "").lower().split(","),
            h323_registered="up" in items.get("gatekeeper", "").lower().split(","),
            in_call=bool(calls) or items.get("inacall", "").lower() == "on",
            reboot_needed=bool(system.get("rebootNeeded", False)) or self.reboot_needed,
            items=items,
        )

    # --- onboarding
    def _request(self, method: str, path: str, body: Any = None) -> httpx.Response:
        """One request whose answer the caller reads (201, 400, 404 are answers here, not
        errors); 503 is retried briefly, a dropped connection is ``Unreachable``."""
        if self.client is None:
            raise ProtocolError(self.target.name, "no session (use `with driver:`)")
        for attempt in range(RETRIES_503 + 1):
            try:
                resp = self.client.request(
                    method, f"{self.base}{path}", json=body, headers=self.headers
                )
            except httpx.TransportError as exc:
                raise Unreachable(self.target.name, f"{exc.__class__.__name__} on {path}") from None
            if resp.status_code != 503 or attempt == RETRIES_503:
                return resp
            time.sleep(0.5 * (attempt + 1))
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _json_of(resp: httpx.Response) -> Any:
        try:
            return resp.json()
        except ValueError:
            return None

    def set_password(self, old: str, new: str) -> None:
        """Poly OS: ``POST /rest/security/password/ADMIN`` ``{oldPassword, newPassword}``.
        Group Series: ``VerifyIdentity`` with the current password on this session, then
        ``POST /rest/security/profile/low/verify`` with the new one and ``save`` (A.1)."""
        if not new:
            raise ApplyError(self.target.name, "refusing to set an empty admin password")
        if self.family == POLY_OS:
            resp = self._request(
                "POST", "/rest/security/password/ADMIN", {"oldPassword": old, "newPassword": new}
            )
            answer = self._json_of(resp)
            if resp.status_code == 200 and isinstance(answer, dict) and answer.get("success"):
                return
            raise ApplyError(self.target.name, f"password change refused (HTTP {resp.status_code})")
        resp = self._request(
            "POST",
            "/rest/session",
            {"action": "VerifyIdentity", "password": old, "passwordType": "Admin"},
        )
        answer = self._json_of(resp)
        if resp.status_code != 200 or not (isinstance(answer, dict) and answer.get("verified")):
            raise AuthFailed(
                self.target.name,
                f"the current admin password was not verified (HTTP {resp.status_code})",
            )
        resp = self._request(
            "POST",
            "/rest/security/profile/low/verify",
            {"ids": None, "passwords": [{"password": new, "passwordType": "Admin"}], "save": True},
        )
        answer = self._json_of(resp)
        results = answer.get("passwordResults") if isinstance(answer, dict) else None
        errors = [str(r.get("error")) for r in results or [] if isinstance(r, dict)]
        if resp.status_code != 200 or not errors or any(e != NOERROR for e in errors):
            why = ", ".join(errors) or f"HTTP {resp.status_code}"
            raise ApplyError(self.target.name, f"password change refused ({why})")

    def _calls_of(self, conferences: Any) -> list[dict[str, Any]]:
        """``/rest/conferences`` items -> calls (the Group Series PENDING item is no call)."""
        out: list[dict[str, Any]] = []
        for conf in conferences if isinstance(conferences, list) else []:
            if not isinstance(conf, dict) or conf.get("id") == "PENDING":
                continue
            if conf.get("isPendingConference", False):
                continue
            for conn in conf.get("connections") or []:
                rate = _int_in(str(conn.get("rate", "0")))
                kind = str(conn.get("callType", "SIP")).upper().replace(".", "")
                out.append(
                    {
                        "id": str(conf.get("id", "")),
                        "remote": str(conn.get("address", "")),
                        "state": str(conn.get("state", "")).lower(),
                        "rate": rate if isinstance(rate, int) else 0,
                        "encrypted": bool(conn.get("encrypted", False)),
                        "protocol": "H323" if kind.startswith("H323") else "SIP",
                        "direction": "incoming" if conn.get("incoming") else "outgoing",
                    }
                )
        return out

    def calls(self) -> list[dict[str, Any]]:
        return self._calls_of(self._get("/rest/conferences"))

    def dial(self, address: str, rate: int) -> dict[str, Any]:
        """``POST /rest/conferences`` ``{address, rate, dialType: SIP}`` (A.6)."""
        resp = self._request(
            "POST", "/rest/conferences", {"address": address, "rate": int(rate), "dialType": "SIP"}
        )
        answer = self._json_of(resp)
        if resp.status_code not in (200, 201):
            reason = answer.get("reason", "") if isinstance(answer, dict) else ""
            raise ApplyError(
                self.target.name,
                f"dial {address} refused (HTTP {resp.status_code}{': ' if reason else ''}{reason})",
            )
        placed = self._calls_of([answer])
        if placed:
            return placed[0]
        mine = [c for c in self.calls() if c["remote"] == address]
        if mine:
            return mine[0]
        return {"id": "", "remote": address, "state": "dialling", "rate": 0,
                "encrypted": False, "protocol": "SIP", "direction": "outgoing"}  # fmt: skip

    def hangup_all(self) -> int:
        """``DELETE /rest/conferences/{id}`` for every call, until none is left."""
        ended = 0
        for _ in range(10):
            ids = list(dict.fromkeys(c["id"] for c in self.calls()))
            if not ids:
                break
            for cid in ids:
                resp = self._request("DELETE", f"/rest/conferences/{cid}")
                if resp.status_code not in (200, 202, 204, 404):  # 404: it ended meanwhile
                    raise ApplyError(
                        self.target.name, f"hang-up of call {cid}: HTTP {resp.status_code}"
                    )
                ended += 1
        return ended

    # --- firmware (issue 6) ------------------------------------------------------------
    # No REST call starts an update on Poly (endpoint-apis.md A.8).  The route vcprov uses
    # (docs/devices.md "Firmware route"): the provisioning-server pull.  With
    # ``upgrade.auto.enable`` true and ``upgrade.auto.server.address`` set to the URL of the
    # package itself, the codec fetches it at boot and installs it when it holds another
    # version; vcprov sets both keys and reboots.  Progress shows only as the device going
    # away and coming back with ``softwareVersion`` changed.
    UPGRADE_KEYS = ("upgrade.auto.enable", "upgrade.auto.server.address")

    def upgrade_settings(self) -> dict[str, str]:
        raw = self._read_raw(list(self.UPGRADE_KEYS))
        return {k: v for k, v in raw.items() if isinstance(v, str)}

    def restore_upgrade_settings(self, values: Mapping[str, str]) -> None:
        self._write({k: str(values[k]) for k in self.UPGRADE_KEYS if k in values}, "restore")

    def start_upgrade(self, url: str) -> None:
        self._write(
            {"upgrade.auto.enable": _bool_out("upgrade.auto.enable", True),
             "upgrade.auto.server.address": url},
            "software update",
        )  # fmt: skip
        self.reboot()

    def upgrade_status(self) -> dict[str, str]:
        system = self._get("/rest/system")
        version = str(system.get("softwareVersion", "")).removeprefix("Release - ").strip()
        return {
            "version": version,
            "status": "",  # Poly reports no update progress (A.8)
            "phase": "",
            "message": "",
            "url": "",
            "state": str(system.get("state", "")),
        }
