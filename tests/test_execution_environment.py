"""The AWX execution environment (execution-environment.yml, docs/scale.md).

No container engine runs on a test host, so the image itself is not built here; what is
checked is what ansible-builder makes of the definition (its build context and
Containerfile) with the real collection tarball, and that the definition pins what vcprov
is tested with.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import yaml

from .conftest import ROOT, VENV_BIN


def pins() -> dict[str, str]:
    out = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        name, _, version = line.partition("==")
        out[name.strip().lower()] = version.strip()
    return out


def test_the_definition_pins_the_tested_ansible_core_and_runner() -> None:
    ee = yaml.safe_load((ROOT / "execution-environment.yml").read_text())
    assert ee["version"] == 3
    deps = ee["dependencies"]
    tested = pins()
    for key, package in (("ansible_core", "ansible-core"), ("ansible_runner", "ansible-runner")):
        assert deps[key]["package_pip"] == f"{package}=={tested[package]}", key


def test_ansible_builder_makes_a_context_that_installs_vcprov_and_its_collection(
    tmp_path: Path,
) -> None:
    shutil.copy(ROOT / "execution-environment.yml", tmp_path)
    files = tmp_path / "build" / "ee" / "files"
    files.mkdir(parents=True)
    subprocess.run(
        [str(VENV_BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(files),
         str(ROOT)],
        check=True, capture_output=True, cwd=ROOT,
    )  # fmt: skip
    shutil.copy(ROOT / "constraints.txt", files)
    (files / "vcprov-0.1.0-py3-none-any.whl").write_bytes(b"")  # `make ee` builds the real one
    tarball = next(files.glob("vcprov-network-*.tar.gz"))
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
    # the collection carries the plugins, roles and playbooks, and no lab state or secrets
    for wanted in ("plugins/action/vc_check_all.py", "roles/endpoint_standard/tasks/main.yml",
                   "playbooks/drift.yml", "plugins/callback/vcprov_preload.py"):  # fmt: skip
        assert wanted in names, wanted
    assert not [n for n in names if re.match(r"(\.lab|inventory/|benchmarks/|\.venv|tests/)", n)]

    done = subprocess.run(
        [str(VENV_BIN / "ansible-builder"), "create", "-f", "execution-environment.yml",
         "-c", "context"],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    containerfile = next(p for p in (tmp_path / "context").iterdir() if p.is_file())
    text = containerfile.read_text()
    tested = pins()
    assert f"ansible-core=={tested['ansible-core']}" in text
    assert f"ansible-runner=={tested['ansible-runner']}" in text
    assert "pip install --no-cache-dir -c /tmp/vcprov/constraints.txt /tmp/vcprov/vcprov-" in text
    assert "ansible-galaxy collection install /tmp/vcprov/vcprov-network-" in text
    copied = tmp_path / "context" / "_build" / "vcprov"
    assert {p.name for p in copied.iterdir()} >= {"constraints.txt", tarball.name}
