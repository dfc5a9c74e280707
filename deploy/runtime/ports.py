"""Picking loopback ports for local services."""

from __future__ import annotations

import random
import socket

# Ports a home remembers are picked below Linux's ephemeral range (32768-60999 by default):
# there, an outgoing connection of any process could hold a remembered port when its service
# restarts.
_PICK_RANGE = (20000, 32000)
_PICK_TRIES = 200


def free_port(preferred: int | None = None) -> int:
    """`preferred` if it is free on 127.0.0.1, else a free port below the ephemeral range (else
    any free port the kernel hands out)."""
    candidates = [preferred] if preferred is not None else []
    candidates += [random.randint(*_PICK_RANGE) for _ in range(_PICK_TRIES)]
    for port in candidates:
        if _bindable(port):
            return port
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """Something listens on `host:port` (a connect test: unlike a bind test, it is not fooled
    by sockets lingering in TIME_WAIT after a restart)."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0
