"""DKIM signatures made by dkimpy, with its RSA step done by OpenSSL and each key parsed once.

dkimpy 1.1 is pure Python. On every call it parses the PEM key (ASN.1, in Python) and computes
the RSA signature with Python's `pow()`: two 1024-bit modular exponentiations for a 2048-bit
key, about 7 ms of the 9 ms a worker spent on one delivered message (BENCHMARKS.md, "Eighth
session: delivery"). OpenSSL, through `cryptography` (already a dependency, for the keys),
computes the same signature in about 0.3 ms. RSASSA-PKCS1-v1_5 is deterministic: the
signature is byte for byte the one dkimpy computes (tests/sending/test_dkim_signing.py compares
them), so receivers, dkimpy's verification and the stored signatures see no difference.

dkimpy takes the key as PEM bytes only, and looks up its key parser and its RSA signing
function as globals of its `dkim` module while it signs. `install()` replaces those two names,
for the whole process, with functions that remember each parsed key and sign with OpenSSL;
everything else (canonicalisation, the header hash, the DKIM-Signature field) stays dkimpy's.
If a dkimpy release renames them, `install()` leaves dkimpy as it is (slower, still correct)
and logs a warning; the test above fails.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import dkim
import dkim.crypto
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils

if TYPE_CHECKING:  # this module needs no Django: bench/send.py's loop uses it bare
    from verification.mailer import DkimSigner

log = logging.getLogger(__name__)

# The names dkimpy's `dkim` module calls while signing, and the originals.
PARSER, RSA_SIGN = "parse_pem_private_key", "RSASSA_PKCS1_v1_5_sign"
DKIMPY_PARSER = dkim.crypto.parse_pem_private_key
DKIMPY_RSA_SIGN = dkim.crypto.RSASSA_PKCS1_v1_5_sign

# dkimpy's hash names (hashlib's) for its rsa-sha256 and rsa-sha1 algorithms.
HASHES: dict[str, hashes.HashAlgorithm] = {"sha256": hashes.SHA256(), "sha1": hashes.SHA1()}  # noqa: S303

# Keys live as long as the process; a rotated key is other bytes, so it is simply another entry.
KEYS_KEPT = 256


def dkim_signature(raw: bytes, signer: DkimSigner) -> bytes:
    """The DKIM-Signature header field (CRLF-terminated) for the exact bytes `raw`."""
    install()
    return bytes(
        dkim.sign(
            raw,
            signer.selector.encode(),
            signer.domain.encode(),
            signer.private_key_pem,
            canonicalize=(b"relaxed", b"relaxed"),
        )
    )


def install() -> None:
    """Make dkimpy keep parsed keys and sign with OpenSSL in this process (idempotent)."""
    if getattr(dkim, RSA_SIGN, None) is _openssl_sign:
        return
    if getattr(dkim, PARSER, None) is not DKIMPY_PARSER or getattr(dkim, RSA_SIGN, None) is not (
        DKIMPY_RSA_SIGN
    ):
        log.warning("dkimpy's signing functions moved: DKIM signing stays in pure Python")
        return
    setattr(dkim, PARSER, _parsed_key)
    setattr(dkim, RSA_SIGN, _openssl_sign)


@lru_cache(maxsize=KEYS_KEPT)
def _parsed_key(pem: bytes) -> dict[str, int]:
    """dkimpy's own parse of the key, once per key and process (it never changes the dict)."""
    parsed: dict[str, int] = DKIMPY_PARSER(pem)
    return parsed


def _openssl_sign(digest: Any, private_key: dict[str, int]) -> bytes:
    """What dkimpy's RSASSA_PKCS1_v1_5_sign returns for a finished hash: the same bytes."""
    algorithm = HASHES.get(digest.name)
    if algorithm is None:
        signed: bytes = DKIMPY_RSA_SIGN(digest, private_key)
        return signed
    key = _openssl_key(*(private_key[name] for name in _NUMBERS))
    return key.sign(digest.digest(), padding.PKCS1v15(), utils.Prehashed(algorithm))


_NUMBERS = (
    "modulus", "publicExponent", "privateExponent", "prime1", "prime2", "exponent1",
    "exponent2", "coefficient",
)  # fmt: skip


@lru_cache(maxsize=KEYS_KEPT)
def _openssl_key(n: int, e: int, d: int, p: int, q: int, dmp1: int, dmq1: int, iqmp: int) -> Any:
    # Skipping OpenSSL's key check (~70 ms for 2048 bits) is safe: the key is ours, checked
    # when it was generated or pasted (BYODKIM), and the signature is the same either way.
    numbers = rsa.RSAPrivateNumbers(p, q, d, dmp1, dmq1, iqmp, rsa.RSAPublicNumbers(e, n))
    return numbers.private_key(unsafe_skip_rsa_key_validation=True)
