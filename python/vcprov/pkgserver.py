"""The controller's package server: the catalogue's packages over HTTP(S) for one rollout.

The codecs download their package from vcprov itself (Cisco ``SoftwareUpgrade URL:``, Poly
``upgrade.auto.server.address``), so no other server has to hold the province's images.
The server lives as long as a rollout (``with PackageServer(...) as server:``) and serves
only what was offered, each file under ``/<first 32 hex digits of its SHA-512>/<name>``;
every other path is 404.

:meth:`PackageServer.offer` checks the file's SHA-512 against the catalogue **before** it is
offered and keeps the file open: what is served is the file that was checked, even if the
path is replaced afterwards (changing the checked file in place is not guarded against;
keep the package directory writable by its owner only).

HTTPS when given a certificate and key (a certificate the codecs trust: docs/firmware.md);
plain HTTP otherwise.  Bind an address the codecs can reach; ``url`` is what they are
given when it differs (NAT, a DNS name).  In the lab, 127.0.0.1 reaches every device.
"""

from __future__ import annotations

import hashlib
import http.server
import logging
import os
import ssl
import threading
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Self

from .firmware_catalog import Entry

log = logging.getLogger("vcprov.pkgserver")


class PackageError(Exception):
    """A package that may not be offered (missing, or not the file the catalogue names)."""


@dataclass
class _Offered:
    path: Path
    handle: BinaryIO
    size: int


class PackageServer:
    def __init__(
        self,
        bind: str = "127.0.0.1",
        port: int = 0,
        url: str | None = None,
        certfile: str | None = None,
        keyfile: str | None = None,
    ):
        self.bind = bind
        self.port = port
        self._url = url
        self.certfile = certfile
        self.keyfile = keyfile
        self._files: dict[str, _Offered] = {}
        self._by_digest: dict[str, str] = {}
        self._httpd: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.downloads: dict[str, int] = {}  # url path -> completed downloads
        self._count_lock = threading.Lock()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        handler = _handler(self)
        httpd = http.server.ThreadingHTTPServer((self.bind, self.port), handler)
        httpd.daemon_threads = True
        if self.certfile:
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(self.certfile, self.keyfile)
            httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
        self._httpd = httpd
        self.port = int(httpd.server_address[1])
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        for item in self._files.values():
            item.handle.close()
        self._files.clear()
        self._by_digest.clear()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._url:
            return self._url.rstrip("/")
        scheme = "https" if self.certfile else "http"
        host = self.bind if self.bind not in ("0.0.0.0", "::", "") else "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"{scheme}://{host}:{self.port}"

    # ------------------------------------------------------------------ packages
    def offer(self, entry: Entry) -> str:
        """Check the package of ``entry`` against its SHA-512 and serve it: its URL."""
        if entry.sha512 in self._by_digest:
            return self.base_url + self._by_digest[entry.sha512]
        if entry.package is None or not entry.sha512:
            raise PackageError(
                f"{entry.family} {entry.model} {entry.version}: no package or no checksum"
            )
        try:
            handle: BinaryIO = open(entry.package, "rb")  # noqa: SIM115 (kept open: served)
        except OSError as exc:
            raise PackageError(f"{entry.package}: {exc.strerror}") from None
        digest = _sha512_of(handle)  # the open file: what is checked is what is served
        if digest != entry.sha512:
            handle.close()
            raise PackageError(
                f"{entry.package}: SHA-512 {digest[:16]}... is not the catalogue's "
                f"{entry.sha512[:16]}... ({entry.family} {entry.version}): not offered"
            )
        name = urllib.parse.quote(entry.package.name)
        path = f"/{digest[:32]}/{name}"
        size = os.fstat(handle.fileno()).st_size
        self._files[path] = _Offered(entry.package, handle, size)
        self._by_digest[entry.sha512] = path
        return self.base_url + path

    def _serve(self, req: http.server.BaseHTTPRequestHandler, body: bool) -> None:
        path = urllib.parse.urlsplit(req.path).path
        item = self._files.get(path)
        if item is None:
            req.send_error(404)
            return
        req.send_response(200)
        req.send_header("Content-Type", "application/octet-stream")
        req.send_header("Content-Length", str(item.size))
        req.end_headers()
        if not body:
            return
        # positional reads of the checked file: downloads in parallel share the descriptor
        fd, offset = item.handle.fileno(), 0
        try:
            while offset < item.size:
                chunk = os.pread(fd, min(1 << 16, item.size - offset), offset)
                if not chunk:
                    break
                req.wfile.write(chunk)
                offset += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            return
        with self._count_lock:
            self.downloads[path] = self.downloads.get(path, 0) + 1


def _sha512_of(handle: BinaryIO) -> str:
    digest = hashlib.sha512()
    handle.seek(0)
    for chunk in iter(lambda: handle.read(1 << 20), b""):
        digest.update(chunk)
    handle.seek(0)
    return digest.hexdigest()


def _handler(server: PackageServer) -> Any:
    class Handler(http.server.BaseHTTPRequestHandler):
        server_version = "vcprov-pkgserver"
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            server._serve(self, body=True)

        def do_HEAD(self) -> None:
            server._serve(self, body=False)

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("%s %s", self.address_string(), format % args)

    return Handler
