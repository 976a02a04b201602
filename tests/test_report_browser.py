"""The HTML report in a real browser (headless Chromium; ``make browser`` installs it).

Skipped only when no Chromium binary can be found at all."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest

from vcprov import report

from .test_report import sample_run

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
KNOWN_PATHS = ("/usr/lib/chromium/chromium", "/snap/bin/chromium", "/opt/google/chrome/chrome")


def find_chromium() -> str | None:
    explicit = os.environ.get("VCPROV_CHROMIUM")
    if explicit:
        return explicit
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return next((p for p in KNOWN_PATHS if os.access(p, os.X_OK)), None)


CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason=f"no Chromium binary ({', '.join(CANDIDATES)} not on PATH, VCPROV_CHROMIUM unset): "
    "run `make browser` (as root it installs Debian's chromium package)",
)


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",  # root in a container
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        f"--user-data-dir={tmp_path / 'profile'}",
        *args,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


class _Rows(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, str]] = []
        self.sites: list[str] = []
        self._in_h3 = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "tr" and "device" in a.get("class", "").split():
            self.rows.append(a)
        self._in_h3 = tag == "h3"

    def handle_endtag(self, tag: str) -> None:
        if tag == "h3":
            self._in_h3 = False

    def handle_data(self, data: str) -> None:
        if self._in_h3 and data.strip():
            self.sites.append(data.strip())
            self._in_h3 = False


def test_the_page_renders_one_row_per_device(tmp_path: Path) -> None:
    run = sample_run()
    page = tmp_path / "check.html"
    report.write_html(run, page)
    dom = chromium(tmp_path, "--dump-dom", page.as_uri()).stdout
    parsed = _Rows()
    parsed.feed(dom)
    assert len(parsed.rows) == len(run.devices)
    assert Counter(r["data-status"] for r in parsed.rows) == Counter(
        {k: v for k, v in run.summary().items() if v}
    )
    assert {r["data-device"] for r in parsed.rows} == {d.name for d in run.devices}
    # the browser decoded the page as UTF-8: the Vietnamese names come out whole
    assert parsed.sites == [
        "UBND huyện Mường Lát",
        "Văn phòng Tỉnh ủy Thanh Hóa",
        "UBND huyện Hà Trung",
        "UBND huyện Đông Sơn",
        "UBND huyện Nga Sơn",
    ]


def test_rows_are_coloured_by_status(tmp_path: Path) -> None:
    """The page has no script; a copy with one added asks the browser for each row's
    computed background colour."""
    run = sample_run()
    html = report.render_html(run)
    probe = (
        "<script>for (const tr of document.querySelectorAll('tr.device'))"
        " tr.setAttribute('data-bg', getComputedStyle(tr).backgroundColor);</script></body>"
    )
    page = tmp_path / "probe.html"
    page.write_text(html.replace("</body>", probe), encoding="utf-8")
    dom = chromium(tmp_path, "--dump-dom", page.as_uri()).stdout
    colours: dict[str, set[str]] = {}
    for status, bg in re.findall(
        r'class="device[^"]*" data-status="(\w+)"[^>]*data-bg="([^"]+)"', dom
    ):
        colours.setdefault(status, set()).add(bg)
    assert set(colours) == {"compliant", "drifted", "unreachable", "error", "waived"}
    assert all(len(c) == 1 for c in colours.values()), colours  # one colour per status
    distinct = {next(iter(c)) for c in colours.values()}
    assert len(distinct) == 5 and "rgba(0, 0, 0, 0)" not in distinct, colours


def test_a_screenshot_of_the_page(tmp_path: Path) -> None:
    run = sample_run()
    page = tmp_path / "check.html"
    report.write_html(run, page)
    shot = tmp_path / "check.png"
    chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,1600", page.as_uri())
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1280, 1600)
    assert len(data) > 50_000  # a page of text and coloured rows, not a blank image
