"""Real RSA/EC keys for DKIM tests, made with `cryptography` (cached: 2048-bit keys are slow)."""

from __future__ import annotations

import base64
import secrets
from functools import cache

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)


def _is_probable_prime(n: int) -> bool:
    if n < 2:
        return False
    for p in (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37):
        if n % p == 0:
            return n == p
    d, r = n - 1, 0
    while d % 2 == 0:
        d //= 2
        r += 1
    for _ in range(32):
        x = pow(secrets.randbelow(n - 3) + 2, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(bits: int) -> int:
    while True:
        candidate = secrets.randbits(bits) | (1 << (bits - 1)) | (1 << (bits - 2)) | 1
        if (candidate - 1) % 65537 and _is_probable_prime(candidate):
            return candidate


def _small_rsa_key(bits: int) -> rsa.RSAPrivateKey:
    # cryptography refuses to generate keys under 1024 bits, but loads them: build one by hand.
    e = 65537
    p, q = _prime(bits // 2), _prime(bits // 2)
    d = pow(e, -1, (p - 1) * (q - 1))
    numbers = rsa.RSAPrivateNumbers(
        p,
        q,
        d,
        rsa.rsa_crt_dmp1(d, p),
        rsa.rsa_crt_dmq1(d, q),
        rsa.rsa_crt_iqmp(p, q),
        rsa.RSAPublicNumbers(e, p * q),
    )
    return numbers.private_key()


@cache
def rsa_key(bits: int) -> rsa.RSAPrivateKey:
    if bits < 1024:
        return _small_rsa_key(bits)
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


@cache
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def der_base64(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, *, pkcs1: bool = False) -> str:
    """The key as SES wants it pasted: base64 DER, PKCS#8 (or PKCS#1), no armour."""
    fmt = PrivateFormat.TraditionalOpenSSL if pkcs1 else PrivateFormat.PKCS8
    return base64.b64encode(key.private_bytes(Encoding.DER, fmt, NoEncryption())).decode()


def pem(key: rsa.RSAPrivateKey, *, pkcs1: bool = False) -> str:
    fmt = PrivateFormat.TraditionalOpenSSL if pkcs1 else PrivateFormat.PKCS8
    return key.private_bytes(Encoding.PEM, fmt, NoEncryption()).decode()


def spki_base64(key: rsa.RSAPrivateKey) -> str:
    """The DKIM p= value for the key."""
    public = key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(public).decode()
