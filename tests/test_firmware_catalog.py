"""The firmware catalogue, the package server, maintenance windows and ring settings
(issue 6): the parts of a rollout that need no device."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from vcprov import firmware, firmware_catalog, firmware_cli, hosts
from vcprov.devices.base import EndpointStatus, Target
from vcprov.firmware_catalog import InvalidCatalogue
from vcprov.pkgserver import PackageError, PackageServer

from .conftest import ROOT, Lab

GS = "poly-group-series"
GS500 = "RealPresence Group 500"


def package(folder: Path, name: str, content: bytes) -> tuple[str, str]:
    path = folder / name
    path.write_bytes(content)
    return str(path), hashlib.sha512(content).hexdigest()


def catalogue_doc(folder: Path, **overrides: Any) -> dict[str, Any]:
    """A valid two-family catalogue: GS 1 -> 2 -> 3 (3 the target), RoomOS a -> b."""
    versions = []
    for i, frm in ((1, None), (2, 1), (3, 2)):
        path, sha = package(folder, f"gs-{i}.pkg", f"gs {i}".encode())
        v: dict[str, Any] = {"version": f"6.{i}", "package": path, "sha512": sha,
                             "downgrade": i != 1}  # fmt: skip
        if frm:
            v["from"] = [f"6.{frm}"]
        versions.append(v)
    versions[-1]["target"] = True
    a, sha_a = package(folder, "ce-a.pkg", b"ce a")
    b, sha_b = package(folder, "ce-b.pkg", b"ce b")
    doc = {
        "families": {
            GS: {"models": [GS500, "RealPresence Group 310"], "versions": versions},
            "cisco-roomos": {
                "models": ["Room Bar"],
                "versions": [
                    {"version": "ce11.a", "package": a, "sha512": sha_a, "downgrade": True},
                    {"version": "ce11.b", "package": b, "sha512": sha_b, "from": ["ce11.a"],
                     "target": True},
                ],
            },
        }
    }  # fmt: skip
    doc.update(overrides)
    return doc


def write(folder: Path, doc: Any) -> Path:
    path = folder / "firmware.yml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_a_valid_catalogue_reads_and_plans_step_upgrades(tmp_path: Path) -> None:
    cat = firmware_catalog.load(write(tmp_path, catalogue_doc(tmp_path)))
    assert cat.errors == []
    assert [e.version for e in cat.versions(GS, GS500)] == ["6.1", "6.2", "6.3"]
    assert cat.target(GS, "RealPresence Group 310").version == "6.3"  # type: ignore[union-attr]
    assert cat.upgrade_path(GS, GS500, "6.1", "6.3") == ["6.2", "6.3"]  # two steps
    assert cat.upgrade_path(GS, GS500, "6.3", "6.2") == ["6.2"]  # an allowed downgrade
    assert cat.upgrade_path(GS, GS500, "6.3", "6.3") == []
    with pytest.raises(ValueError, match=r"downgrade to 6\.1 is not allowed"):
        cat.upgrade_path(GS, GS500, "6.3", "6.1")
    with pytest.raises(ValueError, match=r"no step path from 5\.9"):
        cat.upgrade_path(GS, GS500, "5.9", "6.3")
    assert cat.rollback_problem(GS, GS500, "6.2") == ""
    assert "downgrade: false" in cat.rollback_problem(GS, GS500, "6.1")
    assert "not in the catalogue" in cat.rollback_problem(GS, GS500, "5.9")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["families"][GS]["versions"][2].pop("sha512"),
         "family poly-group-series: model RealPresence Group 500: version 6.3: key sha512: "
         "missing"),
        (lambda d: d["families"][GS]["versions"][2].update(sha512="abc"),
         "version 6.3: key sha512: must be 128 hexadecimal digits"),
        (lambda d: d["families"][GS]["versions"][2].update(package="/nowhere/x.pkg"),
         "version 6.3: key package: file not found: /nowhere/x.pkg"),
        (lambda d: d["families"].update({"cisco-ios": {"models": ["x"], "versions": []}}),
         "family cisco-ios: key family: unknown codec family"),
        (lambda d: d["families"][GS]["versions"][2].update({"from": ["6.1"]}),
         "model RealPresence Group 500: version 6.3: key target: the target 6.3 cannot be "
         "reached from 6.2"),
        (lambda d: d["families"][GS]["versions"][1].update(target=True),
         "model RealPresence Group 500: key target: more than one version marked target"),
        (lambda d: d["families"][GS]["versions"][2].pop("target"),
         "model RealPresence Group 500: key target: no version is marked target"),
        (lambda d: d["families"][GS]["versions"][0].update(downgrade="yes"),
         "version 6.1: key downgrade: must be true or false"),
        (lambda d: d["families"][GS]["versions"][0].update(models=["Group 999"]),
         "version 6.1: key models: model 'Group 999' is not one of the family's models"),
        (lambda d: d["families"][GS]["versions"][0].update(checksum="x"),
         "version 6.1: key checksum: unknown key"),
        (lambda d: d.update(servers={}), "key servers: unknown key"),
    ],
)  # fmt: skip
def test_every_invalid_entry_is_a_named_error(tmp_path: Path, change: Any, expected: str) -> None:
    doc = catalogue_doc(tmp_path)
    change(doc)
    path = write(tmp_path, doc)
    cat = firmware_catalog.load(path)
    texts = [str(e) for e in cat.errors]
    assert any(t.startswith(f"{path}: ") and expected in t for t in texts), texts
    with pytest.raises(InvalidCatalogue):
        cat.check()


def test_a_file_that_is_not_yaml_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "firmware.yml"
    path.write_text("families:\n  poly-os: [unclosed\n")
    errors = [str(e) for e in firmware_catalog.load(path).errors]
    assert errors and errors[0].startswith(f"{path}:") and "not valid YAML" in errors[0]


def test_the_lab_catalogue_comes_from_lab_json(lab: Lab) -> None:
    cat = firmware_catalog.for_run(str(lab.state), None, None)
    assert cat.errors == []
    for family in ("poly-group-series", "poly-os", "cisco-roomos"):
        rows = [r for r in lab.doc["firmware"] if r["family"] == family]
        for model in [m.strip() for m in rows[0]["models"].split(",")]:
            entries = cat.versions(family, model)
            assert [e.version for e in entries] == [r["version"] for r in rows]
            assert [e.target for e in entries] == [False, False, True]
            assert entries[2].from_versions == (rows[1]["version"],)
            assert all(e.downgrade and e.usable for e in entries)
            assert [e.sha512 for e in entries] == [r["sha512"] for r in rows]


def test_firmware_list_json_and_table(lab: Lab, capsys: Any) -> None:
    assert firmware_cli.main(["firmware", "list", "--lab", str(lab.state), "--json",
                              "--verify"]) == 0  # fmt: skip
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == sum(len(r["models"].split(",")) for r in lab.doc["firmware"])
    assert {"family", "model", "version", "target"} <= set(rows[0])
    assert all(r["status"] == "ok" for r in rows)
    assert firmware_cli.main(["firmware", "list", "--lab", str(lab.state)]) == 0
    assert "0 unusable" in capsys.readouterr().out


def test_the_inventory_catalogue_lists_missing_packages_instead_of_failing(capsys: Any) -> None:
    inventory = str(ROOT / "inventory" / "thanhhoa")
    rc = firmware_cli.main(["firmware", "list", "-i", inventory, "--json"])
    rows = json.loads(capsys.readouterr().out)
    assert rc == 2  # readable, but no entry usable until operators add packages and sums
    assert rows and all(r["status"] != "ok" for r in rows)
    assert all("sha512: missing" in r["status"] and "package: file not found" in r["status"]
               for r in rows)  # fmt: skip
    # the targets agree with the standard's firmware.target of each family
    for family in ("poly_group_series", "poly_os", "cisco_roomos"):
        std = yaml.safe_load((Path(inventory) / "group_vars" / f"{family}.yml").read_text())
        targets = {r["version"] for r in rows
                   if r["family"] == family.replace("_", "-") and r["target"]}  # fmt: skip
        assert targets == {std["vc_standard"]["firmware.target"]}
    assert firmware_cli.main(["firmware", "list", "-i", inventory]) == 2
    assert "UNUSABLE: package file not found, sha512 missing" in capsys.readouterr().out


# --- package server -----------------------------------------------------------------------


def test_the_package_server_offers_only_checked_packages(tmp_path: Path) -> None:
    cat = firmware_catalog.load(write(tmp_path, catalogue_doc(tmp_path)))
    good = cat.entry(GS, GS500, "6.2")
    assert good is not None
    with PackageServer("127.0.0.1") as server:
        url = server.offer(good)
        assert url.startswith(f"http://127.0.0.1:{server.port}/{good.sha512[:32]}/")
        got = httpx.get(url)
        assert got.status_code == 200 and got.content == b"gs 2"
        assert httpx.head(url).headers["content-length"] == "4"
        assert httpx.get(url.rsplit("/", 1)[0] + "/other.pkg").status_code == 404
        assert httpx.get(f"{server.base_url}/gs-2.pkg").status_code == 404
        # a package changed after the catalogue was written is never offered
        (tmp_path / "gs-3.pkg").write_bytes(b"tampered")
        bad = cat.entry(GS, GS500, "6.3")
        assert bad is not None
        with pytest.raises(PackageError, match="is not the catalogue's"):
            server.offer(bad)
        assert server.downloads == {url.removeprefix(server.base_url): 1}


def test_the_package_server_speaks_https_with_a_given_certificate(tmp_path: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "controller.example")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(1)
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cat = firmware_catalog.load(write(tmp_path, catalogue_doc(tmp_path)))
    entry = cat.entry("cisco-roomos", "Room Bar", "ce11.b")
    assert entry is not None
    server = PackageServer(
        "127.0.0.1", certfile=str(tmp_path / "cert.pem"), keyfile=str(tmp_path / "key.pem")
    )
    with server:
        url = server.offer(entry)
        assert url.startswith("https://")
        assert httpx.get(url, verify=False).content == b"ce b"


# --- windows, rings, plans, health ------------------------------------------------------


def test_maintenance_windows_cross_midnight() -> None:
    night = firmware.Window.parse("22:00-05:00")
    day = firmware.Window.parse("9-17")
    at = dt.datetime(2026, 11, 23)
    assert night.contains(at.replace(hour=23)) and night.contains(at.replace(hour=4, minute=59))
    assert not night.contains(at.replace(hour=5)) and not night.contains(at.replace(hour=12))
    assert day.contains(at.replace(hour=9)) and not day.contains(at.replace(hour=17))
    assert str(night) == "22:00-05:00"
    with pytest.raises(ValueError, match="HH:MM-HH:MM"):
        firmware.Window.parse("tonight")


def test_ring_settings_are_checked_by_key() -> None:
    ring = firmware.RingPolicy.from_vars(
        "ring1", {"vc_fw_failure_budget": "10%", "vc_fw_soak_seconds": 60, "vc_fw_parallel": 3}
    )
    assert ring.allowed(20) == 2 and ring.allowed(5) == 0 and ring.parallel == 3
    assert str(ring.window) == "22:00-05:00"  # the default window
    for key, value in (
        ("vc_fw_failure_budget", -1),
        ("vc_fw_failure_budget", "lots"),
        ("vc_fw_soak_seconds", "an hour"),
        ("vc_fw_parallel", 0),
    ):
        with pytest.raises(ValueError, match=key):
            firmware.RingPolicy.from_vars("ring1", {key: value})


def test_the_inventory_rings_have_their_settings() -> None:
    devices = hosts.load_devices(None, str(ROOT / "inventory" / "thanhhoa"))
    policies = {}
    for dev in devices:
        ring = firmware.ring_of(dev)
        assert ring is not None, dev.name  # every device is in one ring
        policies.setdefault(ring, firmware.RingPolicy.from_vars(ring, dev.vars))
    assert policies["ring_canary"].allowed(2) == 0
    assert policies["ring_leadership"].allowed(3) == 0
    assert policies["ring_canary"].soak > 0


def _device(name: str, family: str, model: str, ring: str, role: str = "endpoint") -> Any:
    target = Target(name, family, "192.0.2.1", 443, "admin", "x", model)
    return hosts.Device(name, role, family, model, name, name, [ring], target, {})


def test_plans_keep_ring_order_and_leave_switches_and_other_families_out(tmp_path: Path) -> None:
    cat = firmware_catalog.load(write(tmp_path, catalogue_doc(tmp_path)))
    devices = [
        _device("lead-codec", GS, GS500, "ring_leadership"),
        _device("hub-codec", GS, "RealPresence Group 310", "ring_canary"),
        _device("hub-sw", "cisco-iosxe", "C9200L", "ring_canary", role="switch"),
        _device("bar-codec", "cisco-roomos", "Room Bar", "ring1"),
    ]
    plan = firmware.plan_rollout(devices, cat, "target")
    assert [(r.policy.name, [(d.name, v) for d, v in r.devices]) for r in plan.rings] == [
        ("ring_canary", [("hub-codec", "6.3")]),
        ("ring1", [("bar-codec", "ce11.b")]),
        ("ring_leadership", [("lead-codec", "6.3")]),
    ]
    assert plan.out_of_scope == [
        {"name": "hub-sw", "reason": "a switch: vcprov upgrades codecs only"}
    ]
    plan = firmware.plan_rollout(devices, cat, "6.2", ring="leadership")
    assert [[d.name for d, _ in r.devices] for r in plan.rings] == [["lead-codec"]]
    plan = firmware.plan_rollout(devices, cat, "ce11.b")
    assert {o["name"] for o in plan.out_of_scope} == {"hub-sw", "lead-codec", "hub-codec"}
    with pytest.raises(ValueError, match=r"7\.0 is in no family"):
        firmware.plan_rollout(devices, cat, "7.0")
    with pytest.raises(InvalidCatalogue, match="model G7500: no entry for this model"):
        firmware.plan_rollout([_device("x-codec", "poly-os", "G7500", "ring1")], cat, "target")


def test_health_is_at_least_what_it_was() -> None:
    before = firmware.Health.of(
        EndpointStatus(True, False, False, items={"sipserver": "up", "gatekeeper": "down",
                                                   "mr.audio": "up", "inacall": "off"})
    )  # fmt: skip
    assert before.as_dict() == {"sip": True, "h323": False, "up": ["mr.audio", "sipserver"]}
    after = firmware.Health.of(
        EndpointStatus(False, True, False, items={"sipserver": "down", "mr.audio": "up"})
    )
    assert before.missing(after) == ["SIP not registered", "sipserver not up"]
    assert after.missing(before) == ["H.323 not registered"]
    assert firmware.Health.from_dict(before.as_dict()) == before
