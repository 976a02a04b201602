"""Poly Group Series and Poly OS (G7500) over the REST API, as endpoint-apis.md part A says.

One aiohttp HTTPS server per codec (a new self-signed certificate at every boot), with:
sessions (both login body forms, ``session_id`` cookie, ``XSRF-TOKEN`` on Poly OS, logout,
a session cap, idle expiry, 403 without a session), ``/rest/system`` in each family's shape,
``/rest/system/status``, ``/rest/config`` read and write with a ``result`` per var and
``rebootNeeded``, ``/rest/provisioning/config`` (Poly OS), ``/rest/conferences``, reboot,
reset to defaults, password change.  Group Series also has the SSH CLI (``poly_cli.py``).

The configuration store holds one value per key, as strings, in the family's own names:
Poly OS the provisioning names of the real X30 dump (``data/poly-os-x30-config.txt``),
Group Series the web/REST names.  Each family also answers the other scheme's names where
the reference pairs them (docs/devices.md lists the pairs and the assumptions).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import secrets
import time
from pathlib import Path
from typing import Any, ClassVar
from xml.sax.saxutils import quoteattr

from aiohttp import web

from . import catalog, province, tlsutil
from .base import CODEC_FAULTS, SimDevice

DATA = Path(__file__).resolve().parent / "data"
SECURE = "REMOVED_SECURE_CONTENT"


def _load_dump() -> tuple[dict[str, str], frozenset[str]]:
    values: dict[str, str] = {}
    secure = set()
    for line in (DATA / "poly-os-x30-config.txt").read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, raw = line.partition("=")
        value = raw.strip().removeprefix('"').removesuffix('"')
        if value == SECURE:
            secure.add(key)
            value = ""
        values[key] = value
    return values, frozenset(secure)


POLY_OS_DEFAULTS, POLY_OS_SECURE = _load_dump()

# Web/REST name -> provisioning name, where endpoint-apis.md A.3 pairs them [confirmed].
WEB_TO_PROV = {
    "comm.callpreference.preferredspeed.ipoutgoing": "call.preferredSpeed.outgoing",
    "comm.callpreference.preferredspeed.ipmaxincoming": "call.preferredSpeed.maxIncoming",
    "comm.callsetting.callfeatures.encryptionenable": "call.encryption.requireAES",
    "comm.callsetting.callfeatures.autoanswer.answersinglecall": "call.autoAnswer.answerP2PCall",
    "comm.callsetting.callfeatures.autoanswer.muteautoanswer": "call.autoAnswer.micMute",
    "comm.callpreference.sipenable": "voIpProt.SIP.enable",
    "comm.nics.sipnic.sipusername": "voIpProt.SIP.userName",
    "comm.nics.sipnic.sipproxyserver": "voIpProt.SIP.proxyServer",
    "comm.nics.sipnic.sipregistrarserver": "voIpProt.SIP.registrarServer",
    "comm.nics.h323nic.h323name": "voIpProt.H323.name",
    "comm.nics.h323nic.h323extension": "voIpProt.H323.e164",
    "comm.nics.h323nic.gatekeeper.gkipaddress": "voIpProt.H323.gk.ipAddress",
}
PROV_TO_WEB = {v: k for k, v in WEB_TO_PROV.items()}

# Group Series store: web/REST names (their factory values), plus the provisioning names of
# the settings whose Group Series web names are unknown (assumption: Group Series 6.x
# answers those through /rest/config under the Poly OS provisioning names).
GS_WEB_DEFAULTS = {
    "comm.callpreference.preferredspeed.ipoutgoing": "1920",
    "comm.callpreference.preferredspeed.ipmaxincoming": "6144",
    "comm.callsetting.callfeatures.encryptionenable": "When_Available",
    "comm.callsetting.callfeatures.autoanswer.answersinglecall": "No",
    "comm.callsetting.callfeatures.autoanswer.muteautoanswer": "true",
    "comm.callpreference.sipenable": "true",
    "comm.callpreference.h323enable": "true",
    "comm.nics.sipnic.sipusername": "",
    "comm.nics.sipnic.sipproxyserver": "",
    "comm.nics.sipnic.sipregistrarserver": "",
    "comm.nics.sipnic.sipregistrarservertype": "STANDARD",
    "comm.nics.h323nic.h323name": "",
    "comm.nics.h323nic.h323extension": "",
    "comm.nics.h323nic.gatekeeper.gkipaddress": "",
    "comm.nics.h323nic.gatekeeper.usegatekeeper": "OFF",
    "management.provisioning.enabled": "True",
    "management.provisioning.server": "",
    "management.provisioning.domain": "",
    "management.provisioning.authtype": "NTLM",
    "management.provisioning.user": "",
    "management.provisioning.password": "",
    "system.info.serialnumber": "",
    "system.info.humanreadablemodel": "",
    "system.info.humanreadableversion": "",
    "softupdate.webui.systemimage": "",
}
GS_SHARED_PROV = (
    "device.local.deviceName",
    "device.local.ntpServer.mode",
    "device.local.ntpServer.address.1",
    "device.local.ntpServer.address.2",
    "device.local.timezone",
    "qos.tosType",
    "qos.diffServ.audio",
    "qos.diffServ.video",
    "qos.diffServ.fecc",
    "qos.diffServ.oam",
    "snmp.enable",
    "snmp.community",
    "snmp.trapTarget.1.address",
    "snmp.contactName",
    "snmp.locationName",
    "sec.telnet.enable",
    "sec.ssh.enable",
    "sec.web.httpsOnly",
    "sec.TLS.minimumVersion",
    "sec.access.maxSessions",
    "sec.web.idleSessionTimeout",
    "upgrade.auto.enable",
    "upgrade.auto.server.address",
    "upgrade.auto.server.type",
    "sec.auth.admin.password",
    "snmp.auth.password",
)
GS_SECURE = frozenset(
    {"management.provisioning.password", "sec.auth.admin.password", "snmp.auth.password"}
)

SPEEDS = (
    "64",
    "128",
    "192",
    "256",
    "320",
    "384",
    "512",
    "768",
    "1024",
    "1472",
    "1536",
    "1920",
    "2048",
    "3072",
    "3840",
    "4096",
    "6144",
)
BOOL = ("true", "false")
_ENUMS: dict[str, tuple[str, ...]] = {
    "call.encryption.requireAES": ("When_Available", "Required_Video", "Required_All", "Off"),
    "comm.callsetting.callfeatures.encryptionenable": (
        "When_Available",
        "Required_Video",
        "Required_All",
        "Off",
    ),
    "call.autoAnswer.answerP2PCall": ("Yes", "No", "Donotdisturb"),
    "comm.callsetting.callfeatures.autoanswer.answersinglecall": ("Yes", "No", "Donotdisturb"),
    "qos.tosType": ("IP_Precedence", "DiffServ"),
    "sec.TLS.minimumVersion": ("tlsv1_0", "tlsv1_1", "tlsv1_2", "tlsv1_3"),
    "device.local.ntpServer.mode": ("Auto", "Manual", "Off"),
    "voIpProt.H323.gk.mode": ("Off", "Auto", "Specify"),
    "comm.nics.h323nic.gatekeeper.usegatekeeper": ("OFF", "AUTO", "SPECIFY"),
}
# Changes the device applies only after a reboot (assumption, docs/devices.md).
REBOOT_KEYS = frozenset(
    {
        "voIpProt.H323.enable",
        "comm.callpreference.h323enable",
        "sec.web.httpsOnly",
        "sec.TLS.minimumVersion",
    }
)


def is_boolean(key: str) -> bool:
    """A true/false key: its factory value is a boolean, or its name says so."""
    default = POLY_OS_DEFAULTS.get(key, GS_WEB_DEFAULTS.get(key, ""))
    return default.lower() in BOOL or key.endswith((".enable", "enable", ".micMute"))


def valid_value(key: str, value: str) -> bool:
    """The value space of a key: speeds, DSCP 0-63, booleans, enums, free strings."""
    if key in _ENUMS:
        return value in _ENUMS[key]
    if "preferredSpeed" in key or "preferredspeed" in key:
        return value in SPEEDS
    if key.startswith("qos.diffServ."):
        return value.isdigit() and 0 <= int(value) <= 63
    if key.startswith("qos.intServ."):
        return value.isdigit() and 0 <= int(value) <= 7
    if is_boolean(key):
        return value.lower() in BOOL
    if key in ("sec.access.maxSessions", "sec.web.idleSessionTimeout"):
        return value.isdigit() and 1 <= int(value) <= 1000
    default = POLY_OS_DEFAULTS.get(key, "")
    if default.isdigit() and not value.isdigit():
        return False
    if key == "device.local.timezone":
        return bool(re.fullmatch(r"[A-Z][A-Za-z]+(_[A-Za-z+\-0-9]+)+|UTC|GMT", value))
    return len(value) <= 255


class PolyBase(SimDevice):
    role = "endpoint"
    supported_faults = CODEC_FAULTS
    session_cap: ClassVar[int] = 10
    xsrf: ClassVar[bool] = False

    def __init__(self, ctx: Any, spec: dict[str, Any], state: dict[str, Any] | None):
        super().__init__(ctx, spec, state)
        self.sessions: dict[str, dict[str, Any]] = {}
        self.runner: web.AppRunner | None = None
        self.reboot_needed = False

    # ------------------------------------------------------------------ the store
    def native(self, name: str) -> str | None:
        """The store key a REST name refers to, or None when the device has no such key."""
        raise NotImplementedError

    def secure(self, key: str) -> bool:
        raise NotImplementedError

    def get(self, key: str) -> str:
        return str(self.config.get(key, ""))

    def put(self, key: str, value: str) -> None:
        self.config[key] = value
        self.save()

    def b(self, key: str) -> bool:
        return self.get(key).lower() == "true"

    # ------------------------------------------------------------------ sessions
    def _idle_limit(self) -> float:
        minutes = self.get("sec.web.idleSessionTimeout") or "10"
        return self.ctx.scaled(float(minutes) * 60 if minutes.isdigit() else 600)

    def _expire(self) -> None:
        now = time.monotonic()
        limit = self._idle_limit()
        for sid in [s for s, v in self.sessions.items() if now - v["last"] > limit]:
            del self.sessions[sid]

    def session_of(self, request: web.Request) -> dict[str, Any] | None:
        self._expire()
        sid = request.cookies.get("session_id")
        session = self.sessions.get(sid or "")
        if session is not None:
            session["last"] = time.monotonic()
        return session

    def cap(self) -> int:
        value = self.get("sec.access.maxSessions")
        return int(value) if value.isdigit() else self.session_cap

    # ------------------------------------------------------------------ HTTP plumbing
    @web.middleware
    async def middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        await self.slow_down()
        path = request.path.replace("/rest/current/", "/rest/")
        # A write refused before its handler runs is still a write received (check mode).
        refused_write = await self._is_write(request, path)
        if self.fault("rate-limit") is not None:
            return self._refuse(refused_write, 503, "Service Unavailable")
        if path == "/rest/session":
            resp: web.StreamResponse = await handler(request)
            return resp
        session = self.session_of(request)
        if session is None and not self._basic_ok(request):
            return self._refuse(refused_write, 403, "Forbidden")
        if (
            self.xsrf
            and session is not None
            and request.method in ("POST", "PUT", "DELETE")
            and request.headers.get("x-xsrf-token") != session["xsrf"]
        ):
            return self._refuse(refused_write, 403, "XSRF token mismatch")
        resp = await handler(request)
        return resp

    def _refuse(self, write: bool, status: int, reason: str) -> web.Response:
        if write:
            self.count_write()
        return web.json_response({"success": False, "reason": reason}, status=status)

    @staticmethod
    async def _is_write(request: web.Request, path: str) -> bool:
        if request.method == "DELETE":
            return True
        if request.method != "POST" or path == "/rest/session":
            return False
        if path == "/rest/config":
            try:
                return "vars" in json.loads(await request.read() or b"{}")
            except ValueError:
                return False
        return True

    def _basic_ok(self, request: web.Request) -> bool:
        """Group Series 6.x also accepts Basic auth (assumption; Poly OS does not)."""
        if self.xsrf:
            return False
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Basic "):
            return False
        import base64

        try:
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
        except ValueError:
            return False
        return self.check_credentials(user, password)

    def routes(self) -> list[web.RouteDef]:
        r = []
        for prefix in ("/rest", "/rest/current"):
            r += [
                web.post(f"{prefix}/session", self.h_session),
                web.get(f"{prefix}/session/sessions", self.h_sessions),
                web.get(f"{prefix}/system", self.h_system),
                web.get(f"{prefix}/system/status", self.h_status),
                web.get(f"{prefix}/system/sipservers", self.h_sipservers),
                web.get(f"{prefix}/system/h323gatekeepers", self.h_gatekeepers),
                web.post(f"{prefix}/system/reboot", self.h_reboot),
                web.post(f"{prefix}/system/resetsettings", self.h_reset),
                web.post(f"{prefix}/config", self.h_config),
                web.get(f"{prefix}/conferences", self.h_conferences),
                web.post(f"{prefix}/conferences", self.h_dial),
                web.delete(f"{prefix}/conferences/{{cid}}", self.h_hangup),
            ]
        return r

    async def open_listeners(self) -> None:
        app = web.Application(middlewares=[self.middleware], client_max_size=10 * 1024 * 1024)
        app.add_routes(self.routes())
        self.runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self.runner.setup()
        ssl = tlsutil.server_context(self.name, self.host)
        site = web.TCPSite(self.runner, self.host, self.port, ssl_context=ssl, reuse_address=True)
        await site.start()

    async def close_listeners(self) -> None:
        self.sessions.clear()
        if self.runner is not None:
            runner, self.runner = self.runner, None
            with contextlib.suppress(Exception):
                await runner.cleanup()

    def on_boot(self) -> None:
        self.sessions.clear()
        self.reboot_needed = False
        # "REST and web UI errors until reboot": a reboot ends the session exhaustion.
        self.state["faults"].pop("session-exhaustion", None)
        if self.b("upgrade.auto.enable") and self.get("upgrade.auto.server.address"):
            self.spawn(self._pull_update(self.get("upgrade.auto.server.address")))

    async def _pull_update(self, url: str) -> None:
        """At boot, fetch the package the update server names (assumption: the address is
        the URL of the package itself) and install it when it is another version."""
        await asyncio.sleep(0.05)
        await self.install_from_url(url)

    # ------------------------------------------------------------------ handlers
    async def h_session(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except (ValueError, json.JSONDecodeError):
            return web.json_response({"success": False, "reason": "Bad request"}, status=400)
        action = str(body.get("action", "Login"))
        if action == "Logout":
            session = self.session_of(request)
            if session is not None:
                self.sessions.pop(session["id"], None)
            resp = web.json_response({"success": True})
            resp.del_cookie("session_id")
            return resp
        if action == "VerifyIdentity":
            # Group Series: confirm the current admin password before a password change.
            session = self.session_of(request)
            ok = session is not None and body.get("password") == self.state["password"]
            if ok and session is not None:
                session["verified"] = True
            return web.json_response({"verified": ok}, status=200 if ok else 403)
        if action != "Login":
            return web.json_response({"success": False, "reason": "Unknown action"}, status=400)
        self._expire()
        if self.fault("session-exhaustion") is not None or len(self.sessions) >= self.cap():
            return web.json_response(
                {
                    "success": False,
                    "reason": "SessionLimitReached",
                    "loginStatus": {"loginResult": "MAX_SESSIONS_REACHED"},
                },
                status=409,
            )
        if not self.check_credentials(body.get("user"), body.get("password")):
            return web.json_response(
                {"success": False, "loginStatus": {"failedLogins": 1, "loginResult": "FAILED"}},
                status=401,
            )
        sid = secrets.token_urlsafe(24)
        xsrf = secrets.token_urlsafe(16)
        peer = request.remote or ""
        self.sessions[sid] = {
            "id": sid,
            "xsrf": xsrf,
            "last": time.monotonic(),
            "client": peer,
            "created": time.time(),
            "user": body.get("user"),
        }
        resp = web.json_response(
            {
                "loginStatus": {
                    "failedLogins": 0,
                    "isPasswordAgeLimitReached": False,
                    "lastLoginClient": peer,
                    "lastLoginClientType": "WEB",
                    "lastLoginTime": int(time.time() * 1000),
                    "loginResult": "NOLOCKOUT",
                },
                "session": {
                    "clientType": "WEB",
                    "creationTime": int(time.time() * 1000),
                    "isAuthenticated": True,
                    "isConnected": False,
                    "isNew": True,
                    "isStale": False,
                    "location": peer,
                    "role": "ADMIN",
                    "sessionId": sid,
                    "userId": body.get("user"),
                },
                "success": True,
            }
        )
        resp.set_cookie("session_id", sid, secure=True, httponly=True)
        if self.xsrf:
            resp.set_cookie("XSRF-TOKEN", xsrf, secure=True)
        return resp

    async def h_sessions(self, request: web.Request) -> web.Response:
        return web.json_response(
            [
                {
                    "clientType": "WEB",
                    "role": "ADMIN",
                    "location": s["client"],
                    "userId": s["user"],
                    "isAuthenticated": True,
                }
                for s in self.sessions.values()
            ]
        )

    def uptime(self) -> float:
        return round(time.time() - self.booted_at + 3600.0, 2)

    async def h_system(self, request: web.Request) -> web.Response:
        return web.json_response(self.system())

    # Family data: where H.323 is switched on and how the gatekeeper mode is set.
    h323_enable_key: ClassVar[str] = ""
    gatekeeper_mode_key: ClassVar[str] = ""

    def sip_registered(self) -> bool:
        n = self.native
        return (
            self.b(n("comm.callpreference.sipenable") or "")
            and self.ctx.hub.sip_registrar
            in (
                self.get(n("comm.nics.sipnic.sipregistrarserver") or ""),
                self.get(n("comm.nics.sipnic.sipproxyserver") or ""),
            )
            and bool(self.get(n("comm.nics.sipnic.sipusername") or ""))
            and self.media_ok()
        )

    def h323_registered(self) -> bool:
        gatekeeper = self.native("comm.nics.h323nic.gatekeeper.gkipaddress") or ""
        return (
            self.b(self.h323_enable_key)
            and self.get(self.gatekeeper_mode_key).upper() in ("SPECIFY", "AUTO")
            and self.get(gatekeeper) == self.ctx.hub.gatekeeper
            and self.media_ok()
        )

    def software(self) -> dict[str, Any]:
        """The family's version fields of /rest/system."""
        raise NotImplementedError

    def system(self) -> dict[str, Any]:
        return {
            **self.software(),
            "buildType": "Release",
            "hardwareVersion": "1",
            "lanStatus": {"duplex": "FULL", "speedMbps": 1000, "state": "LAN_UP"},
            "model": self.spec["model"],
            "rebootNeeded": self.reboot_needed,
            "serialNumber": self.spec["serial"],
            "state": "INCALL" if self.in_call() else "ASLEEP",
            "systemName": self.get("device.local.deviceName"),
            "systemTime": int(time.time() * 1000),
            "timeOffset": 25200000,
            "timeServerState": "TIMESERVER_UP",
            "uptime": self.uptime(),
        }

    def status_items(self) -> list[tuple[str, str, str]]:
        """(name, language tag, state) of /rest/system/status."""
        items = [
            ("system.status.ipnetwork", "IP_NETWORK", "up"),
            ("system.status.sipserver", "SIP_SERVER", "up" if self.sip_registered() else "down"),
            (
                "system.status.gatekeeper",
                "GATEKEEPER",
                "up" if self.h323_registered() else "down",
            ),
            ("system.status.provisioning", "PROVISIONING", "off"),
            (
                "system.status.autoanswerp2p",
                "AUTO_ANSWER_P2P",
                "on" if self.call_limits()["auto_answer"] else "off",
            ),
            ("system.status.mr.audio", "AUDIO", "up" if self.media_ok() else "down"),
            ("system.status.mr.camera", "CAMERA", "up"),
        ]
        return items

    async def h_status(self, request: web.Request) -> web.Response:
        raise NotImplementedError

    async def h_sipservers(self, request: web.Request) -> web.Response:
        addr = self.get(self.native("comm.nics.sipnic.sipregistrarserver") or "")
        state = "UP" if self.sip_registered() else "DOWN"
        return web.json_response(
            [{"address": addr, "model": "Unknown", "state": state, "version": ""}]
        )

    async def h_gatekeepers(self, request: web.Request) -> web.Response:
        addr = self.get(self.native("comm.nics.h323nic.gatekeeper.gkipaddress") or "")
        state = "UP" if self.h323_registered() else "DOWN"
        return web.json_response(
            [{"address": addr, "model": "Unknown", "state": state, "version": ""}]
        )

    async def h_reboot(self, request: web.Request) -> web.Response:
        self.count_write()
        self.reboot("UserInitiated")
        return web.json_response({"success": True})

    async def h_reset(self, request: web.Request) -> web.Response:
        """Reset to defaults: the configuration goes back to factory values (the admin
        account is kept: assumption), then the device reboots."""
        self.count_write()
        self.state["config"] = self.factory_config()
        self.save()
        self.reboot("FactoryReset")
        return web.json_response({"success": True})

    async def h_config(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except (ValueError, json.JSONDecodeError):
            return web.json_response({"success": False, "reason": "Bad request"}, status=400)
        if "vars" in body:
            return self.write_config(body["vars"])
        out = []
        for name in body.get("names", []):
            key = self.native(str(name))
            if key is None:
                out.append({"name": name, "result": "ERROR_INVALID_NAME"})
                continue
            secure = self.secure(key)
            out.append(
                {
                    "name": name,
                    "result": "NOERROR",
                    "value": "" if secure else self.get(key),
                    "isEditable": True,
                    "isHidden": False,
                    "isSecure": secure,
                }
            )
        return web.json_response({"vars": out})

    def write_config(self, items: list[dict[str, Any]]) -> web.Response:
        self.count_write()
        out = []
        reboot = False
        for item in items:
            name = str(item.get("name", ""))
            value = str(item.get("value", ""))
            key = self.native(name)
            if key is None:
                result = "ERROR_INVALID_NAME"
            elif not valid_value(key, value):
                result = "ERROR_INVALID_VALUE"
            else:
                if is_boolean(key):  # stored as the device writes it: true or True
                    capital = self.get(key)[:1].isupper()
                    value = value.capitalize() if capital else value.lower()
                if self.get(key) != value:
                    self.put(key, value)
                    if key in REBOOT_KEYS:
                        reboot = True
                result = "NOERROR"
            out.append({"name": name, "requestedValue": value, "result": result})
        self.reboot_needed = self.reboot_needed or reboot
        return web.json_response({"vars": out, "rebootNeeded": self.reboot_needed})

    def conference(self, call: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": call["id"],
            "isPendingConference": False,
            "isActive": True,
            "connections": [
                {
                    "id": call["id"],
                    "address": call["remote"],
                    "state": call["state"],
                    "rate": call["rate"],
                    "callType": call["protocol"],
                    "encrypted": call["encrypted"],
                    "incoming": call["direction"] == "incoming",
                }
            ],
        }

    async def h_conferences(self, request: web.Request) -> web.Response:
        return web.json_response([self.conference(c) for c in self.state["calls"]])

    async def h_dial(self, request: web.Request) -> web.Response:
        self.count_write()
        body = await request.json()
        call = self.dial(
            str(body.get("address", "")),
            int(body.get("rate") or 0),
            str(body.get("dialType", "SIP")),
        )
        if call["state"] != "CONNECTED":
            return web.json_response({"success": False, "reason": call["reason"]}, status=400)
        return web.json_response(self.conference(call), status=201)

    async def h_hangup(self, request: web.Request) -> web.Response:
        self.count_write()
        cid = request.match_info["cid"]
        call = next((c for c in self.state["calls"] if str(c["id"]) == cid), None)
        if call is None:
            return web.json_response({"success": False, "reason": "No such conference"}, status=404)
        self.end_call(call["id"])
        far = self.ctx.find_endpoint(call["remote"])
        if far is not None:
            for other in list(far.state["calls"]):
                if other["remote"] in self.call_addresses():
                    far.end_call(other["id"])
        return web.json_response({"success": True})

    # ------------------------------------------------------------------ endpoint facts
    def call_limits(self) -> dict[str, Any]:
        rate = self.get(self.native("comm.callpreference.preferredspeed.ipoutgoing") or "")
        enc = self.get(self.native("comm.callsetting.callfeatures.encryptionenable") or "")
        answer = self.get(
            self.native("comm.callsetting.callfeatures.autoanswer.answersinglecall") or ""
        )
        return {
            "max_rate": int(rate) if rate.isdigit() else 384,
            "encryption": {"When_Available": "best", "Off": "off"}.get(enc, "on"),
            "auto_answer": answer == "Yes",
        }

    def call_addresses(self) -> list[str]:
        user = self.get(self.native("comm.nics.sipnic.sipusername") or "")
        return [
            a
            for a in (
                user if "@" in user else (f"{user}@{self.ctx.hub.domain}" if user else ""),
                user.partition("@")[0],
                self.get(self.native("comm.nics.h323nic.h323extension") or ""),
                self.get(self.native("comm.nics.h323nic.h323name") or ""),
                self.host,
            )
            if a
        ]

    # ------------------------------------------------------------------ seeding
    def standard_values(self) -> dict[str, str]:
        """The province standard in store keys (web names resolved by ``native``)."""
        v = province.site_values(self.spec, self.ctx.hub.as_dict())
        rate = str(province.CALL_RATE_KBPS)
        values = {
            "device.local.deviceName": v["system_name"],
            "comm.callpreference.preferredspeed.ipoutgoing": rate,
            "comm.callpreference.preferredspeed.ipmaxincoming": rate,
            "comm.callsetting.callfeatures.encryptionenable": "When_Available",
            "comm.callsetting.callfeatures.autoanswer.answersinglecall": "Yes",
            "comm.callsetting.callfeatures.autoanswer.muteautoanswer": "true",
            "comm.callpreference.sipenable": "true",
            # A SIP URI, as the X30 dump shows it (voIpProt.SIP.userName="sip@example.org").
            "comm.nics.sipnic.sipusername": v["sip_uri"],
            "comm.nics.sipnic.sipproxyserver": v["sip_proxy"],
            "comm.nics.sipnic.sipregistrarserver": v["sip_registrar"],
            "comm.nics.h323nic.h323name": v["h323_name"],
            "comm.nics.h323nic.h323extension": v["e164"],
            "comm.nics.h323nic.gatekeeper.gkipaddress": v["gatekeeper"],
            "qos.tosType": "DiffServ",
            "qos.diffServ.audio": str(province.DSCP_AUDIO),
            "qos.diffServ.video": str(province.DSCP_VIDEO),
            "device.local.ntpServer.mode": "Manual",
            "device.local.ntpServer.address.1": v["ntp_servers"][0],
            "device.local.ntpServer.address.2": v["ntp_servers"][1],
            "device.local.timezone": province.TIME_ZONE.replace("/", "_"),
            "snmp.enable": "true",
            "snmp.community": v["snmp_community"],
            "snmp.trapTarget.1.address": v["snmp_trap"],
            "sec.telnet.enable": "false",
            "sec.web.httpsOnly": "true",
            "sec.TLS.minimumVersion": "tlsv1_2",
            "upgrade.auto.enable": "false",
            "management.provisioning.enabled": "False",
        }
        return values

    def standard_config(self) -> dict[str, str]:
        config = self.factory_config()
        for name, value in self.standard_values().items():
            key = self.native(name)
            if key is not None:
                config[key] = value
        config.update(self.h323_standard())
        return config

    def h323_standard(self) -> dict[str, str]:
        raise NotImplementedError

    def deviate(self, config: Any, rng: Any) -> list[str]:
        n = self.native
        options = {
            "call rate 1024 kbps": (n("comm.callpreference.preferredspeed.ipoutgoing"), "1024"),
            "call rate in 4096 kbps": (
                n("comm.callpreference.preferredspeed.ipmaxincoming"),
                "4096",
            ),
            "encryption off": (n("comm.callsetting.callfeatures.encryptionenable"), "Off"),
            "auto-answer off": (
                n("comm.callsetting.callfeatures.autoanswer.answersinglecall"),
                "No",
            ),
            "audio DSCP 0": ("qos.diffServ.audio", "0"),
            "QoS back to IP precedence": ("qos.tosType", "IP_Precedence"),
            "second NTP server empty": ("device.local.ntpServer.address.2", ""),
            "telnet on": ("sec.telnet.enable", "true"),
            "SNMP community public": ("snmp.community", "public"),
        }
        picked = rng.sample(sorted(options), k=rng.randint(1, 3))
        for what in picked:
            key, value = options[what]
            config[key] = value
        return picked


class PolyOS(PolyBase):
    """Poly OS (G7500): provisioning names, XSRF, 50 sessions, 180 s reboot."""

    family = "poly-os"
    h323_enable_key = "voIpProt.H323.enable"
    gatekeeper_mode_key = "voIpProt.H323.gk.mode"

    def software(self) -> dict[str, Any]:
        return {"softwareVersion": self.version, "build": catalog.BUILDS.get(self.version, "0")}

    session_cap = 50
    xsrf = True
    reboot_seconds = 180.0
    install_seconds = 120.0

    def native(self, name: str) -> str | None:
        key = WEB_TO_PROV.get(name, name)
        if key in POLY_OS_DEFAULTS or key.startswith("management.provisioning."):
            return key
        return None

    def secure(self, key: str) -> bool:
        return key in POLY_OS_SECURE or key == "management.provisioning.password"

    def factory_config(self) -> dict[str, str]:
        config = dict(POLY_OS_DEFAULTS)
        config["device.local.deviceName"] = f"G7500-{self.spec['serial'][-8:]}"
        config["device.local.country"] = "Vietnam"
        config["device.prov.serverName"] = ""
        config["device.prov.user"] = ""
        config["voIpProt.H323.gk.ipAddress"] = ""
        config["voIpProt.H323.name"] = ""
        config["voIpProt.H323.e164"] = ""
        config["voIpProt.SIP.proxyServer"] = ""
        config["voIpProt.SIP.registrarServer"] = ""
        config["voIpProt.SIP.userName"] = ""
        for k in ("management.provisioning.enabled", "management.provisioning.server"):
            config[k] = GS_WEB_DEFAULTS[k]
        return config

    def h323_standard(self) -> dict[str, str]:
        return {"voIpProt.H323.enable": "true", "voIpProt.H323.gk.mode": "Specify"}

    async def h_status(self, request: web.Request) -> web.Response:
        return web.json_response(
            [
                {"langtag": f"{tag}_HEADING", "name": name, "stateList": [state]}
                for name, tag, state in self.status_items()
            ]
        )

    def routes(self) -> list[web.RouteDef]:
        return [
            *super().routes(),
            web.get("/rest/provisioning/config", self.h_provisioning),
            web.post("/rest/security/password/ADMIN", self.h_password),
        ]

    async def h_provisioning(self, request: web.Request) -> web.Response:
        attrs = " ".join(
            f"{k}={quoteattr(SECURE if self.secure(k) else v)}"
            for k, v in sorted(self.config.items())
            if not k.startswith("management.provisioning.")
        )
        return web.Response(
            text=f"<PHONE_CONFIG><ALL {attrs}/></PHONE_CONFIG>", content_type="text/xml"
        )

    async def h_password(self, request: web.Request) -> web.Response:
        self.count_write()
        body = await request.json()
        if body.get("oldPassword") != self.state["password"] or not body.get("newPassword"):
            return web.json_response({"success": False}, status=400)
        self.set_password(str(body["newPassword"]))
        return web.json_response({"success": True})


class PolyGroupSeries(PolyBase):
    """Group Series 500/310/700: web names, PENDING idle conference, 10 sessions, SSH CLI."""

    family = "poly-group-series"
    h323_enable_key = "comm.callpreference.h323enable"
    gatekeeper_mode_key = "comm.nics.h323nic.gatekeeper.usegatekeeper"

    def software(self) -> dict[str, Any]:
        return {
            "softwareVersion": f"Release - {self.version}",
            "build": self.version.rpartition("-")[2],
            "rcBatteryCondition": "BATTERY_GOOD",
        }

    supported_faults = PolyBase.supported_faults | {"ssh-drop-mid-config"}
    session_cap = 10
    xsrf = False
    reboot_seconds = 120.0
    install_seconds = 120.0

    def native(self, name: str) -> str | None:
        if name in GS_WEB_DEFAULTS or name in GS_SHARED_PROV:
            return name
        web_name = PROV_TO_WEB.get(name)
        return web_name  # provisioning names of paired keys answer too

    def secure(self, key: str) -> bool:
        return key in GS_SECURE

    def factory_config(self) -> dict[str, str]:
        config = dict(GS_WEB_DEFAULTS)
        for key in GS_SHARED_PROV:
            config[key] = POLY_OS_DEFAULTS.get(key, "")
        config["device.local.deviceName"] = f"GroupSeries-{self.spec['serial'][-6:]}"
        config["device.local.timezone"] = "GMT"
        config["sec.access.maxSessions"] = str(self.session_cap)
        config["sec.web.idleSessionTimeout"] = "10"
        config["upgrade.auto.enable"] = "false"
        config["system.info.serialnumber"] = self.spec["serial"]
        config["system.info.humanreadablemodel"] = self.spec["model"]
        return config

    def h323_standard(self) -> dict[str, str]:
        return {
            "comm.callpreference.h323enable": "true",
            "comm.nics.h323nic.gatekeeper.usegatekeeper": "SPECIFY",
        }

    def get(self, key: str) -> str:
        if key == "system.info.humanreadableversion":
            return f"Release - {self.version}"
        return super().get(key)

    def status_items(self) -> list[tuple[str, str, str]]:
        return [
            *super().status_items(),
            ("system.status.inacall", "IN_A_CALL", "on" if self.in_call() else "off"),
            ("system.status.microphones", "MICROPHONES", "up"),
        ]

    async def h_status(self, request: web.Request) -> web.Response:
        return web.json_response(
            [
                {"name": name, "languageTag": tag, "state": [state]}
                for name, tag, state in self.status_items()
            ]
        )

    async def h_conferences(self, request: web.Request) -> web.Response:
        # The PENDING placeholder is always there, in a call too (MV's captures).
        confs = [self.conference(c) for c in self.state["calls"]]
        confs.append(
            {"id": "PENDING", "isPendingConference": True, "isActive": False, "connections": []}
        )
        return web.json_response(confs)

    def routes(self) -> list[web.RouteDef]:
        return [
            *super().routes(),
            web.get("/rest/system/uptime", self.h_uptime),
            web.post("/rest/security/profile/low/verify", self.h_verify),
        ]

    async def h_uptime(self, request: web.Request) -> web.Response:
        return web.json_response(int(self.uptime()))

    async def h_verify(self, request: web.Request) -> web.Response:
        """The new admin password, in the body MV captured from a Group 500:
        ``{"ids": null, "passwords": [{"password", "passwordType": "Admin"}], "save": true}``,
        after a VerifyIdentity of the same session."""
        self.count_write()
        body = await request.json()
        session = self.session_of(request)
        results = []
        for item in body.get("passwords") or []:
            new = str(item.get("password", ""))
            kind = item.get("passwordType", "Admin")
            if session is None or not session.get("verified"):
                error = "ERROR_NOT_VERIFIED"
            elif kind != "Admin" or not new:
                error = "ERROR_INVALID_PASSWORD"
            else:
                error = "NOERROR"
                if body.get("save"):
                    self.set_password(new)
            results.append({"error": error, "passwordType": kind})
        return web.json_response({"idResults": [], "passwordResults": results})

    # The SSH CLI of Group Series (A.11) runs beside the REST server.
    async def open_listeners(self) -> None:
        await super().open_listeners()
        from .poly_cli import start_cli

        self.cli_server = await start_cli(self)

    async def close_listeners(self) -> None:
        server = getattr(self, "cli_server", None)
        if server is not None:
            server.close()
            self.cli_server = None
        for proc in list(getattr(self, "cli_sessions", set())):
            with contextlib.suppress(Exception):
                proc.close()
        await super().close_listeners()
