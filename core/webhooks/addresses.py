"""Where a webhook may be sent (against SSRF): checked when an endpoint is registered and again,
after resolving its name, at every attempt, which then connects to the very address checked.

Production accepts only `https` URLs whose host resolves to public addresses only (never private,
loopback, link-local, multicast, reserved or otherwise special ranges). Development also accepts
`http` and loopback addresses, so a receiver on this machine can be tried; other private ranges
stay refused there too.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from core.web.i18n import gettext as _

MAX_URL_LENGTH = 2000
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressRefused(ValueError):
    """The URL may not receive webhooks; the message (translated) says why, for the admin."""


@dataclass(frozen=True)
class Target:
    """A checked URL and the address to connect to."""

    url: str
    scheme: str
    host: str  # the name as written (the Host header and TLS server name)
    port: int
    address: IPAddress


def _parts(url: str, production: bool) -> tuple[str, str, int]:
    if len(url) > MAX_URL_LENGTH:
        raise AddressRefused(_("The URL is longer than %(n)s characters.") % {"n": MAX_URL_LENGTH})
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        # urlsplit keeps NUL and other control characters, which no receiver's address holds.
        raise AddressRefused(_("Enter a full URL such as https://hr.example.com/hooks/mendan."))
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise AddressRefused(_("Enter a full URL such as https://hr.example.com/hooks/mendan.")) from exc
    allowed = ("https",) if production else ("https", "http")
    if parts.scheme not in allowed:
        raise AddressRefused(_("Only https:// URLs can receive webhooks.") if production
                             else _("Only http:// or https:// URLs can receive webhooks."))
    if not parts.hostname:
        raise AddressRefused(_("Enter a full URL such as https://hr.example.com/hooks/mendan."))
    if parts.username or parts.password:
        raise AddressRefused(_("Leave the user name and password out of the URL."))
    return parts.hostname, parts.scheme, port or (443 if parts.scheme == "https" else 80)


NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Never global, though Python before 3.11.10 / 3.12.4 counts them so (RFC 6890's update, gh-113171):
# IETF protocol assignments, the local-use translation prefix (a NAT64 of one's own network:
# 64:ff9b:1::a00:1 can lead to 10.0.0.1) and SRv6 segment ids.
NOT_GLOBAL = tuple(ipaddress.ip_network(n) for n in ("192.0.0.0/24", "64:ff9b:1::/48", "5f00::/16"))


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one leads to (mapped, 6to4, Teredo, NAT64), judged in its place."""
    if address.ipv4_mapped or address.sixtofour:
        return address.ipv4_mapped or address.sixtofour
    if address.teredo:
        return address.teredo[1]
    return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF) if address in NAT64 else None


def _allowed(address: IPAddress, production: bool) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        address = _embedded_ipv4(address) or address
    if address.is_loopback:
        return not production
    if any(address.version == net.version and address in net for net in NOT_GLOBAL):
        return False
    return address.is_global and not address.is_multicast


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to (an IP literal is itself); AddressRefused when none."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise AddressRefused(_("The host name %(host)s could not be resolved.") % {"host": host}) from exc
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos))


def checked_target(url: str, *, production: bool) -> Target:
    """The URL's target after resolving its host; AddressRefused (with the reason) when the scheme is
    not allowed or any address the host resolves to is private, loopback (in production), link-local,
    multicast or reserved. Blocking (DNS): call it from a thread in async code."""
    host, scheme, port = _parts(url.strip(), production)
    addresses = resolve(host, port)
    refused = [a for a in addresses if not _allowed(a, production)]
    if refused or not addresses:
        raise AddressRefused(_("%(host)s leads to a private or reserved address (%(address)s); webhooks go to "
                               "public addresses only.") % {"host": host, "address": refused[0] if refused else "-"})
    return Target(url=url.strip(), scheme=scheme, host=host, port=port, address=addresses[0])


def connect_url(target: Target) -> str:
    """The target's URL with its host replaced by the checked address, so no second lookup can
    lead elsewhere (the name still goes in the Host header and as the TLS server name)."""
    parts = urlsplit(target.url)
    literal = f"[{target.address}]" if target.address.version == 6 else str(target.address)
    return parts._replace(netloc=f"{literal}:{target.port}").geturl()
