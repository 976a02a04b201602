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


def is_secret(key: str) -> bool:
    last = key.split()[-1]
    return last in ("Password", "Passphrase", "Key") or last.endswith("Password")


def valuespace_ref(key: str) -> str:
    vs = PATHS[key]["valuespace"]
    if vs.get("type") == "Integer":
        return f"/Valuespace/INT_{vs.get('Min')}_{vs.get('Max')}"
    if vs.get("type") == "Literal":
        return "/Valuespace/LITERAL_" + "_".join(vs.get("Values", [])[:4]).upper()
    return f"/Valuespace/STR_{vs.get('MinLength', 0)}_{vs.get('MaxLength', 255)}"


def check_value(key: str, value: str) -> str:
    """'' when the value fits the key's value space, else the reason."""
    vs = PATHS[key]["valuespace"]
    kind = vs.get("type")
    if kind == "Integer":
        if not re.fullmatch(r"-?\d+", value):
            return "Invalid value"
        if not int(vs.get("Min", -(10**9))) <= int(value) <= int(vs.get("Max", 10**9)):
            return "Value out of range"
        return ""
    if kind == "Literal":
        return "" if value in vs.get("Values", []) else "Invalid value"
    if len(value) > int(vs.get("MaxLength", 10**6)) or len(value) < int(vs.get("MinLength", 0)):
        return "Invalid length"
    return ""


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
    """Requests processed at ``rate`` per second with ``queue`` waiting; beyond: 503."""

    def __init__(self, rate: float, queue: int):
        self.interval = 1.0 / rate
        self.queue = queue
        self.waiting = 0
        self.next_slot = 0.0

    async def acquire(self) -> bool:
        if self.waiting >= self.queue:
            return False
        now = time.monotonic()
        slot = max(now, self.next_slot)
        self.next_slot = slot + self.interval
        if slot > now:
            self.waiting += 1
            try:
                await asyncio.sleep(slot - now)
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
        self.state.setdefault("upgrade", {"Status": "None", "Phase": "None", "Message": "",
                                          "URL": "", "VersionId": "", "LastChange": ""})  # fmt: skip

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
        up = self.state["upgrade"]
        up.update({"Status": status, "Phase": phase, "Message": message,
                   "LastChange": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})  # fmt: skip
        self.save()

    def on_boot(self) -> None:
        self.sessions.clear()

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
        self.runner = web.AppRunner(app, access_log=None, handle_signals=False)
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
        root = ET.Element("Status")
        up = self.state["upgrade"]
        version = self.version
        display = (
            "RoomOS "
            + version.removeprefix("ce").rsplit(".", 1)[0]
            + " "
            + version.rsplit(".", 1)[1]
        )
        calls = self.state["calls"]
        tree: dict[str, Any] = {
            "SystemUnit": {
                "ProductPlatform": self.spec["model"],
                "ProductId": f"Cisco Webex {self.spec['model']}",
                "Uptime": str(int(time.time() - self.booted_at)),
                "LastShutdownReason": self.state.get("last_shutdown", "PowerOn"),
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
                },
            },
            "SIP": {
                "Registration[1]": {
                    "Status": "Registered" if self.sip_registered() else "Failed",
                    "URI": self.get("SIP URI"),
                    "Reason": "" if self.sip_registered() else "404 Not Found",
                },
                "Proxy[1]": {
                    "Status": "Active" if self.sip_registered() else "Off",
                    "Address": self.get("SIP Proxy[1] Address"),
                },
            },
            "H323": {
                "Gatekeeper": {
                    "Status": "Registered" if self.h323_registered() else "Inactive",
                    "Address": self.get("H323 Gatekeeper Address"),
                }
            },
            "Provisioning": {
                "Software": {
                    "UpgradeStatus": dict(up),
                    "Current": {
                        "VersionId": version,
                        "URL": up.get("URL", ""),
                        "CompletedAt": up.get("LastChange", ""),
                    },
                }
            },
            "Network[1]": {"IPv4": {"Address": self.host}},
        }
        for call in calls:
            tree[f"Call[{call['id']}]"] = {
                "Status": "Connected", "RemoteNumber": call["remote"],
                "Direction": call["direction"].capitalize(), "AnswerState": "Answered",
                "CallRate": str(call["rate"]), "Encryption": {"Type": "Aes-128" if call["encrypted"] else "None"},
                "Protocol": "Sip" if call["protocol"] == "SIP" else "H323",
            }  # fmt: skip

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
        text = await request.text()
        try:
            root = ET.fromstring(text)
        except ET.ParseError:
            return self.doc(
                ET.fromstring("<XmlDoc><Error><Reason>Parse error</Reason></Error></XmlDoc>")
            )
        if root.tag == "Configuration":
            self.count_write()
            return self.doc(self.put_configuration(root))
        if root.tag == "Command":
            return await self.put_command(root)
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
            self.put(key, value)
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
        if node is None:
            self.count_write()  # a write attempt, refused
            return self.doc(
                ET.fromstring(
                    "<ActionError><Reason>No action detected in document</Reason></ActionError>"
                )
            )
        args = {c.tag: (c.text or "").strip() for c in node}
        name = " ".join(path)
        result_tag = path[-1] + "Result" if len(path) == 1 else path[-2] + path[-1] + "Result"
        if name not in COMMANDS:
            return self.result(result_tag, "Error", "Unknown command")
        if not name.endswith(("Get", "List")):
            self.count_write()
        status, reason, extra = self.command(name, args)
        return self.result(result_tag, status, reason, extra)

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
        if name == "SystemUnit Boot":
            if args.get("Force", "True") == "False" and self.in_call():
                return "Error", "Device is in a call", {}
            self.reboot("UserInitiated")
            return "OK", "", {}
        if name == "SystemUnit SoftwareUpgrade":
            url = args.get("URL", "")
            if not url:
                return "Error", "URL is required", {}
            self.state["upgrade"]["URL"] = url
            self.spawn(self.install_from_url(url))
            return "OK", "", {}
        if name == "SystemUnit FactoryReset":
            if args.get("Confirm") != "Yes":
                return "Error", "Confirm: Yes is required", {}
            self.state["config"] = {}
            self.state["username"] = self.spec["factory_username"]
            self.state["password"] = self.spec["factory_password"]
            self.save()
            self.reboot("FactoryReset")
            return "OK", "", {}
        if name in ("UserManagement User Passphrase Set", "UserManagement User Passphrase Change"):
            new = args.get("NewPassphrase", "")
            if name.endswith("Change") and args.get("OldPassphrase") != self.state["password"]:
                return "Error", "Old passphrase is wrong", {}
            if not new:
                return "Error", "NewPassphrase is required", {}
            self.set_password(new)
            return "OK", "", {}
        if name == "Dial":
            call = self.dial(args.get("Number", ""), int(args.get("CallRate") or 0),
                             args.get("Protocol", "Sip"))  # fmt: skip
            if call["state"] != "CONNECTED":
                return "Error", call["reason"], {}
            return "OK", "", {"CallId": str(call["id"]), "ConferenceId": str(call["id"])}
        if name == "Call Disconnect":
            cid = args.get("CallId", "")
            found = [c for c in self.state["calls"] if str(c["id"]) == cid or not cid]
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
        return "Error", "Command not supported by this device", {}
