"""Cisco RoomOS codecs: the xAPI over HTTPS, as endpoint-apis.md part B says.

Configuration paths, value spaces and defaults come from Cisco's own schema for RoomOS
11.14 (``data/roomos-xapi-11.14.json``, the first value space of each path).  The store
keeps only values that differ from the defaults.  Basic auth with the ``CISCO-Endpoint``
realm, sessions (204 + cookie), the documented rate limits (Basic 1/s queue 30, session
15/s queue 90, then 503: wire behaviour, never time-scaled), getxml, configuration.xml with
``valueSpaceRef`` and ``item`` attributes, putxml that answers HTTP 200 with ``<Error>`` or
``ActionError`` bodies, and the commands vcprov uses (Boot, SoftwareUpgrade, FactoryReset,
Passphrase, Dial, Disconnect).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import itertools
import json
import re
import secrets
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from aiohttp import web

from . import province, tlsutil
from .base import CODEC_FAULTS, SimDevice

SCHEMA = json.loads(
    (Path(__file__).resolve().parent / "data" / "roomos-xapi-11.14.json").read_text(
        encoding="utf-8"
    )
)


def _expand(path: str) -> list[str]:
    """'SIP Proxy[1..4] Address' -> ['SIP Proxy[1] Address', ...]."""
    m = re.search(r"\[(\d+)\.\.(\d+)\]", path)
    if m:
        out = []
        for n in range(int(m.group(1)), int(m.group(2)) + 1):
            out += _expand(path[: m.start()] + f"[{n}]" + path[m.end() :])
        return out
    return [path.replace("[n]", "[1]")]


PATHS: dict[str, dict[str, Any]] = {}
for _path, _info in SCHEMA["configuration"].items():
    for _key in _expand(_path):
        PATHS[_key] = _info
DEFAULTS = {k: str(v.get("default", "")) for k, v in PATHS.items()}
COMMANDS: dict[str, list[dict[str, Any]]] = SCHEMA["commands"]

# Commands that only read: a putxml carrying one of these is not counted as a write.
READ_ONLY_SUFFIXES = ("Get", "List", "Status", "Show")

# base.py's shutdown reasons (lab-wide words) -> SystemUnit LastShutdownReason (11.14 schema).
SHUTDOWN_REASONS = {
    "Upgrade": "Upgrade",
    "UserInitiated": "Restart",
    "Shutdown": "Shutdown",
    "FactoryReset": "FactoryReset",
    "PowerOn": "FirstBoot",
    "PowerFailure": "Unknown",
}

UPGRADE_STATUS_KEYS = ("LastChange", "Message", "Phase", "Status", "URL", "Urgency", "VersionId")
# The channels of a call as the lab shows them (MediaChannels Call[n] Channel[n]).
MEDIA_CHANNELS = (
    ("Incoming", "Audio", "Opus"),
    ("Incoming", "Video", "H264"),
    ("Outgoing", "Audio", "Opus"),
    ("Outgoing", "Video", "H264"),
)
UPGRADE_IDLE = {"Status": "None", "Phase": "None", "Message": "", "URL": "", "VersionId": "",
                "LastChange": "", "Urgency": "Low", "Forced": "True"}  # fmt: skip


def is_secret(key: str) -> bool:
    last = key.split()[-1]
    return last in ("Password", "Passphrase", "Key") or last.endswith("Password")


def valuespace_ref(key: str) -> str:
    """The ``valueSpaceRef`` of a configuration leaf: one name per distinct value space."""
    vs = PATHS[key]["valuespace"]
    if vs.get("type") == "Integer":
        return f"/Valuespace/INT_{vs.get('Min')}_{vs.get('Max')}"
    if vs.get("type") == "Literal":
        values = vs.get("Values", [])
        name = "_".join(values[:4]).upper()
        if len(values) > 4:
            name += "_" + hashlib.sha1("\n".join(values).encode()).hexdigest()[:6].upper()
        return "/Valuespace/LITERAL_" + re.sub(r"[^A-Z0-9_]", "", name.replace("+", "P"))
    return f"/Valuespace/STR_{vs.get('MinLength', 0)}_{vs.get('MaxLength', 255)}"


def check_value(key: str, value: str) -> str:
    """'' when the value fits the key's value space, else the reason."""
    return check_space(PATHS[key]["valuespace"], value)


def check_space(vs: dict[str, Any], value: str) -> str:
    """'' when ``value`` fits the value space ``vs`` (schema form), else the reason."""
    kind = vs.get("type")
    if kind == "Integer":
        if not re.fullmatch(r"-?\d+", value):
            return "Invalid value"
        if not int(vs.get("Min", -(10**9))) <= int(value) <= int(vs.get("Max", 10**9)):
            return "Value out of range"
        return ""
    if kind == "Literal":
        return "" if canonical(vs, value) in vs.get("Values", []) else "Invalid value"
    if len(value) > int(vs.get("MaxLength", 10**6)) or len(value) < int(vs.get("MinLength", 0)):
        return "Invalid length"
    return ""


def canonical(vs: dict[str, Any], value: str) -> str:
    """A literal as the schema spells it (the xAPI matches literals case-insensitively)."""
    if vs.get("type") == "Literal":
        for known in vs.get("Values", []):
            if known.lower() == value.lower():
                return str(known)
    return value


def _split(word: str) -> tuple[str, str | None]:
    m = re.fullmatch(r"(\w+)\[(\d+)\]", word)
    return (m.group(1), m.group(2)) if m else (word, None)


def leaves(elem: ET.Element, prefix: list[str]) -> list[tuple[str, str]]:
    """(key, text) of each leaf of a putxml Configuration element."""
    out: list[tuple[str, str]] = []
    for child in elem:
        word = child.tag + (f"[{child.get('item')}]" if child.get("item") else "")
        if len(child):
            out += leaves(child, [*prefix, word])
        else:
            out.append((" ".join([*prefix, word]), (child.text or "").strip()))
    return out


class RateLimiter:
    """Requests served one after another at ``rate`` per second, ``queue`` of them waiting.

    A request that finds the queue full is refused (the caller answers 503).  The queue is
    first come, first served (``asyncio.Lock`` is FIFO); a request whose client goes away
    while waiting (its handler is cancelled) leaves the queue without using a slot.  Wire
    behaviour: never time-scaled.
    """

    def __init__(self, rate: float, queue: int):
        self.interval = 1.0 / rate
        self.queue = queue
        self.waiting = 0
        self.next_slot = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self) -> bool:
        if self.waiting >= self.queue:
            return False
        self.waiting += 1
        try:
            async with self._lock:
                delay = self.next_slot - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                self.next_slot = time.monotonic() + self.interval
        finally:
            self.waiting -= 1
        return True


class CiscoRoomOS(SimDevice):
    family = "cisco-roomos"
    role = "endpoint"
    supported_faults = CODEC_FAULTS
    reboot_seconds = 120.0
    install_seconds = 90.0
    max_sessions = 20

    def __init__(self, ctx: Any, spec: dict[str, Any], state: dict[str, Any] | None):
        super().__init__(ctx, spec, state)
        self.runner: web.AppRunner | None = None
        self.sessions: dict[str, float] = {}
        self.basic_limit = RateLimiter(1.0, 30)
        self.session_limit = RateLimiter(15.0, 90)
        self.upgrade_task: asyncio.Task[Any] | None = None
        self.state.setdefault("upgrade", {})
        for key, value in UPGRADE_IDLE.items():
            self.state["upgrade"].setdefault(key, value)

    # ------------------------------------------------------------------ store
    def get(self, key: str) -> str:
        return str(self.config.get(key, DEFAULTS.get(key, "")))

    def put(self, key: str, value: str) -> None:
        if value == DEFAULTS.get(key):
            self.config.pop(key, None)
        else:
            self.config[key] = value
        self.save()

    def factory_config(self) -> dict[str, str]:
        return {}

    def standard_config(self) -> dict[str, str]:
        v = province.site_values(self.spec, self.ctx.hub.as_dict())
        rate = str(province.CALL_RATE_KBPS)
        values = {
            "SystemUnit Name": v["system_name"][:50],
            "Conference DefaultCall Rate": rate,
            "Conference MaxReceiveCallRate": rate,
            "Conference MaxTransmitCallRate": rate,
            "Conference Encryption Mode": "BestEffort",
            "Conference AutoAnswer Mode": "On",
            "Conference AutoAnswer Mute": "On",
            "NetworkServices SIP Mode": "On",
            "SIP URI": v["sip_uri"],
            "SIP Proxy[1] Address": v["sip_proxy"],
            "NetworkServices H323 Mode": "On",
            "H323 CallSetup Mode": "Gatekeeper",
            "H323 Gatekeeper Address": v["gatekeeper"],
            "H323 H323Alias E164": v["e164"],
            "H323 H323Alias ID": v["h323_name"],
            "Network[1] QoS Mode": "Diffserv",
            "Network[1] QoS Diffserv Audio": str(province.DSCP_AUDIO),
            "Network[1] QoS Diffserv Video": str(province.DSCP_VIDEO),
            "Network[1] QoS Diffserv Signalling": str(province.DSCP_SIGNALLING),
            "NetworkServices NTP Mode": "Manual",
            "NetworkServices NTP Server[1] Address": v["ntp_servers"][0],
            "NetworkServices NTP Server[2] Address": v["ntp_servers"][1],
            "Time Zone": province.TIME_ZONE,
            "NetworkServices SNMP Mode": "ReadOnly",
            "NetworkServices SNMP CommunityName": v["snmp_community"],
            "NetworkServices HTTP Mode": "HTTPS",
            "NetworkServices HTTPS Server MinimumTLSVersion": "TLSv1.2",
            "Provisioning Mode": "Off",
        }
        return {k: val for k, val in values.items() if val != DEFAULTS.get(k)}

    def deviate(self, config: Any, rng: Any) -> list[str]:
        options = {
            "call rate 6000 kbps": ("Conference DefaultCall Rate", "6000"),
            "encryption off": ("Conference Encryption Mode", "Off"),
            "QoS off": ("Network[1] QoS Mode", "Off"),
            "second NTP server empty": ("NetworkServices NTP Server[2] Address", ""),
            "SNMP community public": ("NetworkServices SNMP CommunityName", "public"),
            "auto-answer off": ("Conference AutoAnswer Mode", "Off"),
        }
        picked = rng.sample(sorted(options), k=rng.randint(1, 3))
        for what in picked:
            key, value = options[what]
            if value == DEFAULTS.get(key):
                config.pop(key, None)
            else:
                config[key] = value
        return picked

    # ------------------------------------------------------------------ facts
    def sip_registered(self) -> bool:
        return (
            self.get("NetworkServices SIP Mode") == "On"
            and self.ctx.hub.sip_proxy
            in (self.get("SIP Proxy[1] Address"), self.get("SIP Proxy[2] Address"))
            and bool(self.get("SIP URI"))
            and self.media_ok()
        )

    def h323_registered(self) -> bool:
        return (
            self.get("NetworkServices H323 Mode") == "On"
            and self.get("H323 CallSetup Mode") == "Gatekeeper"
            and self.get("H323 Gatekeeper Address") == self.ctx.hub.gatekeeper
            and self.media_ok()
        )

    def call_addresses(self) -> list[str]:
        uri = self.get("SIP URI")
        return [a for a in (uri, uri.partition("@")[0], self.get("H323 H323Alias E164"),
                            self.get("H323 H323Alias ID"), self.host) if a]  # fmt: skip

    def call_limits(self) -> dict[str, Any]:
        mode = self.get("Conference Encryption Mode")
        return {
            "max_rate": int(self.get("Conference DefaultCall Rate") or 6000),
            "encryption": {"BestEffort": "best", "On": "on", "Off": "off"}.get(mode, "best"),
            "auto_answer": self.get("Conference AutoAnswer Mode") == "On",
        }

    def firmware_phase(self, status: str, phase: str, message: str = "") -> None:
        """Record an install step as ``Provisioning Software UpgradeStatus``.

        ``Forced: False``: the steps after the download show as ``Postponed`` until
        ``Provisioning CompleteUpgrade`` (see :meth:`install_version`).
        """
        up = self.state["upgrade"]
        m = re.match(r"Installing (\S+)", message)
        if m:
            up["VersionId"] = m.group(1)
        if (
            status == "InProgress"
            and phase in ("AboutToInstallUpgrade", "Installing")
            and up.get("Forced") == "False"
        ):
            phase, message = "Postponed", ""
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        up.update({"Status": status, "Phase": phase, "Message": message, "LastChange": now})
        if status == "Succeeded":
            self.state["roomos_current"] = {"VersionId": self.version, "URL": up.get("URL", ""),
                                            "CompletedAt": now}  # fmt: skip
        self.save()

    def install_version(self, new_version: str) -> None:
        """Reboot onto the new image, unless the upgrade was asked with ``Forced: False``:
        then it waits (Phase ``Postponed``) for ``Provisioning CompleteUpgrade``."""
        up = self.state["upgrade"]
        up["VersionId"] = new_version
        if up.get("Forced") == "False":
            self.state["roomos_pending"] = new_version
            self.firmware_phase("InProgress", "Postponed", "")
            return
        self.state.pop("roomos_pending", None)
        super().install_version(new_version)

    def on_boot(self) -> None:
        self.sessions.clear()
        up = self.state["upgrade"]
        running = self.upgrade_task is not None and not self.upgrade_task.done()
        if up.get("Status") == "InProgress" and up.get("Phase") != "Postponed" and not running:
            # The device came up without finishing the install (boot loop ended by a power
            # cycle onto the previous image, or the lab stopped mid-download).
            self.firmware_phase(
                "InstallationFailed" if up.get("Phase") != "Downloading" else "Failed",
                "None",
                "The upgrade was interrupted; running " + self.version,
            )

    def diagnostics(self, sip_failed: bool, gk_rejected: bool) -> list[tuple[str, str, str]]:
        """``Diagnostics Message[n]`` (Type, Level, Description) for what is wrong."""
        out = []
        if not self.state["password"]:
            out.append(("ValidPasswords", "Critical", "The admin user has no passphrase."))
        if sip_failed:
            out.append(("SIPProfileRegistration", "Error", "SIP registration failed."))
        if gk_rejected:
            out.append(("H323GatekeeperStatus", "Error", "Gatekeeper registration failed."))
        up = self.state["upgrade"]
        if up.get("Status") in ("Failed", "InstallationFailed"):
            out.append(("SoftwareUpgrade", "Warning",
                        f"status={up['Status']}&url={up.get('URL', '')}&reason={up.get('Message', '')}"))  # fmt: skip
        return out

    # ------------------------------------------------------------------ HTTP
    async def open_listeners(self) -> None:
        app = web.Application(middlewares=[self.middleware])
        app.add_routes(
            [
                web.post("/xmlapi/session/begin", self.h_begin),
                web.post("/xmlapi/session/end", self.h_end),
                web.get("/getxml", self.h_getxml),
                web.get("/status.xml", self.h_status_xml),
                web.get("/configuration.xml", self.h_configuration_xml),
                web.get("/valuespace.xml", self.h_valuespace),
                web.get("/command.xml", self.h_command_xml),
                web.post("/putxml", self.h_putxml),
            ]
        )
        # A request whose client went away is cancelled (it leaves the rate-limit queue);
        # closing (reboot) waits at most a second for requests still being answered.
        self.runner = web.AppRunner(
            app, access_log=None, handle_signals=False, handler_cancellation=True,
            shutdown_timeout=1.0,
        )  # fmt: skip
        await self.runner.setup()
        ssl = tlsutil.server_context(self.name, self.host)
        await web.TCPSite(
            self.runner, self.host, self.port, ssl_context=ssl, reuse_address=True
        ).start()

    async def close_listeners(self) -> None:
        self.sessions.clear()
        if self.runner is not None:
            runner, self.runner = self.runner, None
            with contextlib.suppress(Exception):
                await runner.cleanup()

    def _basic_user(self, request: web.Request) -> tuple[str, str] | None:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Basic "):
            return None
        try:
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
        except ValueError:
            return None
        return user, password

    @staticmethod
    def unauthorized() -> web.Response:
        return web.Response(
            status=401,
            text="Unauthorized",
            headers={"WWW-Authenticate": 'Basic realm="CISCO-Endpoint"'},
        )

    @web.middleware
    async def middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if self.fault("rate-limit") is not None:
            return web.Response(status=503, text="Service Unavailable")
        sid = request.cookies.get("SecureSessionId") or request.cookies.get("SessionId")
        by_session = sid is not None and sid in self.sessions
        if not by_session:
            creds = self._basic_user(request)
            if creds is None or not self.check_credentials(*creds):
                return self.unauthorized()
        limiter = self.session_limit if by_session else self.basic_limit
        if not await limiter.acquire():
            return web.Response(status=503, text="Service Unavailable")
        await self.slow_down()
        resp: web.StreamResponse = await handler(request)
        return resp

    async def h_begin(self, request: web.Request) -> web.Response:
        if self.fault("session-exhaustion") is not None or len(self.sessions) >= self.max_sessions:
            return web.Response(status=503, text="Too many sessions")
        sid = secrets.token_urlsafe(24)
        self.sessions[sid] = time.monotonic()
        resp = web.Response(status=204)
        resp.set_cookie("SecureSessionId", sid, secure=True, httponly=True)
        resp.set_cookie("SessionId", sid, secure=True, httponly=True)
        return resp

    async def h_end(self, request: web.Request) -> web.Response:
        sid = request.cookies.get("SecureSessionId") or request.cookies.get("SessionId")
        self.sessions.pop(sid or "", None)
        return web.Response(status=204)

    # ------------------------------------------------------------------ XML documents
    def config_tree(self, with_refs: bool) -> ET.Element:
        root = ET.Element("Configuration")
        index: dict[tuple[str, ...], ET.Element] = {}
        for key in PATHS:
            words = key.split()
            parent = root
            for i, word in enumerate(words):
                path = tuple(words[: i + 1])
                elem = index.get(path)
                if elem is None:
                    tag, item = _split(word)
                    elem = ET.SubElement(parent, tag)
                    if item:
                        elem.set("item", item)
                    index[path] = elem
                parent = elem
            value = "***" if is_secret(key) and self.get(key) else self.get(key)
            parent.text = value
            if with_refs:
                parent.set("valueSpaceRef", valuespace_ref(key))
        return root

    def status_tree(self) -> ET.Element:
        """The status paths vcprov and an operator use (not all 741 of the schema)."""
        root = ET.Element("Status")
        up = self.state["upgrade"]
        current = self.state.get("roomos_current") or {}
        if current.get("VersionId") != self.version:
            current = {}  # booted another image since (power cycle out of a boot loop)
        version = self.version
        display = (
            "RoomOS "
            + version.removeprefix("ce").rsplit(".", 1)[0]
            + " "
            + version.rsplit(".", 1)[1]
        )
        calls = self.state["calls"]
        sip_ok, h323_ok = self.sip_registered(), self.h323_registered()
        sip_on = self.get("NetworkServices SIP Mode") == "On"
        h323_on = self.get("NetworkServices H323 Mode") == "On"
        if not sip_on:
            sip_status, sip_reason = "Inactive", ""
        elif sip_ok:
            sip_status, sip_reason = "Registered", ""
        elif not self.media_ok():
            sip_status, sip_reason = "Failed", "408 Request Timeout"
        else:
            sip_status, sip_reason = "Failed", "404 Not Found"
        if not h323_on or self.get("H323 CallSetup Mode") != "Gatekeeper":
            gk_status = "Inactive"
        else:
            gk_status = "Registered" if h323_ok else "Rejected"
        tree: dict[str, Any] = {
            "SystemUnit": {
                "ProductPlatform": self.spec["model"],
                "ProductId": f"Cisco Webex {self.spec['model']}",
                "Uptime": str(int(time.time() - self.booted_at)),
                "LastShutdownReason": SHUTDOWN_REASONS.get(
                    str(self.state.get("last_shutdown")), "Unknown"
                ),
                "Software": {
                    "Version": version,
                    "DisplayName": display,
                    "Name": "s53300",
                    "ReleaseDate": "2024-05-02",
                    "OptionKeys": {"Encryption": "True"},
                },
                "Hardware": {"Module": {"SerialNumber": self.spec["serial"]}},
                "State": {
                    "System": "InCall" if calls else "Initialized",
                    "NumberOfActiveCalls": str(len(calls)),
                    "NumberOfInProgressCalls": "0",
                    "NumberOfSuspendedCalls": "0",
                },
            },
            "SIP": {
                "Registration[1]": {
                    "Status": sip_status,
                    "URI": self.get("SIP URI"),
                    "Reason": sip_reason,
                },
                "Proxy[1]": {
                    "Status": "Active" if sip_ok else ("Timeout" if sip_on else "Off"),
                    "Address": self.get("SIP Proxy[1] Address"),
                },
            },
            "H323": {
                "Mode": {"Status": "Enabled" if h323_on else "Disabled"},
                "Gatekeeper": {
                    "Status": gk_status,
                    "Address": self.get("H323 Gatekeeper Address"),
                },
            },
            "Provisioning": {
                "Software": {
                    "UpgradeStatus": {k: up.get(k, "") for k in UPGRADE_STATUS_KEYS},
                    "Current": {
                        "VersionId": version,
                        "URL": current.get("URL", ""),
                        "CompletedAt": current.get("CompletedAt", ""),
                    },
                }
            },
            "Network[1]": {"IPv4": {"Address": self.host}},
        }
        messages = self.diagnostics(sip_on and not sip_ok, gk_status == "Rejected")
        if messages:
            tree["Diagnostics"] = {
                f"Message[{n}]": {"Type": t, "Level": lv, "Description": d}
                for n, (t, lv, d) in enumerate(messages, 1)
            }
        media: dict[str, Any] = {}
        for call in calls:
            tree[f"Call[{call['id']}]"] = {
                "Status": "Connected", "RemoteNumber": call["remote"],
                "Direction": call["direction"].capitalize(), "AnswerState": "Answered",
                "CallType": "Video", "Duration": str(int(time.time() - call.get("started", time.time()))),
                "ReceiveCallRate": str(call["rate"]), "TransmitCallRate": str(call["rate"]),
                "Encryption": {"Type": "Aes-128" if call["encrypted"] else "None"},
                "Protocol": "Sip" if call["protocol"] == "SIP" else "H323",
            }  # fmt: skip
            media[f"Call[{call['id']}]"] = {
                f"Channel[{n}]": {
                    "Direction": direction,
                    "Type": kind,
                    "Encryption": "On" if call["encrypted"] else "Off",
                    kind: {"Protocol": proto, "ChannelRole": "Main"},
                }
                for n, (direction, kind, proto) in enumerate(MEDIA_CHANNELS, 1)
            }
        if media:
            tree["MediaChannels"] = media

        def build(parent: ET.Element, data: dict[str, Any]) -> None:
            for word, value in data.items():
                tag, item = _split(word)
                elem = ET.SubElement(parent, tag)
                if item:
                    elem.set("item", item)
                if isinstance(value, dict):
                    build(elem, value)
                else:
                    elem.text = str(value)

        build(root, tree)
        return root

    def doc(self, elem: ET.Element) -> web.Response:
        text = '<?xml version="1.0"?>\n' + ET.tostring(elem, encoding="unicode")
        return web.Response(text=text, content_type="text/xml")

    async def h_getxml(self, request: web.Request) -> web.Response:
        location = request.query.get("location", "/")
        words = [w for w in location.strip("/").split("/") if w]
        if not words or words[0] not in ("Configuration", "Status"):
            return self.doc(
                ET.fromstring("<XmlDoc><Error><Reason>Invalid location</Reason></Error></XmlDoc>")
            )
        root = self.config_tree(False) if words[0] == "Configuration" else self.status_tree()
        # Keep only the subtree asked for.
        node = root
        keep: list[ET.Element] = [root]
        for word in words[1:]:
            tag, item = _split(word)
            found = [c for c in node if c.tag == tag and (item is None or c.get("item") == item)]
            if not found:
                return self.doc(ET.Element(root.tag))
            node = found[0]
            keep.append(node)
        for parent, child in itertools.pairwise(keep):
            for other in list(parent):
                if other is not child:
                    parent.remove(other)
        return self.doc(root)

    async def h_status_xml(self, request: web.Request) -> web.Response:
        return self.doc(self.status_tree())

    async def h_configuration_xml(self, request: web.Request) -> web.Response:
        return self.doc(self.config_tree(True))

    async def h_valuespace(self, request: web.Request) -> web.Response:
        root = ET.Element("ValueSpace")
        seen = set()
        for key in PATHS:
            ref = valuespace_ref(key).rsplit("/", 1)[1]
            if ref in seen:
                continue
            seen.add(ref)
            vs = PATHS[key]["valuespace"]
            elem = ET.SubElement(root, ref, type=str(vs.get("type", "")))
            for k, v in vs.items():
                if k == "Values":
                    for val in v:
                        ET.SubElement(elem, "Value").text = val
                elif k != "type":
                    ET.SubElement(elem, k).text = str(v)
        return self.doc(root)

    async def h_command_xml(self, request: web.Request) -> web.Response:
        root = ET.Element("Command")
        for path, params in COMMANDS.items():
            parent = root
            for word in path.split():
                found = parent.find(word)
                parent = found if found is not None else ET.SubElement(parent, word)
            parent.set("command", "True")
            for p in params:
                ET.SubElement(parent, p["name"], required=str(p.get("required", False)))
        return self.doc(root)

    async def h_putxml(self, request: web.Request) -> web.Response:
        """Configuration and Command documents.  Always HTTP 200; errors in the body.

        Every putxml is counted as a write (accepted or refused, parsable or not) except a
        command that only reads (its name ends in Get, List, Status or Show).
        """
        text = await request.text()
        try:
            root = ET.fromstring(text)
        except ET.ParseError:
            self.count_write()
            return self.doc(
                ET.fromstring("<XmlDoc><Error><Reason>Parse error</Reason></Error></XmlDoc>")
            )
        if root.tag == "Configuration":
            self.count_write()
            return self.doc(self.put_configuration(root))
        if root.tag == "Command":
            return await self.put_command(root)
        self.count_write()
        return self.doc(
            ET.fromstring(
                "<ActionError><Reason>No action detected in document</Reason></ActionError>"
            )
        )

    def put_configuration(self, root: ET.Element) -> ET.Element:
        """Apply the valid leaves; answer <Error> for each invalid one (assumption:
        a document is not atomic on the device either)."""
        out = ET.Element("Configuration")
        errors = []
        for key, value in leaves(root, []):
            if key not in PATHS:
                errors.append((key, "No match on address expression"))
                continue
            problem = check_value(key, value)
            if problem:
                errors.append((key, problem))
                continue
            self.put(key, canonical(PATHS[key]["valuespace"], value))
        if not errors:
            ET.SubElement(out, "Success")
        for key, reason in errors:
            err = ET.SubElement(out, "Error")
            ET.SubElement(err, "Details").text = reason
            ET.SubElement(err, "XPath").text = "/Configuration/" + "/".join(key.split())
        return out

    async def put_command(self, root: ET.Element) -> web.Response:
        path: list[str] = []
        node: ET.Element | None = root
        while node is not None:
            children = list(node)
            if node is not root and node.get("command", "").lower() == "true":
                break
            if not children:
                node = None
                break
            node = children[0]
            path.append(node.tag)
        name = " ".join(path)
        if not name.endswith(READ_ONLY_SUFFIXES) or node is None:
            self.count_write()  # accepted or refused
        if node is None:
            return self.doc(
                ET.fromstring(
                    "<ActionError><Reason>No action detected in document</Reason></ActionError>"
                )
            )
        args = {c.tag: (c.text or "").strip() for c in node}
        result_tag = path[-1] + "Result" if len(path) == 1 else path[-2] + path[-1] + "Result"
        if name not in COMMANDS:
            return self.result(result_tag, "Error", "Unknown command")
        problem = self.check_args(name, args)
        if problem:
            return self.result(result_tag, "Error", problem)
        status, reason, extra = self.command(name, args)
        return self.result(result_tag, status, reason, extra)

    @staticmethod
    def check_args(name: str, args: dict[str, str]) -> str:
        """'' when the parameters fit the command's schema, else the reason."""
        params = {p["name"]: p for p in COMMANDS[name]}
        for arg, value in args.items():
            if arg not in params:
                return f"Unknown parameter: {arg}"
            problem = check_space(params[arg].get("valuespace", {}), value)
            if problem:
                return f"{problem}: {arg}"
        for p in params.values():
            if p.get("required") and p["name"] not in args:
                return f"Missing parameter: {p['name']}"
        return ""

    def result(
        self, tag: str, status: str, reason: str = "", extra: dict[str, str] | None = None
    ) -> web.Response:
        out = ET.Element("Command")
        res = ET.SubElement(out, tag, status=status)
        if reason:
            ET.SubElement(res, "Reason").text = reason
        for k, v in (extra or {}).items():
            ET.SubElement(res, k).text = v
        return self.doc(out)

    def command(self, name: str, args: dict[str, str]) -> tuple[str, str, dict[str, str]]:
        lit = {k: v.lower() for k, v in args.items()}  # literals match case-insensitively
        if name == "SystemUnit Boot":
            if lit.get("Force", "true") == "false" and self.in_call():
                return "Error", "Device is in a call", {}
            # Shutdown comes back after the reboot time too: nobody presses the button.
            self.reboot("Shutdown" if lit.get("Action") == "shutdown" else "UserInitiated")
            return "OK", "", {}
        if name == "SystemUnit SoftwareUpgrade":
            url = args["URL"]
            if not url:
                return "Error", "URL is required", {}
            if self.upgrade_task is not None and not self.upgrade_task.done():
                self.upgrade_task.cancel()  # a new upgrade replaces the one under way
            up = self.state["upgrade"]
            up.update({"URL": url, "VersionId": "", "Urgency": "Low",
                       "Forced": "False" if lit.get("Forced") == "false" else "True"})  # fmt: skip
            self.state.pop("roomos_pending", None)
            self.firmware_phase("InProgress", "DownloadPending", "")
            self.upgrade_task = self.spawn(self.install_from_url(url))
            return "OK", "", {}
        if name == "Provisioning CompleteUpgrade":
            up = self.state["upgrade"]
            pending = self.state.get("roomos_pending")
            if up.get("Status") != "InProgress" or up.get("Forced") != "False":
                return "Error", "No upgrade is pending", {}
            up["Forced"] = "True"
            if pending:
                self.firmware_phase("InProgress", "Installing", f"Installing {pending}")
                self.install_version(pending)
            return "OK", "", {}
        if name == "SystemUnit FactoryReset":
            self.state["config"] = self.factory_config()
            self.state["username"] = self.spec["factory_username"]
            self.state["password"] = self.spec["factory_password"]
            self.sessions.clear()
            self.state["last_shutdown"] = "FactoryReset"
            self.save()
            if lit.get("TrailingAction") != "noaction":
                self.reboot("FactoryReset")
            return "OK", "", {}
        if name == "UserManagement User Passphrase Set":
            if args["Username"] != self.state["username"]:
                return "Error", "User does not exist", {}
            self.set_password(args["NewPassphrase"])
            return "OK", "", {}
        if name == "UserManagement User Passphrase Change":
            if args["OldPassphrase"] != self.state["password"]:
                return "Error", "Old passphrase is wrong", {}
            self.set_password(args["NewPassphrase"])
            return "OK", "", {}
        if name == "Dial":
            call = self.dial(args["Number"], int(args.get("CallRate") or 0),
                             args.get("Protocol", "Sip"))  # fmt: skip
            if call["state"] != "CONNECTED":
                return "Error", call["reason"], {}
            return "OK", "", {"CallId": str(call["id"]), "ConferenceId": str(call["id"])}
        if name == "Call Disconnect":
            cid = args.get("CallId", "")
            found = [c for c in self.state["calls"] if str(c["id"]) == cid or cid in ("", "0")]
            if not found:
                return "Error", "No active call", {}
            call = found[0]
            self.end_call(call["id"])
            far = self.ctx.find_endpoint(call["remote"])
            if far is not None:
                for other in list(far.state["calls"]):
                    if other["remote"] in self.call_addresses():
                        far.end_call(other["id"])
            return "OK", "", {}
        if name == "SystemUnit OptionKey List":
            return "OK", "", {"OptionKey": "Encryption"}
        return "Error", "Command not supported by this device", {}
