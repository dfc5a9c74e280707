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


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """Something listens on `host:port` (a connect test: unlike a bind test, it is not fooled
    by sockets lingering in TIME_WAIT after a restart)."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0
