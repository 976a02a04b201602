"""Firmware rollouts: the per-device upgrade state machine, rings, budgets, the journal.

Per codec (:class:`DeviceJob`), every transition is one journal line::

    precheck  reachable; on a version the target can be installed from (step upgrades);
              a way back (its own version is in the catalogue and may be re-installed);
              not in a call: re-checked every ``call_retry`` until ``call_wait`` or the end
              of the maintenance window, then *deferred* (a meeting is never interrupted)
    snapshot  version and configuration (and the device's own update settings), saved on
              the controller (:mod:`vcprov.snapshots`, no secrets)
    upgrade   one install per step of the path: Cisco ``SoftwareUpgrade URL:``, Poly the
              provisioning pull (``upgrade.auto.*`` then a reboot); a call is checked for
              again in the same session just before
    wait      until the device answers on the step's version (Cisco: a refused package
              fails at once); timeouts in device seconds, times the lab's time scale
    verify    the device's update settings put back as the snapshot had them; version is
              the target; configuration equals the snapshot; health at least what it was
              before (SIP/H.323 registration at the hub, status items that were up)
    rollback  on any failure after the snapshot: the previous version re-installed (when
              the device is not on it), the snapshot restored, verified again; the device
              counts against its ring's failure budget

Rings (:class:`Rollout`) run in the inventory's order (``hosts.RINGS``); a ring's devices
run ``parallel`` at a time; a ring whose failures exceed its budget stops starting devices
and halts the rollout (later rings are not touched); after a ring, its upgraded devices
soak and are checked again (an unhealthy one is rolled back and counted); a ring passes
when its failures are within budget and at least one of its devices is on the target.

The journal (``<state>/firmware/<run>.jsonl``, JSON lines, fsynced) makes a rollout
resumable: :func:`resume_info` reads what each device reached; finished devices are not
redone, a device caught mid-upgrade continues from its journalled snapshot.

This module knows no protocol (drivers do) and imports nothing from the lab.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import snapshots
from .devices import driver_for
from .devices.base import DeviceError, Endpoint, EndpointStatus, Snapshot
from .firmware_catalog import Catalogue, CatalogueError, InvalidCatalogue
from .hosts import RINGS, Device

RESULTS = ("upgraded", "rolled-back", "deferred", "skipped", "failed", "not-started")
FINISHED = frozenset({"upgraded", "rolled-back", "skipped", "failed"})  # not redone on resume
COUNTED = frozenset({"rolled-back", "failed"})  # against the ring's failure budget
ON_TARGET = frozenset({"upgraded", "skipped"})
REFUSED = ("Failed", "InstallationFailed")  # Cisco UpgradeStatus Status of a refused package

EventSink = Callable[[dict[str, Any]], None]


# --- policy -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """A daily maintenance window in the controller's local time (may cross midnight)."""

    start: dt.time
    end: dt.time

    @classmethod
    def parse(cls, text: str) -> Window:
        try:
            a, b = (part.strip() for part in str(text).split("-"))
            start, end = (
                dt.datetime.strptime(x if ":" in x else f"{x}:00", "%H:%M").time() for x in (a, b)
            )
        except ValueError:
            raise ValueError(f"maintenance window {text!r}: expected HH:MM-HH:MM") from None
        return cls(start, end)

    def contains(self, now: dt.datetime) -> bool:
        t = now.time()
        if self.start <= self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


DEFAULT_WINDOW = Window.parse("22:00-05:00")


@dataclass
class Policy:
    """Waits of a run, in device seconds (times ``time_scale`` in real seconds)."""

    time_scale: float = 1.0
    call_retry: float = 300.0  # re-check a codec in a call this often ...
    call_wait: float = 1800.0  # ... for this long, then defer it
    health_wait: float = 300.0  # registration may take this long to come back after a boot
    timeout_factor: float = 3.0  # a device gets this many times its estimate to come back
    ignore_window: bool = False  # --now
    now: Callable[[], dt.datetime] = dt.datetime.now

    def real(self, seconds: float) -> float:
        return max(0.0, seconds * self.time_scale)

    @property
    def poll(self) -> float:
        """How often a device is asked while it reboots (real seconds)."""
        return min(5.0, max(0.05, 5.0 * self.time_scale))


@dataclass
class RingPolicy:
    name: str
    budget: int | str = 0  # failures allowed: a count, or "N%" of the ring's devices
    soak: float = 0.0  # device seconds after the ring before its health is checked again
    parallel: int = 1
    window: Window = DEFAULT_WINDOW

    def allowed(self, devices: int) -> int:
        if isinstance(self.budget, str) and self.budget.endswith("%"):
            return int(devices * float(self.budget[:-1]) / 100.0)
        return int(self.budget)

    @classmethod
    def from_vars(cls, name: str, values: Mapping[str, Any]) -> RingPolicy:
        """From the ring's group_vars (``vc_fw_failure_budget``, ``vc_fw_soak_seconds``,
        ``vc_fw_parallel``, ``vc_fw_window``); a bad value is a ValueError naming the key."""
        budget = values.get("vc_fw_failure_budget", 0)
        if isinstance(budget, bool) or not (
            (isinstance(budget, int) and budget >= 0)
            or (isinstance(budget, str) and _percent(budget))
        ):
            raise ValueError(f"{name}: vc_fw_failure_budget {budget!r}: a count >= 0 or 'N%'")
        soak = values.get("vc_fw_soak_seconds", 0)
        if isinstance(soak, bool) or not isinstance(soak, int | float) or soak < 0:
            raise ValueError(f"{name}: vc_fw_soak_seconds {soak!r}: seconds >= 0")
        parallel = values.get("vc_fw_parallel", 1)
        if isinstance(parallel, bool) or not isinstance(parallel, int) or parallel < 1:
            raise ValueError(f"{name}: vc_fw_parallel {parallel!r}: a count >= 1")
        window = Window.parse(str(values.get("vc_fw_window", str(DEFAULT_WINDOW))))
        return cls(name, budget, float(soak), parallel, window)


def _percent(text: str) -> bool:
    try:
        return text.endswith("%") and 0 <= float(text[:-1]) <= 100
    except ValueError:
        return False


def ring_of(device: Device) -> str | None:
    return next((g for g in RINGS if g in device.groups), None)


# --- health ------------------------------------------------------------------------------


_UP = ("up", "all_up", "registered", "active")


@dataclass
class Health:
    """What "healthy" means for one codec: at least what it had before the upgrade."""

    sip: bool
    h323: bool
    up: list[str] = field(default_factory=list)  # status items that were up

    @classmethod
    def of(cls, status: EndpointStatus) -> Health:
        up = sorted(
            k
            for k, v in status.items.items()
            if v.lower() in _UP and k not in ("inacall", "active_calls")
        )
        return cls(status.sip_registered, status.h323_registered, up)

    def missing(self, now: Health) -> list[str]:
        """What of this (the baseline) ``now`` lacks."""
        out = []
        if self.sip and not now.sip:
            out.append("SIP not registered")
        if self.h323 and not now.h323:
            out.append("H.323 not registered")
        out += [f"{item} not up" for item in self.up if item not in now.up]
        return out

    def as_dict(self) -> dict[str, Any]:
        return {"sip": self.sip, "h323": self.h323, "up": list(self.up)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Health:
        return cls(bool(d.get("sip")), bool(d.get("h323")), list(d.get("up", [])))


# --- results and the journal --------------------------------------------------------------


@dataclass
class DeviceResult:
    name: str
    ring: str
    family: str
    model: str
    to: str
    from_version: str = ""
    result: str = "not-started"
    message: str = ""
    steps: list[dict[str, Any]] = field(default_factory=list)
    snapshot: str | None = None
    baseline: Health | None = None
    intervals: list[tuple[float, float]] = field(default_factory=list)  # install + reboot

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ring": self.ring,
            "family": self.family,
            "model": self.model,
            "from": self.from_version,
            "to": self.to,
            "result": self.result,
            "message": self.message,
            "snapshot": self.snapshot,
            "steps": list(self.steps),
        }


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


class Journal:
    """JSON lines, one per transition, flushed and fsynced (a crash loses nothing written)."""

    def __init__(self, path: Path, run: str):
        self.path = Path(path)
        self.run = run
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._lock = threading.Lock()

    def write(self, record: Mapping[str, Any]) -> dict[str, Any]:
        line = {"t": _now_iso(), "run": self.run, **record}
        text = json.dumps(line, ensure_ascii=False, sort_keys=False) + "\n"
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, text.encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)
        return line

    @staticmethod
    def read(path: Path) -> list[dict[str, Any]]:
        out = []
        for raw in Path(path).read_text(encoding="utf-8").splitlines():
            if not raw.strip():
                continue
            try:
                out.append(json.loads(raw))
            except ValueError:
                continue  # a line cut by a crash: what it said was not done
        return out


def journal_dir(state: Path) -> Path:
    return Path(state) / "firmware"


def new_run_id() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")


def latest_journal(state: Path) -> Path | None:
    paths = sorted(journal_dir(state).glob("*.jsonl"))
    return paths[-1] if paths else None


@dataclass
class ResumeInfo:
    """What a journal says a rollout reached."""

    params: dict[str, Any]
    devices: dict[str, dict[str, Any]]  # name -> {result, from, to, snapshot, health, steps}
    passed_rings: set[str]
    ended: bool


def resume_info(path: Path) -> ResumeInfo:
    params: dict[str, Any] = {}
    devices: dict[str, dict[str, Any]] = {}
    passed: set[str] = set()
    ended = False
    for rec in Journal.read(path):
        event = rec.get("event")
        if event == "start":
            params = dict(rec.get("params", {}))
        elif event == "end":
            ended = True
        elif event == "resume":
            ended = False
        elif event == "ring" and rec.get("status") == "passed":
            passed.add(str(rec.get("ring")))
        elif event in ("step", "result") and rec.get("device"):
            info = devices.setdefault(str(rec["device"]), {"steps": [], "result": None})
            if event == "step":
                info["steps"].append(_step_view(rec))
                if rec.get("step") == "precheck" and rec.get("status") == "ok":
                    info["from"] = rec.get("from")
                    info["health"] = rec.get("health")
                if rec.get("step") == "snapshot" and rec.get("status") == "ok":
                    info["snapshot"] = rec.get("snapshot")
                    info["installed"] = False
                if rec.get("step") == "wait" and rec.get("status") == "ok":
                    info["installed"] = True
                    info["inflight"] = None
                if rec.get("status") == "started" and rec.get("version"):
                    info["inflight"] = [rec["version"], rec.get("url", "")]
                if rec.get("step") == "rollback" and rec.get("status") == "started":
                    info["rolling_back"] = True
                info["result"] = None
            else:
                info["result"] = rec.get("result")
                info["message"] = rec.get("message", "")
                info["from"] = rec.get("from", info.get("from"))
                if rec.get("result") in ("deferred", "not-started") and not info.get("installed"):
                    info.pop("snapshot", None)  # nothing half-done: start afresh
    return ResumeInfo(params, devices, passed, ended)


def _step_view(rec: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in rec.items() if k not in ("run", "event", "device", "ring")}


# --- one device ---------------------------------------------------------------------------


class Failed(Exception):
    def __init__(self, step: str, message: str):
        super().__init__(f"{step}: {message}")
        self.step = step
        self.message = message


class Deferred(Exception):
    pass


@dataclass
class Context:
    """What every device job of a run shares."""

    catalogue: Catalogue
    urls: dict[tuple[str, str, str], str]  # (family, model, version) -> package URL
    state: Path
    journal: Journal
    policy: Policy
    emit: EventSink
    stop: threading.Event = field(default_factory=threading.Event)


class DeviceJob:
    """The state machine of one codec (see the module's docstring)."""

    def __init__(
        self,
        device: Device,
        ring: RingPolicy,
        to: str,
        ctx: Context,
        resume: Mapping[str, Any] | None = None,
    ):
        self.device = device
        self.target = device.target
        self.ring = ring
        self.to = to
        self.ctx = ctx
        self.policy = ctx.policy
        self.resume = dict(resume or {})
        self.snap: Snapshot | None = None
        self.result = DeviceResult(device.name, ring.name, device.family, device.model, to)
        if self.resume.get("steps"):
            self.result.steps = list(self.resume["steps"])
        self.result.from_version = str(self.resume.get("from") or "")

    # ------------------------------------------------------------------ plumbing
    def _step(self, step: str, status: str, detail: str = "", **extra: Any) -> None:
        rec: dict[str, Any] = {
            "event": "step",
            "device": self.device.name,
            "ring": self.ring.name,
            "step": step,
            "status": status,
            "detail": detail,
            **extra,
        }
        line = self.ctx.journal.write(rec)
        self.result.steps.append(_step_view(line))
        self.ctx.emit(line)

    def _finish(self, result: str, message: str) -> DeviceResult:
        r = self.result
        r.result, r.message = result, message
        line = self.ctx.journal.write(
            {
                "event": "result",
                "device": r.name,
                "ring": r.ring,
                "result": result,
                "from": r.from_version,
                "to": r.to,
                "message": message,
            }
        )
        self.ctx.emit(line)
        return r

    def _open(self) -> Endpoint:
        drv = driver_for(self.target)
        assert isinstance(drv, Endpoint)
        drv.open()
        return drv

    @contextlib.contextmanager
    def _session(self, drv: Endpoint | None = None) -> Iterator[Endpoint]:
        """A session (``drv`` when one is already open), always closed afterwards."""
        drv = drv or self._open()
        try:
            yield drv
        finally:
            _close(drv)

    def _timeout(self) -> float:
        """Real seconds a device gets to come back from one install."""
        estimate = self.ctx.catalogue.estimate(self.device.family)
        return max(2.0, self.policy.real(estimate * self.policy.timeout_factor))

    def _window_open(self) -> bool:
        return self.policy.ignore_window or self.ring.window.contains(self.policy.now())

    def _sleep(self, seconds: float) -> bool:
        """Sleep; False when the run was asked to stop meanwhile."""
        return not self.ctx.stop.wait(seconds)

    def _url(self, version: str) -> str:
        return self.ctx.urls[(self.device.family, self.device.model, version)]

    # ------------------------------------------------------------------ the run
    def run(self) -> DeviceResult:
        try:
            return self._run()
        except Exception as exc:  # a bug must not leave a device half-done unreported
            if self.snap is not None:
                return self._rollback(Failed("internal", f"{exc.__class__.__name__}: {exc}"))
            self._step("precheck", "failed", f"internal error: {exc.__class__.__name__}: {exc}")
            return self._finish("failed", f"internal error: {exc}")

    def _run(self) -> DeviceResult:
        try:
            begun = self._begin()
        except Failed as exc:
            if self.snap is not None and exc.step == "upgrade":
                return self._rollback(exc)
            self._step(exc.step, "failed", exc.message)
            return self._finish("failed", exc.message)
        except Deferred as exc:
            self._step("precheck", "deferred", str(exc))
            return self._finish("deferred", str(exc))
        if begun is None:
            return self.result  # skipped
        if self.resume.get("rolling_back"):
            return self._rollback(Failed("resume", "the run stopped during a rollback"))
        path, started = begun
        drv: Endpoint | None = None
        try:
            for i, version in enumerate(path):
                if i > 0:  # the next step of a step upgrade
                    _close(drv)
                    drv = None
                    started = self._start(version, "upgrade")
                drv = self._wait_version(version, started, "upgrade")
            self._verify(self.to, "verify", drv)
            drv = None  # _verify closed it
        except Failed as exc:
            _close(drv)
            return self._rollback(exc)
        except Deferred as exc:
            _close(drv)
            return self._defer_midway(str(exc))
        return self._finish("upgraded", f"{self.result.from_version} -> {self.to}")

    def _begin(self) -> tuple[list[str], tuple[float, str]] | None:
        """Precheck, snapshot and the first install in one session: (path, (started, url)),
        ``([], ...)`` for a device resumed on the target, None when skipped."""
        resumed = self.resume.get("snapshot")
        if resumed:
            self.snap = snapshots.load(resumed)
            self.result.snapshot = str(resumed)
            if self.resume.get("health") is not None:
                self.result.baseline = Health.from_dict(self.resume["health"])
        deadline = time.monotonic() + (self._timeout() if resumed else 0.0)
        family, model = self.device.family, self.device.model
        if resumed and self.resume.get("rolling_back"):
            return [], (time.monotonic(), "")
        inflight = self.resume.get("inflight") if resumed else None
        if inflight:  # an install was under way when the run stopped: let it finish first
            with contextlib.suppress(Failed):
                _close(self._wait_version(inflight[0], (time.monotonic(), inflight[1]), "wait"))
        while True:
            try:
                drv = self._open()
            except DeviceError as exc:  # a resumed device may be in the middle of a reboot
                if time.monotonic() >= deadline or not self._sleep(self.policy.poll):
                    raise Failed("precheck", f"{exc.kind}: {exc.message}") from None
                continue
            try:
                with self._session(drv):
                    snap = None
                    if self.snap is None:  # read first: it carries the version too
                        snap = drv.snapshot()
                        snap.data = {**snap.data, **drv.upgrade_settings()}
                        current = snap.version
                    else:
                        current = drv.facts().version
                    if not self.result.from_version:
                        self.result.from_version = current
                    if self.snap is not None and current == self.to:
                        # caught mid-upgrade by a crash: it got there; verify it
                        self._step(
                            "precheck",
                            "ok",
                            f"resumed on {current}: verifying",
                            health=(self.result.baseline or Health(False, False)).as_dict(),
                            **{"from": self.result.from_version},
                        )
                        return [], (time.monotonic(), "")
                    if current == self.to:
                        self._step(
                            "precheck", "skipped", f"already on {self.to}", **{"from": current}
                        )
                        self._finish("skipped", f"already on {self.to}")
                        return None
                    try:
                        path = self.ctx.catalogue.upgrade_path(family, model, current, self.to)
                    except ValueError as exc:
                        raise Failed(
                            "precheck", f"cannot install {self.to} on {current}: {exc}"
                        ) from None
                    back = self.snap.version if self.snap is not None else current
                    problem = self.ctx.catalogue.rollback_problem(family, model, back)
                    if problem:
                        raise Failed("precheck", f"no way back, not touched: {problem}")
                    status = drv.status()  # last, right before the install starts
                    if not status.in_call:
                        if self.result.baseline is None:
                            self.result.baseline = Health.of(status)
                        self._step(
                            "precheck",
                            "ok",
                            f"on {current}; path {' -> '.join(path)}",
                            health=self.result.baseline.as_dict(),
                            **{"from": self.result.from_version},
                        )
                        if snap is not None:
                            self._save(snap)
                        url = self._url(path[0])
                        started = time.monotonic()
                        drv.start_upgrade(url)
                        self._step(
                            "upgrade", "started", f"installing {path[0]}", url=url, version=path[0]
                        )
                        return path, (started, url)
            except DeviceError as exc:  # after the snapshot: the install may have begun
                step = "upgrade" if self.snap is not None else "precheck"
                raise Failed(step, f"{exc.kind}: {exc.message}") from None
            if not self._wait_idle():
                raise Deferred(self._deferred_reason())

    def _save(self, snap: Snapshot) -> None:
        path = snapshots.save(self.ctx.state, snap, "firmware")
        self.snap = snap
        self.result.snapshot = str(path)
        self._step("snapshot", "ok", f"version {snap.version}", snapshot=str(path))

    def _deferred_reason(self) -> str:
        if self.ctx.stop.is_set():
            return "in a call; the run was stopped"
        if not self._window_open():
            return f"in a call until the maintenance window {self.ring.window} closed"
        return f"in a call for {self.policy.call_wait:.0f} s (device time): not interrupted"

    def _wait_idle(self, step: str = "precheck") -> bool:
        """Wait for the call(s) to end, re-checking every ``call_retry``; False: give up."""
        deadline = time.monotonic() + self.policy.real(self.policy.call_wait)
        self._step(step, "waiting", "in a call: waiting for it to end (never interrupted)")
        while True:
            wait_for = min(self.policy.real(self.policy.call_retry), deadline - time.monotonic())
            if wait_for <= 0 or not self._window_open() or not self._sleep(wait_for):
                return False
            try:
                with self._session() as drv:
                    if not drv.status().in_call:
                        return True
            except DeviceError:
                return False

    def _read(self, wait: float = 0.0) -> tuple[str, EndpointStatus]:
        """(version, status); with ``wait``, keeps asking a device that does not answer."""
        deadline = time.monotonic() + wait
        while True:
            try:
                with self._session() as drv:
                    return drv.facts().version, drv.status()
            except DeviceError as exc:
                if time.monotonic() >= deadline:
                    raise Failed("precheck", f"{exc.kind}: {exc.message}") from None
            if not self._sleep(self.policy.poll):
                raise Failed("precheck", "stopped while waiting for the device")

    def _start(self, version: str, step: str) -> tuple[float, str]:
        """Start an install, checking for a call in the same session just before."""
        url = self._url(version)
        while True:
            try:
                with self._session() as drv:
                    if not drv.status().in_call:
                        started = time.monotonic()
                        drv.start_upgrade(url)
                        self._step(
                            step, "started", f"installing {version}", url=url, version=version
                        )
                        return started, url
            except DeviceError as exc:
                raise Failed(step, f"{exc.kind}: {exc.message}") from None
            if not self._wait_idle(step):
                raise Deferred(self._deferred_reason())

    def _wait_version(self, version: str, started: tuple[float, str], step: str) -> Endpoint:
        """Until the device answers on ``version``: its open session (the caller closes it).
        The session is kept while the device answers; while it does not, a TCP connect tells
        when it listens again (cheaper than a login)."""
        began, url = started
        timeout = self._timeout()
        deadline = began + timeout
        poll = max(self.policy.poll, 0.15)  # a session's rate limit (Cisco 15 requests/s)
        last = "not answering"
        drv: Endpoint | None = None
        try:
            while time.monotonic() < deadline:
                if drv is None:
                    if not _listening(self.target.host, self.target.port, poll):
                        time.sleep(self.policy.poll)
                        continue
                    try:
                        drv = self._open()
                    except DeviceError:
                        time.sleep(self.policy.poll)
                        continue
                try:
                    st = drv.upgrade_status()
                except DeviceError:
                    _close(drv)
                    drv = None
                    last = "not answering"
                    continue
                if st.get("version") == version:
                    ended = time.monotonic()
                    self.result.intervals.append((began, ended))
                    self._step("wait", "ok", f"back on {version} after {ended - began:.1f} s")
                    found, drv = drv, None
                    return found
                if st.get("status") in REFUSED and url and st.get("url") == url:
                    why = st.get("message") or st["status"]
                    raise Failed("wait", f"the device did not install {version}: {why}")
                last = f"still on {st.get('version')}"
                if st.get("phase") not in (None, "", "None"):
                    last += f" ({st.get('status')}/{st.get('phase')})"
                time.sleep(poll)
        finally:
            _close(drv)
        raise Failed("wait", f"not on {version} after {timeout:.1f} s ({last})")

    def _verify(self, version: str, step: str, drv: Endpoint | None = None) -> None:
        """Update settings back, version, configuration = snapshot, health; closes ``drv``."""
        assert self.snap is not None
        baseline = self.result.baseline or Health(False, False)
        deadline = time.monotonic() + self.policy.real(self.policy.health_wait)
        try:
            with self._session(drv) as d:
                d.restore_upgrade_settings(self.snap.data)
                held = d.snapshot()
                if held.version != version:
                    raise Failed(step, f"runs {held.version}, not {version}")
                now = {**held.data, **d.upgrade_settings()}
                differ = _differ(self.snap.data, now)
                if differ:
                    shown = ", ".join(differ[:6])
                    more = f" and {len(differ) - 6} more" if differ[6:] else ""
                    raise Failed(step, f"configuration differs from the snapshot: {shown}{more}")
                while missing := baseline.missing(Health.of(d.status())):
                    if time.monotonic() >= deadline:
                        raise Failed(step, "unhealthy: " + ", ".join(missing))
                    time.sleep(self.policy.poll)
        except DeviceError as exc:
            raise Failed(step, f"{exc.kind}: {exc.message}") from None
        self._step(step, "ok", f"on {version}, configuration as before, healthy")

    def _defer_midway(self, reason: str) -> DeviceResult:
        """A call started between two steps of a path: stop on the step's version."""
        try:
            version, _ = self._read()
            self._verify(version, "verify")
        except Failed as exc:
            return self._rollback(exc)
        self._step("upgrade", "deferred", reason)
        return self._finish("deferred", f"{reason}; left on an intermediate version")

    # ------------------------------------------------------------------ rollback
    def _rollback(self, cause: Failed) -> DeviceResult:
        assert self.snap is not None
        self._step(cause.step, "failed", cause.message)
        previous = self.snap.version
        drv: Endpoint | None = None
        try:
            try:
                current, status = self._read(wait=self._timeout())
            except Failed as exc:
                raise Failed(
                    "rollback",
                    f"{exc.message} after {self._timeout():.1f} s: in a boot loop? power it "
                    "off and on (it boots its previous image), then "
                    f"vcprov rollback --limit {self.device.name}",
                ) from None
            if status.in_call and not self._wait_idle("rollback"):
                raise Failed(
                    "rollback",
                    "in a call: not interrupted; roll it back later "
                    f"(vcprov rollback --limit {self.device.name})",
                )
            self._step("rollback", "started", f"back to {previous} (now on {current})")
            if current != previous:
                drv = self._wait_version(previous, self._start(previous, "rollback"), "rollback")
            session, drv = drv, None
            self._restore(session)
            self._verify(previous, "verify-rollback")
        except (Failed, Deferred) as exc:
            _close(drv)
            why = exc.message if isinstance(exc, Failed) else str(exc)
            where = exc.step if isinstance(exc, Failed) else "rollback"
            self._step(where, "failed", why)
            return self._finish(
                "failed", f"{cause.step}: {cause.message}; ROLLBACK FAILED ({where}: {why})"
            )
        return self._finish("rolled-back", f"{cause.step}: {cause.message}; back on {previous}")

    def _restore(self, drv: Endpoint | None = None) -> None:
        """Write back the snapshot's keys the device no longer holds (only those)."""
        assert self.snap is not None
        try:
            with self._session(drv) as d:
                now = d.snapshot().data
                now.update(d.upgrade_settings())
                differ = _differ(self.snap.data, now)
                if differ:
                    d.restore(
                        Snapshot(
                            self.snap.device,
                            self.snap.family,
                            self.snap.version,
                            self.snap.taken,
                            {k: self.snap.data[k] for k in differ},
                        )
                    )
        except DeviceError as exc:
            raise Failed("restore", f"{exc.kind}: {exc.message}") from None
        name = Path(self.result.snapshot or "").name
        self._step("restore", "ok", f"snapshot {name}: {len(differ)} key(s) written back")

    def soak_check(self) -> DeviceResult:
        """After the ring's soak: still healthy?  If not, roll back (counted)."""
        baseline = self.result.baseline or Health(False, False)
        deadline = time.monotonic() + self.policy.real(self.policy.health_wait)
        missing: list[str] = []
        while True:
            try:
                with self._session() as drv:
                    missing = baseline.missing(Health.of(drv.status()))
            except DeviceError as exc:
                missing = [f"{exc.kind}: {exc.message}"]
            if not missing or time.monotonic() >= deadline:
                break
            time.sleep(self.policy.poll)
        if missing:
            if self.snap is None and self.result.snapshot:
                self.snap = snapshots.load(self.result.snapshot)
            return self._rollback(Failed("soak", "unhealthy: " + ", ".join(missing)))
        self._step("soak", "ok", "healthy after the soak")
        return self.result


def _differ(before: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """The snapshot's keys whose value the device no longer holds.  Values compare without
    regard to case: Poly keeps a boolean as it was written (``true`` or ``True``) and
    answers either the same way (docs/devices.md)."""
    return sorted(
        k
        for k, v in before.items()
        if str(now.get(k, "")).casefold() != str(v).casefold() or k not in now
    )


def _close(drv: Endpoint | None) -> None:
    if drv is not None:
        with contextlib.suppress(Exception):
            drv.close()


def _listening(host: str, port: int, timeout: float) -> bool:
    """A TCP connect to the device's port succeeds (it is back, or not yet down)."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


# --- rings --------------------------------------------------------------------------------


@dataclass
class RingPlan:
    policy: RingPolicy
    devices: list[tuple[Device, str]]  # (device, version to install), in order


@dataclass
class RolloutResult:
    run: str
    journal: str
    devices: list[DeviceResult]
    halted: bool = False
    halt_reason: str = ""
    window_closed: bool = False
    interrupted: bool = False
    seconds: float = 0.0
    rings: list[dict[str, Any]] = field(default_factory=list)
    out_of_scope: list[dict[str, str]] = field(default_factory=list)

    def device_seconds(self) -> float:
        """Wall time during which at least one device was installing or rebooting."""
        spans = sorted(s for d in self.devices for s in d.intervals)
        total, end = 0.0, float("-inf")
        for a, b in spans:
            if a > end:
                total += b - a
                end = b
            elif b > end:
                total += b - end
                end = b
        return total

    def exit_code(self) -> int:
        if self.interrupted:
            return 130
        if self.halted:
            return 3
        if self.window_closed:
            return 4
        if all(d.result in ON_TARGET for d in self.devices):
            return 0
        return 2

    def as_dict(self) -> dict[str, Any]:
        return {
            "run": self.run,
            "journal": self.journal,
            "halted": self.halted,
            "halt_reason": self.halt_reason,
            "window_closed": self.window_closed,
            "interrupted": self.interrupted,
            "seconds": round(self.seconds, 2),
            "device_seconds": round(self.device_seconds(), 2),
            "rings": self.rings,
            "devices": [d.as_dict() for d in self.devices],
            "out_of_scope": self.out_of_scope,
        }


class Rollout:
    def __init__(
        self,
        rings: list[RingPlan],
        ctx: Context,
        resume: ResumeInfo | None = None,
    ):
        self.rings = rings
        self.ctx = ctx
        self.resume = resume
        self.interrupts = 0

    def _carried(self, device: Device, ring: str, to: str) -> DeviceResult | None:
        """The journalled result of a device finished earlier in this rollout."""
        if self.resume is None:
            return None
        info = self.resume.devices.get(device.name)
        if not info or info.get("result") not in FINISHED:
            return None
        r = DeviceResult(device.name, ring, device.family, device.model, to)
        r.result = str(info["result"])
        r.message = str(info.get("message", ""))
        r.from_version = str(info.get("from") or "")
        r.steps = list(info.get("steps", []))
        r.snapshot = info.get("snapshot")
        if info.get("health") is not None:
            r.baseline = Health.from_dict(info["health"])
        return r

    def run(self) -> RolloutResult:
        started = time.monotonic()
        out = RolloutResult(self.ctx.journal.run, str(self.ctx.journal.path), [])
        results: dict[str, DeviceResult] = {}
        for ring in self.rings:
            for device, to in ring.devices:
                results[device.name] = self._carried(device, ring.policy.name, to) or (
                    DeviceResult(device.name, ring.policy.name, device.family, device.model, to)
                )
        for ring in self.rings:
            summary = {"ring": ring.policy.name, "devices": len(ring.devices), "status": ""}
            out.rings.append(summary)
            if out.halted or out.interrupted or out.window_closed:
                summary["status"] = "not-started"
                continue
            passed = self.resume is not None and ring.policy.name in self.resume.passed_rings
            if passed and all(results[d.name].result in FINISHED for d, _ in ring.devices):
                summary["status"] = "passed"
                continue
            # a ring that passed before a --resume still retries its deferred codecs
            status, reason = self._ring(ring, results, out, passed)
            summary["status"] = status
            if status == "halted":
                out.halted, out.halt_reason = True, reason
        out.devices = [results[d.name] for ring in self.rings for d, _ in ring.devices]
        out.seconds = time.monotonic() - started
        return out

    def _ring(
        self,
        ring: RingPlan,
        results: dict[str, DeviceResult],
        out: RolloutResult,
        passed_before: bool = False,
    ) -> tuple[str, str]:
        pol = ring.policy
        allowed = pol.allowed(len(ring.devices))
        self.ctx.emit(
            self.ctx.journal.write(
                {
                    "event": "ring",
                    "ring": pol.name,
                    "status": "start",
                    "detail": f"{len(ring.devices)} device(s), budget {allowed}, "
                    f"soak {pol.soak:.0f} s, {pol.parallel} at a time",
                }
            )
        )
        jobs: dict[str, DeviceJob] = {}
        todo: list[DeviceJob] = []
        for device, to in ring.devices:
            resume = self.resume.devices.get(device.name) if self.resume else None
            job = DeviceJob(device, pol, to, self.ctx, resume)
            jobs[device.name] = job
            if results[device.name].result in FINISHED:
                job.result = results[device.name]
            else:
                todo.append(job)

        def failures() -> int:
            return sum(results[d.name].result in COUNTED for d, _ in ring.devices)

        running: dict[Future[DeviceResult], DeviceJob] = {}
        over_budget = failures() > allowed
        policy = self.ctx.policy
        pool = ThreadPoolExecutor(max_workers=pol.parallel, thread_name_prefix=pol.name)
        try:
            while True:
                while todo and len(running) < pol.parallel and not over_budget:
                    if self.ctx.stop.is_set():
                        break
                    if not (policy.ignore_window or pol.window.contains(policy.now())):
                        out.window_closed = True
                        break
                    job = todo.pop(0)
                    running[pool.submit(job.run)] = job
                if not running:
                    break
                done = self._wait(running)
                for fut in done:
                    job = running.pop(fut)
                    results[job.device.name] = fut.result()
                over_budget = failures() > allowed
        finally:  # a second Ctrl-C leaves without waiting for the devices under way
            pool.shutdown(wait=not self.ctx.stop.is_set() or not running, cancel_futures=True)
        if self.ctx.stop.is_set():
            out.interrupted = True
            return "interrupted", ""
        if out.window_closed:
            return "window-closed", ""
        if over_budget:
            return self._halt(pol, f"{failures()} failure(s) > budget {allowed}")
        upgraded = [
            jobs[n]
            for n in jobs
            if results[n].result == "upgraded"
            and not any(s.get("step") == "soak" for s in results[n].steps)  # soaked before
        ]
        if pol.soak > 0 and upgraded:
            seconds = self.ctx.policy.real(pol.soak)
            self.ctx.emit(
                self.ctx.journal.write(
                    {"event": "ring", "ring": pol.name, "status": "soak",
                     "detail": f"{pol.soak:.0f} s device time ({seconds:.1f} s)"}
                )
            )  # fmt: skip
            if not self._soak(seconds):
                out.interrupted = True
                return "interrupted", ""
            for job in upgraded:
                results[job.device.name] = job.soak_check()
            if failures() > allowed:
                return self._halt(pol, f"{failures()} failure(s) after the soak > budget {allowed}")
        on_target = sum(results[d.name].result in ON_TARGET for d, _ in ring.devices)
        if ring.devices and on_target == 0 and not passed_before:
            return self._halt(pol, "no device of the ring reached the target (deferred?)")
        self.ctx.emit(
            self.ctx.journal.write(
                {"event": "ring", "ring": pol.name, "status": "passed",
                 "detail": f"{failures()} failure(s), budget {allowed}"}
            )
        )  # fmt: skip
        return "passed", ""

    def _halt(self, pol: RingPolicy, reason: str) -> tuple[str, str]:
        text = f"{pol.name}: {reason}; later rings are not touched"
        self.ctx.emit(
            self.ctx.journal.write(
                {"event": "ring", "ring": pol.name, "status": "halted", "detail": text}
            )
        )
        return "halted", text

    def _wait(self, running: Mapping[Future[DeviceResult], DeviceJob]) -> set[Future[DeviceResult]]:
        """Wait for a device to finish; Ctrl-C: stop starting devices (the ones under way
        finish), a second Ctrl-C goes to the caller."""
        while True:
            try:
                done, _ = wait(list(running), timeout=0.5, return_when=FIRST_COMPLETED)
            except KeyboardInterrupt:
                self.interrupts += 1
                self.ctx.stop.set()
                self.ctx.emit(
                    self.ctx.journal.write(
                        {"event": "interrupt",
                         "detail": "stopping after the devices under way (--resume continues)"}
                    )
                )  # fmt: skip
                if self.interrupts > 1:
                    raise
                continue
            if done:
                return set(done)

    def _soak(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                if self.ctx.stop.wait(min(0.5, max(0.0, deadline - time.monotonic()))):
                    return False
            except KeyboardInterrupt:
                self.ctx.stop.set()
                return False
        return True


# --- locking ------------------------------------------------------------------------------


class Busy(Exception):
    """Another rollout or rollback holds this network."""


@contextlib.contextmanager
def exclusive(state: Path) -> Iterator[None]:
    """One firmware run per network at a time (a lock file under the state directory)."""
    folder = journal_dir(state)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Busy(
                f"another firmware run holds {folder / '.lock'} (pid "
                f"{os.pread(fd, 32, 0).decode(errors='replace').strip() or '?'})"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)


# --- manual rollback ----------------------------------------------------------------------


def rollback_device(
    device: Device, snapshot_path: Path, ctx: Context, ring: RingPolicy | None = None
) -> DeviceResult:
    """``vcprov rollback``: the device back on the snapshot's version and configuration,
    through the same install and verify steps (a call is never interrupted: with
    ``ctx.policy.call_wait`` 0 a device in a call is deferred at once).  The maintenance
    window is the caller's choice (``ctx.policy.ignore_window``)."""
    snap = snapshots.load(snapshot_path)
    pol = ring or RingPolicy("manual", window=DEFAULT_WINDOW)
    job = DeviceJob(device, pol, snap.version, ctx)
    job.result.snapshot = str(snapshot_path)
    r = job.result
    try:
        current, status = job._read()
        r.from_version = current
        job.result.baseline = Health(False, False)  # a device rolled back may be unhealthy
        if current != snap.version:
            problem = ctx.catalogue.rollback_problem(device.family, device.model, snap.version)
            if problem:
                raise Failed("precheck", f"cannot go back to {snap.version}: {problem}")
        if status.in_call and not job._wait_idle():
            raise Deferred("in a call: not interrupted; try again after the meeting")
        baseline = Health.of(status)
        job._step("precheck", "ok", f"on {current}, back to {snap.version}", **{"from": current})
        with job._session() as cur:  # what it holds now, in case the rollback is regretted
            before = cur.snapshot()
            before.data = {**before.data, **cur.upgrade_settings()}
        saved = snapshots.save(ctx.state, before, "before-rollback")
        job._step("snapshot", "ok", f"version {before.version}", snapshot=str(saved))
        job.snap = snap
        drv: Endpoint | None = None
        if current != snap.version:
            started = job._start(snap.version, "rollback")
            drv = job._wait_version(snap.version, started, "rollback")
        job.result.snapshot = str(snapshot_path)
        job._restore(drv)
        # healthy: at least as registered as it was before the rollback
        job.result.baseline = baseline
        job._verify(snap.version, "verify")
    except Failed as exc:
        job._step(exc.step, "failed", exc.message)
        return job._finish("failed", exc.message)
    except Deferred as exc:
        job._step("precheck", "deferred", str(exc))
        return job._finish("deferred", str(exc))
    except DeviceError as exc:
        job._step("rollback", "failed", f"{exc.kind}: {exc.message}")
        return job._finish("failed", f"{exc.kind}: {exc.message}")
    return job._finish("rolled-back", f"{r.from_version} -> {snap.version}, snapshot restored")


def choose_snapshot(state: Path, device: str, wanted: str | None) -> Path | None:
    """The snapshot a rollback returns to: ``wanted`` (a path, or a file name among the
    device's snapshots), else the newest one that is not a before-rollback snapshot."""
    paths = snapshots.list_for(state, device)
    if wanted:
        direct = Path(wanted)
        if direct.is_file():
            return direct
        for path in paths:
            if wanted in (path.name, path.stem):
                return path
        return None
    usable = [p for p in paths if "-before-rollback" not in p.name]
    return usable[-1] if usable else None


# --- planning -----------------------------------------------------------------------------


def ring_name(text: str) -> str:
    """``canary`` -> ``ring_canary``; a ring's own name is kept; else ValueError."""
    for ring in RINGS:
        if text in (ring, ring.removeprefix("ring_")):
            return ring
    raise ValueError(f"--ring {text!r}: one of {', '.join(RINGS)}")


@dataclass
class Plan:
    rings: list[RingPlan]
    out_of_scope: list[dict[str, str]]
    pairs: list[tuple[str, str]]  # (family, model) in the rollout: their packages are served


def plan_rollout(
    devices: list[Device],
    catalogue: Catalogue,
    to: str,
    ring: str | None = None,
    soak: float | None = None,
) -> Plan:
    """Which codec goes to which version in which ring.  ``to``: ``target`` (each family
    and model's catalogue target) or versions separated by commas.  Raises
    :class:`~vcprov.firmware_catalog.InvalidCatalogue` (a codec whose family or model the
    catalogue lacks, an unusable entry of a family in the run) or ValueError (a bad ring
    setting, a version in no family)."""
    wanted = [v.strip() for v in to.split(",") if v.strip()]
    if not wanted:
        raise ValueError("--to: a version, several separated by commas, or 'target'")
    by_target = wanted == ["target"]
    if not by_target:
        known = {e.version for e in catalogue.entries}
        unknown = [v for v in wanted if v not in known]
        if unknown:
            raise ValueError(f"--to: {', '.join(unknown)} is in no family of {catalogue.file}")
    only = ring_name(ring) if ring else None
    errors: list[CatalogueError] = []
    out_of_scope: list[dict[str, str]] = []
    per_ring: dict[str, list[tuple[Device, str]]] = {r: [] for r in RINGS}
    policies: dict[str, RingPolicy] = {}
    pairs: list[tuple[str, str]] = []
    for dev in devices:
        r = ring_of(dev)
        if dev.role != "endpoint":
            out_of_scope.append(
                {"name": dev.name, "reason": "a switch: vcprov upgrades codecs only"}
            )
            continue
        if r is None:
            out_of_scope.append({"name": dev.name, "reason": "in no firmware ring"})
            continue
        if only and r != only:
            continue
        versions = catalogue.versions(dev.family, dev.model)
        if not versions:
            errors.append(
                CatalogueError(
                    catalogue.file,
                    f"no entry for this model (device {dev.name} is in the run)",
                    family=dev.family,
                    model=dev.model or "?",
                )
            )
            continue
        if by_target:
            target = catalogue.target(dev.family, dev.model)
            if target is None:
                continue  # reported by the catalogue's own check
            version = target.version
        else:
            mine = [v for v in wanted if catalogue.entry(dev.family, dev.model, v)]
            if not mine:
                out_of_scope.append(
                    {"name": dev.name, "reason": f"no version of --to for {dev.family} {dev.model}"}
                )
                continue
            if len(mine) > 1:
                raise ValueError(f"--to names two versions for {dev.name}: {', '.join(mine)}")
            version = mine[0]
        if r not in policies:
            policies[r] = RingPolicy.from_vars(r, dev.vars)
        per_ring[r].append((dev, version))
        if (dev.family, dev.model) not in pairs:
            pairs.append((dev.family, dev.model))
    errors += catalogue.structural_errors()
    errors += [e for e in catalogue.errors if e.entry_level and (e.family, e.model) in pairs]
    if errors:
        raise InvalidCatalogue(errors)
    rings = []
    for r in RINGS:
        if per_ring[r]:
            pol = policies[r]
            if soak is not None:
                pol.soak = soak
            rings.append(RingPlan(pol, per_ring[r]))
    return Plan(rings, out_of_scope, pairs)


def standard_disagreements(
    inv: Any, pairs: list[tuple[Device, str]], installs: str = "this rollout installs"
) -> list[str]:
    """Where a rollout's version is not the standard's ``firmware.target`` of the device
    (``pairs``: each codec and the version the rollout takes it to).  After such a rollout
    ``vcprov check`` reports firmware drift until the standard says the new version: one
    line per family, versions and file, naming the key to change and the codecs."""
    from . import standard  # the standard reads the inventory; imported only when asked

    seen: dict[tuple[str, str, str, str], list[Device]] = {}
    for dev, to in pairs:
        try:
            value = standard.effective(inv, dev.name).get("firmware.target")
        except standard.InvalidStandard:
            continue  # the standard's own errors are reported where it is validated
        want = None if value is None else str(value.value)
        if want == to:
            continue
        where = f"{value.file}:{value.key}" if value is not None else "the standard"
        seen.setdefault((dev.family, want or "not set", to, where), []).append(dev)
    out = []
    for (family, want, to, where), devs in seen.items():
        models = ", ".join(dict.fromkeys(d.model for d in devs))
        names = [d.name for d in devs]
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        out.append(
            f"{family} ({models}): the standard's firmware.target is {want} ({where}), "
            f"{installs} {to} ({shown}); vcprov check reports firmware drift on them until "
            f"the standard says {to}"
        )
    return out
