"""RSA key pairs for DKIM: generated for Easy DKIM, parsed for BYODKIM (see validators)."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)


@dataclass(frozen=True)
class KeyPair:
    private_key_base64: str  # base64 DER PKCS#8, the same shape as a BYODKIM key
    public_key_base64: str  # base64 DER SubjectPublicKeyInfo: the DKIM p= value
    key_size: int


def generate_key_pair(bits: int) -> KeyPair:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private = key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
    public = key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return KeyPair(
        private_key_base64=base64.b64encode(private).decode(),
        public_key_base64=base64.b64encode(public).decode(),
        key_size=bits,
    )
