"""Onboarding a new codec install: from factory state to an accepted site (issue 7).

:func:`prepare` resolves everything a run needs before any device is contacted (the codec
and its switch port in the inventory, their effective standard, the factory and vaulted
credentials, what the site expects the box to be, the hub to call); :func:`onboard` then
runs the steps, each on its own sessions (always closed):

1. ``reach``: log in with the factory credentials, or with the vaulted ones when the box
   was onboarded before.  Factory first: a box not yet identified never receives the
   province's admin password.
2. ``identify``: model, serial and version; a box that is not the one the inventory
   expects at this site stops here (:class:`IdentityMismatch`), before any change.
3. ``password``: the vaulted admin password is set; the vaulted one must then open the
   device and the factory one must not.
4. ``standard``: the switch port, then the codec, through :func:`vcprov.apply.apply_device`
   (plan, snapshot, apply, verify, restore on failure, restart when needed).  A codec that
   fails rolls its switch port back to the snapshot of this run (a site is one change set).
5. ``firmware``: the standard's ``firmware.target``, through the firmware path
   (:mod:`vcprov.firmware`, single device, with its health gate and rollback).
6. ``acceptance``: the tests (vaulted credentials only, firmware at target, drift check
   clean on codec and port, registered at the hub, a test call to the hub at the expected
   rate and encryption then hung up, QoS consistent with the switch port).
7. The acceptance report, JSON and HTML (:func:`write_report`), ``"result"`` first.

The first step that fails stops the run; its change is undone by the path that made it
(the apply path restores its snapshot, the firmware path rolls back), and the report says
which step failed, why, and what state the device is left in.  Changes of earlier steps
are kept: a device whose password was set keeps the vaulted password (never the factory
one again).

Secrets: no password goes into a message, a report or a snapshot; the report text is
scrubbed of every secret of the run before it is written.

Also here, for ``vcprov site add`` and ``vcprov inventory validate``: adding a site to an
inventory's ``hosts.yml`` (a text insertion that keeps the file's comments and layout, then
a validation that undoes the edit when it makes the inventory invalid), and the checks an
inventory must pass for onboarding.
"""

from __future__ import annotations

import difflib
import getpass
import importlib
import importlib.util
import json
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2

from . import __version__, hosts, labinv, standard
from .apply import Outcome, apply_device, restore_device
from .check import check_device, qos_consistency
from .devices import driver_for
from .devices.base import (
    AuthFailed,
    DeviceError,
    Endpoint,
    Facts,
    ProtocolError,
    Target,
    Unreachable,
)
from .inventory import LOCKED, InvalidStandard, StandardError

STEPS: tuple[tuple[str, str], ...] = (
    ("reach", "Reach the device (factory or vaulted credentials)"),
    ("identify", "Model, serial and version are the ones the site expects"),
    ("password", "The vaulted admin password is set"),
    ("standard", "Switch port and codec brought to the standard (apply path, snapshots)"),
    ("firmware", "The standard's firmware is installed (firmware path)"),
    ("acceptance", "Acceptance tests"),
)
TESTS: tuple[tuple[str, str], ...] = (
    ("vaulted_credentials_only", "Opens with the vaulted credentials only"),
    ("firmware_at_target", "Runs the standard's firmware"),
    ("drift_check_clean", "Drift check clean (codec and switch port)"),
    ("registered_at_hub", "Registered to SIP and H.323 at the hub"),
    ("test_call", "Test call to the hub: connected, rate and encryption, hung up"),
    ("qos_consistent", "QoS marking consistent with the switch port"),
)

# Factory accounts per family (docs/devices.md, docs/onboarding.md).  Usernames are not
# secrets; passwords come from the inventory (``vc_factory_password``, vaulted) except
# where the family's rule gives it: Group Series ships with the serial number as its admin
# password, RoomOS with an empty passphrase.  ``vc_factory_username`` /
# ``vc_factory_password`` in the inventory always win.
FACTORY_ACCOUNTS: dict[str, tuple[str, str | None]] = {
    "poly-group-series": ("admin", "serial"),
    "poly-os": ("admin", None),
    "cisco-roomos": ("admin", "empty"),
}
DEFAULT_REBOOT_TIMEOUT = 600.0
CALL_TIMEOUT = 30.0  # seconds for the test call to connect, and for it to end
RESULT_PASS, RESULT_FAIL = "pass", "fail"
TEMPLATES = "templates/onboard"


# --- errors ------------------------------------------------------------------------


class OnboardError(Exception):
    """A step could not be done.  ``name`` is the error's name in reports and scripts."""

    name = "OnboardError"

    def __init__(self, step: str, message: str, evidence: Mapping[str, Any] | None = None):
        super().__init__(message)
        self.step = step
        self.message = message
        self.evidence = dict(evidence or {})

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "step": self.step, "message": self.message}


class NotInInventory(OnboardError):
    """The device (or its site) is not in the inventory: add it first (``vcprov site add``)."""

    name = "NotInInventory"


class NotACodec(OnboardError):
    """Onboarding is for a codec; its switch port is configured with it."""

    name = "NotACodec"


class MissingCredentials(OnboardError):
    """The inventory does not give a credential onboarding needs (or the vault is locked)."""

    name = "MissingCredentials"


class DeviceUnreachable(OnboardError):
    name = "DeviceUnreachable"


class CredentialsRefused(OnboardError):
    """Neither the factory nor the vaulted credentials open the device."""

    name = "CredentialsRefused"


class IdentityMismatch(OnboardError):
    """The box is not the one the inventory expects at this site (model or serial)."""

    name = "IdentityMismatch"


class StepFailed(OnboardError):
    name = "StepFailed"


# --- what a run needs -----------------------------------------------------------------


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)
    source: str  # where they come from, for reports ("lab.json factory_password"...)


@dataclass
class Context:
    """Everything one onboarding needs, resolved before any device is contacted."""

    codec: hosts.Device
    switch: hosts.Device | None
    desired: dict[str, Any] = field(repr=False)
    switch_desired: dict[str, Any] = field(repr=False)
    factory: Credentials
    vaulted: Credentials
    expected: dict[str, str]
    hub: str | None  # the hub codec's name
    hub_address: str | None  # what the test call dials
    state: Path
    source: dict[str, str | None]
    reboot_timeout: float = DEFAULT_REBOOT_TIMEOUT
    call_timeout: float = CALL_TIMEOUT
    time_scale: float = 1.0  # a lab's: device waits of the firmware path

    def target(self, creds: Credentials) -> Target:
        return replace(self.codec.target, username=creds.username, password=creds.password)

    @property
    def secrets(self) -> list[str]:
        """Every secret of the run (scrubbed from the report text)."""
        out = [self.vaulted.password, self.codec.target.password]
        if self.switch is not None:
            out.append(self.switch.target.password)
        out.append(self.factory.password)
        for desired in (self.desired, self.switch_desired):
            for key, value in desired.items():
                spec = standard.SETTINGS.get(key)
                if spec is not None and spec.secret and value:
                    out.append(str(value))
        return sorted({s for s in out if s and len(s) >= 3}, key=len, reverse=True)


def _close_names(name: str, names: list[str]) -> str:
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
    return f" (did you mean {', '.join(close)}?)" if close else ""


def prepare(
    name: str,
    *,
    lab: str | Path | None = None,
    inventory: str | Path | None = None,
    vault_password_file: str | None = None,
) -> Context:
    """Resolve a run; raises :class:`OnboardError` subclasses or
    :class:`vcprov.inventory.InvalidStandard` before anything is touched."""
    inv = hosts.load_inventory(lab, inventory, vault_password_file)
    where = f"the lab in {lab}" if lab is not None else f"the inventory {inv.hosts_file}"
    if name not in inv.hosts:
        hint = _close_names(name, list(inv.hosts))
        site_hint = (
            "" if lab is not None else "; add the site first: vcprov site add (docs/onboarding.md)"
        )
        raise NotInInventory("reach", f"{name} is not in {where}{hint}{site_hint}")
    codec = hosts.device_of(inv, name)
    if codec.role != "endpoint":
        peer = codec.peer
        raise NotACodec(
            "reach",
            f"{name} is a {codec.role or 'device'} ({codec.family}): onboard its codec"
            + (f" {peer}" if peer else "")
            + ", the switch port is configured with it",
        )
    if codec.family not in FACTORY_ACCOUNTS:
        raise NotACodec("reach", f"{name}: no onboarding for the family {codec.family!r}")
    desired = standard.effective(inv, name).desired()
    switch = None
    switch_desired: dict[str, Any] = {}
    if codec.peer:
        if codec.peer not in inv.hosts:
            raise NotInInventory(
                "reach", f"{name} names the switch {codec.peer}, which is not in {where}"
            )
        switch = hosts.device_of(inv, codec.peer)
        switch_desired = standard.effective(inv, codec.peer).desired()
    host = inv.hosts[name]
    expected = {
        "family": codec.family,
        "model": codec.model,
        "serial": str(host.get("vc_serial") or ""),
    }
    doc: dict[str, Any] | None = hosts.lab_doc(lab) if lab is not None else None
    factory = _factory_credentials(name, codec.family, host, expected["serial"], doc)
    vault_pw = host.resolve("vc_password")
    vault_user = str(host.resolve("vc_username") or "")
    if vault_pw is None or vault_pw is LOCKED or not isinstance(vault_pw, str):
        raise MissingCredentials(
            "reach",
            f"{name}: the vaulted password (vc_password) cannot be read: give the vault "
            "password (--vault-password-file or $ANSIBLE_VAULT_PASSWORD_FILE)",
        )
    if not vault_pw:
        raise MissingCredentials("reach", f"{name}: the vaulted password (vc_password) is empty")
    vaulted = Credentials(vault_user, vault_pw, f"vc_password ({host.file_of('vc_password')})")
    if vaulted.password == factory.password:
        raise MissingCredentials(
            "password",
            f"{name}: the vaulted password is the factory password: give the site its own "
            "password in the vault first",
        )
    if vaulted.username != factory.username:
        raise MissingCredentials(
            "password",
            f"{name}: the vaulted account ({vaulted.username}) is not the factory account "
            f"({factory.username}); onboarding sets the factory account's password only",
        )
    hub, hub_address = _hub(inv, name)
    return Context(
        codec=codec,
        switch=switch,
        desired=desired,
        switch_desired=switch_desired,
        factory=factory,
        vaulted=vaulted,
        expected=expected,
        hub=hub,
        hub_address=hub_address,
        state=hosts.state_dir(lab, None if lab is not None else inventory),
        source={
            "lab": str(Path(lab).resolve()) if lab is not None else None,
            "inventory": str(inventory or hosts.default_inventory()),
        },
        reboot_timeout=labinv.reboot_timeout(doc) if doc is not None else DEFAULT_REBOOT_TIMEOUT,
        time_scale=float((doc or {}).get("settings", {}).get("time_scale", 1.0)),
    )


def _factory_credentials(
    name: str, family: str, host: Any, serial: str, doc: Mapping[str, Any] | None
) -> Credentials:
    """The factory account: the lab's row (the lab is its own secret store), else the
    inventory's ``vc_factory_username``/``vc_factory_password``, else the family's rule."""
    if doc is not None:
        row = next((r for r in doc.get("devices", []) if r.get("name") == name), None)
        if row is not None and "factory_username" in row and "factory_password" in row:
            return Credentials(
                str(row["factory_username"]),
                str(row["factory_password"]),
                "lab.json factory_username/factory_password",
            )
    default_user, rule = FACTORY_ACCOUNTS[family]
    user = str(host.resolve("vc_factory_username") or default_user)
    if host.get("vc_factory_password") is not None:
        value = host.resolve("vc_factory_password")
        if value is None or value is LOCKED or not isinstance(value, str):
            raise MissingCredentials(
                "reach",
                f"{name}: vc_factory_password ({host.file_of('vc_factory_password')}) cannot "
                "be read: give the vault password",
            )
        return Credentials(
            user, value, f"vc_factory_password ({host.file_of('vc_factory_password')})"
        )
    if rule == "serial":
        if not serial:
            raise MissingCredentials(
                "reach",
                f"{name}: a {family} ships with its serial number as the admin password: put "
                "the serial from the delivery note in vc_serial (host_vars), or set "
                "vc_factory_password",
            )
        return Credentials(user, serial, "the serial number (vc_serial), the family's rule")
    if rule == "empty":
        return Credentials(user, "", "no passphrase, the family's rule")
    raise MissingCredentials(
        "reach",
        f"{name}: no factory password for {family}: set vc_factory_password (a vaulted "
        "variable, docs/onboarding.md)",
    )


def _hub(inv: standard.Inventory, name: str) -> tuple[str | None, str | None]:
    """The hub codec (group ``hub``) and its SIP URI ``<sip.user>@<sip.domain>``."""
    for member in inv.members("hub"):
        if str(inv.hosts[member].get("vc_role")) != "endpoint":
            continue
        if member == name:
            return member, None
        desired = standard.effective(inv, member).desired()
        user, domain = desired.get("sip.user"), desired.get("sip.domain")
        if user:
            return member, f"{user}@{domain}" if domain else str(user)
        return member, str(inv.hosts[member].resolve("ansible_host") or member)
    return None, None


# --- the run ------------------------------------------------------------------------


@dataclass
class StepResult:
    name: str
    title: str
    status: str = "not run"  # changed | unchanged | pass (acceptance) | failed | skipped
    detail: str = ""
    seconds: float = 0.0
    evidence: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "seconds": round(self.seconds, 2),
            "evidence": self.evidence,
        }


@dataclass
class TestResult:
    name: str
    title: str
    result: str = RESULT_FAIL  # pass | fail | skipped
    detail: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "result": self.result,
            "detail": self.detail,
            "evidence": self.evidence,
        }


@dataclass
class Run:
    """What happened during one onboarding (becomes the report)."""

    ctx: Context
    operator: str
    steps: dict[str, StepResult] = field(default_factory=dict)
    tests: list[TestResult] = field(default_factory=list)
    facts_before: Facts | None = None
    facts_after: Facts | None = None
    reached_with: str = ""
    password_changed: bool = False
    settings_applied: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    snapshots: dict[str, str] = field(default_factory=dict)
    restored: list[str] = field(default_factory=list)
    error: OnboardError | None = None
    device_state: str = ""
    started: float = field(default_factory=time.time)
    finished: float = 0.0
    on_step: Callable[[StepResult], None] | None = None
    on_test: Callable[[TestResult], None] | None = None

    def __post_init__(self) -> None:
        self.steps = {n: StepResult(n, t) for n, t in STEPS}

    @property
    def result(self) -> str:
        if self.error is not None:
            return RESULT_FAIL
        if any(s.status == "failed" for s in self.steps.values()):
            return RESULT_FAIL
        if not self.tests or any(t.result == RESULT_FAIL for t in self.tests):
            return RESULT_FAIL
        return RESULT_PASS

    @property
    def failed_step(self) -> str | None:
        return next((s.name for s in self.steps.values() if s.status == "failed"), None)


@contextmanager
def _step(run: Run, name: str) -> Iterator[StepResult]:
    step = run.steps[name]
    t0 = time.monotonic()
    try:
        yield step
    except OnboardError as exc:
        step.status = "failed"
        step.detail = exc.message
        step.evidence.update(exc.evidence)
        run.error = exc
        raise
    except DeviceError as exc:  # a device error a step did not turn into its own
        err = StepFailed(name, exc.message if exc.device else str(exc), {"kind": exc.kind})
        step.status, step.detail = "failed", err.message
        step.evidence["kind"] = exc.kind
        run.error = err
        raise err from None
    finally:
        step.seconds = time.monotonic() - t0
        if run.on_step is not None:
            run.on_step(step)


def onboard(
    ctx: Context,
    *,
    operator: str | None = None,
    on_step: Callable[[StepResult], None] | None = None,
    on_test: Callable[[TestResult], None] | None = None,
) -> Run:
    """Run the steps on ``ctx``'s codec; never raises for a device problem (the run says)."""
    run = Run(ctx, operator or default_operator(), on_step=on_step, on_test=on_test)
    try:
        facts = _reach(run)
        _identify(run, facts)
        _password(run)
        _standard(run)
        _firmware(run)
        _acceptance(run)
    except OnboardError:
        pass
    if run.facts_after is None and run.facts_before is not None:
        run.facts_after = _final_facts(run)
    run.device_state = _device_state(run)
    run.finished = time.time()
    return run


def _final_facts(run: Run) -> Facts | None:
    """The device as the run leaves it (for "version after"), with whichever account opens
    it now; None when none does."""
    ctx = run.ctx
    for creds in (ctx.vaulted, ctx.factory):
        try:
            return _login(ctx.target(creds))
        except DeviceError:
            continue
    return None


def default_operator() -> str:
    return os.environ.get("VCPROV_OPERATOR") or getpass.getuser()


def _login(target: Target) -> Facts:
    with driver_for(target) as drv:
        return drv.facts()


def _reach(run: Run) -> Facts:
    ctx = run.ctx
    with _step(run, "reach") as step:
        tried: list[str] = []
        for label, creds in (("factory", ctx.factory), ("vaulted", ctx.vaulted)):
            try:
                facts = _login(ctx.target(creds))
            except AuthFailed:
                tried.append(f"{label} (user {creds.username}) refused")
                continue
            except Unreachable as exc:
                raise DeviceUnreachable(
                    "reach",
                    f"{ctx.codec.name} ({ctx.codec.target.host}:{ctx.codec.target.port}) does "
                    f"not answer: {exc.message.removeprefix(ctx.codec.name + ': ')}",
                ) from None
            except ProtocolError as exc:
                raise StepFailed(
                    "reach",
                    f"{exc.message} (is a {ctx.codec.family} codec at this address?)",
                ) from None
            run.reached_with = label
            run.facts_before = facts
            step.status = "unchanged"
            step.detail = f"{label} credentials accepted (user {creds.username})"
            step.evidence = {"reached_with": label, "tried": tried, "credentials": creds.source}
            return facts
        raise CredentialsRefused(
            "reach",
            f"neither the factory nor the vaulted credentials open {ctx.codec.name} "
            f"({'; '.join(tried)}): a box set up elsewhere; reset it to factory on site "
            "(docs/onboarding.md)",
            {"tried": tried},
        )
    raise AssertionError("unreachable")  # pragma: no cover


def _norm(value: str) -> str:
    return " ".join(value.split()).casefold()


def _identify(run: Run, facts: Facts) -> None:
    ctx = run.ctx
    with _step(run, "identify") as step:
        want_model, want_serial = ctx.expected["model"], ctx.expected["serial"]
        step.evidence = {
            "model": facts.model,
            "serial": facts.serial,
            "version": facts.version,
            "expected_model": want_model,
            "expected_serial": want_serial or None,
        }
        problems = []
        if want_model and _norm(facts.model) != _norm(want_model):
            problems.append(f"model {facts.model!r} where the inventory expects {want_model!r}")
        if want_serial and _norm(facts.serial) != _norm(want_serial):
            problems.append(f"serial {facts.serial!r} where the inventory expects {want_serial!r}")
        if problems:
            raise IdentityMismatch(
                "identify",
                f"{ctx.codec.name}: wrong box for site {ctx.codec.site}: "
                + "; ".join(problems)
                + ". Nothing was changed; check the box and the inventory (vc_model, vc_serial)",
            )
        step.status = "unchanged"
        checked = "model and serial" if want_serial else "model (no vc_serial: serial not checked)"
        step.detail = f"{facts.model}, serial {facts.serial}, version {facts.version}: {checked}"


def _refused(target: Target) -> str:
    """'' when the credentials are refused (AuthFailed), else what happened instead."""
    try:
        _login(target)
    except AuthFailed:
        return ""
    except DeviceError as exc:
        return f"could not tell ({exc.kind}: {exc.message})"
    return "accepted"


def _which_password(ctx: Context) -> str:
    """After a failed change: which password opens the device now, in words."""
    factory = _refused(ctx.target(ctx.factory))
    if factory == "accepted":
        return "the device keeps its factory password"
    vaulted = _refused(ctx.target(ctx.vaulted))
    if vaulted == "accepted":
        return "the vaulted password opens it nevertheless"
    return (
        f"neither the factory ({factory or 'refused'}) nor the vaulted password "
        f"({vaulted or 'refused'}) opens it: recover the account on site"
    )


def _password(run: Run) -> None:
    ctx = run.ctx
    with _step(run, "password") as step:
        if run.reached_with == "factory":
            try:
                with driver_for(ctx.target(ctx.factory)) as drv:
                    assert isinstance(drv, Endpoint)
                    drv.set_password(ctx.factory.password, ctx.vaulted.password)
            except DeviceError as exc:
                raise StepFailed(
                    "password",
                    f"the password change failed ({exc.message}); {_which_password(ctx)}",
                    {"kind": exc.kind},
                ) from None
            run.password_changed = True
        try:
            _login(ctx.target(ctx.vaulted))
        except DeviceError as exc:
            raise StepFailed(
                "password",
                f"the vaulted password does not open the device after the change ({exc.kind}: "
                f"{exc.message}): recover the account on site",
            ) from None
        factory = _refused(ctx.target(ctx.factory))
        if factory:
            raise StepFailed(
                "password", f"the factory password is still {factory} after the change"
            )
        step.status = "changed" if run.password_changed else "unchanged"
        step.detail = (
            "vaulted password set; the factory password is refused"
            if run.password_changed
            else "already set (the factory password is refused)"
        )
        step.evidence = {
            "changed": run.password_changed,
            "vaulted": f"accepted (user {ctx.vaulted.username})",
            "factory": "refused",
            "vaulted_from": ctx.vaulted.source,
        }


def _outcome_evidence(out: Outcome) -> dict[str, Any]:
    return {
        "changed": out.changed,
        "failed": out.failed or out.unreachable,
        "msg": out.msg,
        "changes": out.changes,
        "deferred": out.deferred,
        "snapshot": out.snapshot,
        "restored": out.restored,
        "rebooted": out.rebooted,
        "unsupported": sorted(out.unsupported),
    }


def _standard(run: Run) -> None:
    ctx = run.ctx
    with _step(run, "standard") as step:
        port_out: Outcome | None = None
        if ctx.switch is not None:
            port_out = apply_device(ctx.switch.target, ctx.switch_desired, state=ctx.state)
            step.evidence["switch"] = _outcome_evidence(port_out)
            if port_out.snapshot:
                run.snapshots["switch"] = port_out.snapshot
            if port_out.restored:
                run.restored.append(f"{ctx.switch.name}: snapshot {port_out.snapshot}")
            if port_out.failed or port_out.unreachable:
                raise StepFailed(
                    "standard",
                    f"switch port {ctx.switch.name} {ctx.codec.vars.get('vc_switch_port', '')}: "
                    f"{port_out.msg}; the codec was not configured",
                )
            run.settings_applied["switch"] = port_out.changes
        codec_out = apply_device(
            ctx.target(ctx.vaulted),
            ctx.desired,
            state=ctx.state,
            reboot_timeout=ctx.reboot_timeout,
        )
        step.evidence["codec"] = _outcome_evidence(codec_out)
        if codec_out.snapshot:
            run.snapshots["codec"] = codec_out.snapshot
        if codec_out.restored:
            run.restored.append(f"{ctx.codec.name}: snapshot {codec_out.snapshot}")
        if codec_out.failed or codec_out.unreachable:
            why = f"codec {ctx.codec.name}: {codec_out.msg}"
            if port_out is not None and port_out.changed and port_out.snapshot:
                assert ctx.switch is not None
                problem = restore_device(ctx.switch.target, port_out.snapshot)
                if problem:
                    why += f"; switch port RESTORE FAILED ({problem}), snapshot {port_out.snapshot}"
                else:
                    run.restored.append(f"{ctx.switch.name}: snapshot {port_out.snapshot}")
                    why += "; switch port restored from its snapshot"
            raise StepFailed("standard", why)
        run.settings_applied["codec"] = codec_out.changes
        run.settings_applied.setdefault("switch", [])
        changed = (port_out is not None and port_out.changed) or codec_out.changed
        step.status = "changed" if changed else "unchanged"
        parts = []
        if ctx.switch is not None and port_out is not None:
            parts.append(f"switch port: {port_out.msg}")
        parts.append(f"codec: {codec_out.msg}")
        step.detail = "; ".join(parts)


# --- step 5: the firmware path -------------------------------------------------------


def firmware_path_available() -> bool:
    """True when this installation has the firmware path (:mod:`vcprov.firmware`)."""
    return importlib.util.find_spec("vcprov.firmware") is not None


LOCK_WAIT = 1800.0  # device seconds an onboarding waits for another one's install


@contextmanager
def _firmware_lock(ctx: Context) -> Iterator[None]:
    """The firmware path's lock on this network, waited for: two sites onboarded at the
    same time take turns for their installs; a rollout that holds it longer than
    ``LOCK_WAIT`` (device seconds, at least a minute) makes the step fail, nothing done."""
    from . import firmware

    deadline = time.monotonic() + max(60.0, LOCK_WAIT * ctx.time_scale)
    while True:
        try:
            with firmware.exclusive(ctx.state):
                yield
            return
        except firmware.Busy:
            if time.monotonic() >= deadline:
                raise
            time.sleep(1.0)


def install_firmware(ctx: Context, current: str, want: str) -> dict[str, Any]:
    """Step 5 through the firmware path, one device: ``{"detail", "evidence"}`` when the
    codec runs ``want`` afterwards; :class:`StepFailed` otherwise (the firmware path has
    rolled back what it changed, or says why it could not).

    The adapter between onboarding and :mod:`vcprov.firmware`; onboarding has no upgrade
    logic of its own.  It gives the firmware state machine (:class:`vcprov.firmware.DeviceJob`:
    precheck, snapshot, upgrade, wait, verify health, automatic rollback) what a rollout
    gives it: the run's catalogue, the controller's package server offering the packages
    of the path and of the version to go back to, a journal (``<state>/onboarding/journal``,
    apart from the rollouts' so that ``--resume`` never picks it up), the lab's time scale,
    no maintenance window (an install on site happens when the technician is there), and
    the firmware path's lock (no rollout on this network meanwhile).
    """
    if not firmware_path_available():
        raise StepFailed(
            "firmware",
            f"{ctx.codec.name} runs {current}, the standard wants {want}, and the firmware "
            "path (vcprov.firmware) is not part of this installation: nothing was installed",
            {"current": current, "target": want},
        )
    from . import firmware, firmware_catalog, pkgserver

    family, model = ctx.codec.family, ctx.codec.model
    try:
        cat = firmware_catalog.for_run(ctx.source.get("lab"), ctx.source.get("inventory"), None)
    except (InvalidStandard, OSError) as exc:
        raise StepFailed("firmware", f"the firmware catalogue cannot be read: {exc}") from None
    problems = [str(e) for e in cat.structural_errors()]
    if problems:
        raise StepFailed("firmware", f"the firmware catalogue is invalid: {'; '.join(problems)}")
    evidence: dict[str, Any] = {"catalogue": cat.file}
    if (entry := cat.target(family, model)) is not None:
        evidence["catalogue_target"] = entry.version
    try:
        path = cat.upgrade_path(family, model, current, want)
    except ValueError as exc:
        raise StepFailed(
            "firmware",
            f"cannot install {want} on {current}: {exc}; nothing was installed",
            evidence,
        ) from None
    evidence["path"] = path
    events: list[dict[str, Any]] = []
    # where the codec fetches its packages: the catalogue's ``server:`` (a lab: 127.0.0.1,
    # which reaches every lab device), as ``vcprov upgrade`` does without --serve
    bind = cat.server.get("bind") or ("127.0.0.1" if ctx.source.get("lab") else "")
    if not bind or (bind in ("0.0.0.0", "::") and not cat.server.get("url")):
        raise StepFailed(
            "firmware",
            f"{cat.file}: server.bind and server.url must say where the codecs fetch their "
            "packages from; nothing was installed",
            evidence,
        )
    server = pkgserver.PackageServer(
        bind=str(bind), port=int(cat.server.get("port") or 0), url=cat.server.get("url")
    )
    try:
        with _firmware_lock(ctx), server:
            urls: dict[tuple[str, str, str], str] = {}
            for version in dict.fromkeys([*path, current]):
                found = cat.entry(family, model, version)
                if found is not None and found.usable:
                    urls[(family, model, version)] = server.offer(found)
            run_id = firmware.new_run_id()
            journal = firmware.Journal(
                ctx.state / "onboarding" / "journal" / f"{run_id}-{ctx.codec.name}.jsonl", run_id
            )
            fctx = firmware.Context(
                catalogue=cat,
                urls=urls,
                state=ctx.state,
                journal=journal,
                policy=firmware.Policy(time_scale=ctx.time_scale, ignore_window=True),
                emit=events.append,
            )
            journal.write({"event": "start", "params": {"onboard": ctx.codec.name, "to": want}})
            job = firmware.DeviceJob(ctx.codec, firmware.RingPolicy("onboarding"), want, fctx)
            result = job.run()
            journal.write({"event": "end", "result": result.result})
    except (firmware.Busy, pkgserver.PackageError) as exc:
        raise StepFailed("firmware", f"{exc}; nothing was installed", evidence) from None
    evidence.update(
        journal=str(journal.path),
        result=result.result,
        snapshot=result.snapshot,
        steps=[
            {k: v for k, v in s.items() if k in ("step", "status", "detail")} for s in result.steps
        ],
    )
    if result.result not in ("upgraded", "skipped"):
        raise StepFailed("firmware", f"{result.result}: {result.message}", evidence)
    return {"detail": result.message, "evidence": evidence}


def target_version(ctx: Context) -> tuple[str | None, str]:
    """The version onboarding installs, and where it comes from: the standard's
    ``firmware.target`` (what the drift check and rollouts hold the device to), else the
    firmware catalogue's target for the family and model."""
    want = ctx.desired.get("firmware.target")
    if want:
        return str(want), "the standard's firmware.target"
    if not firmware_path_available():
        return None, "no firmware.target in the standard and no firmware catalogue"
    from . import firmware_catalog

    try:
        cat = firmware_catalog.for_run(ctx.source.get("lab"), ctx.source.get("inventory"), None)
    except (InvalidStandard, OSError) as exc:
        return None, f"no firmware.target in the standard; the catalogue: {exc}"
    entry = cat.target(ctx.codec.family, ctx.codec.model)
    if entry is None:
        return None, f"no firmware.target in the standard, no target in {cat.file}"
    return entry.version, f"the catalogue's target ({cat.file})"


def _firmware(run: Run) -> None:
    ctx = run.ctx
    with _step(run, "firmware") as step:
        want, source = target_version(ctx)
        current = _login(ctx.target(ctx.vaulted)).version
        step.evidence = {"before": current, "target": want, "target_from": source}
        if not want:
            step.status = "skipped"
            step.detail = source
            return
        if current == str(want):
            step.status = "unchanged"
            step.detail = f"already runs {want}"
            return
        done = install_firmware(ctx, current, str(want))
        after = _login(ctx.target(ctx.vaulted)).version
        step.evidence.update(done["evidence"], after=after)
        if after != str(want):
            raise StepFailed(
                "firmware", f"the firmware path finished but the device runs {after}, not {want}"
            )
        step.status = "changed"
        step.detail = f"{current} -> {after} through the firmware path"


# --- step 6: acceptance ---------------------------------------------------------------


def _acceptance(run: Run) -> None:
    ctx = run.ctx
    with _step(run, "acceptance") as step:
        results: dict[str, dict[str, Any]] = {}
        for name, title in TESTS:
            test = TestResult(name, title)
            try:
                passed, detail, evidence = _TESTS[name](run, results)
                test.result = passed
                test.detail, test.evidence = detail, evidence
            except DeviceError as exc:
                test.result = RESULT_FAIL
                test.detail = f"{exc.kind}: {exc.message}"
            run.tests.append(test)
            if run.on_test is not None:
                run.on_test(test)
        try:
            run.facts_after = _login(ctx.target(ctx.vaulted))
        except DeviceError:
            run.facts_after = None
        failed = [t.name for t in run.tests if t.result == RESULT_FAIL]
        step.evidence = {"failed": failed}
        if failed:
            raise StepFailed("acceptance", f"{len(failed)} test(s) failed: {', '.join(failed)}")
        step.status = RESULT_PASS
        skipped = [t.name for t in run.tests if t.result == "skipped"]
        step.detail = f"{len(run.tests) - len(skipped)} tests passed" + (
            f", {len(skipped)} skipped ({', '.join(skipped)})" if skipped else ""
        )


TestFn = Callable[[Run, dict[str, dict[str, Any]]], tuple[str, str, dict[str, Any]]]


def _verdict(ok: bool) -> str:
    return RESULT_PASS if ok else RESULT_FAIL


def _t_credentials(run: Run, _: dict[str, dict[str, Any]]) -> tuple[str, str, dict[str, Any]]:
    ctx = run.ctx
    facts = _login(ctx.target(ctx.vaulted))
    factory = _refused(ctx.target(ctx.factory))
    evidence = {
        "vaulted": f"accepted (user {ctx.vaulted.username}, {facts.model} {facts.serial})",
        "factory": factory or "refused",
    }
    ok = not factory
    return (
        _verdict(ok),
        "factory password refused" if ok else f"factory password {factory}",
        evidence,
    )


def _t_firmware(run: Run, _: dict[str, dict[str, Any]]) -> tuple[str, str, dict[str, Any]]:
    ctx = run.ctx
    want, source = target_version(ctx)
    version = _login(ctx.target(ctx.vaulted)).version
    evidence = {"running": version, "target": want, "target_from": source}
    if not want:
        return "skipped", source, evidence
    ok = version == str(want)
    return _verdict(ok), f"runs {version}" + ("" if ok else f", not {want}"), evidence


def _t_drift(run: Run, results: dict[str, dict[str, Any]]) -> tuple[str, str, dict[str, Any]]:
    ctx = run.ctx
    codec = check_device(ctx.target(ctx.vaulted), ctx.desired)
    results["codec"] = codec
    evidence: dict[str, Any] = {
        ctx.codec.name: {"status": codec["status"], "findings": codec["findings"]},
    }
    statuses = [codec["status"]]
    if ctx.switch is not None:
        port = check_device(ctx.switch.target, ctx.switch_desired)
        results["switch"] = port
        evidence[ctx.switch.name] = {"status": port["status"], "findings": port["findings"]}
        statuses.append(port["status"])
    ok = all(s == "compliant" for s in statuses)
    n = sum(len(v["findings"]) for v in evidence.values())
    detail = (
        "compliant"
        if ok
        else f"{n} finding(s): "
        + ", ".join(f"{dev} {f['setting']}" for dev, v in evidence.items() for f in v["findings"])
    )
    if not ok and n == 0:
        detail = "; ".join(f"{dev}: {v['status']}" for dev, v in evidence.items())
    return _verdict(ok), detail, evidence


def _t_registered(run: Run, _: dict[str, dict[str, Any]]) -> tuple[str, str, dict[str, Any]]:
    ctx = run.ctx
    with driver_for(ctx.target(ctx.vaulted)) as drv:
        assert isinstance(drv, Endpoint)
        status = drv.status()
    want_sip = bool(ctx.desired.get("sip.enabled"))
    want_h323 = bool(ctx.desired.get("h323.enabled"))
    evidence = {
        "sip": {"wanted": want_sip, "registered": status.sip_registered},
        "h323": {"wanted": want_h323, "registered": status.h323_registered},
        "status": status.items,
    }
    missing = [
        p
        for p, want, got in (
            ("SIP", want_sip, status.sip_registered),
            ("H.323", want_h323, status.h323_registered),
        )
        if want and not got
    ]
    if not want_sip and not want_h323:
        return "skipped", "the standard turns SIP and H.323 off", evidence
    ok = not missing
    shown = " and ".join(p for p, w in (("SIP", want_sip), ("H.323", want_h323)) if w)
    return (
        _verdict(ok),
        (f"{shown} registered" if ok else f"not registered: {', '.join(missing)}"),
        evidence,
    )


def _t_call(run: Run, _: dict[str, dict[str, Any]]) -> tuple[str, str, dict[str, Any]]:
    ctx = run.ctx
    rate = int(ctx.desired.get("call.max_rate_out_kbps") or 0)
    encryption = str(ctx.desired.get("call.encryption", "when_available"))
    want_encrypted = encryption != "off"
    evidence: dict[str, Any] = {
        "hub": ctx.hub,
        "address": ctx.hub_address,
        "expected_rate_kbps": rate,
        "expected_encrypted": want_encrypted,
    }
    if ctx.hub is not None and ctx.hub == ctx.codec.name:
        return "skipped", "this codec is the hub: no test call to itself", evidence
    if not ctx.hub_address:
        return RESULT_FAIL, "no hub codec in the inventory (group hub) to call", evidence
    with driver_for(ctx.target(ctx.vaulted)) as drv:
        assert isinstance(drv, Endpoint)
        if drv.calls():
            return RESULT_FAIL, "the codec is already in a call: no test call placed", evidence
        try:
            placed = drv.dial(ctx.hub_address, rate)
        except DeviceError as exc:
            evidence["refused"] = exc.message
            return RESULT_FAIL, f"the call was not placed: {exc.message}", evidence
        call = placed
        deadline = time.monotonic() + ctx.call_timeout
        while call.get("state") != "connected" and time.monotonic() < deadline:
            time.sleep(0.5)
            mine = [c for c in drv.calls() if c["id"] == placed["id"] or not placed["id"]]
            call = mine[0] if mine else {**placed, "state": "ended"}
            if call["state"] == "ended":
                break
        evidence["call"] = call
        ended = drv.hangup_all()
        deadline = time.monotonic() + ctx.call_timeout
        left = drv.calls()
        while left and time.monotonic() < deadline:
            time.sleep(0.5)
            left = drv.calls()
        evidence["hung_up"] = not left
        evidence["calls_ended"] = ended
    problems = []
    if call.get("state") != "connected":
        problems.append(f"call {call.get('state') or 'not connected'}")
    else:
        if call.get("rate") != rate:
            problems.append(f"rate {call.get('rate')} kbps, expected {rate}")
        if bool(call.get("encrypted")) != want_encrypted:
            problems.append(
                "not encrypted" if want_encrypted else "encrypted where encryption is off"
            )
    if left:
        problems.append(f"{len(left)} call(s) still up after the hang-up")
    if problems:
        return RESULT_FAIL, "; ".join(problems), evidence
    return (
        RESULT_PASS,
        f"connected to {ctx.hub_address} at {call.get('rate')} kbps, "
        f"{'encrypted' if call.get('encrypted') else 'unencrypted'} ({call.get('protocol')}), "
        "hung up",
        evidence,
    )


def _t_qos(run: Run, results: dict[str, dict[str, Any]]) -> tuple[str, str, dict[str, Any]]:
    ctx = run.ctx
    if ctx.switch is None:
        return RESULT_FAIL, "the codec has no switch port in the inventory", {}
    codec = results.get("codec") or check_device(ctx.target(ctx.vaulted), ctx.desired)
    port = results.get("switch") or check_device(ctx.switch.target, ctx.switch_desired)
    evidence = {"codec_marks": codec.get("qos"), "switch_port": port.get("qos")}
    unread = [
        f"{n}: {r['status']} ({r.get('error')})"
        for n, r in ((ctx.codec.name, codec), (ctx.switch.name, port))
        if r["status"] in ("unreachable", "error")
    ]
    if unread:
        return RESULT_FAIL, "not read: " + "; ".join(unread), evidence
    finding = qos_consistency(ctx.codec.name, codec, ctx.switch.name, port)
    if finding is not None:
        evidence["finding"] = finding
        return RESULT_FAIL, str(finding["actual"]), evidence
    marks = codec.get("qos") or {}
    return (
        RESULT_PASS,
        f"audio DSCP {marks.get('qos.dscp.audio')}, video {marks.get('qos.dscp.video')}: the "
        "port trusts DSCP and queues EF first",
        evidence,
    )


_TESTS: dict[str, TestFn] = {
    "vaulted_credentials_only": _t_credentials,
    "firmware_at_target": _t_firmware,
    "drift_check_clean": _t_drift,
    "registered_at_hub": _t_registered,
    "test_call": _t_call,
    "qos_consistent": _t_qos,
}


def _device_state(run: Run) -> str:
    """In words: what the device is left as (the report's "known state")."""
    step = run.failed_step
    pw = (
        "it opens with the vaulted password only"
        if run.password_changed or run.reached_with == "vaulted"
        else "its credentials are unchanged"
    )
    if step is None:
        return f"accepted: it holds the standard and the standard's firmware; {pw}"
    if step in ("reach", "identify"):
        return "nothing was changed on the device"
    if step == "password":
        return "nothing was changed on the device except what the password step says"
    if step == "standard":
        restored = f" (restored: {'; '.join(run.restored)})" if run.restored else ""
        return (
            "the configuration is as before the standard step, from the snapshots of this "
            f"run{restored}, unless the step says RESTORE FAILED; {pw}"
        )
    if step == "firmware":
        running = f" ({run.facts_after.version})" if run.facts_after is not None else ""
        return (
            f"the firmware is the one it ran before the firmware step{running}: nothing was "
            "installed, or the firmware path rolled its install back (see the step); the "
            f"configuration holds the standard; {pw}"
        )
    return f"every change of the earlier steps is kept (standard, firmware); {pw}"


# --- step 7: the report -------------------------------------------------------------


def report_doc(run: Run, paths: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The acceptance report as data, ``"result"`` first (docs/onboarding.md)."""
    ctx = run.ctx
    before, after = run.facts_before, run.facts_after
    identity = after or before
    doc: dict[str, Any] = {
        "result": run.result,
        "failed_step": run.failed_step,
        "error": run.error.as_dict() if run.error is not None else None,
        "device_state": run.device_state,
        "device": {
            "name": ctx.codec.name,
            "family": ctx.codec.family,
            "vendor": identity.vendor if identity else "",
            "model": identity.model if identity else "",
            "serial": identity.serial if identity else "",
            "address": f"{ctx.codec.target.host}:{ctx.codec.target.port}",
        },
        "site": {
            "id": ctx.codec.site,
            "name": ctx.codec.site_name,
            "switch": ctx.switch.name if ctx.switch is not None else None,
            "switch_port": ctx.codec.vars.get("vc_switch_port"),
        },
        "expected": dict(ctx.expected),
        "versions": {
            "before": before.version if before else None,
            "after": after.version if after else None,
            "target": target_version(ctx)[0],
        },
        "credentials": {
            "reached_with": run.reached_with or None,
            "password_changed": run.password_changed,
            "factory_from": ctx.factory.source,
            "vaulted_from": ctx.vaulted.source,
        },
        "steps": [s.as_dict() for s in run.steps.values()],
        "tests": [t.as_dict() for t in run.tests],
        "settings_applied": run.settings_applied,
        "snapshots": run.snapshots,
        "restored": run.restored,
        "operator": run.operator,
        "date": datetime.fromtimestamp(run.started).astimezone().isoformat(timespec="seconds"),
        "finished": (
            datetime.fromtimestamp(run.finished).astimezone().isoformat(timespec="seconds")
            if run.finished
            else None
        ),
        "seconds": round((run.finished or time.time()) - run.started, 2),
        "source": dict(ctx.source),
        "report": dict(paths or {}),
        "vcprov": __version__,
    }
    return doc


def scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "<secret>")
    return text


def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("vcprov", TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["shown"] = _shown
    env.filters["pretty"] = lambda v: json.dumps(v, ensure_ascii=False, indent=1, sort_keys=True)
    return env


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(_shown(v) for v in value) or "[]"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def render_html(doc: Mapping[str, Any]) -> str:
    return _env().get_template("report.html.j2").render(doc=doc)


def write_report(run: Run, report_dir: str | Path | None = None) -> dict[str, str]:
    """Write ``<dir>/<device>-<time>.json`` and ``.html``; returns their paths.  Default
    directory: ``<state>/onboarding/``."""
    folder = Path(report_dir) if report_dir else run.ctx.state / "onboarding"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.localtime(run.started))
    base = folder / f"{run.ctx.codec.name}-{stamp}"
    n = 1
    while base.with_suffix(".json").exists() or base.with_suffix(".html").exists():
        n += 1
        base = folder / f"{run.ctx.codec.name}-{stamp}-{n}"
    paths = {"json": str(base.with_suffix(".json")), "html": str(base.with_suffix(".html"))}
    doc = report_doc(run, paths)
    # A Group Series' factory password is its serial number, which the report shows (it is
    # on the box's label): serials are not scrubbed.
    serials = {run.ctx.expected.get("serial")}
    serials |= {f.serial for f in (run.facts_before, run.facts_after) if f is not None}
    secrets = [s for s in run.ctx.secrets if s not in serials]
    text = scrub(json.dumps(doc, ensure_ascii=False, indent=1), secrets)
    doc = json.loads(text)  # the HTML is rendered from the scrubbed data
    html = scrub(render_html(doc), secrets)
    Path(paths["json"]).write_text(text + "\n", encoding="utf-8")
    Path(paths["html"]).write_text(html, encoding="utf-8")
    return paths


# --- the inventory: a new site ------------------------------------------------------

SITE_ID = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?")
SERIAL = re.compile(r"[A-Za-z0-9-]{4,40}")
KIND_GROUPS = {"province": "province_offices", "district": "districts"}
DEFAULT_RING = "ring2"


@dataclass
class NewSite:
    """A site to add: its codec and the switch port the codec is plugged into."""

    site: str
    name: str  # the Vietnamese name (system name of the codec, report title)
    codec_family: str
    codec_model: str
    codec_address: str
    switch_family: str
    switch_model: str
    switch_address: str
    switch_port: str = ""
    codec_serial: str = ""
    e164: str = ""
    kind: str = "district"
    ring: str = DEFAULT_RING

    def problems(self) -> list[str]:
        out = []
        if not SITE_ID.fullmatch(self.site):
            out.append(f"site {self.site!r}: lower-case letters, digits and '-' only")
        if not self.name.strip():
            out.append("the site's name is empty")
        for role, family in (("endpoint", self.codec_family), ("switch", self.switch_family)):
            known = [f for f, (r, _) in standard.FAMILIES.items() if r == role]
            if family not in known:
                out.append(f"{role} family {family!r} is not one of {', '.join(known)}")
        if self.codec_serial and not SERIAL.fullmatch(self.codec_serial):
            out.append(f"serial {self.codec_serial!r}: 4-40 letters, digits or '-'")
        if self.e164 and not re.fullmatch(r"[0-9]{1,15}", self.e164):
            out.append(f"E.164 {self.e164!r}: 1-15 digits")
        if self.kind not in (*KIND_GROUPS, "commune"):
            out.append(f"kind {self.kind!r} is not province, district or commune")
        if self.ring not in hosts.RINGS:
            out.append(f"ring {self.ring!r} is not one of {', '.join(hosts.RINGS)}")
        for what, value in (("codec", self.codec_model), ("switch", self.switch_model)):
            if not value.strip():
                out.append(f"the {what} model is empty")
        return out

    @property
    def port(self) -> str:
        if self.switch_port:
            return self.switch_port
        return (
            "GigabitEthernet0/0/5" if self.switch_family == "huawei-vrp" else "GigabitEthernet1/0/5"
        )


def _scalar(value: Any) -> str:
    """A YAML scalar (JSON strings are YAML double-quoted strings)."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return json.dumps(value)


def _block(name: str, variables: Mapping[str, Any], indent: int) -> list[str]:
    pad = " " * indent
    return [f"{pad}{name}:\n", *(f"{pad}  {k}: {_scalar(v)}\n" for k, v in variables.items())]


def _insert_under(lines: list[str], group: str, block: Callable[[int], list[str]]) -> None:
    """Insert ``block(indent)`` at the end of ``group``'s ``hosts:`` mapping (made when the
    group has none).  The group must appear once as a mapping key."""
    key = re.compile(rf"^(\s*){re.escape(group)}:\s*(#.*)?$")
    found = [i for i, line in enumerate(lines) if key.match(line)]
    if len(found) != 1:
        raise ValueError(
            f"group {group!r} appears {len(found)} times as a key in hosts.yml (expected once)"
        )
    at = found[0]
    m = key.match(lines[at])
    assert m is not None
    gi = len(m.group(1))

    def indent_of(line: str) -> int | None:
        if not line.strip() or line.lstrip().startswith("#"):
            return None
        return len(line) - len(line.lstrip(" "))

    end = len(lines)
    hosts_at = None
    for i in range(at + 1, len(lines)):
        ind = indent_of(lines[i])
        if ind is None:
            continue
        if ind <= gi:
            end = i
            break
        if ind == gi + 2 and lines[i].strip().startswith("hosts:"):
            hosts_at = i
    if hosts_at is None:
        lines[at + 1 : at + 1] = [" " * (gi + 2) + "hosts:\n", *block(gi + 4)]
        return
    hi = gi + 2
    stop = end
    for i in range(hosts_at + 1, end):
        ind = indent_of(lines[i])
        if ind is not None and ind <= hi:
            stop = i
            break
    while stop > hosts_at + 1 and not lines[stop - 1].strip():
        stop -= 1  # keep blank lines after the mapping where they were
    lines[stop:stop] = block(hi + 2)


def add_site(inventory: str | Path, new: NewSite) -> list[Path]:
    """Add ``new`` to ``inventory`` (``hosts.yml`` and ``host_vars/<codec>.yml``), then
    validate the whole inventory; any error the edit introduced undoes it and raises
    :class:`InvalidStandard`.  Returns the files written."""
    if problems := new.problems():
        raise ValueError("; ".join(problems))
    root = Path(inventory)
    hosts_file = root / "hosts.yml" if root.is_dir() else root
    if not hosts_file.is_file():
        raise ValueError(f"{hosts_file}: no hosts.yml here")
    before_inv = standard.load(str(root))
    codec, switch = f"{new.site}-codec", f"{new.site}-sw"
    for name in (codec, switch):
        if name in before_inv.hosts:
            raise ValueError(f"{name} is already in {before_inv.hosts_file}")
    if any(str(h.get("vc_site")) == new.site for h in before_inv.hosts.values()):
        raise ValueError(f"site {new.site} is already in {before_inv.hosts_file}")
    before = {str(e) for e in standard.validate(before_inv)}
    codec_vars: dict[str, Any] = {
        "ansible_host": new.codec_address,
        "vc_role": "endpoint",
        "vc_family": new.codec_family,
        "vc_model": new.codec_model,
    }
    if new.codec_serial:
        codec_vars["vc_serial"] = new.codec_serial
    codec_vars |= {
        "vc_site": new.site,
        "vc_site_name": new.name,
        "vc_switch": switch,
        "vc_switch_port": new.port,
    }
    switch_vars = {
        "ansible_host": new.switch_address,
        "vc_role": "switch",
        "vc_family": new.switch_family,
        "vc_model": new.switch_model,
        "vc_site": new.site,
        "vc_site_name": new.name,
        "vc_codec": codec,
        "vc_codec_port": new.port,
    }
    original = hosts_file.read_text(encoding="utf-8")
    lines = original.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    _insert_under(
        lines,
        standard.FAMILIES[new.codec_family][1],
        lambda i: _block(codec, codec_vars, i),
    )
    _insert_under(
        lines,
        standard.FAMILIES[new.switch_family][1],
        lambda i: _block(switch, switch_vars, i),
    )
    groups = [new.ring]
    if new.kind in KIND_GROUPS:
        groups.insert(0, KIND_GROUPS[new.kind])
    for group in groups:
        _insert_under(lines, group, lambda i: [f"{' ' * i}{codec}:\n", f"{' ' * i}{switch}:\n"])
    written = [hosts_file]
    host_vars = hosts_file.parent / "host_vars" / f"{codec}.yml"
    hv_existed = host_vars.exists()
    try:
        hosts_file.write_text("".join(lines), encoding="utf-8")
        if new.e164:
            if hv_existed:
                raise ValueError(f"{host_vars} already exists")
            host_vars.parent.mkdir(exist_ok=True)
            host_vars.write_text(
                f"# Per-site values of {codec} (added by vcprov site add).\n"
                f"vc_standard:\n  h323.e164: {_scalar(new.e164)}\n",
                encoding="utf-8",
            )
            written.append(host_vars)
        after_inv = standard.load(str(root))
        fresh = [e for e in standard.validate(after_inv) if str(e) not in before]
        if codec not in after_inv.hosts or switch not in after_inv.hosts:
            fresh.append(StandardError(str(hosts_file), codec, None, "the new hosts did not load"))
        if fresh:
            raise InvalidStandard(fresh)
    except BaseException:
        hosts_file.write_text(original, encoding="utf-8")
        if new.e164 and not hv_existed and host_vars.exists():
            host_vars.unlink()
        raise
    return written


def inventory_problems(
    inventory: str | Path | None = None,
    *,
    lab: str | Path | None = None,
    vault_password_file: str | None = None,
) -> tuple[list[str], list[str], standard.Inventory]:
    """(errors, warnings, inventory): the standard's own validation, then what onboarding
    needs: every codec with its model, switch and port; factory credentials resolvable per
    family; unique addresses; every site in exactly one firmware ring."""
    inv = hosts.load_inventory(lab, inventory, vault_password_file)
    errors = [str(e) for e in standard.validate(inv)]
    warnings: list[str] = []
    seen: dict[str, str] = {}
    for name, host in inv.hosts.items():
        port = host.get("ansible_port")
        address = f"{host.resolve('ansible_host') or name}" + (f":{port}" if port else "")
        if address in seen:
            errors.append(
                f"{host.file}: host {name}: ansible_host {address} is also {seen[address]}"
            )
        seen[address] = name
        rings = [g for g in host.groups if g in hosts.RINGS]
        if len(rings) != 1:
            errors.append(
                f"{host.file}: host {name}: in {len(rings)} firmware rings "
                f"({', '.join(rings) or 'none'}), expected exactly one"
            )
        if host.get("vc_role") != "endpoint":
            continue
        if not host.get("vc_model"):
            errors.append(f"{host.file}: host {name}: vc_model missing (onboarding checks it)")
        serial = host.get("vc_serial")
        if serial and not SERIAL.fullmatch(str(serial)):
            errors.append(
                f"{host.file_of('vc_serial')}: host {name}: vc_serial {serial!r} malformed"
            )
        if not serial:
            warnings.append(f"{name}: no vc_serial: onboarding cannot tell a swapped box by serial")
        family = str(host.get("vc_family"))
        if family not in FACTORY_ACCOUNTS or lab is not None:
            continue
        rule = FACTORY_ACCOUNTS[family][1]
        if host.get("vc_factory_password") is None and (
            rule is None or (rule == "serial" and not serial)
        ):
            warnings.append(
                f"{name}: no factory password for {family} (vc_factory_password"
                + (" or vc_serial" if rule == "serial" else "")
                + "): onboarding of a factory-fresh box will fail at the reach step"
            )
    warnings += _catalogue_disagreements(inv, lab, inventory)
    return errors, warnings, inv


def _catalogue_disagreements(
    inv: standard.Inventory, lab: str | Path | None, inventory: str | Path | None
) -> list[str]:
    """The firmware catalogue's target beside the standard's ``firmware.target``: when they
    differ, ``vcprov upgrade --to target`` installs what ``vcprov check`` calls drift."""
    from . import firmware, firmware_catalog

    try:
        cat = firmware_catalog.for_run(lab, inventory, None)
    except (firmware_catalog.InvalidCatalogue, OSError, InvalidStandard):
        return []  # no catalogue here, or `vcprov firmware list` names its errors
    pairs = []
    for name in inv.hosts:
        dev = hosts.device_of(inv, name)
        entry = cat.target(dev.family, dev.model) if dev.role == "endpoint" else None
        if entry is not None:
            pairs.append((dev, entry.version))
    lines = firmware.standard_disagreements(inv, pairs, "the catalogue's target is")
    return [f"{cat.file}: {line}" for line in lines]
