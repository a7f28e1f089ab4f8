"""The one module through which sesconsole looks names up in DNS.

Pure dnspython and asyncio, no Django: the caller passes the nameservers (from settings) and gets
plain `Answer` values back, one per `Query`, in the order asked. DNS failures never raise; they
come back as `Outcome.ERROR` with a short `detail`, so one broken zone cannot fail a whole batch.

There is no cache across calls: several processes (web, workers) check the same records, and a
record the user has just published must be seen on the next check.

CNAMEs are not followed. SES tells the user to publish records at exact names, and a diagnosis
has to say what is *at that name*:

- a CNAME query returns the CNAME itself (servers never chase CNAMEs for qtype CNAME);
- a TXT/MX/SOA query at a name that is an alias (a CNAME) is reported as `NO_ANSWER` with
  `Answer.cname` set to the alias target, and without the target's records. Both an authoritative
  server (for targets in its own zones) and a recursive resolver (for any target) would otherwise
  hand back records from the target's zone, which may belong to someone else; a check would then
  pass on data the user does not control. A caller that does want the target's records (DMARC may
  legitimately be delegated with a CNAME) asks again at `Answer.cname`, knowingly.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import Sequence
from dataclasses import dataclass

import dns.asyncresolver
import dns.exception
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.resolver
import dns.rrset

# Big enough for a 2048-bit DKIM TXT over UDP, small enough to avoid IP fragmentation (the
# DNS Flag Day 2020 value). Without EDNS such answers are truncated and retried over TCP.
EDNS_PAYLOAD = 1232


@dataclass(frozen=True)
class Query:
    name: str
    rdtype: str  # "CNAME" | "TXT" | "MX" | "SOA"


@dataclass(frozen=True)
class SOARecord:
    """The SOA of the zone holding a name, as SES reports VerificationInfo.SOARecord."""

    zone: str
    primary_name_server: str
    admin_email: str
    serial_number: int


class Outcome(enum.StrEnum):
    FOUND = "FOUND"
    NXDOMAIN = "NXDOMAIN"  # the name does not exist at all
    NO_ANSWER = "NO_ANSWER"  # the name exists, but has no record of this type (or is a CNAME)
    ERROR = "ERROR"  # timeout, SERVFAIL, REFUSED, network error: we do not know


@dataclass(frozen=True)
class Answer:
    """What DNS said about one query.

    values: one normalised string per record, sorted: CNAME -> target without the final dot, in
        the case the server sent; TXT -> the record's character-strings joined; MX -> "10 host";
        SOA -> "mname rname serial".
    strings: for TXT, each record's character-strings as published, aligned with `values`, so a
        diagnosis can tell a value split badly (on a newline, or truncated at 255 bytes).
    cname: the alias target when a non-CNAME query hit a name that is a CNAME.
    soa: for NXDOMAIN / NO_ANSWER (not an alias), the SOA the server sent in the authority
        section (RFC 2308): that of the zone holding the queried name, at no extra lookup.
    """

    query: Query
    outcome: Outcome
    values: tuple[str, ...]
    detail: str = ""
    strings: tuple[tuple[str, ...], ...] = ()
    cname: str = ""
    soa: SOARecord | None = None


def make_resolver(
    nameservers: Sequence[str], port: int, timeout: float
) -> dns.asyncresolver.Resolver:
    """A fresh resolver (so no cache) for `nameservers` (IP addresses), or the system's if empty."""
    if nameservers:
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = list(nameservers)
        resolver.port = port
    else:
        resolver = dns.asyncresolver.Resolver()
    resolver.cache = None
    resolver.lifetime = timeout
    # Two tries fit in the lifetime, so one lost UDP packet does not turn into an ERROR.
    resolver.timeout = timeout / 2
    resolver.use_search_by_default = False
    resolver.use_edns(0, 0, EDNS_PAYLOAD)
    return resolver


async def resolve_all(
    queries: Sequence[Query],
    *,
    nameservers: Sequence[str],
    port: int = 53,
    timeout: float = 3.0,
    concurrency: int = 100,
) -> list[Answer]:
    """Resolve every query, at most `concurrency` at a time; answers come back in input order.

    `timeout` bounds each query (all retries included), so the whole call takes at most about
    len(queries) / concurrency * timeout.
    """
    resolver = make_resolver(nameservers, port, timeout)
    semaphore = asyncio.Semaphore(concurrency)

    async def one(query: Query) -> Answer:
        async with semaphore:
            return await resolve_one(resolver, query)

    return list(await asyncio.gather(*(one(q) for q in queries)))


async def resolve_one(resolver: dns.asyncresolver.Resolver, query: Query) -> Answer:
    """Ask one question and turn whatever happens into an Answer; never raises DNS errors.

    1. Send the query (the resolver retries over TCP when the answer is truncated).
    2. NXDOMAIN: the server may still show a CNAME at the name (the alias exists, its target does
       not), which makes it NO_ANSWER with `cname`, not NXDOMAIN.
    3. NOERROR: look only at records owned by the queried name itself (see the module docstring).
    4. Anything else (timeout, SERVFAIL, REFUSED, socket error, bad name) is ERROR.
    """
    try:
        qname = dns.name.from_text(query.name)
        rdtype = dns.rdatatype.from_text(query.rdtype)
    except (dns.exception.DNSException, ValueError) as exc:
        return Answer(query, Outcome.ERROR, (), detail=f"Not a valid query: {exc}")
    try:
        result = await resolver.resolve(qname, rdtype, raise_on_no_answer=False, search=False)
    except dns.resolver.NXDOMAIN as exc:
        response = exc.responses().get(qname)
        alias = _cname_at(response, qname) if response is not None else ""
        if alias:
            return _alias_answer(query, alias)
        return Answer(
            query,
            Outcome.NXDOMAIN,
            (),
            detail=f"{query.name} does not exist.",
            soa=_authority_soa(response, qname) if response is not None else None,
        )
    except (dns.exception.DNSException, OSError) as exc:
        return Answer(query, Outcome.ERROR, (), detail=describe_failure(exc, resolver.lifetime))
    return _answer_from_response(query, qname, rdtype, result.response)


def _answer_from_response(
    query: Query,
    qname: dns.name.Name,
    rdtype: dns.rdatatype.RdataType,
    response: dns.message.Message,
) -> Answer:
    rrset = _rrset_at(response, qname, rdtype)
    if rrset is not None:
        return _found(query, rrset)
    alias = _cname_at(response, qname) if rdtype != dns.rdatatype.CNAME else ""
    if alias:
        return _alias_answer(query, alias)
    return Answer(
        query,
        Outcome.NO_ANSWER,
        (),
        detail=f"{query.name} has no {query.rdtype} record.",
        soa=_authority_soa(response, qname),
    )


def _authority_soa(response: dns.message.Message, qname: dns.name.Name) -> SOARecord | None:
    """The zone SOA a negative answer carries in its authority section, when it is the SOA of
    a zone enclosing `qname` (callers have ruled out a CNAME at the name, whose negative answer
    would carry the target's zone instead)."""
    for rrset in response.authority:
        if rrset.rdtype == dns.rdatatype.SOA and len(rrset) and qname.is_subdomain(rrset.name):
            return _soa_record(rrset)
    return None


def _alias_answer(query: Query, alias: str) -> Answer:
    return Answer(
        query,
        Outcome.NO_ANSWER,
        (),
        detail=(
            f"{query.name} is an alias (CNAME) for {alias}, "
            f"so it cannot hold a {query.rdtype} record."
        ),
        cname=alias,
    )


def _rrset_at(
    response: dns.message.Message, qname: dns.name.Name, rdtype: dns.rdatatype.RdataType
) -> dns.rrset.RRset | None:
    # Name comparison is case-insensitive, as in DNS; only the owner itself counts, never the
    # records of a CNAME target that the server appended after the alias.
    for rrset in response.answer:
        if rrset.name == qname and rrset.rdtype == rdtype and rrset.rdclass == dns.rdataclass.IN:
            return rrset
    return None


def _cname_at(response: dns.message.Message, qname: dns.name.Name) -> str:
    rrset = _rrset_at(response, qname, dns.rdatatype.CNAME)
    if rrset is None or len(rrset) == 0:
        return ""
    return _name_text(rrset[0].target)


def _found(query: Query, rrset: dns.rrset.RRset) -> Answer:
    pairs = sorted(_normalise(rdata) for rdata in rrset)
    values = tuple(value for value, _ in pairs)
    strings = tuple(parts for _, parts in pairs) if rrset.rdtype == dns.rdatatype.TXT else ()
    return Answer(query, Outcome.FOUND, values, strings=strings)


def _normalise(rdata: dns.rdata.Rdata) -> tuple[str, tuple[str, ...]]:
    """(value as compared and shown, TXT character-strings) for one record."""
    if rdata.rdtype == dns.rdatatype.TXT:
        parts = tuple(_decode(s) for s in rdata.strings)  # type: ignore[attr-defined]
        return "".join(parts), parts
    if rdata.rdtype == dns.rdatatype.CNAME:
        return _name_text(rdata.target), ()  # type: ignore[attr-defined]
    if rdata.rdtype == dns.rdatatype.MX:
        return f"{rdata.preference} {_name_text(rdata.exchange)}", ()  # type: ignore[attr-defined]
    if rdata.rdtype == dns.rdatatype.SOA:
        mname, rname = _name_text(rdata.mname), _name_text(rdata.rname)  # type: ignore[attr-defined]
        return f"{mname} {rname} {rdata.serial}", ()  # type: ignore[attr-defined]
    return rdata.to_text(), ()


def _decode(data: bytes) -> str:
    # TXT is bytes; values SES hands out are ASCII. Keep anything else visible rather than lose it.
    return data.decode("utf-8", errors="backslashreplace")


def _name_text(name: dns.name.Name) -> str:
    return name.to_text(omit_final_dot=True)


def describe_failure(exc: BaseException, timeout: float) -> str:
    """A short sentence for an ERROR answer: what failed, not a dnspython traceback."""
    if isinstance(exc, dns.exception.Timeout):
        return f"No answer within {timeout:g} s."
    if isinstance(exc, dns.resolver.NoNameservers):
        rcodes = sorted(
            {
                dns.rcode.to_text(response.rcode())
                for *_, response in exc.kwargs.get("errors", [])
                if isinstance(response, dns.message.Message)
            }
        )
        if rcodes:
            return f"The name server answered {', '.join(rcodes)}."
        return "No name server could be reached."
    if isinstance(exc, OSError):
        return f"Network error: {exc.strerror or exc}."
    return str(exc) or exc.__class__.__name__


# -- zone SOA ------------------------------------------------------------------------------------


async def find_soa(
    name: str, *, nameservers: Sequence[str], port: int = 53, timeout: float = 3.0
) -> SOARecord | None:
    """The SOA of the zone that contains `name`, or None when it cannot be found.

    1. Ask for the SOA at `name`: a zone apex answers it directly.
    2. Otherwise the NXDOMAIN/NODATA answer carries the zone's SOA in its authority section, owned
       by the zone apex: one query is enough, whatever the depth of `name`.
    3. When it does not (a server that leaves it out, or a CNAME at the name, whose authority SOA
       would be the target's zone), ask again one label higher, up to the root.
    `timeout` bounds the whole walk.
    """
    resolver = make_resolver(nameservers, port, timeout)
    deadline = time.monotonic() + timeout
    try:
        current = dns.name.from_text(name)
    except dns.exception.DNSException:
        return None
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        try:
            soa = await _soa_step(resolver, current, remaining)
        except (dns.exception.DNSException, OSError):
            return None
        if soa is not None:
            return _soa_record(soa)
        if current == dns.name.root:
            return None
        current = current.parent()


async def _soa_step(
    resolver: dns.asyncresolver.Resolver, name: dns.name.Name, lifetime: float
) -> dns.rrset.RRset | None:
    try:
        result = await resolver.resolve(
            name, dns.rdatatype.SOA, raise_on_no_answer=False, search=False, lifetime=lifetime
        )
        response = result.response
    except dns.resolver.NXDOMAIN as exc:
        response = exc.responses().get(name)
        if response is None:
            return None
    if _cname_at(response, name):
        return None
    answer = _rrset_at(response, name, dns.rdatatype.SOA)
    if answer is not None:
        return answer
    for rrset in response.authority:
        if rrset.rdtype == dns.rdatatype.SOA and name.is_subdomain(rrset.name):
            return rrset
    return None


def _soa_record(rrset: dns.rrset.RRset) -> SOARecord:
    soa = rrset[0]
    return SOARecord(
        zone=rrset.name.to_text(),
        primary_name_server=_name_text(soa.mname),
        admin_email=rname_to_email(soa.rname),
        serial_number=soa.serial,
    )


def rname_to_email(rname: dns.name.Name) -> str:
    """SOA RNAME to a mail address: the first label is the local part (an escaped dot such as
    `john\\.doe` is part of that label), the rest is the domain."""
    labels = rname.labels[:-1] if rname.is_absolute() else rname.labels
    if not labels:
        return ""
    local = labels[0].decode("utf-8", errors="backslashreplace")
    if len(labels) == 1:
        return local
    return f"{local}@{dns.name.Name(labels[1:]).to_text()}"
