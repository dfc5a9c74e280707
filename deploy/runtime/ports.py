"""Picking loopback ports for local services."""

from __future__ import annotations

import random
import socket
from collections.abc import Iterable

# Ports a home remembers are picked below Linux's ephemeral range (32768-60999 by default):
# there, an outgoing connection of any process could hold a remembered port when its service
# restarts.
_PICK_RANGE = (20000, 32000)
_PICK_TRIES = 200

# A port picked for a service that is not running yet is free until that service starts, so
# a bind test alone would hand it out twice. Every port this process picked is kept here and
# never picked again (stacks created side by side in one process, e.g. a test session).
_picked: set[int] = set()


def free_port(preferred: int | None = None, avoid: Iterable[int] = ()) -> int:
    """`preferred` if it is free on 127.0.0.1, else a free port below the ephemeral range (else
    any free port the kernel hands out). Never a port in `avoid` (those a home has recorded
    for its other services) nor one this process picked before."""
    taken = _picked | set(avoid)
    candidates = [preferred] if preferred is not None else []
    candidates += [random.randint(*_PICK_RANGE) for _ in range(_PICK_TRIES)]
    for port in candidates:
        if port not in taken and _bindable(port):
            _picked.add(port)
            return port
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port not in taken:
            _picked.add(port)
            return port


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
