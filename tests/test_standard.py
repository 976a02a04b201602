"""The province standard: layering with provenance, secrets, validation errors, inventory."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from vcprov import standard
from vcprov.lab import fleet, province
from vcprov.lab.base import Hub
from vcprov.standard import InvalidStandard, StandardError

ROOT = Path(__file__).resolve().parent.parent
THANHHOA = ROOT / "inventory" / "thanhhoa"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SMALL = FIXTURES / "inventory-small"
PASSWORD = FIXTURES / "vault-password.txt"
SECRETS = ("fixture-community-Zq8", "site-a-community-Kp3", "fixture-endpoint-pw")


@pytest.fixture(autouse=True)
def _no_ambient_vault(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANSIBLE_VAULT_PASSWORD_FILE", raising=False)


@pytest.fixture
def small() -> standard.Inventory:
    return standard.load(str(SMALL), str(PASSWORD))


@pytest.fixture
def copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the small inventory to break; paths in errors are relative to tmp_path."""
    target = tmp_path / "inv"
    shutil.copytree(SMALL, target)
    monkeypatch.chdir(tmp_path)
    return target


def edit(path: Path, change: Any) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def errors_of(inv_dir: Path) -> list[str]:
    return [str(e) for e in standard.validate(standard.load(str(inv_dir), str(PASSWORD)))]


# --- layering and provenance --------------------------------------------------------


def test_province_value_comes_from_group_vars_all(small: standard.Inventory) -> None:
    std = standard.effective(small, "a-codec")
    v = std["qos.dscp.audio"]
    assert v.value == 46
    assert v.file.endswith("inventory-small/group_vars/all/standard.yml")
    assert v.key == "qos.dscp.audio"
    assert std["call.max_rate_in_kbps"].value == 2048  # a-codec is no district


def test_group_override_beats_province(small: standard.Inventory) -> None:
    v = standard.effective(small, "b-codec")["call.max_rate_in_kbps"]
    assert (v.value, Path(v.file).name, v.key) == (1024, "districts.yml", "call.max_rate_in_kbps")


def test_deeper_group_beats_shallower(small: standard.Inventory) -> None:
    # districts (depth 1) and cisco_roomos (depth 2, under endpoints) both set it.
    v = standard.effective(small, "b-codec")["firmware.target"]
    assert (v.value, Path(v.file).name) == ("ce11.14.4.0.b7ab7ab3b9f", "cisco_roomos.yml")


def test_host_override_beats_group(small: standard.Inventory) -> None:
    std = standard.effective(small, "b-codec")
    v = std["call.max_rate_out_kbps"]
    assert (v.value, Path(v.file).parent.name, Path(v.file).name) == (
        1536,
        "host_vars",
        "b-codec.yml",
    )
    # the rest of vc_standard still comes from the lower layers (merged per setting)
    assert Path(std["call.encryption"].file).name == "standard.yml"


def test_derived_site_values_name_their_source(small: standard.Inventory) -> None:
    std = standard.effective(small, "a-codec")
    assert std["identity.system_name"].value == "Điểm cầu A"
    assert std["identity.system_name"].key == "vc_site_name"
    assert std["sip.user"].value == "a"
    sw = standard.effective(small, "a-sw")
    assert sw["port.description"].value == "VC codec a-codec G7500"
    assert sw["port.vlan"].value == 120
    assert "call.max_rate_in_kbps" not in sw  # endpoint settings do not reach a switch
    assert "port.vlan" not in standard.effective(small, "a-codec")


def test_unsupported_settings_are_declared_with_a_reason(small: standard.Inventory) -> None:
    std = standard.effective(small, "a-codec")  # Poly OS
    assert "qos.dscp.signalling" not in std
    assert "signalling" in std.unsupported["qos.dscp.signalling"].reason
    assert standard.effective(small, "b-codec").unsupported.keys() >= {"snmp.trap_target"}


def test_group_priority_orders_groups_of_equal_depth(copy: Path) -> None:
    (copy / "group_vars" / "province_offices.yml").write_text(
        "vc_standard: {call.max_rate_in_kbps: 512}\n"
    )
    (copy / "group_vars" / "hub.yml").write_text("vc_standard: {call.max_rate_in_kbps: 768}\n")
    edit(
        copy / "hosts.yml",
        lambda d: d["all"]["children"].update(
            hub={"hosts": {"a-codec": None}, "vars": {"ansible_group_priority": 10}}
        ),
    )
    v = standard.effective(standard.load(str(copy), str(PASSWORD)), "a-codec")
    # same depth: 'hub' < 'province_offices' by name, but priority 10 puts hub last
    assert (v["call.max_rate_in_kbps"].value, Path(v["call.max_rate_in_kbps"].file).name) == (
        768,
        "hub.yml",
    )


# --- secrets and the vault ----------------------------------------------------------


def test_vault_file_and_inline_vault_decrypt(small: standard.Inventory) -> None:
    b = standard.effective(small, "b-codec")["snmp.community"]
    assert (b.value, b.secret, b.ref) == ("fixture-community-Zq8", True, "vault_snmp_community")
    assert b.ref_file is not None and b.ref_file.endswith("group_vars/all/vault.yml")
    a = standard.effective(small, "a-codec")["snmp.community"]
    assert a.value == "site-a-community-Kp3"  # inline !vault in host_vars/a-codec.yml
    assert small.hosts["b-codec"].resolve("vc_password") == "fixture-endpoint-pw"


def test_secrets_never_in_show_output(small: standard.Inventory) -> None:
    for host in small.hosts:
        text = standard.show(small, host)
        for secret in SECRETS:
            assert secret not in text
    text = standard.show(small, "a-codec")
    assert "<vaulted: vault_snmp_community>" in text
    assert "setting" in text and "from file:key" in text
    assert "Kp3" not in repr(standard.effective(small, "a-codec")["snmp.community"])


def test_main_show_prints_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["b-sw", "-i", str(SMALL), "--vault-password-file", str(PASSWORD)]
    assert standard.main_show(argv) == 0
    out = capsys.readouterr().out
    assert "port.vlan" in out and "huawei_vrp.yml:firmware.target" in out


def test_without_password_the_vault_stays_locked(capsys: pytest.CaptureFixture[str]) -> None:
    inv = standard.load(str(SMALL))
    assert inv.vault_locked
    assert standard.validate(inv) == []
    v = standard.effective(inv, "b-codec")["snmp.community"]
    assert v.value is None and v.shown() == "<vaulted: vault_snmp_community>"


def test_wrong_vault_password_is_a_named_error(tmp_path: Path) -> None:
    wrong = tmp_path / "wrong"
    wrong.write_text("not the password\n")
    errors = [str(e) for e in standard.validate(standard.load(str(SMALL), str(wrong)))]
    assert any("group_vars/all/vault.yml" in e and "cannot decrypt" in e for e in errors)


def test_secret_as_a_literal_is_refused(copy: Path) -> None:
    edit(
        copy / "host_vars" / "b-codec.yml",
        lambda d: d["vc_standard"].update({"snmp.community": "public"}),
    )
    errors = errors_of(copy)
    assert any(
        e.startswith("inv/host_vars/b-codec.yml: host b-codec: key snmp.community: is a secret")
        for e in errors
    )
    assert not any("public" in e for e in errors)


def test_secret_in_a_plain_file_is_refused(copy: Path) -> None:
    (copy / "host_vars" / "b-codec").mkdir()
    (copy / "host_vars" / "b-codec" / "plain.yml").write_text("vault_snmp_community: oops123\n")
    errors = errors_of(copy)
    assert any(
        "inv/host_vars/b-codec/plain.yml: host b-codec: key vault_snmp_community:" in e
        and "not vault-encrypted" in e
        for e in errors
    )
    assert not any("oops123" in e for e in errors)


# --- invalid input: every error names file, host and key ----------------------------


def test_dscp_out_of_range(copy: Path) -> None:
    (copy / "group_vars" / "districts.yml").write_text("vc_standard: {qos.dscp.audio: 70}\n")
    assert errors_of(copy) == [
        "inv/group_vars/districts.yml: host b-codec: key qos.dscp.audio: 70 is outside 0-63"
        " (and 1 other host)"
    ]


def test_unknown_setting_name(copy: Path) -> None:
    edit(
        copy / "host_vars" / "b-codec.yml",
        lambda d: d["vc_standard"].update({"qos.dscp.vidoe": 34}),
    )
    assert errors_of(copy) == [
        "inv/host_vars/b-codec.yml: host b-codec: key qos.dscp.vidoe: unknown setting"
    ]


def test_wrong_type(copy: Path) -> None:
    edit(
        copy / "host_vars" / "b-codec.yml",
        lambda d: d["vc_standard"].update({"call.auto_answer": "yes please", "port.vlan": 120}),
    )
    errors = errors_of(copy)
    assert (
        "inv/host_vars/b-codec.yml: host b-codec: key call.auto_answer: "
        "'yes please' is not a boolean (true/false)"
    ) in errors
    assert (
        "inv/host_vars/b-codec.yml: host b-codec: key port.vlan: does not apply to a endpoint"
        in (errors)
    )


def test_rate_out_of_range(copy: Path) -> None:
    edit(
        copy / "host_vars" / "b-codec.yml",
        lambda d: d["vc_standard"].update({"call.max_rate_out_kbps": 8192}),
    )
    assert errors_of(copy) == [
        "inv/host_vars/b-codec.yml: host b-codec: key call.max_rate_out_kbps: "
        "8192 is outside 64-6144"
    ]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda h: h.pop("vc_switch_port"),
            "inv/hosts.yml: host a-codec: key vc_switch_port: missing",
        ),
        (lambda h: h.pop("vc_switch"), "inv/hosts.yml: host a-codec: key vc_switch: missing"),
        (
            lambda h: h.update(vc_switch="b-codec"),
            "inv/hosts.yml: host a-codec: key vc_switch: b-codec is not a switch",
        ),
        (
            lambda h: h.update(vc_switch="nowhere-sw"),
            "inv/hosts.yml: host a-codec: key vc_switch: 'nowhere-sw' is not a host",
        ),
        (
            lambda h: h.update(vc_switch_port="GigabitEthernet1/0/7"),
            "inv/hosts.yml: host a-codec: key vc_switch_port: GigabitEthernet1/0/7 but a-sw has",
        ),
    ],
)
def test_codec_without_its_switch_port(copy: Path, change: Any, expected: str) -> None:
    edit(
        copy / "hosts.yml",
        lambda d: change(
            d["all"]["children"]["endpoints"]["children"]["poly_os"]["hosts"]["a-codec"]
        ),
    )
    errors = errors_of(copy)
    assert any(e.startswith(expected) for e in errors), errors


def test_missing_setting_and_bad_unsupported_declaration(copy: Path) -> None:
    edit(copy / "group_vars" / "all" / "standard.yml", lambda d: d["vc_standard"].pop("time.zone"))
    edit(
        copy / "group_vars" / "huawei_vrp.yml",
        lambda d: d.update(vc_standard_unsupported={"port.bpdu_gard": "typo"}),
    )
    errors = errors_of(copy)
    assert any(
        e.startswith("inv/hosts.yml: host a-codec: key time.zone: is set nowhere") for e in errors
    )
    assert any(
        e.startswith("inv/group_vars/huawei_vrp.yml: host b-sw: key port.bpdu_gard: unknown")
        for e in errors
    )


def test_all_errors_are_reported_together_and_effective_refuses(copy: Path) -> None:
    (copy / "group_vars" / "districts.yml").write_text(
        "vc_standard: {qos.dscp.video: -1, call.max_rate_in_kbps: 10}\n"
    )
    inv = standard.load(str(copy), str(PASSWORD))
    assert len(standard.validate(inv)) == 2
    with pytest.raises(InvalidStandard) as exc:
        standard.effective(inv, "b-codec")
    assert len(exc.value.errors) == 2
    assert all(isinstance(e, StandardError) and e.host == "b-codec" for e in exc.value.errors)
    with pytest.raises(InvalidStandard):
        standard.show(inv, "b-codec")


def test_group_vars_for_an_unknown_group_is_an_error(copy: Path) -> None:
    (copy / "group_vars" / "distrcts.yml").write_text("vc_standard: {call.auto_answer: false}\n")
    assert "inv/group_vars/distrcts.yml: no group 'distrcts' in inv/hosts.yml" in errors_of(copy)


# --- the real inventory -------------------------------------------------------------


@pytest.fixture(scope="module")
def thanhhoa() -> standard.Inventory:
    return standard.load(str(THANHHOA))


def test_thanhhoa_has_31_sites_two_devices_each(thanhhoa: standard.Inventory) -> None:
    sites = yaml.safe_load((ROOT / "python/vcprov/data/thanhhoa-sites.yml").read_text())["sites"]
    assert len(sites) == 31
    expected = {f"{s['id']}-{r}" for s in sites for r in ("codec", "sw")}
    assert set(thanhhoa.hosts) == expected
    for s in sites:
        codec = thanhhoa.hosts[f"{s['id']}-codec"]
        assert codec.get("vc_site_name") == s["name"]
        assert codec.get("vc_switch") == f"{s['id']}-sw"


def test_thanhhoa_family_mix_is_the_labs(thanhhoa: standard.Inventory) -> None:
    sites = fleet.load_sites(31)
    for index, site in enumerate(sites):
        assert thanhhoa.hosts[f"{site['id']}-codec"].get("vc_family") == fleet.codec_family(index)
        assert thanhhoa.hosts[f"{site['id']}-sw"].get("vc_family") == fleet.switch_family(index)
    mix = Counter(h.get("vc_family") for h in thanhhoa.hosts.values())
    assert mix == {
        "poly-group-series": 21,
        "poly-os": 5,
        "cisco-roomos": 5,
        "cisco-ios": 21,
        "cisco-iosxe": 5,
        "huawei-vrp": 5,
    }


def test_thanhhoa_groups_and_rings(thanhhoa: standard.Inventory) -> None:
    offices = {"ubnd-tinh", "tinh-uy", "kkt-nghi-son", "so-tttt"}
    assert {
        h.removesuffix("-codec").removesuffix("-sw") for h in thanhhoa.members("province_offices")
    } == offices
    assert len(thanhhoa.members("districts")) == 54
    assert sorted(thanhhoa.members("hub")) == ["so-tttt-codec", "so-tttt-sw"]
    assert len(thanhhoa.members("endpoints")) == len(thanhhoa.members("switches")) == 31
    rings = ["ring_canary", "ring1", "ring2", "ring_leadership"]
    for host in thanhhoa.hosts.values():
        assert sum(r in host.groups for r in rings) == 1, host.name
    assert set(thanhhoa.members("ring_canary")) >= {"so-tttt-codec", "tho-xuan-codec"}
    assert {h.split("-codec")[0] for h in thanhhoa.members("ring_leadership") if "codec" in h} == {
        "ubnd-tinh",
        "tinh-uy",
        "kkt-nghi-son",
    }


def test_thanhhoa_is_valid_and_uses_documentation_addresses(
    thanhhoa: standard.Inventory,
) -> None:
    assert standard.validate(thanhhoa) == []
    for host in thanhhoa.hosts.values():
        assert host.get("ansible_connection") == "local"
        assert host.get("ansible_host").startswith(("192.0.2.", "198.51.100."))
    std = standard.effective(thanhhoa, "tho-xuan-codec")
    assert std["sip.registrar"].value.endswith(".example")


def test_thanhhoa_agrees_with_the_labs_standard(thanhhoa: standard.Inventory) -> None:
    codec = standard.effective(thanhhoa, "ha-trung-codec")
    assert codec["call.max_rate_in_kbps"].value == province.CALL_RATE_KBPS
    assert codec["call.max_rate_out_kbps"].value == province.CALL_RATE_KBPS
    assert codec["qos.dscp.audio"].value == province.DSCP_AUDIO
    assert codec["qos.dscp.video"].value == province.DSCP_VIDEO
    roomos = standard.effective(thanhhoa, "kkt-nghi-son-codec")
    assert roomos["qos.dscp.signalling"].value == province.DSCP_SIGNALLING
    assert codec["time.zone"].value == province.TIME_ZONE
    assert codec["mgmt.tls_min"].value == province.TLS_MIN
    assert standard.effective(thanhhoa, "ha-trung-sw")["port.vlan"].value == province.VIDEO_VLAN


def test_every_setting_has_a_known_heal_class() -> None:
    assert {s.heal for s in standard.SETTINGS.values()} <= set(standard.HEAL_CLASSES)
    assert [s.name for s in standard.SETTINGS.values() if s.secret] == ["snmp.community"]


# --- the lab over the same standard -------------------------------------------------


@pytest.mark.parametrize("sites", [31, 4, 40])
def test_lab_hosts_over_the_province_group_vars(sites: int) -> None:
    doc: dict[str, Any] = {"hub": Hub().as_dict(), "devices": fleet.build_fleet(sites)}
    inv = standard.load(str(THANHHOA), hosts=standard.lab_overrides(doc, "lab.json"))
    assert len(inv.hosts) == 2 * sites
    assert standard.validate(inv) == []
    rows = {r["name"]: r for r in doc["devices"]}
    for name in inv.hosts:
        std = standard.effective(inv, name)
        row = rows[name]
        if row["role"] == "endpoint":
            spec = province.site_values(row, doc["hub"])
            assert (
                std["sip.registrar" if row["family"] != "cisco-roomos" else "sip.proxy"].value
                == (spec["sip_registrar"])
            )
            assert std["h323.gatekeeper"].value == spec["gatekeeper"]
            assert std["time.ntp_servers"].value == spec["ntp_servers"]
            assert std["h323.e164"].value == spec["e164"]
            assert std["identity.system_name"].value == spec["system_name"]
            assert std["snmp.community"].value == row["snmp_community"]
            assert std["h323.e164"].file == "lab.json"
            assert std["call.max_rate_in_kbps"].file.endswith("group_vars/all/standard.yml")
        else:
            assert std["port.vlan"].value == row["vlan"]
        assert inv.hosts[name].resolve("vc_password") == row["password"]
        assert row["password"] not in standard.show(inv, name)
