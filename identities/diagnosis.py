"""What is wrong with one DNS record, in SES's terms and in one sentence the user can act on.

Pure functions, no Django and no network: `dns_check` resolves the expected record, hands the
answer to `judge()`, and for a record that is simply absent resolves the `probes()` (the names
and types where the classic mistakes of the spec's §1.15–1.16 put it) and hands those answers to
`explain_missing()`. Each finding carries SES's `ErrorType` (HOST_NOT_FOUND / TYPE_NOT_FOUND /
INVALID_VALUE / DNS_SERVER_ERROR) for API compatibility, a stable code for the console and
tests, and the hint.

Matching rules, decided once here:
- CNAME targets and MX hosts are DNS names, compared case-insensitively (DNS semantics; Easy
  DKIM tokens are lower-case anyway, so a provider lower-casing them changes nothing).
- TXT values are compared exactly, as SES does; a BYODKIM record is compared by its parsed
  `p=` tag, so "v=DKIM1; k=rsa; p=KEY;" matches "p=KEY" (trailing `;`, extra tags).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from .resolver import Answer, Outcome, Query


class ErrorType(StrEnum):
    """SES VerificationInfo.ErrorType values a DNS check can produce."""

    DNS_SERVER_ERROR = "DNS_SERVER_ERROR"
    HOST_NOT_FOUND = "HOST_NOT_FOUND"
    TYPE_NOT_FOUND = "TYPE_NOT_FOUND"
    INVALID_VALUE = "INVALID_VALUE"


class Code(StrEnum):
    OK = ""
    DNS_ERROR = "dns_error"
    HOST_NOT_FOUND = "host_not_found"
    TYPE_NOT_FOUND = "type_not_found"
    ZONE_APPENDED = "zone_appended"
    UNDERSCORE_DROPPED = "underscore_dropped"
    UNDERSCORE_REPLACED = "underscore_replaced"
    DOT_MISSING = "dot_missing"
    RECORD_AT_WWW = "record_at_www"
    WRONG_SUBDOMAIN = "wrong_subdomain"
    IDENTITY_WWW = "identity_www"
    TXT_INSTEAD_OF_CNAME = "txt_instead_of_cname"
    CNAME_INSTEAD_OF_TXT = "cname_instead_of_txt"
    WRONG_VALUE = "wrong_value"
    VALUE_ZONE_APPENDED = "value_zone_appended"
    VALUE_LOWERCASED = "value_lowercased"
    DUPLICATE_TXT = "duplicate_txt"
    SPLIT_TXT = "split_txt"
    TRUNCATED_TXT = "truncated_txt"
    SPF_MISSING = "spf_missing"
    SPF_MISSING_INCLUDE = "spf_missing_include"
    SEVERAL_SPF = "several_spf"
    SEVERAL_MX = "several_mx"
    MX_SMTP_ENDPOINT = "mx_smtp_endpoint"
    MX_OTHER_REGION = "mx_other_region"
    MX_WRONG_HOST = "mx_wrong_host"
    VALUE_QUOTED = "value_quoted"


@dataclass(frozen=True)
class Expected:
    """One record the identity needs, with what is needed to judge it.

    purpose: records.Purpose value ("DKIM", "MAIL_FROM_MX", "MAIL_FROM_SPF").
    value: as the console shows it (CNAME target, "10 host" for MX, quoted SPF, "p=KEY").
    domain: the identity's domain; region: its region code; spf_domain: SPF_INCLUDE_DOMAIN.
    """

    purpose: str
    name: str
    rdtype: str
    value: str
    domain: str
    region: str = ""
    spf_domain: str = ""


@dataclass(frozen=True)
class Finding:
    ok: bool
    code: Code
    error: ErrorType | None
    hint: str
    found: tuple[str, ...] = ()
    # The record is absent at its name: probe the classic wrong names before explaining.
    needs_probes: bool = False
    dns_error: bool = False
    probe_name: str = field(default="", compare=False)


OK_HINT = ""


def _finding(
    code: Code, error: ErrorType, hint: str, found: tuple[str, ...] = (), **kw: object
) -> Finding:
    return Finding(False, code, error, hint, found, **kw)  # type: ignore[arg-type]


# -- judging the answer at the expected name ------------------------------------------------------


def judge(expected: Expected, answer: Answer) -> Finding:
    """The verdict from the answer at the record's own name.

    1. ERROR (timeout, SERVFAIL, REFUSED): DNS_SERVER_ERROR, never the user's fault.
    2. NXDOMAIN / NO_ANSWER: absent (a CNAME where a TXT/MX belongs is explained at once);
       `needs_probes` asks the caller to look for it at the usual wrong names.
    3. FOUND: compare the values by record kind.
    """
    if answer.outcome == Outcome.ERROR:
        hint = (
            f"sesconsole could not get an answer for {expected.name} ({answer.detail}) and "
            "will check again in a few minutes; nothing needs to change on your side."
        )
        return _finding(Code.DNS_ERROR, ErrorType.DNS_SERVER_ERROR, hint, dns_error=True)
    if answer.outcome == Outcome.NXDOMAIN:
        return _missing(expected, ErrorType.HOST_NOT_FOUND, needs_probes=True)
    if answer.outcome == Outcome.NO_ANSWER:
        if answer.cname:
            hint = (
                f"{expected.name} is an alias (CNAME) for {answer.cname}, so it cannot hold "
                f"the {expected.rdtype} record: delete the CNAME and add the {expected.rdtype} "
                "record shown here."
            )
            return _finding(
                Code.CNAME_INSTEAD_OF_TXT,
                ErrorType.TYPE_NOT_FOUND,
                hint,
                (f"CNAME {answer.cname}",),
            )
        return _missing(expected, ErrorType.TYPE_NOT_FOUND, needs_probes=True)
    if expected.purpose == "VERIFICATION":
        return _judge_token_txt(expected, answer)
    judges = {
        "CNAME": _judge_cname,
        "TXT": _judge_dkim_txt if expected.purpose == "DKIM" else _judge_spf,
        "MX": _judge_mx,
    }
    return judges[expected.rdtype](expected, answer)


def _missing(expected: Expected, error: ErrorType, *, needs_probes: bool = False) -> Finding:
    if error == ErrorType.HOST_NOT_FOUND:
        code = Code.HOST_NOT_FOUND
        hint = (
            f"No record exists at {expected.name}: add the {expected.rdtype} record with "
            "exactly this name and value at your DNS provider."
        )
    else:
        code = Code.TYPE_NOT_FOUND
        hint = (
            f"{expected.name} exists but has no {expected.rdtype} record: add the "
            f"{expected.rdtype} record with exactly this value."
        )
    return _finding(code, error, hint, needs_probes=needs_probes)


def _same_name(a: str, b: str) -> bool:
    return a.rstrip(".").lower() == b.rstrip(".").lower()


def _judge_cname(expected: Expected, answer: Answer) -> Finding:
    found = answer.values
    if any(_same_name(value, expected.value) for value in found):
        return Finding(True, Code.OK, None, OK_HINT, found)
    target = found[0] if found else ""
    for suffix in zone_suffixes(expected.domain):
        # A provider that takes values as relative names appends the zone to the target too.
        if _same_name(target, f"{expected.value}.{suffix}"):
            hint = (
                f"{expected.name} points to {target} because your DNS provider appended "
                f"{suffix} to the value: enter the value as {expected.value}. (ending with a "
                "dot) or without the zone."
            )
            return _finding(Code.VALUE_ZONE_APPENDED, ErrorType.INVALID_VALUE, hint, found)
    hint = (
        f"{expected.name} points to {target} instead of {expected.value}: change the CNAME "
        f"value to {expected.value}."
    )
    return _finding(Code.WRONG_VALUE, ErrorType.INVALID_VALUE, hint, found)


# -- DKIM TXT (BYODKIM) -------------------------------------------------------------------------


def parse_tags(text: str) -> dict[str, str]:
    """DKIM tag=value pairs (RFC 6376 §3.2): split on `;`, names lower-cased, values stripped
    at the ends only, so a space or newline inside a value stays visible to the diagnosis."""
    tags: dict[str, str] = {}
    for part in text.split(";"):
        name, sep, value = part.partition("=")
        if sep and name.strip():
            tags.setdefault(name.strip().lower(), value.strip())
    return tags


def is_dkim_text(text: str) -> bool:
    lowered = text.strip().lower()
    return lowered.startswith("v=dkim1") or "p" in parse_tags(text)


def _judge_dkim_txt(expected: Expected, answer: Answer) -> Finding:
    """BYODKIM: exactly one DKIM TXT whose parsed p= equals the stored public key."""
    want = parse_tags(expected.value).get("p", "")
    found = answer.values
    dkim = [(value, strings) for value, strings in _with_strings(answer) if is_dkim_text(value)]
    if not dkim:
        hint = (
            f"{expected.name} has TXT records but none is a DKIM key: add the TXT record with "
            "the p= value shown here."
        )
        return _finding(Code.WRONG_VALUE, ErrorType.INVALID_VALUE, hint, found)
    if len(dkim) > 1:
        hint = (
            f"{expected.name} has {len(dkim)} DKIM TXT records and receivers cannot tell which "
            "key applies: delete all but the one with the value shown here."
        )
        return _finding(Code.DUPLICATE_TXT, ErrorType.INVALID_VALUE, hint, found)
    text, strings = dkim[0]
    have = parse_tags(text).get("p", "")
    if have == want:
        return Finding(True, Code.OK, None, OK_HINT, found)
    return _explain_key_difference(expected, want, have, strings, found)


def _with_strings(answer: Answer) -> list[tuple[str, tuple[str, ...]]]:
    strings = answer.strings or tuple((value,) for value in answer.values)
    return list(zip(answer.values, strings, strict=False))


def _explain_key_difference(
    expected: Expected, want: str, have: str, strings: tuple[str, ...], found: tuple[str, ...]
) -> Finding:
    name = expected.name
    if re.sub(r"\s+", "", have) == want:
        hint = (
            f"The DKIM key at {name} has a line break or space inside it: publish it as one "
            "value, or as several quoted strings with nothing added between them."
        )
        return _finding(Code.SPLIT_TXT, ErrorType.INVALID_VALUE, hint, found)
    if have and want.startswith(have) and any(len(s.encode()) == 255 for s in strings):
        hint = (
            f"The DKIM key at {name} was cut off at 255 characters: publish the whole value, "
            "split into quoted strings of at most 255 characters each."
        )
        return _finding(Code.TRUNCATED_TXT, ErrorType.INVALID_VALUE, hint, found)
    if have.lower() == want.lower():
        hint = (
            f"The DKIM key at {name} was lower-cased, probably by your DNS provider: enter it "
            "again with its exact upper- and lower-case letters, because SES matches the value "
            "exactly."
        )
        return _finding(Code.VALUE_LOWERCASED, ErrorType.INVALID_VALUE, hint, found)
    hint = (
        f"The public key at {name} does not match this identity's private key: replace the "
        "p= value with the one shown here."
    )
    return _finding(Code.WRONG_VALUE, ErrorType.INVALID_VALUE, hint, found)


# -- legacy verification TXT (_amazonses) -----------------------------------------------------


def _judge_token_txt(expected: Expected, answer: Answer) -> Finding:
    """The `_amazonses` TXT RRset holds the token as one of its values (one RRset may carry
    the tokens of several regions, so other values are fine)."""
    token = expected.value.strip('"')
    found = answer.values
    if token in found:
        return Finding(True, Code.OK, None, OK_HINT, found)
    name = expected.name
    bare = [value.strip().strip("\"'").strip() for value in found]
    if token in bare:
        hint = (
            f"The TXT record at {name} holds the token with extra quotes or spaces around it: "
            f"enter the value as {token} alone (your DNS provider adds the quotes)."
        )
        return _finding(Code.VALUE_QUOTED, ErrorType.INVALID_VALUE, hint, found)
    if token.lower() in (value.lower() for value in bare):
        hint = (
            f"The token at {name} was lower-cased, probably by your DNS provider: enter it "
            "again with its exact upper- and lower-case letters, because SES matches the value "
            "exactly."
        )
        return _finding(Code.VALUE_LOWERCASED, ErrorType.INVALID_VALUE, hint, found)
    hint = (
        f"The TXT record at {name} does not hold this identity's verification token: add a "
        f"value {token} (values for other regions can stay in the same record)."
    )
    return _finding(Code.WRONG_VALUE, ErrorType.INVALID_VALUE, hint, found)


# -- MAIL FROM ----------------------------------------------------------------------------------


def _spf_include(expected: Expected) -> str:
    return f"include:{expected.spf_domain}".lower()


def _judge_spf(expected: Expected, answer: Answer) -> Finding:
    """Exactly one v=spf1 record, and it includes the SPF domain (merged SPF records with
    several includes are fine)."""
    found = answer.values
    spf = [value for value in found if value.strip().lower().startswith("v=spf1")]
    name = expected.name
    if not spf:
        hint = f"{name} has TXT records but no SPF record: add the TXT record {expected.value}."
        return _finding(Code.SPF_MISSING, ErrorType.INVALID_VALUE, hint, found)
    if len(spf) > 1:
        hint = (
            f"{name} has {len(spf)} SPF (v=spf1) records and receivers then ignore all of them: "
            f"merge them into one record that includes {expected.spf_domain}."
        )
        return _finding(Code.SEVERAL_SPF, ErrorType.INVALID_VALUE, hint, found)
    if _spf_include(expected) not in spf[0].lower().split():
        hint = (
            f"The SPF record at {name} does not include {expected.spf_domain}: add "
            f"include:{expected.spf_domain} before its all mechanism."
        )
        return _finding(Code.SPF_MISSING_INCLUDE, ErrorType.INVALID_VALUE, hint, found)
    return Finding(True, Code.OK, None, OK_HINT, found)


_FEEDBACK_HOST = re.compile(r"^feedback-smtp\.([a-z0-9-]+)\.(.+)$")


def _mx_host(value: str) -> str:
    return value.split()[-1].rstrip(".").lower() if value.split() else ""


def _judge_mx(expected: Expected, answer: Answer) -> Finding:
    """Exactly one MX (SES: "you must publish exactly one MX record"), to the feedback host.
    The preference is not checked: with one MX it does not matter."""
    found = answer.values
    want = _mx_host(expected.value)
    name = expected.name
    if len(found) > 1:
        hint = (
            f"{name} has {len(found)} MX records but SES needs exactly one: delete all but "
            f"{expected.value}."
        )
        return _finding(Code.SEVERAL_MX, ErrorType.INVALID_VALUE, hint, found)
    have = _mx_host(found[0]) if found else ""
    if have == want:
        return Finding(True, Code.OK, None, OK_HINT, found)
    if have.startswith("email-smtp.") or have.endswith(".amazonaws.com"):
        hint = (
            f"The MX record at {name} points to the SMTP sending endpoint {have}: change it to "
            f"{want}."
        )
        return _finding(Code.MX_SMTP_ENDPOINT, ErrorType.INVALID_VALUE, hint, found)
    theirs, ours = _FEEDBACK_HOST.match(have), _FEEDBACK_HOST.match(want)
    if theirs and ours and theirs.group(2) == ours.group(2):
        hint = (
            f"The MX record at {name} points to {have}, the feedback host of "
            f"{theirs.group(1)}: change it to {want} for {ours.group(1)}."
        )
        return _finding(Code.MX_OTHER_REGION, ErrorType.INVALID_VALUE, hint, found)
    hint = f"The MX record at {name} points to {have} instead of {want}: change its value to {expected.value}."
    return _finding(Code.MX_WRONG_HOST, ErrorType.INVALID_VALUE, hint, found)


# -- probing the usual wrong places ----------------------------------------------------------------


def zone_suffixes(domain: str) -> list[str]:
    """Zones a provider may have appended: the domain and its parents, never a bare TLD
    (a.b.example.com → a.b.example.com, b.example.com, example.com), at most three."""
    labels = domain.rstrip(".").split(".")
    return [".".join(labels[i:]) for i in range(len(labels) - 1)][:3]


@dataclass(frozen=True)
class _Probe:
    query: Query
    code: Code
    rank: int  # lower wins when several probes find something


def _replace_suffix(name: str, domain: str, new_domain: str) -> str | None:
    suffix = f".{domain}"
    if not name.lower().endswith(suffix.lower()):
        return None
    return name[: -len(suffix)] + f".{new_domain}"


def _probe_list(expected: Expected) -> list[_Probe]:
    """Where the classic mistakes put the record, most telling first."""
    name, rdtype, domain = expected.name, expected.rdtype, expected.domain
    probes: list[_Probe] = []

    def add(probe_name: str | None, code: Code, probe_type: str = rdtype) -> None:
        if probe_name and not _same_name(probe_name, name):
            probes.append(_Probe(Query(probe_name, probe_type), code, len(probes)))

    for suffix in zone_suffixes(domain):
        add(f"{name}.{suffix}", Code.ZONE_APPENDED)
    if name.startswith("_"):  # _amazonses.<domain>
        add(name[1:], Code.UNDERSCORE_DROPPED)
        add("-" + name[1:], Code.UNDERSCORE_REPLACED)
    if "._" in name:
        add(name.replace("._", ".", 1), Code.UNDERSCORE_DROPPED)
        add(name.replace("._", ".-", 1), Code.UNDERSCORE_REPLACED)
        add(name.replace("._", "-", 1), Code.UNDERSCORE_REPLACED)
        add(name.replace("._", "_", 1), Code.DOT_MISSING)
    bare = domain[4:] if domain.lower().startswith("www.") else ""
    if bare:
        add(_replace_suffix(name, domain, bare), Code.IDENTITY_WWW)
    else:
        add(_replace_suffix(name, domain, f"www.{domain}"), Code.RECORD_AT_WWW)
    parent = domain.split(".", 1)[1] if domain.count(".") >= 2 else ""
    if parent and not bare:
        add(_replace_suffix(name, domain, parent), Code.WRONG_SUBDOMAIN)
    if rdtype == "CNAME":
        # The TXT lives at the very name: a rank after the renamed-record mistakes.
        probes.append(_Probe(Query(name, "TXT"), Code.TXT_INSTEAD_OF_CNAME, len(probes)))
    return probes


def probes(expected: Expected, finding: Finding) -> list[Query]:
    """The extra queries that can explain `finding` (empty unless the record is absent)."""
    if not finding.needs_probes:
        return []
    return [
        probe.query
        for probe in _probe_list(expected)
        # A TXT at the name can only exist if the name does.
        if not (
            probe.code == Code.TXT_INSTEAD_OF_CNAME and finding.error != ErrorType.TYPE_NOT_FOUND
        )
    ]


def explain_missing(
    expected: Expected, finding: Finding, answers: Mapping[Query, Answer]
) -> Finding:
    """Turn an absent record into the most telling classic mistake the probes found, keeping
    SES's ErrorType of the expected name (the record is still not where SES looks)."""
    if not finding.needs_probes:
        return finding
    assert finding.error is not None
    for probe in _probe_list(expected):
        answer = answers.get(probe.query)
        if answer is None or answer.outcome != Outcome.FOUND:
            continue
        if probe.code == Code.TXT_INSTEAD_OF_CNAME:
            hint = (
                f"{expected.name} has a TXT record where the CNAME belongs: delete the TXT "
                f"record and add a CNAME record with the value {expected.value}."
            )
            return _finding(probe.code, finding.error, hint, answer.values)
        return _finding(
            probe.code,
            finding.error,
            _moved_hint(probe.code, expected, probe.query.name),
            answer.values,
            probe_name=probe.query.name,
        )
    if expected.domain.lower().startswith("www."):
        return _finding(
            Code.IDENTITY_WWW, finding.error, _www_identity_hint(expected.domain), finding.found
        )
    return _finding(finding.code, finding.error, finding.hint, finding.found)


def _www_identity_hint(domain: str) -> str:
    bare = domain[4:]
    return (
        f"This identity is {domain}, with www.: delete it and create the identity {bare} "
        f"instead, which covers www.{bare} too."
    )


def _moved_hint(code: Code, expected: Expected, found_at: str) -> str:
    name, domain = expected.name, expected.domain
    if code == Code.ZONE_APPENDED:
        suffix = found_at[len(name) + 1 :]
        return (
            f"The record is at {found_at} because your DNS provider appended {suffix} to the "
            f"name: enter the name without .{suffix}, or end it with a dot."
        )
    if code == Code.UNDERSCORE_DROPPED:
        return (
            f"The record is at {found_at}, without the underscore: rename it to {name} (if your "
            "DNS provider refuses underscores, ask its support to add it)."
        )
    if code == Code.UNDERSCORE_REPLACED:
        return (
            f"The record is at {found_at}, with a hyphen where the underscore belongs: rename "
            f"it to {name}."
        )
    if code == Code.DOT_MISSING:
        return (
            f"The record is at {found_at}, without the dot before _domainkey: rename it to {name}."
        )
    if code == Code.RECORD_AT_WWW:
        return (
            f"The record is at {found_at}, under www: move it to {name}, because SES verifies "
            f"{domain} itself."
        )
    if code == Code.WRONG_SUBDOMAIN:
        return (
            f"The record is at {found_at}, outside the subdomain {domain}: rename it to {name} "
            "(include the subdomain in the record's name)."
        )
    return _www_identity_hint(domain)
