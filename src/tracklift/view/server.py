"""Start the viser web server safely: loopback by default, a clear error for a taken port.

viser itself silently moves to the next free port and binds every interface by default; a viewer of
someone's scan should do neither unless asked.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import socket
import time

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"


def is_loopback(host: str) -> bool:
    """Whether `host` (an address or a name) only reaches this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_host(host: str | None, explicit: bool) -> str:
    """The host to bind: loopback when None; a non-loopback host only when the user named it (`explicit`)."""
    if host is None:
        return LOOPBACK
    if not is_loopback(host) and not explicit:
        raise ValueError(
            f"refusing to serve on non-loopback host {host}: it would expose the scene to the "
            "network; pass --host explicitly to allow it"
        )
    return host


def check_port_free(host: str, port: int) -> None:
    """Raise a one-line ValueError when (host, port) cannot be bound."""
    if not 0 < port < 65536:
        raise ValueError(f"--port must be in 1..65535, got {port}")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        # As the server will: connections of a viewer closed a moment ago (TIME_WAIT) do not hold the port.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                raise ValueError(
                    f"port {port} on {host} is in use (another viewer?); pick another with --port"
                ) from err
            raise ValueError(f"cannot serve on {host}:{port}: {err.strerror or err}") from err


def start_server(host: str | None = None, port: int = 8080, *, explicit_host: bool = False):
    """A running `viser.ViserServer` on exactly (host, port); prints where it serves.

    host None = loopback. A non-loopback host is refused unless `explicit_host` (the user passed --host).
    """
    host = check_host(host, explicit_host)
    check_port_free(host, port)
    try:
        import viser
    except ImportError as err:
        raise ValueError("the viewer needs viser: pip install 'tracklift[view]'") from err
    server = viser.ViserServer(host=host, port=port, verbose=False)
    if server.get_port() != port:  # another process took the port between our check and viser's bind
        server.stop()
        raise ValueError(f"port {port} on {host} is in use (another viewer?); pick another with --port")
    server.scene.set_up_direction("+z")
    where = "loopback only; pass --host to serve on the network" if is_loopback(host) else "visible on the network"
    print(f"viewer: http://{'localhost' if is_loopback(host) else host}:{port} ({where})", flush=True)
    return server


def serve_forever(server) -> None:
    """Block until Ctrl-C, then stop the server."""
    try:
        while True:
            time.sleep(1.0)
    except KeyboardInterrupt:
        print("viewer: stopped", flush=True)
    finally:
        server.stop()
