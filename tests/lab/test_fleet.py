"""The fleet lab.json describes: the contract other tools read."""

from __future__ import annotations

from collections import Counter

import pytest

from vcprov.lab import catalog, fleet

CONTRACT_FIELDS = {
    "name",
    "site",
    "role",
    "family",
    "model",
    "host",
    "port",
    "username",
    "password",
    "version",
    "factory_username",
    "factory_password",
}


def test_default_fleet_is_the_31_sites_with_one_codec_and_one_switch_each() -> None:
    rows = fleet.build_fleet(31)
    assert len(rows) == 62
    sites = Counter(r["site"] for r in rows)
    assert len(sites) == 31 and set(sites.values()) == {2}
    assert "so-tttt" in sites and "ubnd-tinh" in sites
    names = {r["site"]: r["site_name"] for r in rows}
    assert names["so-tttt"] == "Sở Thông tin và Truyền thông Thanh Hóa"


def test_mix_is_mostly_group_series_and_catalyst_ios() -> None:
    fams = Counter(r["family"] for r in fleet.build_fleet(31))
    assert fams["poly-group-series"] == 21 and fams["poly-os"] == 5 and fams["cisco-roomos"] == 5
    assert fams["cisco-ios"] == 21 and fams["cisco-iosxe"] == 5 and fams["huawei-vrp"] == 5


def test_every_row_has_the_contract_fields_and_endpoints_name_their_switch() -> None:
    rows = fleet.build_fleet(31)
    by_name = {r["name"]: r for r in rows}
    for row in rows:
        assert row.keys() >= CONTRACT_FIELDS, row["name"]
        assert row["role"] in ("endpoint", "switch")
        if row["role"] == "endpoint":
            assert by_name[row["switch"]]["role"] == "switch"
            assert row["switch_port"] == by_name[row["switch"]]["codec_port"]


def test_addresses_are_unique_loopback_and_passwords_random_per_device() -> None:
    rows = fleet.build_fleet(31)
    addrs = [(r["host"], r["port"]) for r in rows]
    assert len(set(addrs)) == len(addrs)
    assert all(r["host"].startswith("127.31.") for r in rows)
    passwords = [r["password"] for r in rows]
    assert len(set(passwords)) == len(passwords)
    assert all(len(p) >= 12 for p in passwords)


def test_seed_makes_the_fleet_deterministic() -> None:
    assert fleet.build_fleet(31, seed=7) == fleet.build_fleet(31, seed=7)
    assert fleet.build_fleet(31, seed=7) != fleet.build_fleet(31, seed=8)


def test_about_a_quarter_deviate_and_everything_runs_the_target() -> None:
    rows = fleet.build_fleet(1000)
    share = sum(r["deviate"] for r in rows) / len(rows)
    assert 0.2 < share < 0.3
    assert all(r["version"] == catalog.target_version(r["family"]) for r in rows)


def test_factory_fleet_runs_older_firmware_with_factory_credentials() -> None:
    rows = fleet.build_fleet(31, factory=True)
    for row in rows:
        assert not row["deviate"]
        if row["role"] == "endpoint":
            assert row["version"] == catalog.factory_version(row["family"])
            assert row["version"] != catalog.target_version(row["family"])


def test_synthetic_sites_beyond_31_and_limits() -> None:
    rows = fleet.build_fleet(2000)
    assert len(rows) == 4000
    assert rows[-1]["site"] == "xa-2000"
    assert len({r["host"] for r in rows}) == 4000
    with pytest.raises(ValueError, match="--sites"):
        fleet.build_fleet(2001)


def test_four_sites_cover_every_family() -> None:
    fams = {r["family"] for r in fleet.build_fleet(4)}
    assert fams == set(catalog.FAMILIES)
