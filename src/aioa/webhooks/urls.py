"""Which URLs the product may call: https anywhere, plain http only on this machine (loopback)."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


class DisallowedUrl(ValueError):
    """A URL the product refuses to send to; the message says why and what would be accepted."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str) -> str:
    """`url` if it is https, or http to a loopback host; else DisallowedUrl naming the problem."""
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http") or not host:
        raise DisallowedUrl(
            f"webhook URL {url!r} is not allowed: use https://host/path (http:// only for 127.0.0.1 or localhost)"
        )
    if parts.scheme == "http" and not is_loopback(host):
        raise DisallowedUrl(
            f"webhook URL {url!r} is not allowed: plain http is accepted only for loopback hosts "
            "(127.0.0.1, ::1, localhost); use https"
        )
    if parts.username or parts.password:
        raise DisallowedUrl(f"webhook URL {url!r} is not allowed: credentials in the URL would be logged; remove them")
    return url.strip()
