"""Publish the records SES asks for into a zone the operator controls, with RFC 2136 updates.

Pure dnspython, no Django: the caller picks an `UpdateTarget` (zone, server, TSIG key) from
settings with `choose_target()` and hands over `Record`s as the console shows them. `publish()`
never overwrites what someone else put in the zone: a record that differs from ours (another
CNAME target, another MX, another SPF or DKIM key) is reported as a conflict and left alone.
"""

from __future__ import annotations

import binascii
import socket
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import NoReturn, Protocol, TypeVar

import dns.exception
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT
import dns.rrset
import dns.tsig
import dns.tsigkeyring
import dns.update

from .dns_destinations import DestinationRefused, Destinations

# RRsets per UPDATE message: Knot applies ~4,000 RRsets/s in batches of this size against ~60/s
# with one RRset per message.
BATCH_SIZE = 500
# A DNS message cannot exceed 64 KiB and a 2048-bit DKIM TXT record is ~450 bytes, so batches
# are also cut by size (estimated uncompressed, leaving room for the TSIG record).
BATCH_BYTES = 48_000

# Seconds one step with a server (connect, one message and its answer) may take; `deadline`
# (an absolute time.time()) bounds a whole publish on top of it.
DEFAULT_TIMEOUT = 5.0

# How often a batch is re-read and re-sent after its prerequisites failed because the zone
# changed between our read and our update. More than this means something keeps editing it.
MAX_ATTEMPTS = 3

# Update rcodes that mean "a prerequisite did not hold" (RFC 2136 §2.4): re-read, re-decide.
PREREQUISITE_FAILED = {
    dns.rcode.YXDOMAIN,
    dns.rcode.YXRRSET,
    dns.rcode.NXDOMAIN,
    dns.rcode.NXRRSET,
}

TSIG_ERRORS = (
    dns.tsig.PeerError,
    dns.tsig.BadSignature,
    dns.tsig.BadTime,
    dns.message.UnknownTSIGKey,
)


class PublishError(Exception):
    """The records could not be published; the message is meant for the operator."""


@dataclass(frozen=True)
class UpdateTarget:
    zone: str
    server: str  # IP address of the primary that accepts updates
    port: int
    key_name: str
    key_algorithm: str  # e.g. "hmac-sha256"
    key_secret: str  # base64
    # An account's server: where it may be (checked again at each connect), and errors that
    # do not tell a closed port from a silent one. None: the operator's server, unrestricted.
    destinations: Destinations | None = None


@dataclass(frozen=True)
class Record:
    """A record as the console shows it: TXT values may carry their quotes, MX is "10 host"."""

    name: str
    rdtype: str
    value: str
    ttl: int = 1800


@dataclass(frozen=True)
class PublishResult:
    published: list[Record]
    already_present: list[Record]
    # (our record, what is there instead). A record of another type at the name is shown as
    # "TYPE value", e.g. ("CNAME other.example.net",) for a TXT that cannot go next to a CNAME.
    conflicts: list[tuple[Record, tuple[str, ...]]]


# -- choosing the zone ---------------------------------------------------------------------------


class _HasZone(Protocol):
    @property
    def zone(self) -> str: ...


_Target = TypeVar("_Target", bound=_HasZone)


def choose_target(domain: str, targets: Sequence[_Target]) -> _Target | None:
    """The target whose zone is the closest enclosing zone of `domain`, or None. Any object
    with a `zone` will do (an UpdateTarget, or a stored server before its secret is decrypted).

    Matching is label-wise and case-insensitive: `mail.Example.com` is in `example.com`,
    `foo-example.com` is not.
    """
    try:
        name = dns.name.from_text(domain)
    except (dns.exception.DNSException, ValueError):
        return None
    best: _Target | None = None
    best_depth = -1
    for target in targets:
        zone = dns.name.from_text(target.zone)
        if name.is_subdomain(zone) and len(zone) > best_depth:
            best, best_depth = target, len(zone)
    return best


# -- parsing what the console shows --------------------------------------------------------------


@dataclass(frozen=True)
class _Wanted:
    record: Record
    owner: dns.name.Name
    rdtype: dns.rdatatype.RdataType
    rdata: dns.rdata.Rdata
    text: str  # the value compared with what the server holds, normalised like the resolver


@dataclass
class _Group:
    """Every wanted record for one (owner, type), decided together against one server read."""

    owner: dns.name.Name
    rdtype: dns.rdatatype.RdataType
    wanted: list[_Wanted] = field(default_factory=list)
    to_add: list[_Wanted] = field(default_factory=list)
    # The RRset of our type we saw at the owner, required unchanged when we add to it.
    seen: dns.rrset.RRset | None = None


def split_txt(text: str) -> tuple[bytes, ...]:
    """TXT character-strings hold at most 255 bytes each: cut longer values into several."""
    data = text.encode()
    return tuple(data[i : i + 255] for i in range(0, len(data), 255)) or (b"",)


def txt_text(value: str) -> str:
    """The TXT content of a console value: quoted values lose their quotes (and are joined when
    given as several quoted strings); an unquoted value is taken literally, spaces included."""
    value = value.strip()
    if not value.startswith('"'):
        return value
    rdata = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.TXT, value)
    return b"".join(rdata.strings).decode()  # type: ignore[attr-defined]


def _parse(record: Record, zone: dns.name.Name) -> _Wanted:
    owner, rdtype, rdata = _rdata(record)
    if not owner.is_subdomain(zone):
        zone_text = zone.to_text(omit_final_dot=True)
        raise PublishError(f"{record.name} is not inside the zone {zone_text}.")
    return _Wanted(record, owner, rdtype, rdata, _value_text(rdata))


def _rdata(record: Record) -> tuple[dns.name.Name, dns.rdatatype.RdataType, dns.rdata.Rdata]:
    """The record as dnspython data: the one place a console value becomes wire data (TXT
    cut into <= 255-byte character-strings, names in values absolute)."""
    try:
        owner = dns.name.from_text(record.name)
        rdtype = dns.rdatatype.from_text(record.rdtype)
        if rdtype == dns.rdatatype.TXT:
            rdata: dns.rdata.Rdata = dns.rdtypes.ANY.TXT.TXT(
                dns.rdataclass.IN, rdtype, split_txt(txt_text(record.value))
            )
        else:
            rdata = dns.rdata.from_text(
                dns.rdataclass.IN, rdtype, record.value, origin=dns.name.root, relativize=False
            )
    except (dns.exception.DNSException, ValueError, UnicodeError) as exc:
        raise PublishError(f"Cannot publish {record.name} {record.rdtype}: {exc}") from exc
    return owner, rdtype, rdata


def zone_line(record: Record) -> str:
    """One zone-file line (absolute names), its data written by dnspython from the same rdata
    an UPDATE would carry, so the downloads and publishing cannot disagree."""
    owner, rdtype, rdata = _rdata(record)
    kind = dns.rdatatype.to_text(rdtype)
    return f"{owner.to_text()}\t{record.ttl}\tIN\t{kind}\t{rdata.to_text()}"


def _value_text(rdata: dns.rdata.Rdata) -> str:
    """Normalised like identities.resolver: joined TXT, names without the final dot."""
    if rdata.rdtype == dns.rdatatype.TXT:
        return b"".join(rdata.strings).decode(errors="backslashreplace")  # type: ignore[attr-defined]
    if rdata.rdtype == dns.rdatatype.CNAME:
        return str(rdata.target.to_text(omit_final_dot=True))  # type: ignore[attr-defined]
    if rdata.rdtype == dns.rdatatype.MX:
        exchange = rdata.exchange.to_text(omit_final_dot=True)  # type: ignore[attr-defined]
        return f"{rdata.preference} {exchange}"  # type: ignore[attr-defined]
    return rdata.to_text()


def txt_tag(text: str) -> str | None:
    """What a TXT record is for, so two of the same kind at one name count as a conflict.

    "v=spf1 ..." -> "v=spf1", "v=DMARC1; ..." -> "v=dmarc1", a DKIM key ("v=DKIM1; ...p=..." or
    a bare "p=...") -> "dkim". Free text such as a verification token -> None: several of those
    may share a name (SES lets one domain be verified by several accounts that way).
    """
    head = text.strip().lower()
    if head.startswith("v=") and not head.startswith("v=dkim1"):
        return head.split(";")[0].split()[0]
    tags = {part.split("=", 1)[0].strip() for part in head.split(";") if "=" in part}
    if head.startswith("v=dkim1") or "p" in tags:
        return "dkim"
    return None


# -- talking to the server -----------------------------------------------------------------------


class _Connection:
    """One TCP connection to the primary, every message signed with the target's TSIG key."""

    def __init__(self, target: UpdateTarget, timeout: float, deadline: float | None) -> None:
        self.target = target
        self.timeout = timeout
        self.deadline = deadline  # time.time() by which everything must be done, if any
        self.zone = dns.name.from_text(target.zone)
        try:
            self.keyring = dns.tsigkeyring.from_text(
                {target.key_name: (target.key_algorithm, target.key_secret)}
            )
        except (binascii.Error, ValueError) as exc:
            raise PublishError(
                f"The TSIG secret for {target.key_name} is not valid base64."
            ) from exc
        self.sock: socket.socket | None = None

    @property
    def zone_text(self) -> str:
        return self.zone.to_text(omit_final_dot=True)

    @property
    def where(self) -> str:
        return f"{self.target.server}:{self.target.port}"

    def __enter__(self) -> _Connection:
        self.connect()
        return self

    def connect(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        try:
            sock = socket.create_connection(self._address(), timeout=self.budget())
        except TimeoutError as exc:
            raise self.failure(f"No answer from {self.where} within {self.timeout:g} s.") from exc
        except OSError as exc:
            raise self.failure(
                f"Could not connect to {self.where}: {exc.strerror or exc}."
            ) from exc
        sock.setblocking(False)  # dnspython waits on the socket itself, bounded by `timeout`
        self.sock = sock

    def _address(self) -> tuple[str, int]:
        """Where to connect: an account's server only at an address its rule allows, resolved
        here and used as is (a host name is not looked up again by the connect)."""
        policy = self.target.destinations
        if policy is None:
            return (self.target.server, self.target.port)
        try:
            return (policy.resolve(self.target.server, self.target.port)[0], self.target.port)
        except DestinationRefused as exc:
            raise PublishError(f"Could not publish to {self.target.server}: {exc}") from exc

    def budget(self) -> float:
        """Seconds the next step may wait: the per-server timeout, cut to what is left of the
        overall deadline."""
        if self.deadline is None:
            return self.timeout
        left = self.deadline - time.time()
        if left <= 0:
            raise PublishError(
                "Publishing stopped: it took longer than allowed. Try again in a moment."
            )
        return min(self.timeout, left)

    def failure(self, detail: str) -> PublishError:
        """A failure to talk to the server. An account sees one sentence whatever happened (a
        closed, filtered or non-DNS port look alike); the operator's servers get the detail."""
        if self.target.destinations is None:
            return PublishError(detail)
        return PublishError(
            f"Could not publish to {self.where}: no DNS server accepted the update there. "
            "Check the server's address and port, and that it accepts TCP from sesconsole."
        )

    def __exit__(self, *exc_info: object) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def query(self, owner: dns.name.Name, rdtype: dns.rdatatype.RdataType) -> dns.message.Message:
        query = dns.message.make_query(owner, rdtype)
        query.use_tsig(self.keyring, keyname=self.target.key_name)
        response = self.send(query)
        if response.rcode() not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
            self.raise_for_rcode(response.rcode())
        return response

    def update(self) -> dns.update.UpdateMessage:
        return dns.update.UpdateMessage(
            self.zone, keyring=self.keyring, keyname=dns.name.from_text(self.target.key_name)
        )

    def send(self, message: dns.message.Message) -> dns.message.Message:
        """Send over the open connection and return the verified answer.

        1. Read the answer without checking its signature, to keep the raw wire.
        2. Unsigned answer: the server turned the message away before looking at our key (an
           unknown zone, REFUSED). Its rcode only explains the failure; unsigned success is
           never trusted.
        3. Signed answer: verify it with our key; a TSIG error in it (BADKEY, BADSIG, BADTIME)
           means the server did not accept the key.
        """
        raw = self._exchange(message)
        if not message.is_response(raw):
            raise self.failure(f"{self.where} sent an answer that does not match the question.")
        if raw.tsig is None:
            if raw.rcode() == dns.rcode.NOERROR:
                raise PublishError(f"{self.where} answered without signing with the TSIG key.")
            self.raise_for_rcode(raw.rcode())
        try:
            return dns.message.from_wire(
                raw.wire or b"", keyring=self.keyring, request_mac=message.mac
            )
        except TSIG_ERRORS as exc:
            raise PublishError(
                f"The DNS server rejected the TSIG key {self.target.key_name} "
                f"({_tsig_error_name(exc)}): check the key name, algorithm and secret."
            ) from exc

    def _exchange(self, message: dns.message.Message) -> dns.message.Message:
        """One message out, one answer in, signature unchecked. A server that closed the
        connection since the last message gets one fresh connection: re-sending is safe, as
        every update carries prerequisites that fail if it was applied already."""
        for attempt in (1, 2):
            expiration = time.time() + self.budget()
            try:
                dns.query.send_tcp(self.sock, message, expiration)
                raw, _ = dns.query.receive_tcp(self.sock, expiration, keyring=False)  # type: ignore[arg-type]
                return raw
            except dns.exception.Timeout as exc:
                raise self.failure(
                    f"No answer from {self.where} within {self.timeout:g} s."
                ) from exc
            except (EOFError, ConnectionError) as exc:
                if attempt == 2:
                    raise self.failure(f"{self.where} closed the connection.") from exc
                self.connect()
            except (OSError, dns.exception.DNSException) as exc:
                raise self.failure(f"The exchange with {self.where} failed: {exc}.") from exc
        raise AssertionError("unreachable")

    def raise_for_rcode(self, rcode: dns.rcode.Rcode) -> NoReturn:
        if rcode in (dns.rcode.REFUSED, dns.rcode.NOTAUTH):
            raise PublishError(
                f"The server is not authoritative for zone {self.zone_text} or does not "
                f"allow updates with this key ({dns.rcode.to_text(rcode)} from {self.where})."
            )
        raise PublishError(
            f"The DNS server at {self.where} answered {dns.rcode.to_text(rcode)} for zone "
            f"{self.zone_text}."
        )


def _tsig_error_name(exc: Exception) -> str:
    names: dict[type[Exception], str] = {
        dns.tsig.PeerBadKey: "BADKEY",
        dns.tsig.PeerBadSignature: "BADSIG",
        dns.tsig.PeerBadTime: "BADTIME",
        dns.tsig.PeerBadTruncation: "BADTRUNC",
    }
    return names.get(type(exc), exc.__class__.__name__)


# -- deciding what to add ------------------------------------------------------------------------


def _rrset_at(
    response: dns.message.Message, owner: dns.name.Name, rdtype: dns.rdatatype.RdataType
) -> dns.rrset.RRset | None:
    for rrset in response.answer:
        if rrset.name == owner and rrset.rdtype == rdtype:
            return rrset
    return None


def _typed(rrset: dns.rrset.RRset) -> tuple[str, ...]:
    """Values of another type than ours, shown with their type: ("CNAME host",)."""
    kind = dns.rdatatype.to_text(rrset.rdtype)
    return tuple(sorted(f"{kind} {_value_text(rdata)}" for rdata in rrset))


def _same(rdtype: dns.rdatatype.RdataType, ours: str, theirs: str) -> bool:
    # Names compare case-insensitively in DNS (and Knot lower-cases them anyway); TXT is exact,
    # as SES compares it.
    if rdtype == dns.rdatatype.TXT:
        return ours == theirs
    return ours.lower() == theirs.lower()


def _other_data(conn: _Connection, owner: dns.name.Name) -> tuple[str, ...]:
    """Records of any type at `owner` (an ANY query over TCP, which authoritative servers answer
    in full); a CNAME may not share its name with them."""
    response = conn.query(owner, dns.rdatatype.ANY)
    found: list[str] = []
    for rrset in response.answer:
        if rrset.name == owner and rrset.rdtype not in (dns.rdatatype.RRSIG, dns.rdatatype.NSEC):
            found.extend(_typed(rrset))
    return tuple(found)


def _decide(conn: _Connection, group: _Group, result: PublishResult) -> None:
    """Read the server's state for one (owner, type) and sort the group's records into
    already_present, conflicts and to_add (the last kept on the group for the update)."""
    group.to_add, group.seen = [], None
    response = conn.query(group.owner, group.rdtype)
    if group.rdtype != dns.rdatatype.CNAME:
        alias = _rrset_at(response, group.owner, dns.rdatatype.CNAME)
        if alias is not None:
            result.conflicts.extend((w.record, _typed(alias)) for w in group.wanted)
            return
    existing = _rrset_at(response, group.owner, group.rdtype)
    group.seen = existing
    have = [_value_text(rdata) for rdata in existing] if existing is not None else []
    if group.rdtype == dns.rdatatype.CNAME and not have and response.rcode() == dns.rcode.NOERROR:
        # The name exists without a CNAME: other records there (or an empty non-terminal).
        other = _other_data(conn, group.owner)
        if other:
            result.conflicts.extend((w.record, other) for w in group.wanted)
            return
    for wanted in group.wanted:
        if any(_same(group.rdtype, wanted.text, value) for value in have):
            result.already_present.append(wanted.record)
            continue
        rivals = _rivals(wanted, have)
        if rivals:
            result.conflicts.append((wanted.record, rivals))
        else:
            group.to_add.append(wanted)


def _rivals(wanted: _Wanted, have: list[str]) -> tuple[str, ...]:
    """Existing values ours would clash with: any other CNAME or MX (one of each per name),
    and for TXT only one of the same kind (two SPF records, two DKIM keys)."""
    if wanted.rdtype in (dns.rdatatype.CNAME, dns.rdatatype.MX):
        return tuple(sorted(have))
    if wanted.rdtype == dns.rdatatype.TXT:
        tag = txt_tag(wanted.text)
        if tag is not None:
            return tuple(sorted(v for v in have if txt_tag(v) == tag))
    return ()


def _guard(update: dns.update.UpdateMessage, group: _Group) -> None:
    """Prerequisites that hold only if the zone is still as `_decide` saw it (RFC 2136 §2.4)."""
    if group.rdtype == dns.rdatatype.CNAME:
        # A CNAME needs its name to itself: "name is not in use".
        update.absent(group.owner)
        return
    update.absent(group.owner, dns.rdatatype.CNAME)
    if group.seen is None:
        update.absent(group.owner, group.rdtype)
    else:
        # "RRset exists (value dependent)": exactly the records we looked at, nothing added.
        update.present(group.owner, *group.seen)


def _batches(groups: list[_Group]) -> Iterator[list[_Group]]:
    """Groups in runs of at most BATCH_SIZE records and BATCH_BYTES bytes, counting every record
    as added (the decision comes later, per batch)."""
    batch: list[_Group] = []
    count = size = 0
    for group in groups:
        group_size = _wire_size(group)
        if batch and (count + len(group.wanted) > BATCH_SIZE or size + group_size > BATCH_BYTES):
            yield batch
            batch, count, size = [], 0, 0
        batch.append(group)
        count += len(group.wanted)
        size += group_size
    if batch:
        yield batch


def _wire_size(group: _Group) -> int:
    # Owner + type/class/TTL/length (10 bytes) + rdata per record, plus two prerequisites.
    owner = len(group.owner.to_wire() or b"")
    records = sum(owner + 10 + len(w.rdata.to_wire() or b"") for w in group.wanted)
    return records + 2 * (owner + 10)


def _send_batch(conn: _Connection, batch: list[_Group]) -> bool:
    """Send one guarded UPDATE; True if applied, False if a prerequisite failed."""
    update = conn.update()
    for group in batch:
        _guard(update, group)
        for wanted in group.to_add:
            update.add(wanted.owner, wanted.record.ttl, wanted.rdata)
    rcode = conn.send(update).rcode()
    if rcode == dns.rcode.NOERROR:
        return True
    if rcode in PREREQUISITE_FAILED:
        return False
    conn.raise_for_rcode(rcode)


def _group(wanted: list[_Wanted]) -> list[_Group]:
    groups: dict[tuple[dns.name.Name, dns.rdatatype.RdataType], _Group] = {}
    for item in wanted:
        group = groups.setdefault((item.owner, item.rdtype), _Group(item.owner, item.rdtype))
        if all(item.text != other.text for other in group.wanted):  # drop duplicates
            group.wanted.append(item)
    return list(groups.values())


def publish(
    target: UpdateTarget,
    records: Sequence[Record],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    deadline: float | None = None,
) -> PublishResult:
    """Add the records that are missing from the zone; never replace what is there.

    1. Parse every record; refuse any outside `target.zone` before touching the server.
    2. Over one TCP connection to the primary (TSIG-signed, so a wrong key fails here even when
       nothing needs adding), read each (name, type) and sort the records into already_present,
       conflicts (a different CNAME/MX, a TXT of the same kind, any record next to a CNAME) and
       to-add.
    3. Send the adds in UPDATEs of ~500 RRsets, each guarded by prerequisites saying the zone is
       still as read in step 2. If someone changed it meanwhile the server refuses the whole
       batch with YXRRSET/NXRRSET/YXDOMAIN: read that batch again and decide again (at most
       MAX_ATTEMPTS times), so a record that appeared in between becomes a conflict or
       already_present instead of being overwritten.
    """
    zone = dns.name.from_text(target.zone)
    groups = _group([_parse(record, zone) for record in records])
    result = PublishResult(published=[], already_present=[], conflicts=[])
    with _Connection(target, timeout, deadline) as conn:
        for batch in _batches(groups):
            _publish_batch(conn, batch, result)
    return result


def _publish_batch(conn: _Connection, batch: list[_Group], result: PublishResult) -> None:
    for _ in range(MAX_ATTEMPTS):
        # Decide into a scratch result so a failed attempt leaves no half-counted records.
        attempt = PublishResult(published=[], already_present=[], conflicts=[])
        for group in batch:
            _decide(conn, group, attempt)
        pending = [group for group in batch if group.to_add]
        if not pending or _send_batch(conn, pending):
            result.published.extend(w.record for g in pending for w in g.to_add)
            result.already_present.extend(attempt.already_present)
            result.conflicts.extend(attempt.conflicts)
            return
    raise PublishError(
        f"Zone {conn.zone_text} kept changing while publishing; try again in a moment."
    )


def replace(
    target: UpdateTarget,
    records: Sequence[Record],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    deadline: float | None = None,
) -> None:
    """Replace the RRsets at the records' (name, type) with exactly these values, in one
    UPDATE. Only for names sesconsole owns (the operator's signing zone, where a rotated key
    must replace the old one); users' zones go through `publish`, which never overwrites."""
    zone = dns.name.from_text(target.zone)
    groups = _group([_parse(record, zone) for record in records])
    with _Connection(target, timeout, deadline) as conn:
        update = conn.update()
        for group in groups:
            ttl = group.wanted[0].record.ttl
            update.replace(group.owner, ttl, *(wanted.rdata for wanted in group.wanted))
        rcode = conn.send(update).rcode()
        if rcode != dns.rcode.NOERROR:
            conn.raise_for_rcode(rcode)
