"""The reports of a check run: JSON (``--json``), HTML (``--html``), JUnit XML
(``--junit``) and a plain-text summary (the mail's text part, the terminal).

- JSON: ``{"run": {...}, "summary": {...}, "devices": [...], "waivers": [...]}``, every
  device once; the schema is ``docs/check-report.schema.json``.
- HTML: one self-contained page (inline CSS, no script, no external asset): counts per
  status, then the sites, worst first, each with its Vietnamese name, its devices coloured
  by status (``<tr class="device" data-status="...">``) and their findings (setting, vendor
  key, expected, actual, first seen, waiver), what was resolved since the last run and
  the waivers.
- JUnit: one testcase per device (classname = site, name = device); a failure for a
  drifted, unreachable or error device (the findings or the error as text), skipped for
  a waived one.

Secret settings show as ``<secret>`` everywhere (the :class:`~vcprov.findings.Finding`
never holds their value).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2

from .findings import PROBLEM_STATUSES, STATUSES, CheckRun, DeviceResult, Finding, sites

__all__ = [
    "fmt",
    "render_html",
    "render_junit",
    "subject",
    "text_summary",
    "to_json",
    "write_html",
    "write_json",
    "write_junit",
]

# worst first: the order of sites and devices on the page
SEVERITY = {"error": 0, "unreachable": 1, "drifted": 2, "waived": 3, "compliant": 4}
KIND_TEXT = {
    "drifted": "differs",
    "missing": "missing",
    "extra": "not allowed",
}
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


# --- JSON --------------------------------------------------------------------------


def to_json(run: CheckRun) -> dict[str, Any]:
    """The ``--json`` document of ``run``."""
    return {
        "run": {
            "started": run.started,
            "finished": run.finished,
            "inventory": run.inventory,
            "limit": run.limit,
            "resolved": [dict(r) for r in run.resolved],
        },
        "summary": run.summary(),
        "devices": [d.to_dict() for d in run.devices],
        "waivers": [dict(w) for w in run.waivers],
    }


def write_json(run: CheckRun, path: str | os.PathLike[str]) -> None:
    _write(path, json.dumps(to_json(run), ensure_ascii=False, indent=1) + "\n")


def _write(path: str | os.PathLike[str], text: str) -> None:
    """Write through a temporary file, so that a reader never sees half a report."""
    p = Path(path)
    tmp = p.with_name(f".{p.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(p)


# --- values as people read them ----------------------------------------------------


def fmt(value: Any) -> str:
    """A finding's value for people: booleans as true/false, lists comma-separated,
    nothing as ``(absent)``."""
    if value is None:
        return "(absent)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ", ".join(fmt(v) for v in value) if value else "(empty)"
    if isinstance(value, Mapping):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if value == "":
        return "(empty)"
    return str(value)


def _age(first_seen: str | None, today: str) -> int | None:
    try:
        first = dt.date.fromisoformat((first_seen or "")[:10])
        return (dt.date.fromisoformat(today[:10]) - first).days
    except ValueError:
        return None


def _waiver_text(w: Mapping[str, Any] | None) -> str:
    if not w:
        return ""
    if w.get("expired"):
        return (
            f"waiver EXPIRED {w.get('expires')} ({w.get('owner')}: {w.get('reason')}); drift again"
        )
    return f"waived until {w.get('expires')} by {w.get('owner')}: {w.get('reason')}"


def _finding_line(f: Finding, today: str) -> str:
    since = f.first_seen[:10] if f.first_seen else "?"
    age = _age(f.first_seen, today)
    tag = "new" if f.new else f"since {since}" + (f", {age} d" if age else "")
    line = (
        f"{f.kind:<7} {f.setting} ({f.vendor_key}): expected {fmt(f.expected)}, "
        f"found {fmt(f.actual)} [{tag}]"
    )
    if f.devices:
        line += f" (devices: {', '.join(f.devices)})"
    if f.waiver:
        line += f" -- {_waiver_text(f.waiver)}"
    return line


def _date_of(run: CheckRun) -> str:
    try:
        return run.date
    except ValueError:
        return dt.date.today().isoformat()


# --- text --------------------------------------------------------------------------


def subject(run: CheckRun) -> str:
    """One line: the mail subject."""
    s = run.summary()
    problems = ", ".join(f"{s[k]} {k}" for k in PROBLEM_STATUSES if s[k])
    head = f"vcprov check {run.started[:16].replace('T', ' ')}: "
    head += problems or f"all {len(run.devices)} devices compliant"
    if s["waived"]:
        head += f", {s['waived']} waived"
    extra = []
    if new := len(run.new_findings()):
        extra.append(f"{new} new")
    if run.resolved:
        extra.append(f"{len(run.resolved)} resolved")
    return head + (f" ({', '.join(extra)})" if extra else "")


def text_summary(run: CheckRun) -> str:
    """The run as plain text: counts, then every device that is not compliant with its
    findings, what was resolved, status changes and expired waivers."""
    today = _date_of(run)
    s = run.summary()
    out = [
        f"vcprov check of {run.inventory}" + (f" (limit {run.limit})" if run.limit else ""),
        f"started {run.started}, finished {run.finished}",
        "",
        f"{len(run.devices)} devices: " + ", ".join(f"{s[k]} {k}" for k in STATUSES),
        f"{len(run.new_findings())} new findings, {len(run.resolved)} resolved since the last run",
    ]
    bad = sorted(
        (d for d in run.devices if d.status != "compliant"),
        key=lambda d: (SEVERITY[d.status], d.site, d.name),
    )
    if bad:
        out += ["", "Devices not compliant:"]
        for dev in bad:
            out.append(f"  {dev.name} [{dev.status}] {dev.site_name} ({dev.site})")
            if dev.error:
                out.append(f"      {dev.error}")
            out += [f"      {_finding_line(f, today)}" for f in dev.findings]
    if run.resolved:
        out += ["", "Resolved since the last run:"]
        out += [
            f"  {r['device']}: {r['kind']} {r['setting']} ({r.get('vendor_key', '')}), "
            f"first seen {r.get('first_seen') or '?'}"
            for r in run.resolved
        ]
    changes = run.status_changes()
    if changes:
        out += ["", "Status changes:"]
        out += [f"  {n}: {old or '(new device)'} -> {now}" for n, old, now in changes]
    expired = [w for w in run.waivers if w.get("expired")]
    if expired:
        out += ["", "Expired waivers (no longer waive):"]
        out += [
            f"  {w['device']} {w['setting']}: expired {w['expires']} ({w['owner']}: {w['reason']})"
            for w in expired
        ]
    return "\n".join(out) + "\n"


# --- HTML --------------------------------------------------------------------------


def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("vcprov", "templates/report"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["fmt"] = fmt
    return env


def _site_view(site: str, name: str, devices: list[DeviceResult]) -> dict[str, Any]:
    worst = min((d.status for d in devices), key=SEVERITY.__getitem__)
    return {
        "site": site,
        "name": name or site,
        "status": worst,
        "devices": devices,
    }


def render_html(run: CheckRun) -> str:
    """The self-contained HTML page of ``run``."""
    today = _date_of(run)
    groups = [_site_view(*g) for g in sites(run.devices)]
    groups.sort(key=lambda g: SEVERITY[g["status"]])  # stable: inventory order within
    return (
        _env()
        .get_template("report.html.j2")
        .render(
            run=run,
            summary=run.summary(),
            statuses=STATUSES,
            sites=groups,
            new=run.new_findings(),
            changes=run.status_changes(),
            today=today,
            age=lambda f: _age(f.first_seen, today),
            kind_text=KIND_TEXT,
            title=subject(run),
        )
    )


def write_html(run: CheckRun, path: str | os.PathLike[str]) -> None:
    _write(path, render_html(run))


# --- JUnit -------------------------------------------------------------------------


def _xml(text: str) -> str:
    return _XML_INVALID.sub("\ufffd", text)


def render_junit(run: CheckRun) -> str:
    """JUnit XML: one testcase per device."""
    today = _date_of(run)
    s = run.summary()
    failures = s["drifted"] + s["unreachable"] + s["error"]
    attrs = {
        "tests": str(len(run.devices)),
        "failures": str(failures),
        "errors": "0",
        "skipped": str(s["waived"]),
        "time": "0",
    }
    root = ET.Element("testsuites", {"name": "vcprov check", **attrs})
    suite = ET.SubElement(
        root,
        "testsuite",
        {"name": f"vcprov check {run.inventory}", "timestamp": run.started, **attrs},
    )
    props = ET.SubElement(suite, "properties")
    for name, value in (
        ("inventory", run.inventory),
        ("limit", run.limit or ""),
        ("started", run.started),
        ("finished", run.finished),
    ):
        ET.SubElement(props, "property", {"name": name, "value": _xml(value)})
    for dev in run.devices:
        case = ET.SubElement(
            suite, "testcase", {"classname": _xml(dev.site), "name": _xml(dev.name), "time": "0"}
        )
        if dev.status in ("unreachable", "error"):
            fail = ET.SubElement(
                case, "failure", {"type": dev.status, "message": _xml(f"{dev.status}: {dev.error}")}
            )
            fail.text = _xml(f"{dev.name} ({dev.site_name}): {dev.status}\n{dev.error}\n")
        elif dev.status == "drifted":
            unwaived = [f for f in dev.findings if not f.waived]
            fail = ET.SubElement(
                case,
                "failure",
                {
                    "type": "drifted",
                    "message": _xml(
                        f"{len(unwaived)} finding(s): "
                        + ", ".join(f"{f.setting} {f.kind}" for f in unwaived)
                    ),
                },
            )
            fail.text = _xml("\n".join(_finding_line(f, today) for f in dev.findings) + "\n")
        elif dev.status == "waived":
            ET.SubElement(
                case,
                "skipped",
                {
                    "message": _xml(
                        "waived: "
                        + "; ".join(f"{f.setting} {_waiver_text(f.waiver)}" for f in dev.findings)
                    )
                },
            )
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(run: CheckRun, path: str | os.PathLike[str]) -> None:
    _write(path, render_junit(run))
