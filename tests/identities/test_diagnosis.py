"""identities.diagnosis as pure functions: parsing, the probes asked, which mistake wins."""

from __future__ import annotations

from identities import diagnosis
from identities.diagnosis import Code, ErrorType, Expected
from identities.resolver import Answer, Outcome, Query

CNAME = Expected(
    "DKIM", "tok._domainkey.example.com", "CNAME", "tok.dkim.amazonses.com", "example.com"
)


def answer(name: str, rdtype: str, outcome: Outcome, *values: str, **kw: str) -> Answer:
    return Answer(Query(name, rdtype), outcome, values, **kw)


def test_parse_tags_ignores_trailing_semicolon_and_case_of_names() -> None:
    assert diagnosis.parse_tags("v=DKIM1; K=rsa; p=ABC;") == {"v": "DKIM1", "k": "rsa", "p": "ABC"}
    assert diagnosis.parse_tags("p=ABC") == diagnosis.parse_tags("p=ABC;")


def test_zone_suffixes_never_a_bare_tld() -> None:
    assert diagnosis.zone_suffixes("a.b.example.com") == [
        "a.b.example.com",
        "b.example.com",
        "example.com",
    ]
    assert diagnosis.zone_suffixes("example.com") == ["example.com"]


def test_dns_error_needs_no_probes() -> None:
    finding = diagnosis.judge(
        CNAME, answer(CNAME.name, "CNAME", Outcome.ERROR, detail="No answer within 2 s.")
    )
    assert (finding.code, finding.error, finding.dns_error) == (
        Code.DNS_ERROR,
        ErrorType.DNS_SERVER_ERROR,
        True,
    )
    assert diagnosis.probes(CNAME, finding) == []


def test_probes_for_missing_cname() -> None:
    finding = diagnosis.judge(CNAME, answer(CNAME.name, "CNAME", Outcome.NO_ANSWER))
    assert diagnosis.probes(CNAME, finding) == [
        Query("tok._domainkey.example.com.example.com", "CNAME"),
        Query("tok.domainkey.example.com", "CNAME"),
        Query("tok.-domainkey.example.com", "CNAME"),
        Query("tok-domainkey.example.com", "CNAME"),
        Query("tok_domainkey.example.com", "CNAME"),
        Query("tok._domainkey.www.example.com", "CNAME"),
        Query("tok._domainkey.example.com", "TXT"),
    ]


def test_host_not_found_does_not_probe_txt_at_the_name() -> None:
    finding = diagnosis.judge(CNAME, answer(CNAME.name, "CNAME", Outcome.NXDOMAIN))
    assert Query(CNAME.name, "TXT") not in diagnosis.probes(CNAME, finding)


def test_renamed_record_wins_over_txt_at_the_name() -> None:
    finding = diagnosis.judge(CNAME, answer(CNAME.name, "CNAME", Outcome.NO_ANSWER))
    found = {
        Query("tok._domainkey.www.example.com", "CNAME"): answer(
            "tok._domainkey.www.example.com", "CNAME", Outcome.FOUND, "tok.dkim.amazonses.com"
        ),
        Query(CNAME.name, "TXT"): answer(CNAME.name, "TXT", Outcome.FOUND, "hello"),
    }
    explained = diagnosis.explain_missing(CNAME, finding, found)
    assert (explained.code, explained.error, explained.ok) == (
        Code.RECORD_AT_WWW,
        ErrorType.TYPE_NOT_FOUND,
        False,
    )


def test_nothing_found_keeps_the_plain_hint() -> None:
    finding = diagnosis.judge(CNAME, answer(CNAME.name, "CNAME", Outcome.NXDOMAIN))
    assert diagnosis.explain_missing(CNAME, finding, {}).hint == finding.hint


def test_byodkim_extra_whitespace_around_tags_passes() -> None:
    byo = Expected("DKIM", "s._domainkey.example.com", "TXT", "p=KEYKEY", "example.com")
    found = answer(byo.name, "TXT", Outcome.FOUND, "v=DKIM1;  k=rsa ;  p=KEYKEY ; ")
    assert diagnosis.judge(byo, found).ok


def test_free_text_txt_next_to_dkim_is_ignored() -> None:
    byo = Expected("DKIM", "s._domainkey.example.com", "TXT", "p=KEY", "example.com")
    found = answer(byo.name, "TXT", Outcome.FOUND, "p=KEY", "google-site-verification=abc")
    assert diagnosis.judge(byo, found).ok


def test_spf_missing_among_other_txt() -> None:
    spf = Expected(
        "MAIL_FROM_SPF",
        "mail.example.com",
        "TXT",
        '"v=spf1 include:amazonses.com ~all"',
        "example.com",
        "us-east-1",
        "amazonses.com",
    )
    finding = diagnosis.judge(spf, answer(spf.name, "TXT", Outcome.FOUND, "hello"))
    assert (finding.code, finding.error, finding.hint) == (
        Code.SPF_MISSING,
        ErrorType.INVALID_VALUE,
        'mail.example.com has TXT records but no SPF record: add the TXT record "v=spf1 '
        'include:amazonses.com ~all".',
    )


def test_mx_wrong_host() -> None:
    mx = Expected(
        "MAIL_FROM_MX",
        "mail.example.com",
        "MX",
        "10 feedback-smtp.us-east-1.amazonses.com",
        "example.com",
        "us-east-1",
        "amazonses.com",
    )
    finding = diagnosis.judge(mx, answer(mx.name, "MX", Outcome.FOUND, "10 mx.example.net"))
    assert (finding.code, finding.hint) == (
        Code.MX_WRONG_HOST,
        "The MX record at mail.example.com points to mx.example.net instead of "
        "feedback-smtp.us-east-1.amazonses.com: change its value to 10 "
        "feedback-smtp.us-east-1.amazonses.com.",
    )
