"""An SSH server for a simulated device: its persistent host key and password login."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncssh

from .base import SimDevice


def host_key(dev: SimDevice) -> asyncssh.SSHKey:
    """The device's own ed25519 host key, made once and kept in its state."""
    text = dev.state.get("ssh_host_key")
    if not text:
        text = asyncssh.generate_private_key("ssh-ed25519").export_private_key().decode()
        dev.state["ssh_host_key"] = text
        dev.save()
    return asyncssh.import_private_key(text)


async def serve(
    dev: SimDevice,
    port: int,
    session: Callable[[asyncssh.SSHServerProcess[str]], Awaitable[None]],
) -> Any:
    """Listen on the device's address; logins are checked by ``dev.check_credentials``."""

    class Server(asyncssh.SSHServer):
        def begin_auth(self, username: str) -> bool:
            return True

        def password_auth_supported(self) -> bool:
            return True

        def validate_password(self, username: str, password: str) -> bool:
            return dev.check_credentials(username, password)

    return await asyncssh.create_server(
        Server,
        dev.host,
        port,
        server_host_keys=[host_key(dev)],
        process_factory=session,
        line_editor=True,
        encoding="utf-8",
    )
