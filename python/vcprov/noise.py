"""The noise filter: volatile lines and keys that never make drift or history changes.

What is volatile is DATA, ``vcprov/data/noise.yml`` (regular expressions for lines and
blocks of a switch configuration, globs for the keys of a codec's key/value configuration,
regular expressions for values), read once.  This module only applies it:

- :func:`clean_lines` -- a switch's running configuration without volatile lines/blocks;
- :func:`clean_keys` -- a codec's key/values without volatile keys;
- :func:`drop_noise` -- findings whose vendor key is volatile removed.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from .findings import Finding

__all__ = [
    "NOISE_FILE",
    "Noise",
    "Rule",
    "clean_keys",
    "clean_lines",
    "drop_noise",
    "is_noise_key",
    "is_noise_line",
    "load",
    "rules",
]

NOISE_FILE = "data/noise.yml"
SECTIONS = ("lines", "blocks", "keys", "values")
_SEPARATORS = ("!", "#")


@dataclass(frozen=True)
class Rule:
    """One rule of ``noise.yml``.  ``families``: None = every family."""

    section: str
    pattern: str
    families: frozenset[str] | None
    why: str
    example: str
    end: str | None = None

    def applies(self, family: str | None) -> bool:
        return self.families is None or family is None or family in self.families

    @functools.cached_property
    def regex(self) -> re.Pattern[str]:
        if self.section == "keys":
            return re.compile(fnmatch.translate(self.pattern.lower()))
        return re.compile(self.pattern)

    @functools.cached_property
    def end_regex(self) -> re.Pattern[str] | None:
        return re.compile(self.end) if self.end else None


@dataclass(frozen=True)
class Noise:
    lines: tuple[Rule, ...]
    blocks: tuple[Rule, ...]
    keys: tuple[Rule, ...]
    values: tuple[Rule, ...]

    def of(self, section: str, family: str | None) -> list[Rule]:
        rules_: tuple[Rule, ...] = getattr(self, section)
        return [r for r in rules_ if r.applies(family)]


def load(text: str, source: str = NOISE_FILE) -> Noise:
    """Parse and check a noise file; a bad rule raises ValueError naming it."""
    data = yaml.safe_load(text) or {}
    if not isinstance(data, Mapping):
        raise ValueError(f"{source}: must be a mapping of {', '.join(SECTIONS)}")
    parsed: dict[str, tuple[Rule, ...]] = {}
    for section in SECTIONS:
        items = data.get(section) or []
        if not isinstance(items, list):
            raise ValueError(f"{source}: {section}: must be a list of rules")
        out = []
        for i, item in enumerate(items, start=1):
            where = f"{source}: {section} rule {i}"
            if not isinstance(item, Mapping):
                raise ValueError(f"{where}: must be a mapping")
            key = "start" if section == "blocks" else "pattern"
            pattern = item.get(key)
            if not isinstance(pattern, str) or not pattern:
                raise ValueError(f"{where}: key {key}: missing")
            fams = item.get("families", "*")
            if fams == "*":
                families = None
            elif isinstance(fams, list) and all(isinstance(f, str) for f in fams):
                families = frozenset(fams)
            else:
                raise ValueError(f"{where}: key families: a list of families or '*'")
            if not item.get("why") or not item.get("example"):
                raise ValueError(f"{where}: every rule needs why and example")
            rule = Rule(
                section, pattern, families, str(item["why"]), str(item["example"]), item.get("end")
            )
            try:
                rule.regex  # noqa: B018 - compile now, fail here
                rule.end_regex  # noqa: B018
            except re.error as exc:
                raise ValueError(
                    f"{where}: {pattern!r} is not a regular expression: {exc}"
                ) from None
            out.append(rule)
        parsed[section] = tuple(out)
    return Noise(**parsed)


@functools.cache
def rules() -> Noise:
    """The project's noise rules (``vcprov/data/noise.yml``), read once."""
    text = resources.files("vcprov").joinpath(NOISE_FILE).read_text(encoding="utf-8")
    return load(text)


def is_noise_line(line: str, family: str | None, noise: Noise | None = None) -> bool:
    body = line.strip()
    return any(r.regex.match(body) for r in (noise or rules()).of("lines", family))


def is_noise_key(key: str, family: str | None, noise: Noise | None = None) -> bool:
    name = str(key).lower()
    return any(r.regex.match(name) for r in (noise or rules()).of("keys", family))


def _is_noise_value(value: Any, family: str | None, noise: Noise) -> bool:
    return isinstance(value, str) and any(r.regex.search(value) for r in noise.of("values", family))


def clean_lines(text: str, family: str | None, noise: Noise | None = None) -> str:
    """``text`` (a switch configuration) without its volatile lines and blocks.

    Line ends are normalised to ``\\n``, trailing spaces removed, blank lines at the start
    and the end dropped, repeated separator lines (``!``, ``#``) made one; the result ends
    with one newline (empty text stays empty).
    """
    noise = noise or rules()
    line_rules = noise.of("lines", family)
    block_rules = noise.of("blocks", family)
    lines = [ln.rstrip() for ln in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        body = line.lstrip()
        block = next((r for r in block_rules if r.regex.match(body)), None)
        if block is not None:
            i += 1
            if block.end_regex is not None:
                while i < len(lines) and not block.end_regex.match(lines[i].strip()):
                    i += 1
                i += 1  # the end line itself
            else:
                indent = len(line) - len(body)
                while i < len(lines) and lines[i].strip():
                    nxt = lines[i]
                    if len(nxt) - len(nxt.lstrip()) <= indent:
                        break
                    i += 1
            continue
        noisy = any(r.regex.match(body) for r in line_rules)
        repeated = line in _SEPARATORS and bool(out) and out[-1] == line
        if not noisy and not repeated:  # a removed line or block leaves one separator
            out.append(line)
        i += 1
    while out and not out[0].strip():
        out.pop(0)
    while out and not out[-1].strip():
        out.pop()
    return "\n".join(out) + "\n" if out else ""


def clean_keys(
    mapping: Mapping[str, Any], family: str | None, noise: Noise | None = None
) -> dict[str, Any]:
    """``mapping`` (a codec's key/values) without volatile keys and values, sorted by key;
    nested mappings are cleaned the same way (their keys as ``parent.key``)."""
    noise = noise or rules()

    def walk(data: Mapping[str, Any], prefix: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in sorted(data, key=str):
            value = data[key]
            path = f"{prefix}{key}"
            if is_noise_key(path, family, noise) or is_noise_key(str(key), family, noise):
                continue
            if isinstance(value, Mapping):
                out[str(key)] = walk(value, f"{path}.")
            elif not _is_noise_value(value, family, noise):
                out[str(key)] = value
        return out

    return walk(mapping, "")


def drop_noise(
    findings: Iterable[Finding], family: str | None, noise: Noise | None = None
) -> list[Finding]:
    """The findings that are not noise: a finding whose vendor key is a volatile key, or a
    volatile configuration line, is dropped."""
    noise = noise or rules()
    return [
        f
        for f in findings
        if not is_noise_key(f.vendor_key, family, noise)
        and not is_noise_line(f.vendor_key, family, noise)
    ]
