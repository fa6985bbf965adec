"""DNS wire format (RFC 1035, EDNS0 from RFC 6891): just what a cluster DNS server needs.

Parsing reads a query's header, its one question and any OPT record; encoding
writes a response with name compression and truncates it to the client's UDP
size. `parse_message` also reads the answer records of an upstream's reply (to
append the target of an ExternalName CNAME). Forwarded traffic is relayed as raw
bytes and never decoded, so exotic record types pass through untouched.

Names are text in presentation form without the trailing dot ("" is the root);
a label holding a dot, a backslash or a non-printable byte is escaped (\\. \\\\ \\DDD),
so no such label can ever compare equal to a Kubernetes name.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import struct
from dataclasses import dataclass, field
from typing import Any, NamedTuple

# Record types.
A, NS, CNAME, SOA, PTR, MX, TXT, AAAA, SRV, OPT = 1, 2, 5, 6, 12, 15, 16, 28, 33, 41
AXFR, IXFR, ANY = 252, 251, 255
CLASS_IN = 1
# Response codes.
NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED = 0, 1, 2, 3, 4, 5
# Header flag bits.
QR, AA, TC, RD, RA = 0x8000, 0x0400, 0x0200, 0x0100, 0x0080
OPCODE_MASK = 0x7800

MIN_UDP_SIZE = 512
# What we advertise and accept at most over UDP: the 2020 DNS flag day figure,
# which avoids IP fragmentation.
MAX_UDP_SIZE = 1232
MAX_TCP_SIZE = 65535

_HEADER = struct.Struct("!HHHHHH")
_RR_FIXED = struct.Struct("!HHIH")
_NAME_TYPES = frozenset({NS, CNAME, PTR})
# A label that needs no escaping: printable ASCII other than "." and "\\".
_PLAIN_LABEL = re.compile(rb"[\x21-\x2d\x2f-\x5b\x5d-\x7e]*")


class WireError(ValueError):
    """A malformed message (answered with FORMERR when its header could be read)."""


class RR(NamedTuple):
    """One record. `data` by type: A/AAAA an address string; NS/CNAME/PTR a name;
    SRV (priority, weight, port, target); SOA (mname, rname, serial, refresh, retry,
    expire, minimum); MX (preference, name); TXT a tuple of strings; any other type
    the raw rdata bytes."""

    name: str
    rtype: int
    ttl: int
    data: Any


@dataclass(slots=True)
class Query:
    id: int
    flags: int
    name: str  # as asked (case kept)
    qtype: int
    qclass: int
    question: bytes  # the question section as received, echoed verbatim
    edns: bool = False
    udp_size: int = MIN_UDP_SIZE

    @property
    def opcode(self) -> int:
        return (self.flags & OPCODE_MASK) >> 11

    def size_limit(self, tcp: bool) -> int:
        """The largest response this client takes over its transport."""
        if tcp:
            return MAX_TCP_SIZE
        return min(max(self.udp_size, MIN_UDP_SIZE), MAX_UDP_SIZE)


@dataclass(slots=True)
class Message:
    """A parsed response (from an upstream): its rcode, flags and answer records."""

    id: int
    flags: int
    rcode: int
    answers: list[RR] = field(default_factory=list)


# -- names ---------------------------------------------------------------------------


def _label_text(raw: bytes) -> str:
    if _PLAIN_LABEL.fullmatch(raw):
        return raw.decode("ascii")
    out = []
    for b in raw:
        if b in (0x2E, 0x5C):
            out.append("\\" + chr(b))
        elif 0x21 <= b <= 0x7E:
            out.append(chr(b))
        else:
            out.append(f"\\{b:03d}")
    return "".join(out)


def read_name(msg: bytes, pos: int) -> tuple[str, int]:
    """The name at `pos` (following compression pointers) and the offset after it."""
    labels: list[str] = []
    end = -1
    jumps = 0
    total = 0
    while True:
        if pos >= len(msg):
            raise WireError("name runs past the message")
        n = msg[pos]
        if n & 0xC0 == 0xC0:
            if pos + 1 >= len(msg):
                raise WireError("truncated compression pointer")
            if end < 0:
                end = pos + 2
            jumps += 1
            if jumps > 64:
                raise WireError("compression loop")
            pos = ((n & 0x3F) << 8) | msg[pos + 1]
            continue
        if n & 0xC0:
            raise WireError("unsupported label type")
        pos += 1
        if n == 0:
            break
        total += n + 1
        if total > 254 or pos + n > len(msg):
            raise WireError("name too long")
        labels.append(_label_text(msg[pos : pos + n]))
        pos += n
    return ".".join(labels), (end if end >= 0 else pos)


def _labels(name: str) -> list[bytes]:
    """The wire labels of a presentation-form name (escapes undone)."""
    if "\\" not in name:
        return [label.encode("ascii") for label in name.rstrip(".").split(".") if label]
    labels, cur, i = [], bytearray(), 0
    while i < len(name):
        ch = name[i]
        if ch == "\\" and name[i + 1 : i + 4].isdigit() and len(name[i + 1 : i + 4]) == 3:
            cur.append(int(name[i + 1 : i + 4]))
            i += 4
            continue
        if ch == "\\" and i + 1 < len(name):
            cur += name[i + 1].encode("ascii")
            i += 2
            continue
        if ch == ".":
            if cur:
                labels.append(bytes(cur))
            cur = bytearray()
        else:
            cur += ch.encode("ascii")
        i += 1
    if cur:
        labels.append(bytes(cur))
    return labels


class _Writer:
    """A message being written, with the compression table of the names so far."""

    def __init__(self) -> None:
        self.buf = bytearray(12)
        self.offsets: dict[bytes, int] = {}

    def remember(self, name: str, pos: int) -> None:
        """File every suffix of `name` (written uncompressed at `pos`) for later pointers."""
        labels = _labels(name)
        for i in range(len(labels)):
            if pos >= 0x4000:
                return
            self.offsets.setdefault(b".".join(labels[i:]).lower(), pos)
            pos += len(labels[i]) + 1

    def name(self, name: str, compress: bool = True) -> None:
        labels = _labels(name)
        for i in range(len(labels)):
            if compress:
                suffix = b".".join(labels[i:]).lower()
                at = self.offsets.get(suffix)
                if at is not None:
                    self.buf += struct.pack("!H", 0xC000 | at)
                    return
                if len(self.buf) < 0x4000:
                    self.offsets[suffix] = len(self.buf)
            raw = labels[i]
            if len(raw) > 63:
                raise WireError("label too long")
            self.buf.append(len(raw))
            self.buf += raw
        self.buf.append(0)

    def record(self, rr: RR) -> None:
        self.name(rr.name)
        self.buf += struct.pack("!HHI", rr.rtype, CLASS_IN, rr.ttl)
        start = len(self.buf)
        self.buf += b"\0\0"
        self._rdata(rr.rtype, rr.data)
        struct.pack_into("!H", self.buf, start, len(self.buf) - start - 2)

    def _rdata(self, rtype: int, data: Any) -> None:
        if isinstance(data, bytes | bytearray):
            self.buf += data
        elif rtype == A:
            self.buf += socket.inet_pton(socket.AF_INET, data)
        elif rtype == AAAA:
            self.buf += socket.inet_pton(socket.AF_INET6, data)
        elif rtype in _NAME_TYPES:
            self.name(data)
        elif rtype == SRV:
            priority, weight, port, target = data
            self.buf += struct.pack("!HHH", priority, weight, port)
            self.name(target, compress=False)  # RFC 2782: no compression of the target
        elif rtype == MX:
            self.buf += struct.pack("!H", data[0])
            self.name(data[1])
        elif rtype == SOA:
            self.name(data[0])
            self.name(data[1])
            self.buf += struct.pack("!IIIII", *data[2:])
        elif rtype == TXT:
            for text in data:
                raw = text.encode()
                for i in range(0, max(len(raw), 1), 255):
                    chunk = raw[i : i + 255]
                    self.buf.append(len(chunk))
                    self.buf += chunk
        else:
            raise WireError(f"no encoder for type {rtype}")


# -- queries -------------------------------------------------------------------------


def read_header(data: bytes) -> tuple[int, int]:
    """(id, flags) of a message; WireError if it is shorter than a header."""
    if len(data) < 12:
        raise WireError("shorter than a header")
    ident, flags = struct.unpack_from("!HH", data)
    return ident, flags


def parse_query(data: bytes) -> Query:
    """A query with exactly one question; its OPT record (if any) sets the UDP size."""
    ident, flags = read_header(data)
    _, _, qd, an, ns, ar = _HEADER.unpack_from(data)
    if flags & QR:
        raise WireError("a response, not a query")
    if qd != 1:
        raise WireError(f"{qd} questions")
    if data[12] & 0xC0:
        raise WireError("compressed question name")
    name, pos = read_name(data, 12)
    if pos + 4 > len(data):
        raise WireError("truncated question")
    qtype, qclass = struct.unpack_from("!HH", data, pos)
    q = Query(ident, flags, name, qtype, qclass, bytes(data[12 : pos + 4]))
    pos += 4
    for i in range(an + ns + ar):
        rname, rtype, rclass, pos = _skip_record(data, pos)
        if rtype == OPT and i >= an + ns:
            if rname or q.edns:
                raise WireError("bad OPT record")
            q.edns, q.udp_size = True, rclass
    return q


def _skip_record(data: bytes, pos: int) -> tuple[str, int, int, int]:
    name, pos = read_name(data, pos)
    if pos + 10 > len(data):
        raise WireError("truncated record")
    rtype, rclass, _ttl, rdlen = _RR_FIXED.unpack_from(data, pos)
    pos += 10 + rdlen
    if pos > len(data):
        raise WireError("truncated rdata")
    return name, rtype, rclass, pos


def build_query(ident: int, name: str, qtype: int, *, rd: bool = True) -> bytes:
    """A query for `name` (used to chase an ExternalName's target upstream)."""
    w = _Writer()
    struct.pack_into("!HHHHHH", w.buf, 0, ident, RD if rd else 0, 1, 0, 0, 0)
    w.name(name, compress=False)
    w.buf += struct.pack("!HH", qtype, CLASS_IN)
    return bytes(w.buf)


# -- responses -----------------------------------------------------------------------


def encode_response(
    q: Query,
    rcode: int,
    answer: list[RR] = (),  # type: ignore[assignment]
    authority: list[RR] = (),  # type: ignore[assignment]
    additional: list[RR] = (),  # type: ignore[assignment]
    *,
    limit: int = MAX_TCP_SIZE,
    authoritative: bool = True,
) -> bytes:
    """The response to `q`; past `limit` bytes, additional records are dropped first,
    then answers and authority are cut and TC set (the client retries over TCP)."""
    w = _Writer()
    w.buf += q.question
    w.remember(q.name, 12)  # owner names equal to the question point back at it
    sections = (answer, authority, additional)
    ends: list[tuple[int, int, int]] = []  # (section, records written, buffer length)
    for si, records in enumerate(sections):
        for n, rr in enumerate(records, 1):
            w.record(rr)
            ends.append((si, n, len(w.buf)))
    opt = _opt_record() if q.edns else b""
    counts = [len(s) for s in sections]
    flags = QR | (q.flags & (OPCODE_MASK | RD)) | RA | (rcode & 0xF)
    if authoritative:
        flags |= AA
    size = len(w.buf) + len(opt)
    if size > limit:
        cut, counts, truncated = _cut(ends, len(q.question) + 12, limit - len(opt))
        del w.buf[cut:]
        if truncated:
            flags |= TC
    w.buf += opt
    struct.pack_into(
        "!HHHHHH", w.buf, 0, q.id, flags, 1, counts[0], counts[1], counts[2] + (1 if opt else 0)
    )
    return bytes(w.buf)


def _cut(ends: list[tuple[int, int, int]], base: int, budget: int) -> tuple[int, list[int], bool]:
    """Where to cut the records so the message fits `budget`, the counts kept, and
    whether something other than additional records was lost."""
    counts = [0, 0, 0]
    cut = base
    for section, n, end in ends:
        if end > budget:
            return cut, counts, section < 2
        counts[section] = n
        cut = end
    return cut, counts, False


def _opt_record() -> bytes:
    # Root name, type OPT, class = our UDP size, extended rcode/version/flags 0, no options.
    return b"\0" + struct.pack("!HHIH", OPT, MAX_UDP_SIZE, 0, 0)


def error_response(data: bytes, rcode: int) -> bytes | None:
    """A bare response with `rcode` to a message we could not (or will not) parse
    fully; None when not even its header can be read."""
    try:
        ident, flags = read_header(data)
    except WireError:
        return None
    try:
        q = parse_query(data)
    except WireError:
        flags = QR | (flags & (OPCODE_MASK | RD)) | RA | (rcode & 0xF)
        return _HEADER.pack(ident, flags, 0, 0, 0, 0)
    return encode_response(q, rcode, authoritative=False)


# -- reading answers -----------------------------------------------------------------


def parse_message(data: bytes) -> Message:
    """A response's id, flags, rcode and answer records (names in rdata expanded)."""
    ident, flags = read_header(data)
    _, _, qd, an, _, _ = _HEADER.unpack_from(data)
    pos = 12
    for _ in range(qd):
        _, pos = read_name(data, pos)
        pos += 4
    msg = Message(ident, flags, flags & 0xF)
    for _ in range(an):
        rr, pos = _read_record(data, pos)
        msg.answers.append(rr)
    return msg


def _read_record(data: bytes, pos: int) -> tuple[RR, int]:
    name, pos = read_name(data, pos)
    if pos + 10 > len(data):
        raise WireError("truncated record")
    rtype, _rclass, ttl, rdlen = _RR_FIXED.unpack_from(data, pos)
    start, end = pos + 10, pos + 10 + rdlen
    if end > len(data):
        raise WireError("truncated rdata")
    return RR(name, rtype, ttl, _read_rdata(data, rtype, start, end)), end


def _read_rdata(data: bytes, rtype: int, start: int, end: int) -> Any:
    if rtype == A and end - start == 4 or rtype == AAAA and end - start == 16:
        return str(ipaddress.ip_address(data[start:end]))
    if rtype in _NAME_TYPES:
        return read_name(data, start)[0]
    if rtype == MX:
        return struct.unpack_from("!H", data, start)[0], read_name(data, start + 2)[0]
    if rtype == SRV:
        prio, weight, port = struct.unpack_from("!HHH", data, start)
        return prio, weight, port, read_name(data, start + 6)[0]
    if rtype == SOA:
        mname, pos = read_name(data, start)
        rname, pos = read_name(data, pos)
        return (mname, rname, *struct.unpack_from("!IIIII", data, pos))
    return bytes(data[start:end])
