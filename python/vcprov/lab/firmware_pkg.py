"""Firmware packages of the lab, and how a simulated device downloads and checks one.

A real package (Cisco ``.k4.cop.sha512``, Poly ``.pkg``) is a signed image.  A lab package
is a small file with a text header and a payload::

    VCPROV-LAB-FIRMWARE 1
    family: cisco-roomos
    models: Room Kit, Codec Plus, Room Bar
    version: ce11.17.3.0.81a0d1f5a64
    sha512: <hex digest of the payload>

    <payload bytes>

The device refuses a package for another family or model, or whose payload does not match
its digest (as a real device refuses a corrupted or foreign image).  The controller checks
the SHA-512 of the whole file against its catalogue before offering it; that is the
catalogue's job, not the device's.
"""

from __future__ import annotations

import hashlib
import ssl
from dataclasses import dataclass
from pathlib import Path

import aiohttp

MAGIC = b"VCPROV-LAB-FIRMWARE 1\n"
MAX_SIZE = 64 * 1024 * 1024


class PackageError(Exception):
    """A package that cannot be downloaded or is not a package."""


@dataclass(frozen=True)
class Package:
    family: str
    models: tuple[str, ...]
    version: str
    payload_ok: bool

    def problem_for(self, family: str, model: str) -> str:
        """Why this device refuses the package, or '' when it accepts it."""
        if not self.payload_ok:
            return "Signature verification failed: image digest mismatch"
        if self.family != family:
            return f"Wrong platform: package is for {self.family}"
        if self.models and model not in self.models:
            return f"Wrong platform: package does not support {model}"
        return ""


def build(family: str, models: list[str], version: str, size: int = 256 * 1024) -> bytes:
    """Make a lab package (deterministic content for a given version)."""
    seed = hashlib.sha512(f"{family}:{version}".encode()).digest()
    payload = (seed * (size // len(seed) + 1))[:size]
    header = (
        f"family: {family}\nmodels: {', '.join(models)}\nversion: {version}\n"
        f"sha512: {hashlib.sha512(payload).hexdigest()}\n\n"
    ).encode()
    return MAGIC + header + payload


def parse(blob: bytes) -> Package:
    if not blob.startswith(MAGIC):
        raise PackageError("Invalid software package")
    head, sep, payload = blob[len(MAGIC) :].partition(b"\n\n")
    if not sep:
        raise PackageError("Invalid software package")
    fields = {}
    for line in head.decode("utf-8", "replace").splitlines():
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    try:
        models = tuple(m.strip() for m in fields["models"].split(",") if m.strip())
        ok = hashlib.sha512(payload).hexdigest() == fields["sha512"]
        return Package(fields["family"], models, fields["version"], ok)
    except KeyError as exc:
        raise PackageError(f"Invalid software package: no {exc.args[0]}") from None


def write_packages(
    directory: Path, family: str, models: list[str], versions: list[str]
) -> list[dict[str, str]]:
    """Write one package per version into ``directory``; returns lab.json rows."""
    directory.mkdir(parents=True, exist_ok=True)
    rows = []
    for version in versions:
        blob = build(family, models, version)
        path = directory / f"{family}-{version}.pkg"
        if not path.exists() or path.read_bytes() != blob:
            path.write_bytes(blob)
        rows.append(
            {
                "family": family,
                "models": ", ".join(models),
                "version": version,
                "file": str(path),
                "sha512": hashlib.sha512(blob).hexdigest(),
            }
        )
    return rows


async def download(url: str, timeout: float = 60.0) -> bytes:
    """Fetch a package as the device would (HTTP or HTTPS; the controller's certificate is
    self-signed, so it is not verified: an assumption, docs/devices.md)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
            session.get(url, ssl=ctx) as resp,
        ):
            if resp.status != 200:
                raise PackageError(f"Download failed: HTTP {resp.status}")
            chunks = []
            size = 0
            async for chunk in resp.content.iter_chunked(1 << 16):
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_SIZE:
                    break
            blob = b"".join(chunks)
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise PackageError(f"Couldn't connect to server: {exc.__class__.__name__}") from None
    if len(blob) > MAX_SIZE:
        raise PackageError("Download failed: package too large")
    return blob
