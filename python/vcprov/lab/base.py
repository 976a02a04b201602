"""What every simulated device of the lab shares: state, lifecycle, faults, calls, firmware.

A family simulator (``poly.py``, ``roomos.py``, ``switches.py``) subclasses :class:`SimDevice`
and implements the protocol servers and the configuration semantics of its family.  This
module knows nothing of any protocol.  It must never import the drivers' package: the
lab follows the reference on its own so that a driver's mistake is caught, not mirrored.

State model
-----------
``self.state`` is a JSON-serialisable dict persisted to ``STATE/devices/<name>.json``.  The
base class owns these keys; a family may add its own (prefix them with the family name):

==================  ========================================================================
``version``         running firmware (canonical form of :mod:`vcprov.lab.catalog`)
``previous_version`` firmware that ran before the last install (the "previous image")
``config``          the family's configuration store (any JSON value the family chooses)
``username``        admin account name
``password``        admin password (a secret: never logged)
``writes``          every write request received, accepted or refused (check-mode proof)
``boots``           number of boots
``last_shutdown``   reason of the last shutdown: ``Upgrade``, ``UserInitiated``, ``PowerFailure``...
``faults``          ``{kind: params}`` of the active faults
``broken``          ``{"version": V, "kind": K}`` when a firmware fault marked a version bad
``calls``           active calls ``[{"id", "remote", "rate", "protocol", "encrypted", ...}]``
==================  ========================================================================
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from . import catalog, firmware_pkg

log = logging.getLogger("vcprov.lab")

# Fault kinds, all families.  A family lists in ``supported_faults`` the ones that apply.
FAULT_KINDS = (
    "unreachable",
    "slow",
    "bad-credentials",
    "session-exhaustion",
    "rate-limit",
    "ssh-drop-mid-config",
    "in-call",
    "firmware-download-fail",
    "firmware-install-fail",
    "firmware-boot-loop",
    "firmware-config-loss",
    "firmware-no-media",
)
FIRMWARE_FAULTS = tuple(k for k in FAULT_KINDS if k.startswith("firmware-"))
# What every codec family supports (HTTPS API, calls, firmware).
CODEC_FAULTS = frozenset(
    {
        "unreachable",
        "slow",
        "bad-credentials",
        "session-exhaustion",
        "rate-limit",
        "in-call",
        *FIRMWARE_FAULTS,
    }
)


class LabError(Exception):
    """A request to the lab that cannot be carried out (unknown device, fault kind...)."""


@dataclass(frozen=True)
class Hub:
    """The call-control and management servers at the hub (so-tttt).

    A codec reports itself registered only when its configuration points at these.
    """

    domain: str = "vc.thanhhoa.lab"
    sip_registrar: str = "sip.vc.thanhhoa.lab"
    sip_proxy: str = "sip.vc.thanhhoa.lab"
    gatekeeper: str = "gk.vc.thanhhoa.lab"
    ntp_servers: tuple[str, str] = ("ntp1.vc.thanhhoa.lab", "ntp2.vc.thanhhoa.lab")
    snmp_trap: str = "nms.vc.thanhhoa.lab"

    def as_dict(self) -> dict[str, Any]:
        return {
            "domain": self.domain,
            "sip_registrar": self.sip_registrar,
            "sip_proxy": self.sip_proxy,
            "gatekeeper": self.gatekeeper,
            "ntp_servers": list(self.ntp_servers),
            "snmp_trap": self.snmp_trap,
        }


@dataclass
class LabContext:
    """Shared by every device of one lab process."""

    state_dir: Path
    time_scale: float = 1.0
    hub: Hub = field(default_factory=Hub)
    seed: int = 0
    devices: dict[str, SimDevice] = field(default_factory=dict)

    async def sleep(self, seconds: float) -> None:
        """A device wait (reboot, download, install), multiplied by the time scale."""
        await asyncio.sleep(max(0.0, seconds * self.time_scale))

    def scaled(self, seconds: float) -> float:
        return max(0.0, seconds * self.time_scale)

    def rng(self, *salt: object) -> random.Random:
        """A deterministic random generator for one purpose (seed + salt)."""
        return random.Random(":".join([str(self.seed), *map(str, salt)]))

    def find_endpoint(self, address: str) -> SimDevice | None:
        """The endpoint a dialled address reaches (SIP URI, E.164, H.323 name, IP)."""
        wanted = address.strip().lower().removeprefix("sip:").removeprefix("h323:")
        for dev in self.devices.values():
            if dev.role != "endpoint":
                continue
            if wanted in {a.lower() for a in dev.call_addresses() if a}:
                return dev
        return None


class SimDevice:
    """One simulated device.  Subclasses implement the protocol and the configuration."""

    family: ClassVar[str] = ""
    role: ClassVar[str] = ""  # "endpoint" or "switch"
    supported_faults: ClassVar[frozenset[str]] = frozenset()
    reboot_seconds: ClassVar[float] = 120.0  # before the time scale
    install_seconds: ClassVar[float] = 60.0  # extra time of an install, before the time scale
    download_seconds: ClassVar[float] = 20.0

    def __init__(self, ctx: LabContext, spec: dict[str, Any], state: dict[str, Any] | None):
        self.ctx = ctx
        self.spec = spec
        self.name: str = spec["name"]
        self.host: str = spec["host"]
        self.port: int = int(spec["port"])
        self.power = "up"  # up | rebooting | down (boot loop) | off (unreachable fault)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._dirty = False
        self.listening = False
        if state is None:
            state = self.initial_state()
        self.state = state
        self.state.setdefault("faults", {})
        self.state.setdefault("calls", [])
        self.state.setdefault("writes", 0)
        self.state.setdefault("boots", 1)
        self.state.setdefault("last_shutdown", "PowerOn")
        self.state.setdefault("broken", None)
        self.booted_at = time.time()

    # ------------------------------------------------------------------ family hooks
    def factory_config(self) -> Any:
        """The configuration store of a device as it leaves the supplier."""
        raise NotImplementedError

    def standard_config(self) -> Any:
        """The configuration store of a device set up by the province standard (lab's view)."""
        raise NotImplementedError

    def deviate(self, config: Any, rng: random.Random) -> list[str]:
        """Apply one to three realistic hand-made deviations to ``config`` in place.

        Returns a short description of each, e.g. ``"call rate 1024"``.
        """
        raise NotImplementedError

    async def open_listeners(self) -> None:
        """Bind the device's servers on ``self.host`` (HTTPS, SSH...)."""
        raise NotImplementedError

    async def close_listeners(self) -> None:
        """Close the servers and drop every open connection and session."""
        raise NotImplementedError

    def on_boot(self) -> None:
        """Called after every boot: drop sessions, renew the TLS certificate, etc."""

    def sip_registered(self) -> bool:
        """Registered to the hub's SIP registrar (computed from the configuration)."""
        return False

    def h323_registered(self) -> bool:
        """Registered to the hub's gatekeeper (computed from the configuration)."""
        return False

    def call_addresses(self) -> list[str]:
        """Addresses at which this endpoint can be called."""
        return [self.host]

    def call_limits(self) -> dict[str, Any]:
        """``{"max_rate": kbps, "encryption": "on"|"off"|"best", "auto_answer": bool}``."""
        return {"max_rate": 2048, "encryption": "best", "auto_answer": True}

    def firmware_phase(self, status: str, phase: str, message: str = "") -> None:
        """A firmware install moved on (Cisco reports it as UpgradeStatus)."""

    # ------------------------------------------------------------------ state
    def initial_state(self) -> dict[str, Any]:
        """State of a device created by ``lab up`` from its ``lab.json`` row."""
        spec = self.spec
        factory = bool(spec.get("factory"))
        # vendor_defaults: a new install whose installer set vcprov's account and the
        # current firmware, nothing else (every setting at the vendor's default).
        defaults = factory or bool(spec.get("vendor_defaults"))
        config = self.factory_config() if defaults else self.standard_config()
        state: dict[str, Any] = {
            "version": spec["version"],
            "previous_version": catalog.previous_version(self.family, spec["version"]),
            "config": config,
            "username": spec["factory_username"] if factory else spec["username"],
            "password": spec["factory_password"] if factory else spec["password"],
            "deviations": [],
        }
        if not defaults and spec.get("deviate"):
            self.state = state  # deviate() may look at self.state
            state["deviations"] = self.deviate(config, self.ctx.rng("deviate", self.name))
        return state

    @property
    def config(self) -> Any:
        return self.state["config"]

    @config.setter
    def config(self, value: Any) -> None:
        self.state["config"] = value
        self.save()

    @property
    def version(self) -> str:
        return str(self.state["version"])

    def save(self) -> None:
        """Mark the state to be written to disk (the lab flushes it within a second)."""
        self._dirty = True

    def flush(self) -> None:
        if not self._dirty:
            return
        path = self.ctx.state_dir / "devices" / f"{self.name}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state, ensure_ascii=False, sort_keys=True))
        os.replace(tmp, path)
        self._dirty = False

    def count_write(self, n: int = 1) -> None:
        """Count a write request received (accepted or refused)."""
        self.state["writes"] = int(self.state.get("writes", 0)) + n
        self.save()

    # ------------------------------------------------------------------ credentials
    def check_credentials(self, username: str | None, password: str | None) -> bool:
        if self.fault("bad-credentials") is not None:
            return False
        return username == self.state["username"] and password == self.state["password"]

    def set_password(self, password: str) -> None:
        self.state["password"] = password
        self.save()

    # ------------------------------------------------------------------ faults
    def fault(self, kind: str) -> dict[str, Any] | None:
        """The parameters of an active fault, or None."""
        faults: dict[str, dict[str, Any]] = self.state["faults"]
        return faults.get(kind)

    async def set_fault(self, kind: str, params: dict[str, Any] | None = None) -> None:
        if kind not in FAULT_KINDS:
            raise LabError(f"unknown fault kind {kind!r}; known: {', '.join(FAULT_KINDS)}")
        if kind not in self.supported_faults:
            raise LabError(
                f"fault {kind!r} does not apply to {self.name} ({self.family}); "
                f"it supports: {', '.join(sorted(self.supported_faults))}"
            )
        self.state["faults"][kind] = dict(params or {})
        self.save()
        if kind == "unreachable" and self.power == "up":
            self.power = "off"
            await self._close()
        elif kind == "in-call":
            remote = (params or {}).get("remote", "meeting@" + self.ctx.hub.domain)
            self.start_call(remote, incoming=True, rate=2048, protocol="SIP", fault=True)

    async def clear_fault(self, kind: str) -> None:
        self.state["faults"].pop(kind, None)
        self.save()
        if kind == "unreachable" and self.power == "off":
            self.power = "up"
            await self._open()
        elif kind == "in-call":
            for call in list(self.state["calls"]):
                if call.get("fault"):
                    self.end_call(call["id"])

    async def slow_down(self) -> None:
        """Delay an answer when the ``slow`` fault is active (wire time, not scaled)."""
        params = self.fault("slow")
        if params is not None:
            await asyncio.sleep(float(params.get("delay", 3.0)))

    # ------------------------------------------------------------------ lifecycle
    async def _open(self) -> None:
        if not self.listening:
            await self.open_listeners()
            self.listening = True

    async def _close(self) -> None:
        if self.listening:
            self.listening = False
            await self.close_listeners()

    async def start(self) -> None:
        """Start serving (lab start).  A device in a boot loop stays down."""
        if self.state.get("power") == "down":
            self.power = "down"
            return
        if self.fault("unreachable") is not None:
            self.power = "off"
            return
        self.on_boot()
        await self._open()

    async def stop(self) -> None:
        await self._close()
        for task in list(self._tasks):
            task.cancel()
        self.flush()

    def spawn(self, coro: Awaitable[Any], name: str = "") -> asyncio.Task[Any]:
        """Run a background job of this device (kept referenced, cancelled on stop)."""
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("%s: background job failed", self.name, exc_info=task.exception())

    def reboot(self, reason: str = "UserInitiated", seconds: float | None = None) -> None:
        """Go away now, come back after the (scaled) reboot time.  Returns at once."""
        if self.power == "rebooting":
            return
        self.power = "rebooting"
        self.state["last_shutdown"] = reason
        self.end_all_calls()
        self.save()
        self.spawn(self._reboot(self.reboot_seconds if seconds is None else seconds))

    async def _reboot(self, seconds: float, before_boot: Callable[[], bool] | None = None) -> None:
        # Let the answer to the request that asked for the reboot go out first.
        await asyncio.sleep(0.05)
        await self._close()
        await self.ctx.sleep(seconds)
        if before_boot is not None and not before_boot():
            return  # stays down (boot loop)
        self._boot()
        if self.fault("unreachable") is None:
            await self._open()
            self.power = "up"
        else:
            self.power = "off"

    def _boot(self) -> None:
        self.state["boots"] = int(self.state.get("boots", 0)) + 1
        self.state.pop("power", None)
        self.booted_at = time.time()
        self.on_boot()
        self.save()

    async def power_cycle(self) -> None:
        """Pull the power and put it back.  A device in a boot loop boots its previous image."""
        await self._close()
        self.end_all_calls()
        if self.power == "down" or self.state.get("power") == "down":
            previous = self.state.get("previous_version")
            if previous:
                self.state["previous_version"], self.state["version"] = (
                    self.state["version"],
                    previous,
                )
        self.state["last_shutdown"] = "PowerFailure"
        self.power = "rebooting"
        self.save()
        self.spawn(self._reboot(self.reboot_seconds))

    async def reset(self, factory: bool) -> None:
        """``lab reset``: back to the lab's standard, or to factory state with older firmware."""
        await self._close()
        self.end_all_calls()
        self.state["faults"] = {}
        self.state["broken"] = None
        self.state.pop("power", None)
        if factory:
            older = catalog.factory_version(self.family)
            self.state["config"] = self.factory_config()
            self.state["username"] = self.spec["factory_username"]
            self.state["password"] = self.spec["factory_password"]
            self.state["previous_version"] = None
            self.state["version"] = older
        else:
            self.state["config"] = self.standard_config()
            self.state["username"] = self.spec["username"]
            self.state["password"] = self.spec["password"]
            self.state["version"] = self.spec["version"]
            self.state["previous_version"] = catalog.previous_version(
                self.family, self.spec["version"]
            )
        self.state["deviations"] = []
        self.state["last_shutdown"] = "FactoryReset" if factory else "UserInitiated"
        self.save()
        self.power = "up"
        self._boot()
        await self._open()

    # ------------------------------------------------------------------ calls
    def in_call(self) -> bool:
        return bool(self.state["calls"])

    def media_ok(self) -> bool:
        broken = self.state.get("broken")
        return not (broken and broken.get("version") == self.version)

    def start_call(
        self,
        remote: str,
        *,
        incoming: bool,
        rate: int,
        protocol: str,
        encrypted: bool = False,
        fault: bool = False,
    ) -> dict[str, Any]:
        call_id = int(self.state.get("next_call_id", 1))
        call: dict[str, Any] = {
            "id": call_id,
            "remote": remote,
            "rate": int(rate),
            "protocol": protocol,
            "encrypted": encrypted,
            "direction": "incoming" if incoming else "outgoing",
            "state": "CONNECTED",
            "started": time.time(),
        }
        if fault:
            call["fault"] = True
        self.state["next_call_id"] = call_id + 1
        self.state["calls"].append(call)
        self.save()
        return call

    def end_call(self, call_id: int) -> bool:
        before = len(self.state["calls"])
        self.state["calls"] = [c for c in self.state["calls"] if c["id"] != call_id]
        self.save()
        return len(self.state["calls"]) != before

    def end_all_calls(self) -> None:
        self.state["calls"] = []
        self.save()

    def dial(self, address: str, rate: int, protocol: str = "SIP") -> dict[str, Any]:
        """Place a call.  Returns the call, whose ``state`` is CONNECTED or FAILED (``reason``).

        A call connects when the caller can send media and is registered for the protocol
        (or dials an IP address directly), and the far end is up, answers and can send media.
        Rate: the lowest of what was asked and both ends' maximum.  Encrypted when both ends
        have encryption on or best-effort.
        """
        protocol = protocol.upper() if protocol else "SIP"
        if protocol not in ("SIP", "H323"):
            protocol = "SIP"
        target = self.ctx.find_endpoint(address)
        reason = ""
        mine = self.call_limits()
        if not self.media_ok():
            reason = "media failure"
        elif target is None:
            reason = "destination not found"
        elif target is self:
            reason = "cannot call itself"
        elif target.power != "up":
            reason = "far end unreachable"
        elif not address.replace(".", "").isdigit() and not (
            self.sip_registered() if protocol == "SIP" else self.h323_registered()
        ):
            reason = f"not registered ({protocol})"
        elif not target.call_limits().get("auto_answer", False) and not target.in_call():
            reason = "no answer"
        elif not target.media_ok():
            reason = "far end media failure"
        if reason:
            return {"id": 0, "remote": address, "state": "FAILED", "reason": reason}
        assert target is not None
        theirs = target.call_limits()
        rate = min(int(rate or mine["max_rate"]), int(mine["max_rate"]), int(theirs["max_rate"]))
        encs = {mine["encryption"], theirs["encryption"]}
        if "on" in encs and "off" in encs:
            return {"id": 0, "remote": address, "state": "FAILED", "reason": "encryption mismatch"}
        encrypted = "off" not in encs
        call = self.start_call(
            address, incoming=False, rate=rate, protocol=protocol, encrypted=encrypted
        )
        target.start_call(
            self.call_addresses()[0],
            incoming=True,
            rate=rate,
            protocol=protocol,
            encrypted=encrypted,
        )
        return call

    # ------------------------------------------------------------------ firmware
    async def install_from_url(self, url: str) -> bool:
        """Download a package, check it, install it and reboot onto it.

        Reports progress through :meth:`firmware_phase` (and the lab log).  Returns True when the device went
        into the install reboot; False when it stayed on its version (download or check
        failure, or an install failure).  Honours the firmware fault kinds; a firmware fault
        fires once (it is consumed) and marks the version it hit as ``broken`` where the
        fault is about the new image (no-media).
        """
        log.info("%s: firmware install from %s", self.name, url)
        self.firmware_phase("InProgress", "Downloading", f"Downloading {url}")
        await self.ctx.sleep(self.download_seconds)
        if self._consume_fault("firmware-download-fail"):
            self.firmware_phase("Failed", "None", "Couldn't connect to server")
            return False
        try:
            blob = await firmware_pkg.download(url)
            package = firmware_pkg.parse(blob)
        except firmware_pkg.PackageError as exc:
            log.info("%s: firmware download failed: %s", self.name, exc)
            self.firmware_phase("Failed", "None", str(exc))
            return False
        problem = package.problem_for(self.family, str(self.spec.get("model", "")))
        if not problem and package.version == self.version:
            self.firmware_phase("Succeeded", "None", f"{package.version} is already installed")
            return False
        if problem:
            log.info("%s: firmware refused: %s", self.name, problem)
            self.firmware_phase("InstallationFailed", "None", problem)
            return False
        self.firmware_phase("InProgress", "DownloadDone", "")
        self.firmware_phase("InProgress", "AboutToInstallUpgrade", "")
        self.firmware_phase("InProgress", "Installing", f"Installing {package.version}")
        await self.ctx.sleep(self.install_seconds / 2)
        if self._consume_fault("firmware-install-fail"):
            self.firmware_phase("InstallationFailed", "None", "Installation failed")
            return False
        self.install_version(package.version)
        return True

    def install_version(self, new_version: str) -> None:
        """Reboot onto ``new_version`` (the image is installed), applying firmware faults."""
        boot_loop = self._consume_fault("firmware-boot-loop")
        config_loss = self._consume_fault("firmware-config-loss")
        no_media = self._consume_fault("firmware-no-media")
        old_version = self.version

        def before_boot() -> bool:
            if boot_loop:
                # Tries to boot the new image for ever; power-cycle boots the previous one.
                self.state["previous_version"] = old_version
                self.state["version"] = new_version
                self.state["power"] = "down"
                self.power = "down"
                self.save()
                return False
            self.state["previous_version"] = old_version
            self.state["version"] = new_version
            if config_loss:
                self.state["config"] = self.factory_config()
            if no_media:
                self.state["broken"] = {"version": new_version, "kind": "no-media"}
            self.firmware_phase("Succeeded", "None", "")
            return True

        self.power = "rebooting"
        self.state["last_shutdown"] = "Upgrade"
        self.end_all_calls()
        self.save()
        seconds = self.reboot_seconds + self.install_seconds / 2
        self.spawn(self._reboot(seconds, before_boot))

    def _consume_fault(self, kind: str) -> bool:
        if self.fault(kind) is None:
            return False
        self.state["faults"].pop(kind, None)
        self.save()
        return True

    # ------------------------------------------------------------------ control view
    def summary(self) -> dict[str, Any]:
        """What ``lab status`` and the tests see of a device (no secrets)."""
        return {
            "name": self.name,
            "family": self.family,
            "role": self.role,
            "host": self.host,
            "port": self.port,
            "power": self.power,
            "version": self.version,
            "previous_version": self.state.get("previous_version"),
            "writes": int(self.state.get("writes", 0)),
            "boots": int(self.state.get("boots", 0)),
            "last_shutdown": self.state.get("last_shutdown"),
            "faults": sorted(self.state["faults"]),
            "in_call": self.in_call(),
            "calls": [{k: v for k, v in c.items() if k != "fault"} for c in self.state["calls"]],
            "sip_registered": self.role == "endpoint" and self.sip_registered(),
            "h323_registered": self.role == "endpoint" and self.h323_registered(),
            "deviations": list(self.state.get("deviations", [])),
            "broken": self.state.get("broken"),
        }

    def detail(self) -> dict[str, Any]:
        """Summary plus the configuration store (secrets included: lab control only)."""
        out = self.summary()
        out["config"] = self.state["config"]
        return out
