"""The Group Series API command line over SSH (endpoint-apis.md A.1 and A.11).

After the password, the device prints its ``whoami`` text ending with ``SNMP Enabled: ...``
and then answers one command per line; replies echo the command keyword and the value;
lines end with ``\\r\\r\\n``.  It shares the REST server's configuration store.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import asyncssh

from . import ssh

if TYPE_CHECKING:
    from .poly_rest import PolyGroupSeries

EOL = "\r\r\n"
NOT_FOUND = "error: command not found"
MORE = "error: command needs more parameters to execute successfully"

# systemsetting name -> store key
SYSTEMSETTING = {
    "sipregistrarserver": "comm.nics.sipnic.sipregistrarserver",
    "sipproxyserver": "comm.nics.sipnic.sipproxyserver",
    "sipusername": "comm.nics.sipnic.sipusername",
    "sipenable": "comm.callpreference.sipenable",
}
# get/set commands -> (store key, value map CLI->store)
SIMPLE: dict[str, tuple[str, dict[str, str]]] = {
    "h323name": ("comm.nics.h323nic.h323name", {}),
    "e164ext": ("comm.nics.h323nic.h323extension", {}),
    "gatekeeperip": ("comm.nics.h323nic.gatekeeper.gkipaddress", {}),
    "ntpserver": ("device.local.ntpServer.address.1", {}),
    "ntpsecondaryserver": ("device.local.ntpServer.address.2", {}),
    "snmpcommunity": ("snmp.community", {}),
    "snmpconsoleip": ("snmp.trapTarget.1.address", {}),
    "diffservaudio": ("qos.diffServ.audio", {}),
    "diffservvideo": ("qos.diffServ.video", {}),
    "diffservfecc": ("qos.diffServ.fecc", {}),
}
CHOICE: dict[str, tuple[str, dict[str, str]]] = {
    "encryption": (
        "comm.callsetting.callfeatures.encryptionenable",
        {
            "yes": "When_Available",
            "no": "Off",
            "requiredvideocallsonly": "Required_Video",
            "requiredallcalls": "Required_All",
        },
    ),
    "autoanswer": (
        "comm.callsetting.callfeatures.autoanswer.answersinglecall",
        {"yes": "Yes", "no": "No", "donotdisturb": "Donotdisturb"},
    ),
    "muteautoanswer": (
        "comm.callsetting.callfeatures.autoanswer.muteautoanswer",
        {"yes": "true", "no": "false"},
    ),
    "enablesnmp": ("snmp.enable", {"yes": "true", "no": "false"}),
    "ntpmode": ("device.local.ntpServer.mode", {"auto": "Auto", "manual": "Manual", "off": "Off"}),
    "usegatekeeper": (
        "comm.nics.h323nic.gatekeeper.usegatekeeper",
        {"off": "OFF", "specify": "SPECIFY", "auto": "AUTO"},
    ),
    "typeofservice": ("qos.tosType", {"ipprecedence": "IP_Precedence", "diffserv": "DiffServ"}),
}


class CliSession:
    def __init__(self, dev: PolyGroupSeries):
        self.dev = dev
        self.set_count = 0

    def whoami(self) -> str:
        d = self.dev
        lines = [
            f"Hi, my name is : {d.get('device.local.deviceName')}",
            "Here is what I know about myself:",
            f"Model: {d.spec['model']}",
            f"Serial Number: {d.spec['serial']}",
            f"Software Version: Release - {d.version}",
            f"Build Information: {d.version.rpartition('-')[2]}",
            f"Total Calls: {int(d.state.get('next_call_id', 1)) - 1}",
            f"SNTP Time Service: {d.get('device.local.ntpServer.mode').lower()} "
            f"{d.get('device.local.ntpServer.address.1')}",
            f"H323 Enabled: {d.get('comm.callpreference.h323enable') == 'true'}",
            "HTTP Enabled: True",
            f"SNMP Enabled: {d.b('snmp.enable')}",
        ]
        return EOL.join(lines)

    def write(self, key: str, value: str) -> bool:
        from .poly_rest import valid_value

        self.dev.count_write()
        self.set_count += 1
        drop = self.dev.fault("ssh-drop-mid-config")
        if drop is not None and self.set_count > int(drop.get("after", 2)):
            raise ConnectionResetError("ssh-drop-mid-config")
        if not valid_value(key, value):
            return False
        self.dev.put(key, value)
        return True

    def handle(self, line: str) -> str:
        words = line.split()
        if not words:
            return ""
        cmd, args = words[0], words[1:]
        d = self.dev
        if cmd == "version":
            return f'version "Release - {d.version}"'
        if cmd == "serialnum":
            return f"serialnum {d.spec['serial']}"
        if cmd == "whoami":
            return self.whoami()
        if cmd == "systemname":
            if args[:1] == ["get"]:
                return f'systemname "{d.get("device.local.deviceName")}"'
            if args[:1] == ["set"] and len(args) > 1:
                self.write("device.local.deviceName", " ".join(args[1:]).strip('"'))
                return f'systemname "{d.get("device.local.deviceName")}"'
            return MORE
        if cmd == "systemsetting":
            if args[:2] == ["get", "model"]:
                return f'systemsetting model "{d.spec["model"]}"'
            if len(args) >= 2 and args[0] == "get" and args[1] in SYSTEMSETTING:
                return f"systemsetting {args[1]} {d.get(SYSTEMSETTING[args[1]])}"
            if len(args) >= 2 and args[0] in SYSTEMSETTING:
                value = " ".join(args[1:]).strip('"')
                if args[0] == "sipenable":
                    value = value.lower()
                if not self.write(SYSTEMSETTING[args[0]], value):
                    return f"systemsetting {args[0]} failed"
                return f"systemsetting {args[0]} {d.get(SYSTEMSETTING[args[0]])}"
            return MORE if not args else NOT_FOUND
        if cmd in SIMPLE:
            key, _ = SIMPLE[cmd]
            if args[:1] == ["get"]:
                return f"{cmd} {d.get(key)}"
            if args[:1] == ["set"]:
                value = " ".join(args[1:]).strip('"')
                if not self.write(key, value):
                    return f"{cmd} set failed"
                return f"{cmd} {d.get(key)}"
            return MORE
        if cmd in CHOICE:
            key, choices = CHOICE[cmd]
            back = {v: k for k, v in choices.items()}
            if not args:
                return MORE
            if args[0] == "get":
                return f"{cmd} {back.get(d.get(key), d.get(key))}"
            if args[0] in choices:
                self.write(key, choices[args[0]])
                return f"{cmd} {args[0]}"
            d.count_write()  # a refused set is still a write request received
            return f"{cmd} {args[0]} failed"
        if cmd == "status":
            items = [
                f"{name.removeprefix('system.status.')} {state}"
                for name, _, state in d.status_items()
            ]
            return EOL.join(["status begin", *items, "status end"])
        if cmd == "callinfo" and args[:1] == ["all"]:
            if not d.state["calls"]:
                return "system is not in a call"
            rows = [
                f"callinfo:{c['id']}:{c['remote']}:{c['remote']}:{c['rate']}:connected:notmuted:"
                f"{c['direction']}:videocall"
                for c in d.state["calls"]
            ]
            return EOL.join(["callinfo begin", *rows, "callinfo end"])
        if cmd == "getcallstate":
            if not d.state["calls"]:
                return "cs: call[1] inactive"
            c = d.state["calls"][0]
            return f"cs: call[{c['id']}] speed[{c['rate']}] dialstr[{c['remote']}] state[connected]"
        if cmd == "reboot" and not args:
            return MORE
        if cmd == "reboot" and args[:1] in (["now"], ["y"]):
            d.count_write()
            d.reboot("UserInitiated")
            return "reboot now"
        if cmd == "resetsystem":
            d.count_write()
            d.state["config"] = d.factory_config()
            d.save()
            d.reboot("FactoryReset")
            return "resetsystem"
        return NOT_FOUND


async def _lines(process: asyncssh.SSHServerProcess[str]) -> AsyncIterator[str]:
    """Command lines as the client sends them: terminated by ``\\r`` (A.1), ``\\n`` or both.

    With a PTY the line editor hands over whole lines; without one (a client that asks for
    no PTY) the raw ``\\r`` must end a command too.
    """
    buffer = ""
    while True:
        try:
            chunk = await process.stdin.read(4096)
        except (asyncssh.BreakReceived, asyncssh.TerminalSizeChanged):
            continue
        except (asyncssh.Error, OSError):
            return
        if not chunk:
            return
        buffer += chunk
        *lines, buffer = re.split(r"\r\n|\r|\n", buffer)
        for line in lines:
            if line.strip():
                yield line.strip()


async def start_cli(dev: PolyGroupSeries) -> Any:
    sessions: set[Any] = set()
    dev.cli_sessions = sessions  # type: ignore[attr-defined]

    async def session(process: asyncssh.SSHServerProcess[str]) -> None:
        sessions.add(process)
        try:
            shell = CliSession(dev)
            process.stdout.write(shell.whoami() + EOL)
            async for line in _lines(process):
                if line in ("exit", "quit"):
                    return
                await dev.slow_down()
                try:
                    out = shell.handle(line)
                except ConnectionResetError:
                    conn = process.get_extra_info("connection")
                    if conn is not None:
                        conn.abort()
                    return
                if out:
                    process.stdout.write(out + EOL)
        finally:
            sessions.discard(process)
            with contextlib.suppress(Exception):
                process.exit(0)

    return await ssh.serve(dev, int(dev.spec.get("ssh_port", 8022)), session)
