"""The morning mail of the drift check (``--mail-to ADDR``).

:func:`build` makes a ``multipart/alternative`` message: the plain-text summary
(:func:`vcprov.report.text_summary`) and the self-contained HTML report.  :func:`send`
delivers it with :mod:`smtplib` to the relay named by ``VCPROV_SMTP`` (``host:port``,
default ``localhost:25``; an IPv6 host in brackets, ``[::1]:25``), without
authentication: the network's own relay.  The sender is ``VCPROV_MAIL_FROM`` or
``vcprov@<this host's name>``.

Quiet when nothing changed: :func:`should_mail` is False when the run has no new
finding, nothing resolved and no device whose status changed; the check mails only then
unless forced.
"""

from __future__ import annotations

import os
import smtplib
import socket
from collections.abc import Iterable, Mapping
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from . import report
from .findings import CheckRun

__all__ = ["DEFAULT_SMTP", "MailError", "build", "send", "should_mail", "smtp_address"]

DEFAULT_SMTP = "localhost:25"


class MailError(Exception):
    """The mail could not be built or sent (says which relay and why)."""


def smtp_address(value: str | None = None) -> tuple[str, int]:
    """``(host, port)`` from ``value`` or ``$VCPROV_SMTP`` (``host:port``, ``host``,
    ``[v6]:port``), default ``localhost:25``."""
    text = (value if value is not None else os.environ.get("VCPROV_SMTP", "")).strip()
    text = text or DEFAULT_SMTP
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep:
            raise MailError(f"VCPROV_SMTP={text!r}: missing ] after the IPv6 address")
        port_text = rest.removeprefix(":") if rest else "25"
        if rest and not rest.startswith(":"):
            raise MailError(f"VCPROV_SMTP={text!r}: expected [host]:port")
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    elif ":" not in text:
        host, port_text = text, "25"
    else:
        raise MailError(f"VCPROV_SMTP={text!r}: put an IPv6 address in brackets, [::1]:25")
    if not host:
        raise MailError(f"VCPROV_SMTP={text!r}: no host")
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise MailError(f"VCPROV_SMTP={text!r}: the port must be a number 1-65535")
    return host, int(port_text)


def _recipients(to: str | Iterable[str]) -> list[str]:
    items = [to] if isinstance(to, str) else list(to)
    out = [a.strip() for item in items for a in item.split(",") if a.strip()]
    if not out:
        raise MailError("no recipient")
    return out


def build(
    run: CheckRun,
    to: str | Iterable[str],
    *,
    sender: str | None = None,
    html: str | None = None,
) -> EmailMessage:
    """The report as an email: text summary + HTML report (``html`` when already
    rendered)."""
    msg = EmailMessage()
    sender = sender or os.environ.get("VCPROV_MAIL_FROM") or f"vcprov@{socket.getfqdn()}"
    msg["Subject"] = report.subject(run)
    msg["From"] = sender
    msg["To"] = ", ".join(_recipients(to))
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid("vcprov-check")
    msg["Auto-Submitted"] = "auto-generated"
    # quoted-printable: 7-bit clean, so a relay without 8BITMIME passes it unchanged
    msg.set_content(
        report.text_summary(run), subtype="plain", charset="utf-8", cte="quoted-printable"
    )
    msg.add_alternative(
        html if html is not None else report.render_html(run),
        subtype="html",
        charset="utf-8",
        cte="quoted-printable",
    )
    return msg


def send(
    run: CheckRun,
    to: str | Iterable[str],
    *,
    sender: str | None = None,
    smtp: str | None = None,
    timeout: float = 30.0,
    html: str | None = None,
) -> EmailMessage:
    """Build and send the mail to ``to`` (an address, a comma-separated list or a list)
    through ``smtp`` (default ``$VCPROV_SMTP``); returns the message sent."""
    msg = build(run, to, sender=sender, html=html)
    host, port = smtp_address(smtp)
    try:
        with smtplib.SMTP(host, port, timeout=timeout) as relay:
            relay.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"cannot send the report through {host}:{port}: {exc}") from exc
    return msg


def should_mail(run: CheckRun, previous: Mapping[str, str] | CheckRun | None = None) -> bool:
    """True when the run is worth a mail: a new finding, a resolved one, or a device whose
    status changed since ``previous`` (device -> status, or the previous run; None: the
    ``previous_status`` that :func:`vcprov.history.record` set on the run).  With no
    previous run at all, True."""
    if previous is None:
        previous = run.previous_status
    if previous is None:
        return True
    before = (
        {d.name: d.status for d in previous.devices}
        if isinstance(previous, CheckRun)
        else dict(previous)
    )
    if run.new_findings() or run.resolved:
        return True
    return any(before.get(d.name) != d.status for d in run.devices)
