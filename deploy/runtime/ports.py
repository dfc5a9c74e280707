"""Picking loopback ports for local services."""

from __future__ import annotations

import socket


def free_port(preferred: int | None = None) -> int:
    """`preferred` if it is free on 127.0.0.1, else any free port the kernel hands out."""
    with socket.socket() as sock:
        if preferred is not None:
            try:
                sock.bind(("127.0.0.1", preferred))
                return preferred
            except OSError:
                pass  # taken: fall through to an ephemeral port
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
