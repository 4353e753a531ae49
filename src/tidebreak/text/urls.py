"""The one URL canonicaliser: the same link with different wrappings is one object, for
coordination (accounts pushing one link), fact-check matching (a post linking the debunked
page) and banks alike.

Campaigns vary links on purpose (tracking parameters per account, http vs https, "www.", a
trailing slash) and platforms add their own click ids. We drop what does not change the target
and keep what does. Shorteners (bit.ly and the like) would need a network call to resolve;
nothing here reaches the network, so a shortened link stays its own object.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from tidebreak.errors import BadInput

# Query parameters that identify the click, the campaign or the sharer, never the page.
TRACKING_PARAMS = frozenset({
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "ttclid",
    "igshid", "igsh", "mc_cid", "mc_eid", "_hsenc", "_hsmi", "mkt_tok", "oly_anon_id",
    "oly_enc_id", "vero_id", "rb_clickid", "s_cid", "ref_src", "ref_url", "cmpid", "spm",
    "feature", "si", "_ga", "_gl",
})
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_")
# Hosts whose short parameters are sharer tracking there (and a search term elsewhere, e.g.
# WordPress's ?s=): x.com/a/status/1?s=20&t=abc is x.com/a/status/1.
HOST_TRACKING = {"twitter.com": frozenset({"s", "t"}), "x.com": frozenset({"s", "t"}),
                 "mobile.twitter.com": frozenset({"s", "t"})}
_DEFAULT_PORTS = {"http": 80, "https": 443}
_SCHEME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
# Characters that need no percent-encoding in a path (RFC 3986 unreserved + sub-delims + ':@/').
_PATH_SAFE = "/:@!$&'()*+,;=-._~"
# What a sentence leaves stuck to a link pasted in text ("see example.com/a.")
_TRAILING_PUNCT = ".,;:!?"


class NotAUrl(BadInput):
    pass


def _is_tracking(name: str, host: str) -> bool:
    low = name.lower()
    return (low in TRACKING_PARAMS or low.startswith(TRACKING_PREFIXES)
            or low in HOST_TRACKING.get(host, ()))


@lru_cache(maxsize=65536)
def canonical_url(url: str) -> str:
    """The canonical form: host lower-cased without "www." or a default port, http and https
    merged, fragment and tracking parameters dropped, remaining parameters sorted, the path's
    percent-encoding normalised and a trailing slash removed. Returned without a scheme
    ("example.com/a?b=1"). Raises NotAUrl when there is no host."""
    s = url.strip()
    if not _SCHEME_RE.match(s):
        s = "https://" + s  # "example.com/x" as people paste it
    try:
        parts = urlsplit(s)
        port = parts.port
    except ValueError as e:
        raise NotAUrl(f"not a URL: {url[:80]!r} ({e})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise NotAUrl(f"not a web URL: {url[:80]!r}")
    host = (parts.hostname or "").rstrip(".")
    if not host or "." not in host and host != "localhost":
        raise NotAUrl(f"URL without a host: {url[:80]!r}")
    try:
        host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        host = host.lower()
    if host.startswith("www."):
        host = host[4:]
    netloc = host if port is None or port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    path = quote(unquote(parts.path), safe=_PATH_SAFE)
    path = path.rstrip("/")
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not _is_tracking(k, host)]
    query.sort()
    return urlunsplit(("", netloc, path, urlencode(query), "")).lstrip("/")


def canonical_or_none(url: str | None) -> str | None:
    """`canonical_url` of a link found in free text (sentence punctuation stripped first), or
    None when it is not a web URL."""
    u = (url or "").strip().rstrip(_TRAILING_PUNCT)
    if not u:
        return None
    try:
        return canonical_url(u)
    except NotAUrl:
        return None


def domain_of(canonical: str) -> str:
    """The host of a canonical URL (as `canonical_url` returns it)."""
    return canonical.split("/", 1)[0].split("?", 1)[0]
