"""Start, stop and talk to a lab: what ``vcprov lab ...`` and the tests call.

A lab lives in a state directory (default ``.lab/``):

- ``lab.json``: the fleet (contract: device rows with name, site, role, family, model,
  host, port, username, password, version, factory_username, factory_password, and for
  endpoints switch and switch_port), the settings it was made with, the hub's servers and
  the firmware packages;
- ``devices/<name>.json``: each device's state (configuration, firmware, counters...);
- ``firmware/``: the lab's firmware packages;
- ``control.json``: URL and token of the running lab's control API (absent when down);
- ``lab.log``: the lab process's log.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import fleet
from .base import FAULT_KINDS, Hub

DEFAULT_STATE = Path(".lab")
LAB_JSON_VERSION = 1


class LabNotRunning(Exception):
    pass


class LabControlError(Exception):
    pass


@dataclass
class LabSettings:
    sites: int = 31
    seed: int = 0
    net: int = fleet.DEFAULT_NET
    factory: bool = False
    time_scale: float = 1.0
    deviations: bool = True
    vendor_defaults: bool = False

    def fleet_key(self) -> dict[str, Any]:
        """The settings that shape the fleet (a change means a new fleet)."""
        return {
            "sites": self.sites,
            "seed": self.seed,
            "net": self.net,
            "factory": self.factory,
            "deviations": self.deviations,
            "vendor_defaults": self.vendor_defaults,
        }


def read_lab(state_dir: Path) -> dict[str, Any]:
    path = state_dir / "lab.json"
    try:
        doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LabNotRunning(
            f"{path}: no lab here (run `vcprov lab up --state {state_dir}`)"
        ) from None
    return doc


def create(state_dir: Path, settings: LabSettings) -> dict[str, Any]:
    """Write a new ``lab.json`` (and packages), dropping any previous device state."""
    state_dir.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(state_dir / "devices", ignore_errors=True)
    (state_dir / "devices").mkdir()
    doc = {
        "format": LAB_JSON_VERSION,
        "settings": {**settings.fleet_key(), "time_scale": settings.time_scale},
        "hub": Hub().as_dict(),
        "devices": fleet.build_fleet(
            settings.sites,
            seed=settings.seed,
            net=settings.net,
            factory=settings.factory,
            deviations=settings.deviations,
            vendor_defaults=settings.vendor_defaults,
        ),
        "firmware": fleet.build_packages(state_dir / "firmware"),
    }
    write_lab(state_dir, doc)
    return doc


def write_lab(state_dir: Path, doc: dict[str, Any]) -> None:
    tmp = state_dir / "lab.json.tmp"
    tmp.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    os.chmod(tmp, 0o600)  # it holds the lab devices' passwords
    os.replace(tmp, state_dir / "lab.json")


def control_info(state_dir: Path) -> dict[str, Any] | None:
    """The running lab's control.json, or None when no live lab process owns it."""
    try:
        info: dict[str, Any] = json.loads((state_dir / "control.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    try:
        os.kill(int(info["pid"]), 0)
    except (ProcessLookupError, KeyError, ValueError):
        return None
    except PermissionError:
        pass
    return info


def is_running(state_dir: Path) -> bool:
    return control_info(state_dir) is not None


def up(
    state_dir: Path = DEFAULT_STATE,
    settings: LabSettings | None = None,
    *,
    fleet_given: bool = False,
    timeout: float = 180.0,
) -> dict[str, Any]:
    """Start the lab in the background; return once every device answers.

    An existing lab.json is reused (device state survives down/up) unless ``fleet_given``
    and the fleet settings differ, in which case the fleet is rebuilt.
    """
    state_dir = state_dir.resolve()
    settings = settings or LabSettings()
    if is_running(state_dir):
        raise LabControlError(f"a lab is already running in {state_dir} (vcprov lab down first)")
    doc: dict[str, Any] | None = None
    if (state_dir / "lab.json").exists():
        doc = read_lab(state_dir)
        old = {k: doc.get("settings", {}).get(k) for k in settings.fleet_key()}
        if fleet_given and old != settings.fleet_key():
            doc = None
    if doc is None:
        doc = create(state_dir, settings)
    else:
        doc["settings"]["time_scale"] = settings.time_scale
        write_lab(state_dir, doc)
    log_path = state_dir / "lab.log"
    with open(log_path, "ab") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "vcprov.lab.server", "--state", str(state_dir)],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=log_file,
            start_new_session=True,
            cwd=state_dir,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace").splitlines()[-15:]
            raise LabControlError(
                f"the lab process exited with code {proc.returncode}; {log_path}:\n"
                + "\n".join(tail)
            )
        info = control_info(state_dir)
        if info is not None and info.get("pid") == proc.pid:
            return info
        time.sleep(0.1)
    proc.terminate()
    raise LabControlError(f"the lab did not start within {timeout:.0f} s; see {log_path}")


def down(state_dir: Path = DEFAULT_STATE, timeout: float = 60.0) -> bool:
    """Stop the lab; returns False when none was running."""
    state_dir = state_dir.resolve()
    info = control_info(state_dir)
    if info is None:
        return False
    pid = int(info["pid"])
    try:
        LabClient(state_dir).post("/shutdown", {})
    except (LabControlError, OSError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        # Reap it if it is our own child (tests start and stop labs in one process).
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                return True
        except ChildProcessError:
            pass
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    return True


class LabClient:
    """The control API of a running lab (the lab's back door, for operators and tests)."""

    def __init__(self, state_dir: Path = DEFAULT_STATE):
        self.state_dir = Path(state_dir).resolve()
        info = control_info(self.state_dir)
        if info is None:
            raise LabNotRunning(
                f"no lab is running in {self.state_dir} (start it with `vcprov lab up`)"
            )
        self.url = str(info["url"])
        self.token = str(info["token"])

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"X-Lab-Token": self.token, "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            try:
                message = json.loads(exc.read()).get("error", str(exc))
            except (ValueError, AttributeError):
                message = str(exc)
            raise LabControlError(message) from None

    def get(self, path: str) -> Any:
        return self._call("GET", path)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self._call("POST", path, body)

    # convenience
    def status(self) -> dict[str, Any]:
        result: dict[str, Any] = self.get("/status")
        return result

    def devices(self) -> dict[str, dict[str, Any]]:
        return {d["name"]: d for d in self.status()["devices"]}

    def device(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = self.get(f"/devices/{name}")
        return result

    def writes(self, name: str | None = None) -> int:
        """Write requests a device (or the whole lab) has received."""
        devices = self.devices()
        if name is not None:
            return int(devices[name]["writes"])
        return sum(int(d["writes"]) for d in devices.values())

    def fault(self, name: str, kind: str, **params: Any) -> dict[str, Any]:
        if kind not in FAULT_KINDS:
            raise LabControlError(f"unknown fault kind {kind!r}; known: {', '.join(FAULT_KINDS)}")
        result: dict[str, Any] = self.post(
            f"/devices/{name}/fault", {"kind": kind, "params": params}
        )
        return result

    def clear(self, name: str, kind: str = "all") -> dict[str, Any]:
        result: dict[str, Any] = self.post(f"/devices/{name}/fault", {"kind": kind, "clear": True})
        return result

    def reset(self, name: str, factory: bool = False) -> dict[str, Any]:
        result: dict[str, Any] = self.post(f"/devices/{name}/reset", {"factory": factory})
        return result

    def power_cycle(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = self.post(f"/devices/{name}/power-cycle", {})
        return result

    def dial(self, name: str, address: str, rate: int = 0) -> dict[str, Any]:
        result: dict[str, Any] = self.post(
            f"/devices/{name}/dial", {"address": address, "rate": rate}
        )
        return result

    def hangup(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = self.post(f"/devices/{name}/hangup", {})
        return result

    def wait_power(self, name: str, power: str = "up", timeout: float = 60.0) -> dict[str, Any]:
        """Wait until a device is in a power state (``up`` after a reboot...)."""
        deadline = time.monotonic() + timeout
        while True:
            dev = self.devices()[name]
            if dev["power"] == power:
                return dev
            if time.monotonic() > deadline:
                raise LabControlError(f"{name} is {dev['power']}, not {power}, after {timeout} s")
            time.sleep(0.05)
