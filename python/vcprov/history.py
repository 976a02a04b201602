"""The check history: one git commit per run, so that ``git log -p`` shows what changed
on which device and when.

Layout of the history repository (created with ``git init`` when missing)::

    devices/<device>.txt    a switch's running configuration, noise-filtered, secrets removed
    devices/<device>.json   a codec's key/values, noise-filtered, secrets removed, sorted
    findings.json           per device: its last status and the findings of its last read

:func:`record` first compares the run with the previous commit's ``findings.json`` and
sets on the run: each finding's ``first_seen`` (kept while the same device, setting and
kind persist; a new finding gets the run's date) and ``new`` flag, the list of
``resolved`` findings (there last time, gone now -- never for a device that is
unreachable or in error now: unknown is not resolved), and ``previous_status``.  Then it
writes the files and commits.

- A device that was not read (unreachable, error) keeps its last configuration file and
  its last known findings (marked ``"stale": true``), so that a finding that outlives a
  night without an answer keeps its ``first_seen``.
- A run with ``--limit`` leaves the other devices as they were; a full run drops the
  devices that are no longer in the inventory.
- Every run is a commit, also when nothing changed (an empty commit): ``git log`` is the
  run log, ``git log -p`` the change log.  Author date = run start, committer date = run
  end.  The message has the counts, the new and resolved findings, the status changes and
  the devices whose configuration changed.

Secrets: the caller gives redacted configurations; this module redacts again (values of
keys whose names look like password/secret/community/key, and CLI lines such as
``snmp-server community X``, ``username X secret 5 Y``, ``enable secret``, ``local-user X
password cipher Y``) to ``<removed>``.  Findings of secret settings hold ``<secret>``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from . import noise
from .findings import CheckRun, DeviceResult, Finding

__all__ = [
    "COMMITTER",
    "FINDINGS_FILE",
    "REMOVED",
    "HistoryError",
    "annotate",
    "device_file",
    "previous",
    "record",
    "redact_keys",
    "redact_lines",
    "render_config",
]

FINDINGS_FILE = "findings.json"
DEVICES_DIR = "devices"
REMOVED = "<removed>"
COMMITTER = ("vcprov check", "vcprov-check@localhost")
FORMAT = 1

_SECRET_KEY = re.compile(
    r"(password|passwd|passphrase|secret|community|credential|token|psk|apikey|api_key|"
    r"authkey|auth_key|sharedkey|shared_key|(^|[._\-/\[\] ])key($|[._\-/\[\] ]))",
    re.IGNORECASE,
)
# (the part kept)(the secret value); group 2 becomes <removed>, the rest of the line stays.
_SECRET_LINES = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r"^(\s*snmp-server community )(\S+)",
        r"^(\s*snmp-server host \S+(?: (?:informs|traps))?"
        r"(?: version (?:1|2c|3(?: (?:auth|noauth|priv))?))? )(\S+)",
        r"^(\s*snmp-agent community (?:read |write )?(?:cipher |simple )?)(\S+)",
        # VRP v2c trap targets carry the community as the security name
        r"^(\s*snmp-agent target-host .*? securityname (?:cipher )?)(\S+)",
        r"^(\s*snmp-agent usm-user .*?(?:authentication|privacy)-mode \S+ "
        r"(?:cipher |simple )?)(\S+)",
        r"^(\s*username \S+ (?:.*? )?(?:secret|password)(?: [0-9])? )(\S+)",
        r"^(\s*enable (?:secret|password)(?: level \d+)?(?: [0-9])? )(\S+)",
        r"^(\s*local-user \S+ password (?:cipher |irreversible-cipher |simple )?)(\S+)",
        r"^(\s*(?:password|secret)(?: [0-9])? )(\S+)",
        r"^(\s*(?:tacacs-server|radius-server)\b.*? key(?: [0-9])? )(\S+)",
        r"^(\s*key(?: [0-9])? )(\S+)",
        r"^(\s*(?:super password|radius-server shared-key|hwtacacs-server shared-key)"
        r"(?: level \d+)?(?: cipher| simple| irreversible-cipher)? )(\S+)",
        r"^(\s*ntp authentication-key \d+ md5 )(\S+)",
    )
)


class HistoryError(Exception):
    """The history repository could not be read or written (names the path and the git
    command)."""


# --- secrets ---------------------------------------------------------------------


def redact_lines(text: str) -> str:
    """A CLI configuration with the value of every secret-bearing line as ``<removed>``."""
    out = []
    for line in text.split("\n"):
        for rx in _SECRET_LINES:
            m = rx.match(line)
            if m is not None:
                if m.group(2) != REMOVED:
                    line = f"{m.group(1)}{REMOVED}{line[m.end(2) :]}"
                break
        out.append(line)
    return "\n".join(out)


def redact_keys(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """Key/values with the value of every key whose name looks secret as ``<removed>``
    (empty values stay empty: "not set" is not a secret)."""
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        if isinstance(value, Mapping):
            out[str(key)] = (
                REMOVED if _SECRET_KEY.search(str(key)) and value else redact_keys(value)
            )
        elif _SECRET_KEY.search(str(key)) and value not in (None, "", [], {}):
            out[str(key)] = REMOVED
        else:
            out[str(key)] = value
    return out


# --- files -------------------------------------------------------------------------


def _safe_name(name: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", name).lstrip(".")
    return safe or "_"


def device_file(dev: DeviceResult) -> str | None:
    """``devices/<name>.txt`` (text configuration) or ``.json`` (key/values); None when
    nothing was collected."""
    if dev.config is None:
        return None
    suffix = ".txt" if isinstance(dev.config, str) else ".json"
    return f"{DEVICES_DIR}/{_safe_name(dev.name)}{suffix}"


def render_config(dev: DeviceResult) -> str | None:
    """What the history keeps of a device's configuration: noise-filtered, redacted."""
    if dev.config is None:
        return None
    if isinstance(dev.config, str):
        return redact_lines(noise.clean_lines(dev.config, dev.family))
    cleaned = redact_keys(noise.clean_keys(dev.config, dev.family))
    return json.dumps(cleaned, ensure_ascii=False, indent=1, sort_keys=True, default=str) + "\n"


# --- git ---------------------------------------------------------------------------


def _git_env(run: CheckRun | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        GIT_AUTHOR_NAME=COMMITTER[0],
        GIT_AUTHOR_EMAIL=COMMITTER[1],
        GIT_COMMITTER_NAME=COMMITTER[0],
        GIT_COMMITTER_EMAIL=COMMITTER[1],
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_TERMINAL_PROMPT="0",
    )
    for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        env.pop(var, None)
    if run is not None:
        if re.match(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", run.started):
            env["GIT_AUTHOR_DATE"] = run.started
        if re.match(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", run.finished):
            env["GIT_COMMITTER_DATE"] = run.finished
    return env


def _git(repo: Path, *args: str, run: CheckRun | None = None, stdin: str | None = None) -> str:
    try:
        proc = subprocess.run(
            ["git", "-C", str(repo), *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=_git_env(run),
            check=False,
        )
    except FileNotFoundError:
        raise HistoryError(f"{repo}: git is not installed") from None
    if proc.returncode != 0:
        raise HistoryError(
            f"{repo}: git {' '.join(args[:2])} failed: {(proc.stderr or proc.stdout).strip()}"
        )
    return proc.stdout


def _ensure_repo(repo: Path) -> None:
    repo.mkdir(parents=True, exist_ok=True)
    if not (repo / ".git").exists():
        _git(repo, "init", "-q", "-b", "main")
        (repo / "README.md").write_text(
            "# vcprov check history\n\n"
            "One commit per run of `vcprov check`: `devices/` holds each device's last "
            "collected configuration (noise-filtered, secrets removed), `findings.json` "
            "each device's status and findings.  `git log -p` shows what changed on which "
            "device and when.  Written by vcprov; do not edit.\n",
            encoding="utf-8",
        )
    _git(repo, "config", "user.name", COMMITTER[0])
    _git(repo, "config", "user.email", COMMITTER[1])
    _git(repo, "config", "commit.gpgsign", "false")


@contextlib.contextmanager
def _locked(repo: Path) -> Iterator[None]:
    """One writer at a time (two checks started together would fight over git's index)."""
    with open(repo / ".git" / "vcprov.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _has_commits(repo: Path) -> bool:
    try:
        _git(repo, "rev-parse", "-q", "--verify", "HEAD^{commit}")
    except HistoryError:
        return False
    return True


def previous(repo_path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The state the last run left (``findings.json`` of the last commit); None when there
    is no history yet."""
    repo = Path(repo_path)
    if not (repo / ".git").exists() or not _has_commits(repo):
        return None
    try:
        text = _git(repo, "show", f"HEAD:{FINDINGS_FILE}")
    except HistoryError:
        return None
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise HistoryError(
            f"{repo}: {FINDINGS_FILE} of the last commit is not JSON: {exc}"
        ) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("devices"), dict):
        raise HistoryError(f"{repo}: {FINDINGS_FILE} of the last commit has no devices")
    return doc


# --- comparing with the previous run -------------------------------------------------


def _old_findings(entry: Mapping[str, Any] | None) -> dict[tuple[Any, ...], dict[str, Any]]:
    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    for raw in (entry or {}).get("findings") or []:
        try:
            out.setdefault(Finding.from_dict(raw).key(), dict(raw))
        except (KeyError, ValueError, TypeError):
            continue  # an entry this version cannot read: treat as gone
    return out


def annotate(run: CheckRun, prev: Mapping[str, Any] | None) -> None:
    """Set ``first_seen``/``new`` on every finding, ``run.resolved`` and
    ``run.previous_status`` from the previous state (``prev``: :func:`previous`)."""
    today = run.date
    devices: Mapping[str, Any] = (prev or {}).get("devices") or {}
    run.previous_status = (
        {name: str(e.get("status", "")) for name, e in devices.items()}
        if prev is not None
        else None
    )
    resolved: list[dict[str, Any]] = []
    for dev in run.devices:
        old = _old_findings(devices.get(dev.name))
        for f in dev.findings:
            was = old.get(f.key())
            f.new = was is None
            f.first_seen = (was or {}).get("first_seen") or today
        if not dev.reached:
            continue  # unknown is not resolved
        now = {f.key() for f in dev.findings}
        for key, was in old.items():
            if key not in now:
                resolved.append(
                    {
                        "device": dev.name,
                        "site": dev.site,
                        "site_name": dev.site_name,
                        "setting": was.get("setting"),
                        "vendor_key": was.get("vendor_key", ""),
                        "kind": was.get("kind"),
                        "expected": was.get("expected"),
                        "actual": was.get("actual"),
                        "first_seen": was.get("first_seen"),
                        "devices": list(was.get("devices") or []),
                        "resolved": today,
                    }
                )
    run.resolved = resolved


def _state_finding(f: Finding) -> dict[str, Any]:
    d = f.to_dict()
    d.pop("new")  # changes from run to run by nature: not history
    return d


def _state(run: CheckRun, prev: Mapping[str, Any] | None) -> dict[str, Any]:
    old: Mapping[str, Any] = (prev or {}).get("devices") or {}
    devices: dict[str, Any] = {}
    if run.limit is not None:  # devices outside the limit stay as they were
        devices.update({k: v for k, v in old.items()})
    for dev in run.devices:
        entry: dict[str, Any] = {
            "site": dev.site,
            "family": dev.family,
            "role": dev.role,
            "status": dev.status,
            "error": dev.error,
        }
        if dev.reached:
            entry["findings"] = sorted(
                (_state_finding(f) for f in dev.findings),
                key=lambda d: (d["setting"], d["kind"], d["vendor_key"], d["devices"]),
            )
        else:
            last = old.get(dev.name) or {}
            entry["findings"] = list(last.get("findings") or [])
            if entry["findings"]:
                entry["stale"] = True
        devices[dev.name] = entry
    return {"format": FORMAT, "devices": dict(sorted(devices.items()))}


# --- the commit -------------------------------------------------------------------------


def _describe(f: Mapping[str, Any], device: str) -> str:
    return f"{device} {f.get('setting')} {f.get('kind')}"


def _message(run: CheckRun, changed_devices: list[str]) -> str:
    s = run.summary()
    counts = ", ".join(f"{n} {status}" for status, n in s.items() if n)
    stamp = run.started[:16].replace("T", " ")
    new = run.new_findings()
    quiet = not changed_devices and not new and not run.resolved and not run.status_changes()
    subject = f"check {stamp}: {counts or 'no devices'}" + ("; no change" if quiet else "")
    body = [
        f"Inventory: {run.inventory}",
        f"Limit: {run.limit or '(every device)'}",
        f"Started: {run.started}",
        f"Finished: {run.finished}",
        f"Devices: {len(run.devices)}",
    ]
    if new:
        body.append(f"New findings: {len(new)}")
        body += [f"  {_describe(f.to_dict(), d.name)}" for d, f in new]
    if run.resolved:
        body.append(f"Resolved: {len(run.resolved)}")
        body += [f"  {_describe(r, str(r['device']))}" for r in run.resolved]
    changes = run.status_changes()
    if changes:
        body.append(f"Status changes: {len(changes)}")
        body += [f"  {name}: {old or '(new device)'} -> {now}" for name, old, now in changes]
    if changed_devices:
        body.append(f"Configuration changed: {', '.join(changed_devices)}")
    else:
        body.append("Configuration changed: none")
    return subject + "\n\n" + "\n".join(body) + "\n"


def record(repo_path: str | os.PathLike[str], run: CheckRun) -> str:
    """Compare ``run`` with the history at ``repo_path`` (setting ``first_seen``, ``new``,
    ``resolved`` and ``previous_status`` on it), then commit its configurations and
    findings there; returns the commit's SHA.  The repository is created when missing."""
    repo = Path(repo_path)
    _ensure_repo(repo)
    with _locked(repo):
        prev = previous(repo)
        annotate(run, prev)
        state = _state(run, prev)
        devdir = repo / DEVICES_DIR
        devdir.mkdir(exist_ok=True)
        written: set[str] = set()
        for dev in run.devices:
            rel = device_file(dev)
            text = render_config(dev)
            if rel is None or text is None:
                continue  # not read: the last configuration stays
            for other in (".txt", ".json"):
                stale = devdir / f"{_safe_name(dev.name)}{other}"
                if stale != repo / rel and stale.exists():
                    stale.unlink()  # the device changed family
            (repo / rel).write_text(text, encoding="utf-8")
            written.add(rel)
        if run.limit is None:
            keep = {_safe_name(d.name) for d in run.devices}
            for path in devdir.iterdir():
                if path.is_file() and path.stem not in keep:
                    path.unlink()  # no longer in the inventory
        (repo / FINDINGS_FILE).write_text(
            json.dumps(state, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
            encoding="utf-8",
        )
        _git(repo, "add", "-A")
        changed = _git(repo, "diff", "--cached", "--name-only", "--", DEVICES_DIR).split()
        changed_devices = sorted(Path(p).stem for p in changed)
        _git(
            repo,
            "commit",
            "-q",
            "--allow-empty",
            "--no-verify",
            "-F",
            "-",
            run=run,
            stdin=_message(run, changed_devices),
        )
        return _git(repo, "rev-parse", "HEAD").strip()
