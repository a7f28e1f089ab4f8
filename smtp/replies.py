"""Every reply the SMTP server gives in SES's words, in one module.

Texts come from ses-sending.md §12.4 (DG troubleshoot-smtp, jetmore/swaks#15). Where SES's
text is UNVERIFIED the choice is marked here and nowhere else.
"""

from __future__ import annotations

BANNER_IDENT = "ESMTP SimpleEmailService-sesconsole"
EHLO_LAST_LINE = "250 Ok"

AUTH_SUCCESS = "235 Authentication successful"
AUTH_INVALID = "535 Authentication Credentials Invalid"
# SES answers "454 Temporary authentication failure" when its credential back end fails; the
# same code, with what to do, tells a client that its address or key is rate-limited.
AUTH_TEMPORARY = "454 Temporary authentication failure"
AUTH_LIMITED = "454 Temporary authentication failure: {message}"
STARTTLS_FIRST = "530 Must issue a STARTTLS command first"
AUTH_REQUIRED = "530 Authentication required"
# UNVERIFIED (ses-sending.md §12.4): the reply to an AUTH mechanism other than PLAIN and LOGIN.
AUTH_UNKNOWN_MECHANISM = "504 Unrecognized authentication type"

OK = "250 Ok"
ACCEPTED = "250 Ok {message_id}"
NULL_SENDER = "501 Invalid MAIL FROM address provided"
# SES names the address it refuses (ses-sending.md §12.4: "553 <addr> Invalid email address"
# and "553 <addr> address unknown"). UNVERIFIED: whether SES puts angle brackets around it
# and when it says "address unknown"; sesconsole shows the address as the client wrote it,
# without brackets, and answers "Invalid email address" for every malformed MAIL FROM or
# RCPT TO address.
INVALID_ADDRESS = "553 {address} Invalid email address"
# RFC 5321 §4.5.3.1.3: a path is at most 256 octets. A longer one is cut to this, so the
# reply line stays well within RFC 5321's 512 octets whatever the client sent.
MAX_SHOWN_ADDRESS = 256
# A transaction may name more envelope recipients than SES's 50 (the send then fails after
# DATA, as SES does, so no partial delivery happens), but not without bound: past this many
# the server stops collecting them.
MAX_COLLECTED_RECIPIENTS = 1000
TOO_MANY_COLLECTED = "452 Too many recipients"
TOO_LONG = "552 Message is too long."
TOO_MANY_CONNECTIONS = "421 Too many concurrent SMTP connections"
TIMEOUT = "451 Timeout waiting for data from client"
TEMPORARY_FAILURE = "451 Temporary service failure"
UNSTORABLE = (
    "554 Transaction failed: the message contains characters that cannot be stored (such as "
    "NUL); remove them and send again"
)
# The key a session logged in with was deactivated or deleted since (not an SES text: SES
# checks credentials at AUTH only).
KEY_NO_LONGER_ACTIVE = (
    "535 Authentication Credentials Invalid: the access key is no longer active; log in with "
    "active SMTP credentials"
)

# aiosmtpd's own replies that SES words differently; SMTPSession.push rewrites them.
AIOSMTPD_TO_SES = {
    "530 5.7.0 Authentication required": AUTH_REQUIRED,
    "538 5.7.11 Encryption required for requested authentication mechanism": STARTTLS_FIRST,
    "535 5.7.8 Authentication credentials invalid": AUTH_INVALID,
    "504 5.5.4 Unrecognized authentication type": AUTH_UNKNOWN_MECHANISM,
    "552 Error: Too much mail data": TOO_LONG,
    "552 Error: message size exceeds fixed maximum message size": TOO_LONG,
    "250 OK": OK,
    "250 HELP": EHLO_LAST_LINE,
}


# aiosmtpd's reply to an address it cannot parse, which SmtpSession.push rewrites to
# invalid_address() of the address the command named.
AIOSMTPD_MALFORMED_ADDRESS = "553 5.1.3 Error: malformed address"


def rewrite(reply: str) -> str:
    return AIOSMTPD_TO_SES.get(reply, reply)


def invalid_address(address: str) -> str:
    """The 553 reply naming `address`: ASCII only (anything else, and every control
    character, shown as a backslash escape) and at most MAX_SHOWN_ADDRESS characters."""
    shown = "".join(
        character if " " < character < "\x7f" else character.encode("unicode_escape").decode()
        for character in address
    )
    if len(shown) > MAX_SHOWN_ADDRESS:
        shown = shown[: MAX_SHOWN_ADDRESS - 3] + "..."
    return INVALID_ADDRESS.format(address=shown)
