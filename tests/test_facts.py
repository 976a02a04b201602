"""The read-only twins vc_endpoint_facts and vc_switch_facts, with plain ansible-playbook."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from vcprov import labinv

from .conftest import ROOT, VENV_BIN, Lab

PLAY = """
- name: What every device is and holds
  hosts: endpoints:switches
  gather_facts: false
  tasks:
    - name: Codec facts
      vcprov.network.vc_endpoint_facts:
        host: "{{ ansible_host }}"
        port: "{{ ansible_port | default(omit) }}"
        family: "{{ vc_family }}"
        username: "{{ vc_username }}"
        password: "{{ vc_password }}"
      when: vc_role == 'endpoint'

    - name: Switch facts
      vcprov.network.vc_switch_facts:
        host: "{{ ansible_host }}"
        port: "{{ ansible_port | default(omit) }}"
        family: "{{ vc_family }}"
        username: "{{ vc_username }}"
        password: "{{ vc_password }}"
        codec_port: "{{ vc_codec_port }}"
      when: vc_role == 'switch'

    - name: Keep them for the test
      ansible.builtin.copy:
        content: "{{ {'device': vc_device, 'settings': vc_settings,
                      'status': vc_status | default(None)} | to_json }}"
        dest: "{{ out_dir }}/{{ inventory_hostname }}.json"
        mode: "0600"
      delegate_to: localhost
"""


def test_facts_of_every_device_read_only_and_without_secrets(lab: Lab, tmp_path: Path) -> None:
    playbook = tmp_path / "facts.yml"
    playbook.write_text(PLAY)
    out = tmp_path / "facts"
    out.mkdir()
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
           "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")}  # fmt: skip
    before = lab.control.devices()
    proc = subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), "-i", str(labinv.ensure(lab.state)), str(playbook),
         "-e", f"out_dir={out}"],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert lab.control.devices() == before  # not a write, not a session left over
    secrets = {str(d["password"]) for d in lab.devices} | {
        str(d["snmp_community"]) for d in lab.devices if d.get("snmp_community")
    }
    for dev in lab.devices:
        text = (out / f"{dev['name']}.json").read_text()
        assert not [s for s in secrets if s and s in text], dev["name"]
        facts = json.loads(text)
        live = before[dev["name"]]
        assert facts["device"]["version"] == live["version"]
        assert facts["device"]["family"] == dev["family"]
        if dev["role"] == "endpoint":
            assert facts["settings"]["qos.dscp.audio"] == 46
            assert facts["settings"]["call.max_rate_in_kbps"] == 2048
            assert facts["status"]["sip_registered"] is live["sip_registered"]
            assert "snmp.community" not in facts["settings"]
        else:
            assert facts["settings"]["port.vlan"] == dev["vlan"]
            assert facts["settings"]["port.trust_dscp"] is True
    assert not [s for s in secrets if s and s in proc.stdout + proc.stderr]
