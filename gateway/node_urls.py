"""``ES_URL``'s node URLs and the host names in them, checked (for the settings and the node sniffer)."""

from __future__ import annotations

from urllib.parse import urlsplit


def valid_host(host: str) -> bool:
    """A host name a connection can be opened to: an IP address (IPv6 in brackets or not) or a DNS name."""
    try:
        host.strip("[]").encode("idna")
    except UnicodeError:
        return False
    return True


def node_urls(value: str) -> list[str]:
    """``ES_URL`` → node URLs: ``http(s)://host[:port][/path]`` each, one scheme, no credentials in them."""
    urls = [part.strip().rstrip("/") for part in value.split(",")]
    if not all(urls):
        raise ValueError("ES_URL has an empty entry; separate node URLs with single commas")
    schemes = set()
    for url in urls:
        parts = urlsplit(url)
        if parts.username is not None or parts.password is not None or "@" in parts.netloc:
            raise ValueError("ES_URL must not carry credentials; use ES_USERNAME/ES_PASSWORD or ES_API_KEY")
        try:
            parts.port  # noqa: B018  # raises on a port that is not a number in range
        except ValueError:
            raise ValueError(f"ES_URL entry {url!r} has an invalid port") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"ES_URL entry {url!r} is not an http:// or https:// URL with a host")
        if not valid_host(parts.hostname):
            raise ValueError(f"ES_URL entry {url!r} has an invalid host name")
        if parts.query or parts.fragment:
            raise ValueError(f"ES_URL entry {url!r} must not have a query or fragment")
        schemes.add(parts.scheme)
    if len(schemes) > 1:
        raise ValueError("ES_URL mixes http and https nodes; use one scheme for the whole cluster")
    if len(set(urls)) != len(urls):
        raise ValueError("ES_URL names the same node twice")
    return urls
