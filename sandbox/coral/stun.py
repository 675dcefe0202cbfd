"""A STUN binding request (RFC 5389), as the agent makes it when its WireGuard port is fixed.

The sandbox pins ``CORAL_STUN_SERVERS`` to an address inside the test ranges (N6), so in the
sandbox this normally finds nothing and the agent skips RegisterAgent — as real Coral would.
"""
from __future__ import annotations

import asyncio
import os
import socket
import struct

MAGIC = 0x2112A442


def _parse(data: bytes, txid: bytes) -> tuple[str, int] | None:
    if len(data) < 20 or data[8:20] != txid:
        return None
    pos = 20
    while pos + 4 <= len(data):
        atype, alen = struct.unpack_from("!HH", data, pos)
        value = data[pos + 4: pos + 4 + alen]
        if atype == 0x0020 and len(value) >= 8 and value[1] == 1:      # XOR-MAPPED-ADDRESS, IPv4
            port = struct.unpack_from("!H", value, 2)[0] ^ (MAGIC >> 16)
            addr = struct.unpack_from("!I", value, 4)[0] ^ MAGIC
            return socket.inet_ntoa(struct.pack("!I", addr)), port
        pos += 4 + alen + (-alen % 4)
    return None


async def stun_binding(servers: list[str], local_port: int, timeout: float = 3.0) -> tuple[str, int] | None:
    """Ask each server in turn (3 s each) for our mapped address; None when none answers."""
    loop = asyncio.get_running_loop()
    for server in servers:
        host, _, port = server.rpartition(":")
        txid = os.urandom(12)
        request = struct.pack("!HHI", 0x0001, 0, MAGIC) + txid
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setblocking(False)
        try:
            sock.bind(("0.0.0.0", local_port))
            sock.sendto(request, (host, int(port)))
            data = await asyncio.wait_for(loop.sock_recv(sock, 2048), timeout)
            found = _parse(data, txid)
            if found:
                return found
        except (TimeoutError, OSError, ValueError):
            continue
        finally:
            sock.close()
    return None
