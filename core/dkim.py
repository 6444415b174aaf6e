"""DKIM signing (RFC 6376) with a tenant's own key, and the DNS records the tenant publishes.

Spec 4.2.2 (5): mail goes out from an address the customer chooses, so the customer
publishes our DKIM public key and an SPF record for that domain.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

SIGNED_HEADERS = (b"from", b"to", b"subject", b"date", b"message-id", b"mime-version", b"content-type")


TXT_STRING_OCTETS = 255  # one character-string in a TXT record (RFC 1035 3.3)


@dataclass(frozen=True)
class DnsRecord:
    name: str
    type: str
    value: str

    @property
    def strings(self) -> list[str]:
        """The value cut into character-strings of at most 255 octets, as a TXT record holds it
        (resolvers join them back; DKIM keys of 2048 bits need two)."""
        data = self.value.encode()
        return [data[i:i + TXT_STRING_OCTETS].decode() for i in range(0, len(data), TXT_STRING_OCTETS)] or [""]

    @property
    def zone_value(self) -> str:
        """The value as DNS consoles and zone files take it: quoted strings separated by spaces."""
        return " ".join(f'"{part}"' for part in self.strings)


def new_key() -> tuple[bytes, str]:
    """A fresh RSA-2048 key: (private key PEM, public key as base64 DER for the `p=` tag)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.DER,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, base64.b64encode(public).decode()


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower()


def dkim_record(domain: str, selector: str, public_b64: str) -> DnsRecord:
    return DnsRecord(f"{selector}._domainkey.{domain}", "TXT", f"v=DKIM1; k=rsa; p={public_b64}")


def spf_record(domain: str, relay_host: str | None) -> DnsRecord:
    """Allow the relay we send through; without a relay configured, the host that runs mendan."""
    mechanism = f"a:{relay_host}" if relay_host else "a"
    return DnsRecord(domain, "TXT", f"v=spf1 {mechanism} ~all")


def sign(message: bytes, *, domain: str, selector: str, private_pem: bytes) -> bytes:
    """The message with its DKIM-Signature header in front."""
    headers = [h for h in SIGNED_HEADERS if h + b":" in message.lower()]
    signature = dkim.sign(message, selector.encode(), domain.encode(), private_pem, include_headers=headers,
                          canonicalize=(b"relaxed", b"relaxed"))
    return signature + message
