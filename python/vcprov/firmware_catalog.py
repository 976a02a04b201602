"""The firmware catalogue: the versions the province accepts, per codec family and model.

``firmware.yml`` in the inventory directory (``docs/firmware.md`` has the full format)::

    package_dir: /srv/vcprov/firmware       # relative package paths resolve against it
    server: {bind: 0.0.0.0, port: 8088, url: http://controller.example:8088}
    families:
      cisco-roomos:
        models: [Room Kit, Codec Plus, Room Bar]
        estimate_seconds: 230               # download + install + reboot, device time
        versions:
          - version: ce11.14.4.0.b7ab7ab3b9f
            package: cisco-roomos/ce11.14.4.0.k4.cop.sha512
            sha512: <128 hex digits>
            from: [ce11.9.2.4.0d5a0e3e6bc]  # installable from (one step)
            downgrade: true                 # may be installed over a newer version
          - version: ce11.17.3.0.81a0d1f5a64
            ...
            target: true                    # the one version a rollout goes to
            models: [Room Bar]              # optional: only these models

Every problem is a :class:`CatalogueError` naming the file, the family, model, version and
key (``firmware.yml: family poly-os: model G7500: version 4.2.1: key sha512: missing``),
collected in :class:`InvalidCatalogue`.  Structural problems (an unknown family, no target,
a target that cannot be reached from a version that can be installed) make the whole file
unusable; an entry without a checksum or whose package is not there is unusable for a
rollout, and ``vcprov firmware list`` shows it as such.

For a lab (``--lab DIR``) the catalogue is built from ``lab.json["firmware"]`` (each
family's packages, oldest first: one step each, every one may be re-installed, the newest
is the target), unless ``DIR/firmware.yml`` exists.

This module never imports the lab: ``lab.json`` is read as data.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .hosts import default_inventory, lab_doc
from .inventory import InvalidStandard, StandardError, display_path

CATALOGUE_FILE = "firmware.yml"
# Codec families vcprov can upgrade (switch firmware is not managed: docs/firmware.md).
FAMILIES = ("poly-group-series", "poly-os", "cisco-roomos")
# Download + install + reboot(s) of one install, in device seconds (before a lab's time
# scale): the plan's estimate; a device gets three times this to come back.  Poly installs
# take two reboots (the one that starts the pull, then the install's own).
ESTIMATE_SECONDS = {"poly-group-series": 320.0, "poly-os": 440.0, "cisco-roomos": 230.0}
VERSION_KEYS = ("version", "package", "sha512", "from", "downgrade", "target", "models")
FAMILY_KEYS = ("models", "versions", "estimate_seconds")
TOP_KEYS = ("package_dir", "server", "families")
SERVER_KEYS = ("bind", "port", "url")
_SHA512 = re.compile(r"^[0-9a-f]{128}$")


class CatalogueError(StandardError):
    """One problem of a catalogue: ``FILE: family F: model M: version V: key K: problem``."""

    def __init__(
        self,
        file: str,
        problem: str,
        *,
        family: str | None = None,
        model: str | None = None,
        version: str | None = None,
        key: str | None = None,
        entry_level: bool = False,
    ):
        super().__init__(file, None, key, problem)
        # entry_level: only this entry is unusable (no checksum, no package file); the
        # rest of the catalogue still reads (``vcprov firmware list`` shows it).
        self.entry_level = entry_level
        self.family = family
        self.model = model
        self.version = version
        parts = [file]
        for label, value in (("family", family), ("model", model), ("version", version)):
            if value:
                parts.append(f"{label} {value}")
        if key:
            parts.append(f"key {key}")
        parts.append(problem)
        self.args = (": ".join(parts),)

    def __str__(self) -> str:
        return str(self.args[0])


class InvalidCatalogue(InvalidStandard):
    """Every :class:`CatalogueError` of a catalogue (reported like a bad standard)."""


@dataclass(frozen=True)
class Entry:
    """One version of one family and model."""

    family: str
    model: str
    version: str
    package: Path | None
    sha512: str
    from_versions: tuple[str, ...]
    downgrade: bool
    target: bool
    problems: tuple[str, ...] = ()  # why a rollout cannot use it ("" when it can)

    @property
    def usable(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "family": self.family,
            "model": self.model,
            "version": self.version,
            "target": self.target,
            "package": str(self.package) if self.package else None,
            "sha512": self.sha512,
            "from": list(self.from_versions),
            "downgrade": self.downgrade,
            "usable": self.usable,
            "problems": list(self.problems),
        }


@dataclass
class Catalogue:
    file: str
    entries: list[Entry] = field(default_factory=list)
    errors: list[CatalogueError] = field(default_factory=list)  # structural + entry errors
    server: dict[str, Any] = field(default_factory=dict)
    estimates: dict[str, float] = field(default_factory=dict)

    # ------------------------------------------------------------------ lookups
    def versions(self, family: str, model: str) -> list[Entry]:
        return [e for e in self.entries if e.family == family and e.model == model]

    def entry(self, family: str, model: str, version: str) -> Entry | None:
        for e in self.versions(family, model):
            if e.version == version:
                return e
        return None

    def target(self, family: str, model: str) -> Entry | None:
        return next((e for e in self.versions(family, model) if e.target), None)

    def models(self, family: str) -> list[str]:
        out: list[str] = []
        for e in self.entries:
            if e.family == family and e.model not in out:
                out.append(e.model)
        return out

    def estimate(self, family: str) -> float:
        return self.estimates.get(family, ESTIMATE_SECONDS.get(family, 300.0))

    def structural_errors(self) -> list[CatalogueError]:
        return [e for e in self.errors if not e.entry_level]

    def check(self) -> None:
        """Raise :class:`InvalidCatalogue` with every error (nothing may run then)."""
        if self.errors:
            raise InvalidCatalogue(self.errors)

    # ------------------------------------------------------------------ install paths
    def _edges(self, family: str, model: str) -> dict[str, tuple[str, ...]]:
        return {e.version: e.from_versions for e in self.versions(family, model)}

    def upgrade_path(self, family: str, model: str, current: str, wanted: str) -> list[str]:
        """The versions to install in turn to go from ``current`` to ``wanted``: the
        shortest chain of one-step upgrades, or ``[wanted]`` for an allowed downgrade.
        Raises ValueError saying why there is none."""
        if current == wanted:
            return []
        edges = self._edges(family, model)
        if wanted not in edges:
            raise ValueError(f"{wanted} is not in the catalogue for {family} {model}")
        path = _shortest(edges, current, wanted)
        if path is not None:
            return path
        entry = self.entry(family, model, wanted)
        assert entry is not None
        if _shortest(edges, wanted, current) is not None:  # wanted is older than current
            if entry.downgrade:
                return [wanted]
            raise ValueError(f"a downgrade to {wanted} is not allowed (downgrade: false)")
        raise ValueError(
            f"no step path from {current} to {wanted} (no version lists {current} under from)"
        )

    def rollback_problem(self, family: str, model: str, version: str) -> str:
        """'' when a device on ``version`` can be put back on it after an upgrade, else why."""
        entry = self.entry(family, model, version)
        if entry is None:
            return f"{version} is not in the catalogue: no package to go back to"
        if not entry.downgrade:
            return f"{version} may not be re-installed over a newer version (downgrade: false)"
        if entry.problems:
            return f"the package of {version} is unusable ({'; '.join(entry.problems)})"
        return ""


def _shortest(edges: dict[str, tuple[str, ...]], start: str, goal: str) -> list[str] | None:
    """Breadth-first over "installable from" edges: the versions after ``start``."""
    frontier: list[tuple[str, list[str]]] = [(start, [])]
    seen = {start}
    while frontier:
        nxt: list[tuple[str, list[str]]] = []
        for version, path in frontier:
            for candidate, sources in edges.items():
                if version in sources and candidate not in seen:
                    if candidate == goal:
                        return [*path, candidate]
                    seen.add(candidate)
                    nxt.append((candidate, [*path, candidate]))
        frontier = nxt
    return None


# --- reading ----------------------------------------------------------------------------


def file_sha512(path: Path) -> str:
    digest = hashlib.sha512()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load(path: str | Path) -> Catalogue:
    """Read and check a ``firmware.yml``; the errors are in ``Catalogue.errors``."""
    path = Path(path)
    shown = display_path(path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        cat = Catalogue(shown)
        cat.errors.append(CatalogueError(shown, "no catalogue here (docs/firmware.md)"))
        return cat
    except yaml.YAMLError as exc:
        cat = Catalogue(shown)
        mark = getattr(exc, "problem_mark", None)
        where = f"{shown}:{mark.line + 1}" if mark is not None else shown
        cat.errors.append(CatalogueError(where, f"not valid YAML ({exc.__class__.__name__})"))
        return cat
    return parse(doc, shown, path.parent)


def parse(doc: Any, file: str, base: Path) -> Catalogue:
    cat = Catalogue(file)

    def err(problem: str, **where: Any) -> None:
        cat.errors.append(CatalogueError(file, problem, **where))

    if not isinstance(doc, dict):
        err("the file must be a mapping with a families key")
        return cat
    for key in doc:
        if key not in TOP_KEYS:
            err(f"unknown key (known: {', '.join(TOP_KEYS)})", key=str(key))
    package_dir = base
    if doc.get("package_dir") is not None:
        package_dir = base / str(doc["package_dir"])
    server = doc.get("server") or {}
    if not isinstance(server, dict):
        err("must be a mapping (bind, port, url)", key="server")
    else:
        for key in server:
            if key not in SERVER_KEYS:
                err(f"unknown key (known: {', '.join(SERVER_KEYS)})", key=f"server.{key}")
        if "port" in server and not (isinstance(server["port"], int) and server["port"] >= 0):
            err("must be a port number", key="server.port")
        cat.server = {k: v for k, v in server.items() if k in SERVER_KEYS}
    families = doc.get("families")
    if not isinstance(families, dict) or not families:
        err("missing or empty (a mapping family -> models, versions)", key="families")
        return cat
    for family, body in families.items():
        _family(cat, str(family), body, package_dir, err)
    _check_graph(cat, err)
    return cat


def _family(cat: Catalogue, family: str, body: Any, package_dir: Path, err: Any) -> None:
    if family not in FAMILIES:
        err(
            f"unknown codec family (known: {', '.join(FAMILIES)}; switch firmware is not "
            "managed by vcprov)",
            family=family,
            key="family",
        )
        return
    if not isinstance(body, dict):
        err("must be a mapping (models, versions)", family=family)
        return
    for key in body:
        if key not in FAMILY_KEYS:
            err(f"unknown key (known: {', '.join(FAMILY_KEYS)})", family=family, key=str(key))
    models = body.get("models")
    if not isinstance(models, list) or not models or not all(isinstance(m, str) for m in models):
        err("must be a non-empty list of model names", family=family, key="models")
        return
    if "estimate_seconds" in body:
        value = body["estimate_seconds"]
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            err("must be a number of seconds > 0", family=family, key="estimate_seconds")
        else:
            cat.estimates[family] = float(value)
    versions = body.get("versions")
    if not isinstance(versions, list) or not versions:
        err("must be a non-empty list of versions", family=family, key="versions")
        return
    seen: set[tuple[str, str]] = set()
    for i, item in enumerate(versions, 1):
        if not isinstance(item, dict):
            err(f"entry {i} must be a mapping", family=family, key="versions")
            continue
        version = item.get("version")
        if not isinstance(version, str | int | float) or isinstance(version, bool) or not version:
            err(f"entry {i} has no version", family=family, key="version")
            continue
        version = str(version)
        for key in item:
            if key not in VERSION_KEYS:
                err(
                    f"unknown key (known: {', '.join(VERSION_KEYS)})",
                    family=family,
                    version=version,
                    key=str(key),
                )
        only = item.get("models", models)
        if not isinstance(only, list) or not all(isinstance(m, str) for m in only):
            err("must be a list of model names", family=family, version=version, key="models")
            continue
        for model in only:
            if model not in models:
                err(
                    f"model {model!r} is not one of the family's models",
                    family=family,
                    version=version,
                    key="models",
                )
        from_versions = item.get("from", [])
        if isinstance(from_versions, str):
            from_versions = [from_versions]
        if not isinstance(from_versions, list) or not all(
            isinstance(v, str | int | float) and not isinstance(v, bool) for v in from_versions
        ):
            err("must be a list of versions", family=family, version=version, key="from")
            from_versions = []
        flags = {}
        for key in ("downgrade", "target"):
            value = item.get(key, False)
            if not isinstance(value, bool):
                err("must be true or false", family=family, version=version, key=key)
                value = False
            flags[key] = value
        package, sha, problems = _package(item, package_dir)
        for model in [m for m in only if m in models]:
            if (model, version) in seen:
                err("listed twice", family=family, model=model, version=version, key="version")
                continue
            seen.add((model, version))
            for key, problem in problems:
                cat.errors.append(_entry_error(cat.file, problem, family, model, version, key))
            cat.entries.append(
                Entry(
                    family=family,
                    model=model,
                    version=version,
                    package=package,
                    sha512=sha,
                    from_versions=tuple(str(v) for v in from_versions),
                    downgrade=flags["downgrade"],
                    target=flags["target"],
                    problems=tuple(f"{key}: {problem}" for key, problem in problems),
                )
            )


def _entry_error(
    file: str, problem: str, family: str, model: str, version: str, key: str
) -> CatalogueError:
    return CatalogueError(
        file, problem, family=family, model=model, version=version, key=key, entry_level=True
    )


def _package(
    item: dict[str, Any], package_dir: Path
) -> tuple[Path | None, str, list[tuple[str, str]]]:
    problems: list[tuple[str, str]] = []
    raw = item.get("package")
    package: Path | None = None
    if not isinstance(raw, str) or not raw.strip():
        problems.append(("package", "missing (the package file's path)"))
    else:
        package = package_dir / raw if not Path(raw).is_absolute() else Path(raw)
        if not package.is_file():
            problems.append(("package", f"file not found: {display_path(package)}"))
    sha = item.get("sha512")
    sha = "" if sha is None else str(sha).strip().lower()
    if not sha:
        problems.append(("sha512", "missing: a package without a checksum is never offered"))
    elif not _SHA512.match(sha):
        problems.append(("sha512", "must be 128 hexadecimal digits (SHA-512)"))
    return package, sha, problems


def _check_graph(cat: Catalogue, err: Any) -> None:
    """One target per family and model, reachable from every version that can be installed
    (each catalogue version and each version named under ``from``), older ones at least."""
    pairs: list[tuple[str, str]] = []
    for e in cat.entries:
        if (e.family, e.model) not in pairs:
            pairs.append((e.family, e.model))
    for family, model in pairs:
        entries = cat.versions(family, model)
        targets = [e for e in entries if e.target]
        if not targets:
            err("no version is marked target: true", family=family, model=model, key="target")
            continue
        if len(targets) > 1:
            err(
                "more than one version marked target: " + ", ".join(e.version for e in targets),
                family=family,
                model=model,
                key="target",
            )
            continue
        target = targets[0].version
        edges = {e.version: e.from_versions for e in entries}
        known: list[str] = []
        for e in entries:
            for v in (e.version, *e.from_versions):
                if v not in known:
                    known.append(v)
        for version in known:
            if version == target:
                continue
            if _shortest(edges, version, target) is not None:
                continue
            if _shortest(edges, target, version) is not None:
                continue  # newer than the target
            err(
                f"the target {target} cannot be reached from {version} (no chain of from: "
                "steps leads there)",
                family=family,
                model=model,
                version=target,
                key="target",
            )


def from_lab(doc: dict[str, Any], file: str = "lab.json") -> Catalogue:
    """The catalogue of a lab: ``lab.json["firmware"]``, each family's packages oldest
    first, each installable from the one before, every one re-installable, the newest the
    target."""
    families: dict[str, dict[str, Any]] = {}
    for row in doc.get("firmware", []):
        family = str(row.get("family", ""))
        body = families.setdefault(family, {"models": [], "versions": []})
        for model in (m.strip() for m in str(row.get("models", "")).split(",")):
            if model and model not in body["models"]:
                body["models"].append(model)
        previous = body["versions"][-1]["version"] if body["versions"] else None
        body["versions"].append(
            {
                "version": str(row.get("version", "")),
                "package": str(row.get("file", "")),
                "sha512": row.get("sha512"),
                "from": [previous] if previous else [],
                "downgrade": True,
            }
        )
    for body in families.values():
        if body["versions"]:
            body["versions"][-1]["target"] = True
    # the lab serves its devices on loopback; 127.0.0.1 reaches every lab device
    return parse(
        {"server": {"bind": "127.0.0.1", "port": 0}, "families": families}, file, Path("/")
    )


def for_run(
    lab: str | Path | None, inventory: str | Path | None, override: str | None
) -> Catalogue:
    """The catalogue of a run: ``--catalog FILE``; a lab's ``DIR/firmware.yml`` or its
    lab.json; the inventory's ``firmware.yml``."""
    if override:
        return load(override)
    if lab is not None:
        own = Path(lab) / CATALOGUE_FILE
        if own.exists():
            return load(own)
        return from_lab(lab_doc(lab), display_path(Path(lab) / "lab.json"))
    return load(Path(inventory or default_inventory()) / CATALOGUE_FILE)


def unique(errors: Iterable[CatalogueError]) -> list[CatalogueError]:
    out: list[CatalogueError] = []
    for e in errors:
        if e not in out:
            out.append(e)
    return out
