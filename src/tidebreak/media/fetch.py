"""Fetching `{"url"}` media without SSRF: only when the operator turns it on, only from allowed
hosts, never from private, loopback, link-local or otherwise special addresses (unless the
operator allows those too), with a size limit, a timeout and a content-type check.

The host is resolved once and every address it resolves to is checked; the connection then goes
to the checked address (with the original Host header and TLS server name), so a DNS answer
that changes between check and connect (rebinding) cannot reach an internal service. Redirects
are followed by hand, at most 3, each hop checked the same way.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from tidebreak.media.errors import MediaError, MediaRefused, MediaTooLarge, UnsupportedMedia

MAX_REDIRECTS = 3


@dataclass(frozen=True)
class FetchPolicy:
    enabled: bool = False
    hosts: tuple[str, ...] = ()  # empty: any public host; ".example.org": it and subdomains
    allow_private: bool = False
    timeout: float = 5.0
    max_bytes: int = 8 * 1024 * 1024


def host_allowed(host: str, hosts: tuple[str, ...]) -> bool:
    host = host.lower().rstrip(".")
    if not hosts:
        return True
    for h in hosts:
        if h.startswith("."):
            if host == h[1:] or host.endswith(h):
                return True
        elif host == h:
            return True
    return False


def public_address(ip: str) -> bool:
    addr = ipaddress.ip_address(ip)
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return addr.is_global and not addr.is_multicast


def resolve(host: str, port: int, policy: FetchPolicy) -> str:
    """The address to connect to; MediaRefused when any address the host has is not public."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise MediaError(f"media URL: cannot resolve host {host!r}") from None
    addrs = [str(info[4][0]) for info in infos]
    if not addrs:
        raise MediaError(f"media URL: cannot resolve host {host!r}")
    if not policy.allow_private:
        for a in addrs:
            if not public_address(a.split("%")[0]):
                raise MediaRefused(f"media URL: host {host!r} resolves to a private or reserved "
                                   f"address ({a}); refused")
    return addrs[0]


def check_url(url: str, policy: FetchPolicy) -> tuple[str, str, int, str]:
    """(scheme, host, port, path?query) of an acceptable URL, or MediaRefused / MediaError."""
    if not policy.enabled:
        raise MediaRefused("media URLs are not fetched here (the operator has not set "
                           "TIDEBREAK_MEDIA_FETCH=1); send the image as {\"data\": base64}")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise MediaError("media URL is malformed") from None
    if parts.scheme not in ("http", "https"):
        raise MediaRefused(f"media URL scheme must be http or https, got {parts.scheme!r}")
    host = parts.hostname
    if not host:
        raise MediaError("media URL has no host")
    if parts.username or parts.password:
        raise MediaRefused("media URL must not carry credentials")
    if not host_allowed(host, policy.hosts):
        raise MediaRefused(f"media URL host {host!r} is not in TIDEBREAK_MEDIA_FETCH_HOSTS")
    port = port or (443 if parts.scheme == "https" else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, host, port, target


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, ip: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._ip = ip

    def connect(self) -> None:
        self.sock = socket.create_connection((self._ip, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, ip: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._ip = ip

    def connect(self) -> None:
        sock = socket.create_connection((self._ip, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def fetch(url: str, policy: FetchPolicy) -> bytes:
    deadline = time.monotonic() + policy.timeout
    for _ in range(MAX_REDIRECTS + 1):
        scheme, host, port, target = check_url(url, policy)
        ip = resolve(host, port, policy)
        cls = _PinnedHTTPS if scheme == "https" else _PinnedHTTP
        conn = cls(host, port, ip, timeout=max(0.1, deadline - time.monotonic()))
        try:
            conn.request("GET", target, headers={"User-Agent": "tidebreak-media/1",
                                                 "Accept": "image/*"})
            resp = conn.getresponse()
            if resp.status in (301, 302, 303, 307, 308):
                location = resp.getheader("Location")
                if not location:
                    raise MediaError(f"media URL: redirect without a Location ({resp.status})")
                url = urljoin(url, location)
                continue
            if resp.status != 200:
                raise MediaError(f"media URL: the server answered {resp.status}")
            ctype = (resp.getheader("Content-Type") or "").split(";")[0].strip().lower()
            if not ctype.startswith("image/") or ctype == "image/svg+xml":
                raise UnsupportedMedia(f"media URL: content-type must be an image, got "
                                       f"{ctype or 'none'!r}")
            length = resp.getheader("Content-Length")
            if length and length.isdigit() and int(length) > policy.max_bytes:
                raise MediaTooLarge(f"media URL: {length} bytes is over the limit of "
                                    f"{policy.max_bytes}")
            chunks: list[bytes] = []
            size = 0
            while True:
                if time.monotonic() > deadline:
                    raise MediaError(f"media URL: timed out after {policy.timeout:g} s")
                chunk = resp.read(65536)
                if not chunk:
                    break
                size += len(chunk)
                if size > policy.max_bytes:
                    raise MediaTooLarge(f"media URL: over the limit of {policy.max_bytes} bytes")
                chunks.append(chunk)
            return b"".join(chunks)
        except (OSError, http.client.HTTPException) as e:
            raise MediaError(f"media URL: fetch failed ({type(e).__name__})") from None
        finally:
            conn.close()
    raise MediaError(f"media URL: more than {MAX_REDIRECTS} redirects")
