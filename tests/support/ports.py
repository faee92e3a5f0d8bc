"""Loopback port helpers for the test servers (they live in `client.ports`)."""

from client.ports import LOOPBACK, bind_loopback, bound_port, free_port

__all__ = ["LOOPBACK", "bind_loopback", "bound_port", "free_port"]
