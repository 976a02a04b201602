"""Read an Ansible inventory as Ansible does, remembering which file each variable is in.

Group membership, group depth and ``ansible_group_priority`` come from ansible-core's own
YAML inventory plugin (``hosts.yml``); ``group_vars/`` and ``host_vars/`` are read here,
file by file, with ansible-core's ``DataLoader`` (so vault-encrypted files and inline
``!vault`` values decrypt with the operators' vault password), because the standard needs
to know the file each value comes from, which Ansible's ``VariableManager`` forgets.

A host's variables are a list of :class:`Layer` in Ansible's precedence order, lowest
first: inventory-file group vars (by group depth, then priority, then name), then
``group_vars/<group>`` files in the same group order, then the host's own vars in
``hosts.yml``, then ``host_vars/<host>``.  Ordinary variables are replaced as a whole, as
Ansible does; :mod:`vcprov.standard` merges ``vc_standard`` per setting on top of this.

Without a vault password the inventory still loads: encrypted files become *locked*
layers (their variables are unknown), which is enough for ``vcprov standard show`` since
it never prints a secret anyway.  Applying the standard needs the password.

For the lab, :func:`load` takes ``hosts``: a list of :class:`HostSpec` that replaces the
hosts of ``hosts.yml`` (and ``host_vars/``) while keeping the group structure and the
``group_vars`` standard of the inventory directory.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HOSTS_FILES = ("hosts.yml", "hosts.yaml")
VAULT_PASSWORD_ENV = "ANSIBLE_VAULT_PASSWORD_FILE"
VAR_FILE_SUFFIXES = ("", ".yml", ".yaml", ".json")
_BARE_REFERENCE = re.compile(r"^\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$")


class StandardError(Exception):
    """Invalid inventory input: names the file, the host and the key it is about."""

    def __init__(self, file: str, host: str | None, key: str | None, problem: str):
        self.file = file
        self.host = host
        self.key = key
        self.problem = problem
        parts = [file]
        if host:
            parts.append(f"host {host}")
        if key:
            parts.append(f"key {key}")
        super().__init__(": ".join([*parts, problem]))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StandardError) and str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))


class InvalidStandard(Exception):
    """One or more :class:`StandardError`, reported together."""

    def __init__(self, errors: Iterable[StandardError]):
        self.errors = list(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


@dataclass(frozen=True)
class Layer:
    """The variables one file (or one other source) gives a group or a host."""

    file: str
    vars: Mapping[str, Any]
    # The whole file was vault-encrypted, or the source is itself a secret store (lab.json).
    vaulted: bool = False
    # Top-level variables whose value was an inline ``!vault`` string.
    vaulted_vars: frozenset[str] = frozenset()
    # Encrypted and not decrypted (no vault password): its variables are unknown.
    locked: bool = False
    # Provenance key shown for a ``vc_standard`` setting from this layer (default: the
    # setting's own name), e.g. ``hub.sip_registrar`` for a value taken from lab.json.
    keys: Mapping[str, str] = field(default_factory=dict)
    # "group" or "host": what the layer is attached to.
    level: str = "group"
    owner: str = "all"

    def is_vaulted(self, var: str) -> bool:
        return self.vaulted or var in self.vaulted_vars

    def key_for(self, setting: str) -> str:
        return self.keys.get(setting, setting)


@dataclass
class HostSpec:
    """A host given by the caller instead of ``hosts.yml`` (the lab's fleet)."""

    name: str
    groups: list[str]
    layers: list[Layer]


@dataclass
class Group:
    name: str
    depth: int
    priority: int
    parents: list[str]
    inline: Layer | None  # the group's vars in hosts.yml
    files: list[Layer]  # group_vars/<group>.yml or group_vars/<group>/*


@dataclass
class Host:
    name: str
    file: str  # where the host is defined (hosts.yml, or the lab's source)
    groups: list[str]  # every group, 'all' included, in precedence order (lowest first)
    layers: list[Layer]  # lowest precedence first

    def origin(self, var: str) -> Layer | None:
        """The layer that gives ``var`` its value (the highest one defining it)."""
        for layer in reversed(self.layers):
            if var in layer.vars:
                return layer
        return None

    def file_of(self, var: str) -> str:
        """The file that sets ``var`` (the host's own definition when nothing does)."""
        layer = self.origin(var)
        return layer.file if layer is not None else self.file

    def get(self, var: str, default: Any = None) -> Any:
        layer = self.origin(var)
        return default if layer is None else layer.vars[var]

    @property
    def vars(self) -> dict[str, Any]:
        """Merged variables, Ansible's replace semantics (no templating)."""
        merged: dict[str, Any] = {}
        for layer in self.layers:
            merged.update(layer.vars)
        return merged

    def resolve(self, var: str) -> Any:
        """A variable's value, following a bare ``"{{ other }}"`` reference (one level)."""
        value = self.get(var)
        if isinstance(value, str) and (m := _BARE_REFERENCE.match(value)):
            return self.get(m.group(1))
        return value

    @property
    def vault_locked(self) -> bool:
        return any(layer.locked for layer in self.layers)


@dataclass
class Inventory:
    root: Path
    hosts_file: str
    hosts: dict[str, Host]
    groups: dict[str, Group]
    errors: list[StandardError] = field(default_factory=list)  # found while loading

    @property
    def vault_locked(self) -> bool:
        return any(h.vault_locked for h in self.hosts.values())

    def members(self, group: str) -> list[str]:
        return [h.name for h in self.hosts.values() if group in h.groups]


def display_path(path: Path | str) -> str:
    """A path as error messages show it: relative to the working directory when inside it."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)


# --- reading files -----------------------------------------------------------------


class _Reader:
    """ansible-core's DataLoader with the vault secret, and plain-Python conversion."""

    def __init__(self, vault_password_file: str | os.PathLike[str] | None, lock_foreign: bool):
        # lock_foreign: a file the password does not open loads locked instead of failing
        # (the lab: its password is not the province's, and the lab supplies its secrets).
        self.lock_foreign = lock_foreign
        from ansible.parsing.dataloader import DataLoader
        from ansible.parsing.vault import get_file_vault_secret

        self.loader = DataLoader()
        self.secrets: list[Any] = []
        self.errors: list[StandardError] = []
        if vault_password_file is None:
            vault_password_file = os.environ.get(VAULT_PASSWORD_ENV) or None
        if vault_password_file is not None:
            path = Path(vault_password_file)
            try:
                secret = get_file_vault_secret(
                    filename=str(path), vault_id="default", loader=self.loader
                )
                secret.load()
            except Exception as exc:  # ansible raises AnsibleError with a clear message
                raise InvalidStandard(
                    [StandardError(display_path(path), None, None, f"vault password file: {exc}")]
                ) from None
            self.secrets = [("default", secret)]
            self.loader.set_vault_secrets(self.secrets)

    def layer(self, path: Path, *, level: str, owner: str) -> Layer | None:
        from ansible.parsing.vault import is_encrypted_file

        shown = display_path(path)
        with path.open("rb") as fh:
            encrypted = bool(is_encrypted_file(fh))
        if encrypted and not self.secrets:
            return Layer(shown, {}, vaulted=True, locked=True, level=level, owner=owner)
        try:
            data = self.loader.load_from_file(str(path), cache="none")
        except Exception as exc:
            if encrypted and self.lock_foreign:
                return Layer(shown, {}, vaulted=True, locked=True, level=level, owner=owner)
            problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if encrypted:
                problem = f"cannot decrypt with the given vault password ({problem})"
            self.errors.append(StandardError(shown, None, None, problem))
            return None
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            self.errors.append(
                StandardError(shown, None, None, "must be a mapping of variable names to values")
            )
            return None
        plain, inline = self.plain_vars(data, shown)
        return Layer(shown, plain, vaulted=encrypted, vaulted_vars=inline, level=level, owner=owner)

    def plain_vars(self, data: Mapping[str, Any], shown: str) -> tuple[dict[str, Any], frozenset]:
        from ansible.parsing.vault import EncryptedString

        inline = frozenset(str(k) for k, v in data.items() if isinstance(v, EncryptedString))
        return {str(k): self.plain(v, shown, str(k)) for k, v in data.items()}, inline

    def plain(self, value: Any, shown: str, key: str) -> Any:
        """Tagged ansible-core values -> plain Python; inline vault values decrypted."""
        from ansible.parsing.vault import EncryptedString, VaultHelper, VaultLib

        if isinstance(value, EncryptedString):
            if not self.secrets:
                return LOCKED
            try:
                text = VaultLib(self.secrets).decrypt(
                    VaultHelper.get_ciphertext(value, with_tags=False)
                )
            except Exception:
                self.errors.append(
                    StandardError(shown, None, key, "cannot decrypt with the given vault password")
                )
                return LOCKED
            return text.decode("utf-8")
        if isinstance(value, bool):
            return bool(value)
        if isinstance(value, int):
            return int(value)
        if isinstance(value, float):
            return float(value)
        if isinstance(value, str):
            return "".join(value)
        if isinstance(value, Mapping):
            return {str(k): self.plain(v, shown, key) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.plain(v, shown, key) for v in value]
        return value


class _Locked:
    """The value of an inline-vaulted variable when no vault password was given."""

    def __repr__(self) -> str:
        return "<vault locked>"


LOCKED = _Locked()


def _var_files(directory: Path, name: str) -> list[Path]:
    """``group_vars/<name>.yml`` etc., or every file under ``group_vars/<name>/`` (sorted)."""
    found: list[Path] = []
    for suffix in VAR_FILE_SUFFIXES:
        candidate = directory / f"{name}{suffix}"
        if candidate.is_file():
            found.append(candidate)
    folder = directory / name
    if folder.is_dir():
        found.extend(
            p
            for p in sorted(folder.rglob("*"))
            if p.is_file()
            and p.suffix in VAR_FILE_SUFFIXES
            and not any(part.startswith(".") for part in p.relative_to(folder).parts)
        )
    return found


# --- the inventory ------------------------------------------------------------------


def _hosts_file(root: Path) -> Path:
    if root.is_file():
        return root
    for name in HOSTS_FILES:
        if (root / name).is_file():
            return root / name
    raise InvalidStandard(
        [StandardError(display_path(root), None, None, "no hosts.yml in this inventory")]
    )


def load(
    inventory_dir: str | os.PathLike[str],
    vault_password_file: str | os.PathLike[str] | None = None,
    *,
    hosts: Iterable[HostSpec] | None = None,
) -> Inventory:
    """Read ``inventory_dir`` (``hosts.yml``, ``group_vars/``, ``host_vars/``).

    ``vault_password_file`` defaults to ``$ANSIBLE_VAULT_PASSWORD_FILE``; without one,
    encrypted files load as locked layers.  ``hosts`` replaces the hosts of ``hosts.yml``
    and ``host_vars/`` (the lab): each keeps the groups the same-named host has in
    ``hosts.yml`` plus its own, and gets the inventory's ``group_vars`` below its layers;
    vaulted files the password does not open then load locked (the caller's hosts carry
    their own secrets).
    Problems that do not stop loading are in ``Inventory.errors``; a hosts file that cannot
    be read raises :class:`InvalidStandard`.
    """
    from ansible.inventory.data import InventoryData
    from ansible.plugins.loader import inventory_loader

    path = Path(inventory_dir)
    hosts_path = _hosts_file(path)
    root = hosts_path.parent
    reader = _Reader(vault_password_file, lock_foreign=hosts is not None)
    shown_hosts = display_path(hosts_path)

    data = InventoryData()
    plugin = inventory_loader.get("yaml")
    try:
        plugin.parse(data, reader.loader, str(hosts_path), cache=False)
        data.reconcile_inventory()
    except Exception as exc:
        raise InvalidStandard([StandardError(shown_hosts, None, None, str(exc))]) from None
    if not data.hosts and hosts is None:
        raise InvalidStandard([StandardError(shown_hosts, None, None, "defines no hosts")])

    groups: dict[str, Group] = {}
    for name, agroup in data.groups.items():
        if name == "ungrouped":
            continue
        inline, vaulted = reader.plain_vars(agroup.vars, shown_hosts)
        files = [
            layer
            for file in _var_files(root / "group_vars", name)
            if (layer := reader.layer(file, level="group", owner=name)) is not None
        ]
        groups[name] = Group(
            name,
            agroup.depth,
            agroup.priority,
            [p.name for p in agroup.parent_groups],
            Layer(shown_hosts, inline, vaulted_vars=vaulted, owner=name) if inline else None,
            files,
        )
    # group_vars files for groups the hosts file does not define: say so (a typo there
    # would otherwise silently drop part of the standard).
    if hosts is None and (root / "group_vars").is_dir():
        for entry in sorted((root / "group_vars").iterdir()):
            gname = entry.stem if entry.is_file() else entry.name
            if gname not in groups and not gname.startswith("."):
                reader.errors.append(
                    StandardError(
                        display_path(entry), None, None, f"no group {gname!r} in {shown_hosts}"
                    )
                )

    def ancestors(names: Iterable[str]) -> set[str]:
        todo, seen = list(names), set()
        while todo:
            g = todo.pop()
            if g in seen:
                continue
            seen.add(g)
            todo.extend(groups[g].parents if g in groups else ["all"])
        seen.add("all")
        return seen

    def order(names: Iterable[str]) -> list[str]:
        def rank(g: str) -> tuple[int, int, str]:
            grp = groups.get(g)
            return (grp.depth, grp.priority, g) if grp else (1, 1, g)

        return sorted(names, key=rank)

    def group_layers(gnames: list[str]) -> list[Layer]:
        # Ansible: every inventory-file group var ranks below every group_vars file.
        chosen = [groups[g] for g in gnames if g in groups]
        inline = [g.inline for g in chosen if g.inline is not None]
        return inline + [layer for g in chosen for layer in g.files]

    result: dict[str, Host] = {}
    if hosts is None:
        for name, ahost in data.hosts.items():
            gnames = order(ancestors(g.name for g in ahost.get_groups()) - {"ungrouped"})
            own = {
                k: v for k, v in ahost.vars.items() if k not in ("inventory_file", "inventory_dir")
            }
            layers = group_layers(gnames)
            if own:
                inline, vaulted = reader.plain_vars(own, shown_hosts)
                layers.append(
                    Layer(shown_hosts, inline, vaulted_vars=vaulted, level="host", owner=name)
                )
            for file in _var_files(root / "host_vars", name):
                layer = reader.layer(file, level="host", owner=name)
                if layer is not None:
                    layers.append(layer)
            result[name] = Host(name, shown_hosts, gnames, layers)
        if (root / "host_vars").is_dir():
            for entry in sorted((root / "host_vars").iterdir()):
                hname = entry.stem if entry.is_file() else entry.name
                if hname not in result and not hname.startswith("."):
                    reader.errors.append(
                        StandardError(
                            display_path(entry), None, None, f"no host {hname!r} in {shown_hosts}"
                        )
                    )
    else:
        for spec in hosts:
            known = data.hosts.get(spec.name)
            base = [g.name for g in known.get_groups()] if known is not None else []
            gnames = order(ancestors([*base, *spec.groups]) - {"ungrouped"})
            for g in gnames:
                groups.setdefault(g, Group(g, 1, 1, ["all"], None, []))
            source = spec.layers[0].file if spec.layers else shown_hosts
            result[spec.name] = Host(spec.name, source, gnames, group_layers(gnames) + spec.layers)

    return Inventory(root, shown_hosts, result, groups, reader.errors)
