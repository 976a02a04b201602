"""The scheduling files in docs/scheduling/ are valid and use flags vcprov has."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from .conftest import ROOT, VENV_BIN

DOCS = ROOT / "docs" / "scheduling"


def check_flags() -> set[str]:
    out = subprocess.run(
        [str(VENV_BIN / "vcprov"), "check", "--help"], capture_output=True, text=True, check=True
    ).stdout
    return set(re.findall(r"--[a-z][a-z-]+", out))


@pytest.mark.parametrize("name", ["vcprov-check.service", "crontab"])
def test_the_scheduled_command_uses_real_flags(name: str) -> None:
    text = (DOCS / name).read_text(encoding="utf-8").replace("\\\n", " ")
    used = set(re.findall(r"(--[a-z][a-z-]+)", text.split("vcprov check", 1)[1]))
    assert used and used <= check_flags(), used - check_flags()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_systemd_units_verify(tmp_path: Path) -> None:
    for name in ("vcprov-check.service", "vcprov-check.timer"):
        text = (DOCS / name).read_text(encoding="utf-8")
        text = text.replace("/opt/vcprov", str(ROOT)).replace("User=vcprov", "User=root")
        (tmp_path / name).write_text(text, encoding="utf-8")
    proc = subprocess.run(
        ["systemd-analyze", "verify", str(tmp_path / "vcprov-check.timer")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr


def test_awx_job_template_runs_the_drift_playbook() -> None:
    plays = yaml.safe_load((DOCS / "awx-drift-job.yml").read_text(encoding="utf-8"))
    tasks = {next(k for k in t if k.startswith("awx.awx.")): t for t in plays[0]["tasks"]}
    job = tasks["awx.awx.job_template"]["awx.awx.job_template"]
    assert (ROOT / job["playbook"]).exists() and job["job_type"] == "check"
    assert "FREQ=DAILY" in tasks["awx.awx.schedule"]["awx.awx.schedule"]["rrule"]
