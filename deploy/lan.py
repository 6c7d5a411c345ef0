"""The address phones on this computer's network open: `python -m deploy.lan --port 8501`.

`make run ADDRESS=0.0.0.0` uses it to print the class poll's address and to give the app that address as its
public URL (NTE_PUBLIC_URL), so the room link and its QR code work on the students' phones.
"""

from __future__ import annotations

import argparse
import ipaddress
import socket
import sys
from collections.abc import Sequence

PROBE = "192.0.2.1"  # TEST-NET-1: connecting a UDP socket picks the outgoing interface and sends nothing


def lan_address() -> str | None:
    """This computer's IPv4 address on its local network (the interface of the default route), or None."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect((PROBE, 9))
            address = s.getsockname()[0]
    except OSError:
        return None
    ip = ipaddress.ip_address(address)
    return None if ip.is_loopback or ip.is_unspecified or ip.is_link_local else address


def lan_url(port: int, address: str | None = None) -> str | None:
    """``http://ADDRESS:PORT`` for phones on this network, or None when no network address was found."""
    address = address or lan_address()
    return f"http://{address}:{int(port)}" if address else None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.lan", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8501, help="the app's port (default 8501)")
    args = parser.parse_args(argv)
    url = lan_url(args.port)
    if url is None:
        print(
            "No local network address found: phones cannot reach this computer. Join the classroom Wi-Fi, or set "
            "NTE_PUBLIC_URL to the address phones use (docs/classroom.md).",
            file=sys.stderr,
        )
        return 1
    print(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
