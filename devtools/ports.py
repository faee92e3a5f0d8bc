"""Loopback socket helpers for the local servers this project starts.

Everything is bound to ``127.0.0.1`` only.
"""

from __future__ import annotations

import socket

LOOPBACK = "127.0.0.1"


def bind_loopback(port: int = 0) -> socket.socket:
    """Bind a TCP socket to the loopback interface.

    Args:
        port: Port to bind; ``0`` lets the kernel choose a free one.

    Returns:
        The bound (not yet listening) socket. The caller owns and closes it.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # SO_REUSEADDR lets a restarted server rebind a port left in TIME_WAIT.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((LOOPBACK, port))
    except OSError:
        sock.close()
        raise
    return sock


def bound_port(sock: socket.socket) -> int:
    """Return the port a socket is bound to.

    Args:
        sock: A socket bound to an IPv4 address.

    Returns:
        The port number.
    """
    port: int = sock.getsockname()[1]
    return port


def free_port() -> int:
    """Pick a currently free loopback port for a server started in another process.

    The port is released before returning, so another process may grab it
    first; callers that can should bind with :func:`bind_loopback` instead.

    Returns:
        A port number that was free a moment ago.
    """
    with bind_loopback() as sock:
        return bound_port(sock)
