"""RFC 5626 flow tokens as Kamailio's outbound module builds and checks them.

A token is base64 (standard alphabet, ``=`` padding) of::

    MAC(10) | proto(1) | local IP (4 or 16) | local port (2) | remote IP | remote port

``proto`` is the transport id (1 UDP, 2 TCP, 3 TLS, 4 SCTP, 5 WS, 6 WSS), with
0x80 set for IPv6; ports are big-endian; the MAC is the last 10 bytes of
HMAC-SHA1(key, everything after the MAC).  Kamailio 5.6.x stores
``flow_token_secret`` with length 0, so the key is SHA1 of the *empty string*
whatever secret is configured (spec section 3.8; fixed in 5.8).

>>> key = key_for(Outbound(flow_token_secret="anything"))
>>> tok = encode_flow_token(Flow("udp", "127.0.0.1", 5060, "127.0.0.1", 25061), key)
>>> tok
'zaL+x1tnTDNo+AF/AAABE8R/AAABYeU='
>>> decode_flow_token(tok, key)
Flow(proto='udp', local_ip='127.0.0.1', local_port=5060, remote_ip='127.0.0.1', remote_port=25061)
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import ipaddress
from dataclasses import dataclass

from engine.proxy import PROTO_IDS, Outbound

_PROTO_NAMES = {v: k for k, v in PROTO_IDS.items()}
MAC_LEN = 10


@dataclass(frozen=True, slots=True)
class Flow:
    """A flow: the proxy's local socket address and the UA's remote address."""

    proto: str
    local_ip: str
    local_port: int
    remote_ip: str
    remote_port: int

    @property
    def destination(self) -> str:
        """``$du`` for sending down the flow: ``sip:ip:port;transport=proto``."""
        host = f"[{self.remote_ip}]" if ":" in self.remote_ip else self.remote_ip
        return f"sip:{host}:{self.remote_port};transport={self.proto}"

    @property
    def local_socket(self) -> str:
        """The local socket as ``proto:host:port``."""
        host = f"[{self.local_ip}]" if ":" in self.local_ip else self.local_ip
        return f"{self.proto}:{host}:{self.local_port}"


class TokenStatus(enum.Enum):
    """What a user part turned out to be."""

    NOT_A_TOKEN = "not-a-token"  # its length does not stand for 23 or 47 bytes
    BAD_MAC = "bad-mac"  # right length, MAC does not verify
    VALID = "valid"


def key_for(outbound: Outbound) -> bytes:
    """The HMAC key Kamailio 5.6.3 uses: SHA1("") whatever ``flow_token_secret`` says.

    Without any secret Kamailio draws 20 random bytes per start; RouteLab is
    deterministic, so it uses the same key and says so in the explanation.
    """
    del outbound  # 5.6.x ignores the secret's text (spec 3.8).
    return hashlib.sha1(b"").digest()


def _pack_ip(ip: str) -> bytes:
    return ipaddress.ip_address(ip.strip("[]")).packed


def encode_flow_token(flow: Flow, key: bytes) -> str:
    """Build the token for a flow."""
    local = _pack_ip(flow.local_ip)
    remote = _pack_ip(flow.remote_ip)
    proto = PROTO_IDS[flow.proto] | (0x80 if len(local) == 16 else 0)
    rest = (
        bytes([proto])
        + local
        + flow.local_port.to_bytes(2, "big")
        + remote
        + flow.remote_port.to_bytes(2, "big")
    )
    mac = hmac.new(key, rest, hashlib.sha1).digest()[-MAC_LEN:]
    return base64.b64encode(mac + rest).decode("ascii")


def inspect_flow_token(user: str | None, key: bytes) -> tuple[TokenStatus, Flow | None]:
    """Classify a URI user part as no token, a token with a bad MAC, or a valid flow.

    >>> inspect_flow_token("alice", hashlib.sha1(b"").digest())[0]
    <TokenStatus.NOT_A_TOKEN: 'not-a-token'>
    """
    # Kamailio 5.6.3 tells a token by its length alone: a multiple of 4 bytes that stand
    # for 23 or 47 bytes, counting the '=' at the end.  It does not check the characters,
    # so a user of that length that is not plain base64 (URL-safe '-' and '_', an '='
    # inside, non-ASCII) is a token whose MAC fails (-2), not "no token" (RL-FTOK-*).
    length = len(user.encode("utf-8", "surrogatepass")) if user else 0
    if not length or length % 4:
        return TokenStatus.NOT_A_TOKEN, None
    assert user is not None  # length > 0
    size = length // 4 * 3 - (len(user) - len(user.rstrip("=")))
    if size not in (23, 47):
        return TokenStatus.NOT_A_TOKEN, None
    try:
        raw = base64.b64decode(user, validate=True)
    except (binascii.Error, ValueError):
        return TokenStatus.BAD_MAC, None
    if len(raw) != size:
        return TokenStatus.BAD_MAC, None
    mac, rest = raw[:MAC_LEN], raw[MAC_LEN:]
    if not hmac.compare_digest(hmac.new(key, rest, hashlib.sha1).digest()[-MAC_LEN:], mac):
        return TokenStatus.BAD_MAC, None
    proto_byte = rest[0]
    # The proto byte, not the length, decides how the addresses are read
    # (a 47-byte token with an IPv4 proto byte is read as IPv4; vector H31).
    size = 16 if proto_byte & 0x80 else 4
    if 1 + 2 * (size + 2) > len(rest):
        # An IPv6 proto byte in a 23-byte token cannot be read: treat it as no token.
        return TokenStatus.NOT_A_TOKEN, None
    proto = _PROTO_NAMES.get(proto_byte & 0x7F, "udp")
    pos = 1
    local = ipaddress.ip_address(rest[pos : pos + size])
    pos += size
    lport = int.from_bytes(rest[pos : pos + 2], "big")
    pos += 2
    remote = ipaddress.ip_address(rest[pos : pos + size])
    pos += size
    rport = int.from_bytes(rest[pos : pos + 2], "big")
    return TokenStatus.VALID, Flow(proto, str(local), lport, str(remote), rport)


def decode_flow_token(user: str, key: bytes) -> Flow | None:
    """The flow of a valid token, None for anything else."""
    status, flow = inspect_flow_token(user, key)
    return flow if status is TokenStatus.VALID else None
