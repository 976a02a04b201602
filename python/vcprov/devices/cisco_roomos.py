"""Cisco RoomOS (and CE) codecs over the xAPI on HTTPS (endpoint-apis.md part B).

One session per run (``/xmlapi/session/begin`` -> cookie): sessions are served at 15
requests per second where Basic auth gets 1; a full queue answers 503, retried briefly.
Errors come back as HTTP 200 bodies (``<Error>``, ``<ActionError>``): every putxml answer is
parsed.  Configuration is read in one ``GET /getxml?location=/Configuration`` and written in
one ``POST /putxml`` ``<Configuration>`` document; multi-item keys (``SIP Proxy[1]
Address``) carry ``item="N"``.  Hidden values read back as ``***``.
"""

from __future__ import annotations

import contextlib
import re
import time
import xml.etree.ElementTree as ET
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

HIDDEN = "***"
NAME_MAX = 50  # SystemUnit Name MaxLength (xAPI schema 11.14): longer names are clipped
RETRIES_503 = 3

# neutral setting -> xConfiguration path (xAPI schema 11.14)
KEYS: dict[str, str] = {
    "identity.system_name": "SystemUnit Name",
    "call.max_rate_in_kbps": "Conference MaxReceiveCallRate",
    "call.max_rate_out_kbps": "Conference DefaultCall Rate",
    "call.encryption": "Conference Encryption Mode",
    "call.auto_answer": "Conference AutoAnswer Mode",
    "call.auto_answer_mute": "Conference AutoAnswer Mute",
    "sip.enabled": "NetworkServices SIP Mode",
    "sip.domain": "SIP URI",  # <user>@<domain>
    "sip.proxy": "SIP Proxy[1] Address",
    "sip.user": "SIP URI",
    "h323.enabled": "NetworkServices H323 Mode",
    "h323.gatekeeper": "H323 Gatekeeper Address",
    "h323.name": "H323 H323Alias ID",
    "h323.e164": "H323 H323Alias E164",
    "qos.diffserv": "Network[1] QoS Mode",
    "qos.dscp.audio": "Network[1] QoS Diffserv Audio",
    "qos.dscp.video": "Network[1] QoS Diffserv Video",
    "qos.dscp.signalling": "Network[1] QoS Diffserv Signalling",
    "time.ntp_servers": "NetworkServices NTP Server[1] Address",
    "time.zone": "Time Zone",
    "snmp.enabled": "NetworkServices SNMP Mode",
    "snmp.community": "NetworkServices SNMP CommunityName",
    "mgmt.https_only": "NetworkServices HTTP Mode",
    "mgmt.tls_min": "NetworkServices HTTPS Server MinimumTLSVersion",
    "mgmt.provisioning": "Provisioning Mode",
}
_EXTRA_KEYS: dict[str, tuple[str, ...]] = {
    "time.ntp_servers": ("NetworkServices NTP Server[2] Address", "NetworkServices NTP Mode"),
    "h323.gatekeeper": ("H323 CallSetup Mode",),
}
UNSUPPORTED: dict[str, str] = {
    "sip.registrar": (
        "RoomOS registers through its SIP proxy (SIP Proxy[1] Address, set from sip.proxy); "
        "it has no separate registrar setting"
    ),
    "snmp.trap_target": (
        "RoomOS 11.14 NetworkServices SNMP has Mode, CommunityName, SystemContact and "
        "SystemLocation only: no trap destination (xAPI schema 11.14)"
    ),
    "mgmt.telnet": "RoomOS has no telnet service to turn off (NetworkServices has no Telnet key)",
    "mgmt.auto_update": (
        "RoomOS updates itself only through its provisioning mode, which mgmt.provisioning "
        "turns off"
    ),
}

_ON_OFF = {"On": True, "Off": False}
_ENCRYPTION = {"BestEffort": "when_available", "On": "required", "Off": "off"}
_ENCRYPTION_OUT = {v: k for k, v in _ENCRYPTION.items()}
_PATH_TOKEN = re.compile(r"^(?P<name>[A-Za-z0-9]+)(\[(?P<item>\d+)\])?$")


def _tokens(path: str) -> list[tuple[str, str | None]]:
    out = []
    for token in path.split():
        m = _PATH_TOKEN.match(token)
        if not m:
            raise ValueError(f"bad xConfiguration path {path!r}")
        out.append((m["name"], m["item"]))
    return out


def _find(config: ET.Element, path: str) -> ET.Element | None:
    node: ET.Element | None = config
    for name, item in _tokens(path):
        assert node is not None
        children = [c for c in node if c.tag == name]
        if not children:
            return None
        want = item or "1"
        chosen = [c for c in children if c.get("item", "1") == want]
        node = chosen[0] if chosen else None
        if node is None:
            return None
    return node


def _document(values: Mapping[str, str]) -> bytes:
    """One ``<Configuration>`` document holding every path -> value."""
    root = ET.Element("Configuration")
    for path, value in values.items():
        node = root
        for name, item in _tokens(path):
            found = None
            for child in node:
                if child.tag == name and child.get("item") == item:
                    found = child
                    break
            if found is None:
                found = ET.SubElement(node, name)
                if item is not None:
                    found.set("item", item)
            node = found
        node.text = value
    return ET.tostring(root, encoding="utf-8")


def _split_uri(raw: str) -> tuple[str, str]:
    raw = raw.removeprefix("sip:")
    user, at, domain = raw.partition("@")
    return (user, domain) if at else (raw, "")


class RoomOSEndpoint(Endpoint):
    family = "cisco-roomos"
    vendor = "Cisco"

    def __init__(self, target: Target):
        super().__init__(target)
        self.base = f"https://{target.host}:{target.port}"
        self.client: httpx.Client | None = None
        self.session = False

    def open(self) -> None:
        self.client = httpx.Client(verify=False, timeout=self.target.timeout)
        try:
            resp = self.client.post(
                f"{self.base}/xmlapi/session/begin",
                auth=(self.target.username, self.target.password),
            )
        except httpx.TransportError as exc:
            self._drop()
            raise Unreachable(self.target.name, exc.__class__.__name__) from None
        if resp.status_code == 401:
            self._drop()
            raise AuthFailed(self.target.name, "login refused (check the credentials)")
        if resp.status_code == 204:
            self.session = True
        else:
            # No session to be had (e.g. all in use): go on with Basic auth, 1 request/s.
            self.client.auth = httpx.BasicAuth(self.target.username, self.target.password)

    def close(self) -> None:
        if self.client is None:
            return
        try:
            if self.session:
                self.client.post(f"{self.base}/xmlapi/session/end")
        except httpx.TransportError:
            pass
        finally:
            self._drop()

    def _drop(self) -> None:
        if self.client is not None:
            self.client.close()
        self.client = None
        self.session = False

    def _send(self, method: str, url: str, *, what: str, **kwargs: Any) -> httpx.Response:
        """One request, retried briefly while the device's queue is full (503)."""
        if self.client is None:
            raise ProtocolError(self.target.name, "no session (use `with driver:`)")
        for attempt in range(RETRIES_503 + 1):
            try:
                resp = self.client.request(method, url, **kwargs)
            except httpx.TransportError as exc:
                raise Unreachable(self.target.name, f"{exc.__class__.__name__} on {what}") from None
            if resp.status_code != 503:
                return resp
            if attempt < RETRIES_503:
                time.sleep(1.0 * (attempt + 1))  # Basic auth is served at 1 request/s
        return resp

    def getxml(self, location: str) -> ET.Element:
        resp = self._send(
            "GET", f"{self.base}/getxml", what=location, params={"location": location}
        )
        if resp.status_code == 503:
            raise Unreachable(
                self.target.name, f"HTTP 503 (rate limit) after {RETRIES_503} retries"
            )
        if resp.status_code == 401:
            raise AuthFailed(self.target.name, "the device refused the credentials")
        if resp.status_code != 200:
            raise ProtocolError(self.target.name, f"getxml {location}: HTTP {resp.status_code}")
        try:
            return ET.fromstring(resp.content)
        except ET.ParseError:
            raise ProtocolError(self.target.name, f"getxml {location}: not XML") from None

    def putxml(self, document: bytes, *, secrets: Iterable[str] = ()) -> ET.Element:
        """POST one document; any ``<Error>``/``<ActionError>`` in the answer is an ApplyError."""
        resp = self._send(
            "POST",
            f"{self.base}/putxml",
            what="putxml",
            content=document,
            headers={"Content-Type": "text/xml"},
        )
        if resp.status_code == 503:
            raise ApplyError(self.target.name, f"putxml: HTTP 503 after {RETRIES_503} retries")
        if resp.status_code != 200:
            raise ApplyError(self.target.name, f"putxml: HTTP {resp.status_code}")
        try:
            root = ET.fromstring(resp.content)
        except ET.ParseError:
            raise ApplyError(self.target.name, "putxml: the answer is not XML") from None
        errors = [e for e in root.iter() if e.tag in ("Error", "ActionError")]
        if errors:
            text = "; ".join(" ".join(t.strip() for t in e.itertext() if t.strip()) for e in errors)
            for secret in secrets:
                if secret:
                    text = text.replace(secret, "<secret>")
            raise ApplyError(self.target.name, f"putxml refused: {text or ET.tostring(root)!r}")
        return root

    def facts(self) -> Facts:
        root = self.getxml("/Status/SystemUnit")
        unit = root.find(".//SystemUnit")
        if unit is None:
            raise ProtocolError(self.target.name, "no SystemUnit in the status")
        return Facts(
            name=self.target.name,
            family=self.family,
            vendor=self.vendor,
            model=unit.findtext("ProductPlatform", ""),
            serial=unit.findtext("Hardware/Module/SerialNumber", ""),
            version=unit.findtext("Software/Version", ""),
        )

    # ------------------------------------------------------------------ settings
    def keymap(self) -> dict[str, str]:
        return dict(KEYS)

    def unsupported(self) -> dict[str, str]:
        return dict(UNSUPPORTED)

    @staticmethod
    def _keys_of(setting: str) -> list[str]:
        return [KEYS[setting], *_EXTRA_KEYS.get(setting, ())]

    @staticmethod
    def _all_keys() -> list[str]:
        out: list[str] = []
        for setting in KEYS:
            out += [k for k in RoomOSEndpoint._keys_of(setting) if k not in out]
        return out

    def _read_raw(self, paths: Iterable[str]) -> dict[str, str | Unreadable]:
        """One ``getxml /Configuration``: path -> value (UNREADABLE for ``***``)."""
        paths = list(paths)
        if not paths:
            return {}
        root = self.getxml("/Configuration")
        config = root if root.tag == "Configuration" else root.find(".//Configuration")
        if config is None:
            raise ProtocolError(self.target.name, "no Configuration in the answer")
        out: dict[str, str | Unreadable] = {}
        for path in paths:
            node = _find(config, path)
            if node is None:
                raise ProtocolError(self.target.name, f"no xConfiguration {path}")
            text = node.text or ""
            out[path] = UNREADABLE if text == HIDDEN else text
        return out

    def _neutral(self, setting: str, raw: Mapping[str, str | Unreadable]) -> Any:
        keys = self._keys_of(setting)
        value = raw[keys[0]]
        if isinstance(value, Unreadable):
            return UNREADABLE
        if setting == "time.ntp_servers":
            if str(raw[keys[2]]) != "Manual":
                return []  # Auto (DHCP) or Off: no server of ours
            return [str(raw[k]) for k in keys[:2] if str(raw[k])]
        if setting == "h323.gatekeeper":
            return value if raw[keys[1]] == "Gatekeeper" else ""
        if setting in ("sip.user", "sip.domain"):
            user, domain = _split_uri(value)
            return user if setting == "sip.user" else domain
        if setting == "call.encryption":
            return _ENCRYPTION.get(value, value)
        if setting == "qos.diffserv":
            return {"Diffserv": True, "Off": False}.get(value, value)
        if setting == "snmp.enabled":  # read-only is the standard; ReadWrite shows as itself
            return {"ReadOnly": True, "Off": False}.get(value, value)
        if setting == "mgmt.https_only":
            return {"HTTPS": True, "HTTP+HTTPS": False}.get(value, value)
        if setting == "mgmt.tls_min":
            return value.removeprefix("TLSv")
        if setting == "mgmt.provisioning":
            return value != "Off"
        spec = SETTINGS[setting]
        if spec.type == "bool":
            return _ON_OFF.get(value, value)
        if spec.type == "int":
            try:
                return int(value)
            except ValueError:
                return value
        return value

    def _vendor(self, setting: str, value: Any) -> dict[str, str]:
        keys = self._keys_of(setting)
        key = keys[0]
        if setting == "time.ntp_servers":
            servers = [*value, "", ""][:2]
            return {
                keys[0]: servers[0],
                keys[1]: servers[1],
                keys[2]: "Manual" if value else "Auto",
            }
        if setting == "h323.gatekeeper":
            return {key: value, keys[1]: "Gatekeeper" if value else "Direct"}
        if setting == "call.encryption":
            return {key: _ENCRYPTION_OUT[value]}
        if setting == "qos.diffserv":
            return {key: "Diffserv" if value else "Off"}
        if setting == "snmp.enabled":
            return {key: "ReadOnly" if value else "Off"}
        if setting == "mgmt.https_only":
            return {key: "HTTPS" if value else "HTTP+HTTPS"}
        if setting == "mgmt.tls_min":
            return {key: f"TLSv{value}"}
        if setting == "mgmt.provisioning":
            return {key: "Auto" if value else "Off"}
        if setting == "identity.system_name":
            return {key: str(value)[:NAME_MAX]}
        if isinstance(value, bool):
            return {key: "On" if value else "Off"}
        return {key: str(value)}

    def read(self, settings: Iterable[str]) -> dict[str, Any]:
        wanted = [s for s in settings if s in KEYS]
        paths: list[str] = []
        for setting in wanted:
            paths += [k for k in self._keys_of(setting) if k not in paths]
        raw = self._read_raw(paths)
        return {s: self._neutral(s, raw) for s in wanted}

    def plan(self, desired: Mapping[str, Any]) -> list[Change]:
        for setting in desired:
            if setting not in SETTINGS:
                raise ValueError(f"{self.target.name}: unknown setting {setting}")
        wanted = [s for s in desired if s in KEYS]
        current = self.read(wanted)
        changes = []
        for setting in wanted:
            after, before = desired[setting], current[setting]
            if setting == "identity.system_name":  # "where the device allows it"
                after = str(after)[:NAME_MAX]
            if isinstance(before, Unreadable) or before == after:
                continue  # a hidden secret cannot be compared: not planned (docs/devices.md)
            changes.append(
                Change(setting, KEYS[setting], before, after, secret=SETTINGS[setting].secret)
            )
        return changes

    def _values_of(self, changes: list[Change]) -> dict[str, str]:
        out: dict[str, str] = {}
        uri = {c.setting: c.after for c in changes if c.setting in ("sip.user", "sip.domain")}
        for change in changes:
            if change.setting not in uri:
                out.update(self._vendor(change.setting, change.after))
        if uri:
            if len(uri) < 2:  # the other half of the URI as the device holds it
                uri = {**self.read(["sip.user", "sip.domain"]), **uri}
            user, domain = uri["sip.user"], uri["sip.domain"]
            out[KEYS["sip.user"]] = f"{user}@{domain}" if domain else user
        return out

    def writes(self, changes: list[Change]) -> dict[str, str]:
        return self._values_of(changes)

    def apply(self, changes: list[Change]) -> None:
        values = self._values_of(changes)
        if values:
            secrets = [str(c.after) for c in changes if c.secret]
            try:
                self.putxml(_document(values), secrets=secrets)
            except ApplyError as exc:  # name the keys: the error body may not
                raise ApplyError(
                    self.target.name, f"{exc.message} (writing {', '.join(values)})"
                ) from None

    def snapshot(self) -> Snapshot:
        secret = {KEYS[s] for s in KEYS if SETTINGS[s].secret}
        raw = self._read_raw(self._all_keys())
        data = {k: v for k, v in raw.items() if k not in secret and isinstance(v, str)}
        return Snapshot(
            device=self.target.name,
            family=self.family,
            version=self.facts().version,
            taken=datetime.now(UTC).isoformat(timespec="seconds"),
            data=data,
        )

    def restore(self, snapshot: Snapshot) -> None:
        if snapshot.family != self.family:
            raise ValueError(f"{self.target.name}: snapshot of a {snapshot.family} device")
        if snapshot.data:
            self.putxml(_document({k: str(v) for k, v in snapshot.data.items()}))

    def reboot(self) -> None:
        """``xCommand SystemUnit Boot Action: Restart``; the device goes away at once."""
        doc = b"<Command><SystemUnit><Boot><Action>Restart</Action></Boot></SystemUnit></Command>"
        with contextlib.suppress(Unreachable):
            self.putxml(doc)
        self._drop()

    # ------------------------------------------------------------------ status
    def status(self) -> EndpointStatus:
        sip = self.getxml("/Status/SIP/Registration")
        registrations = [r.findtext("Status", "") for r in sip.iter("Registration")]
        gk = self.getxml("/Status/H323/Gatekeeper")
        gatekeeper = next((g.findtext("Status", "") for g in gk.iter("Gatekeeper")), "")
        state = self.getxml("/Status/SystemUnit/State")
        calls_text = next((e.text or "0" for e in state.iter("NumberOfActiveCalls")), "0")
        system = next((e.text or "" for e in state.iter("System")), "")
        try:
            calls = int(calls_text)
        except ValueError:
            calls = 0
        return EndpointStatus(
            sip_registered="Registered" in registrations,
            h323_registered=gatekeeper == "Registered",
            in_call=calls > 0 or system in ("InCall", "Multisite"),
            items={
                "sip_registration": ",".join(registrations),
                "h323_gatekeeper": gatekeeper,
                "active_calls": str(calls),
                "system_state": system,
            },
        )

    # --- onboarding
    def _command(
        self, name: str, args: Mapping[str, str], *, secrets: Iterable[str] = ()
    ) -> ET.Element:
        """One xCommand through putxml; its ``...Result`` must say ``status="OK"`` (B.10)."""
        root = ET.Element("Command")
        node = root
        for word in name.split():
            node = ET.SubElement(node, word)
        node.set("command", "True")
        for key, value in args.items():
            ET.SubElement(node, key).text = value
        answer = self.putxml(ET.tostring(root, encoding="utf-8"), secrets=secrets)
        result = next((e for e in answer.iter() if e.tag.endswith("Result")), None)
        if result is None:
            raise ApplyError(self.target.name, f"xCommand {name}: no result in the answer")
        if result.get("status", "").lower() != "ok":
            text = " ".join(t.strip() for t in result.itertext() if t.strip())
            for secret in secrets:
                if secret:
                    text = text.replace(secret, "<secret>")
            raise ApplyError(
                self.target.name, f"xCommand {name}: {text or result.get('status', 'refused')}"
            )
        return result

    def set_password(self, old: str, new: str) -> None:
        """``xCommand UserManagement User Passphrase Change`` (B.11): the signed-in user's."""
        if not new:
            raise ApplyError(self.target.name, "refusing to set an empty admin passphrase")
        self._command(
            "UserManagement User Passphrase Change",
            {"OldPassphrase": old, "NewPassphrase": new},
            secrets=[old, new],
        )
        if self.client is not None and not self.session:  # Basic auth: sign the rest anew
            self.client.auth = httpx.BasicAuth(self.target.username, new)

    def calls(self) -> list[dict[str, Any]]:
        """``Status/Call[n]``: Status, RemoteNumber, TransmitCallRate, Encryption Type."""
        out: list[dict[str, Any]] = []
        for call in self.getxml("/Status/Call").iter("Call"):
            rate = (call.findtext("TransmitCallRate") or "0").strip()
            encryption = (call.findtext("Encryption/Type") or "None").strip()
            protocol = (call.findtext("Protocol") or "Sip").strip().upper()
            out.append(
                {
                    "id": call.get("item", ""),
                    "remote": call.findtext("RemoteNumber") or "",
                    "state": (call.findtext("Status") or "").strip().lower(),
                    "rate": int(rate) if rate.isdigit() else 0,
                    "encrypted": encryption not in ("", "None"),
                    "protocol": "H323" if protocol == "H323" else "SIP",
                    "direction": (call.findtext("Direction") or "").strip().lower(),
                }
            )
        return out

    def dial(self, address: str, rate: int) -> dict[str, Any]:
        """``xCommand Dial Number: <address> CallRate: <rate> Protocol: Sip``."""
        result = self._command(
            "Dial", {"Number": address, "CallRate": str(int(rate)), "Protocol": "Sip"}
        )
        call_id = result.findtext("CallId") or ""
        for call in self.calls():
            if call["id"] == call_id or (not call_id and call["remote"] == address):
                return call
        return {"id": call_id, "remote": address, "state": "dialling", "rate": 0,
                "encrypted": False, "protocol": "SIP", "direction": "outgoing"}  # fmt: skip

    def hangup_all(self) -> int:
        """``xCommand Call Disconnect CallId: <n>`` for every call, until none is left."""
        ended = 0
        for _ in range(10):
            calls = self.calls()
            if not calls:
                break
            for call in calls:
                self._command("Call Disconnect", {"CallId": call["id"]} if call["id"] else {})
                ended += 1
        return ended

    # --- firmware (issue 6) ------------------------------------------------------------
    # ``xCommand SystemUnit SoftwareUpgrade URL: ... Forced: True`` (B.8): the device
    # downloads, installs and reboots on its own; progress in ``Provisioning Software
    # UpgradeStatus`` (Status None/InProgress/Succeeded/Failed/InstallationFailed, Phase,
    # Message, URL).  ``Forced: True`` does not wait for a call to end: vcprov checks for a
    # call itself just before (docs/firmware.md).
    URL_MAX = 1024  # SoftwareUpgrade URL MaxLength (xAPI schema 11.14)

    def start_upgrade(self, url: str) -> None:
        if not url or len(url) > self.URL_MAX:
            raise ValueError(f"{self.target.name}: package URL must be 1-{self.URL_MAX} chars")
        root = ET.Element("Command")
        cmd = ET.SubElement(ET.SubElement(root, "SystemUnit"), "SoftwareUpgrade", command="True")
        ET.SubElement(cmd, "URL").text = url
        ET.SubElement(cmd, "Forced").text = "True"
        answer = self.putxml(ET.tostring(root, encoding="utf-8"))
        # named after the command's last two words (docs/devices.md): ...SoftwareUpgradeResult
        result = next((e for e in answer.iter() if e.tag.endswith("UpgradeResult")), None)
        if result is None or result.get("status", "").lower() != "ok":
            reason = "" if result is None else result.findtext("Reason", "")
            raise ApplyError(
                self.target.name, f"SoftwareUpgrade refused: {reason or ET.tostring(answer)!r}"
            )

    def upgrade_status(self) -> dict[str, str]:
        root = self.getxml("/Status/Provisioning/Software/UpgradeStatus")
        up = next(root.iter("UpgradeStatus"), None)

        def field(name: str) -> str:
            return "" if up is None else (up.findtext(name) or "").strip()

        return {
            "version": self.facts().version,
            "status": field("Status"),
            "phase": field("Phase"),
            "message": field("Message"),
            "url": field("URL"),
        }

    def upgrade_settings(self) -> dict[str, str]:
        return {}  # SoftwareUpgrade changes no configuration

    def restore_upgrade_settings(self, values: Mapping[str, str]) -> None:
        return None
