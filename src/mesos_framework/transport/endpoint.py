"""Where a master or agent listens: parsing ``host:port`` specs and ``Location`` headers."""

from __future__ import annotations

import re
from dataclasses import dataclass

import yarl

from mesos_framework._redact import without_password
from mesos_framework.errors import ConfigurationError, ProtocolError

__all__ = ["DEFAULT_MASTER_PORT", "Endpoint", "parse_endpoint", "resolve_location"]

DEFAULT_MASTER_PORT = 5050

_PID = re.compile(r"^[A-Za-z0-9_.()-]+@(?P<rest>.+)$")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One HTTP server: ``scheme`` (``http``/``https``), ``host``, ``port``.

    ``host`` is a DNS name or an IP address (IPv6 without brackets).
    ``prefix`` is a path the API paths are appended to (for a master behind a
    reverse proxy at ``https://proxy/mesos``); it is empty normally.
    """

    scheme: str
    host: str
    port: int
    prefix: str = ""

    @property
    def netloc(self) -> str:
        """``host:port`` with IPv6 hosts in brackets."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """``scheme://host:port[prefix]``, e.g. ``http://127.0.0.1:5050``."""
        return f"{self.scheme}://{self.netloc}{self.prefix}"

    def url(self, path: str) -> str:
        """The full URL of ``path`` (which starts with ``/``) on this server."""
        return f"{self.base_url}{path}"

    def __str__(self) -> str:
        return self.base_url


def parse_endpoint(
    text: str, *, default_scheme: str = "http", default_port: int = DEFAULT_MASTER_PORT
) -> Endpoint:
    """Parse one master/agent address.

    Accepted forms: ``host``, ``host:port``, ``[v6]:port``, ``master@ip:port``
    (a libprocess PID, as in ``MasterInfo.pid``) and ``http(s)://host[:port][/prefix]``.
    Without a port, ``default_port`` applies, except for URLs, which use their
    scheme's port (80/443) like any URL.
    Raises `ConfigurationError` saying what was wrong.
    """
    spec = text.strip()
    if not spec:
        raise ConfigurationError("empty master address", option="master")
    if "://" in spec:
        shown = without_password(spec)  # for the messages: never a password in clear
        try:
            url = yarl.URL(spec)
        except ValueError as exc:
            raise ConfigurationError(f"not a URL: {shown!r} ({exc})", option="master") from exc
        if url.scheme not in ("http", "https"):
            raise ConfigurationError(
                f"unsupported scheme {url.scheme!r} in {shown!r} (expected http or https)", option="master"
            )
        if not url.host:
            raise ConfigurationError(f"no host in {shown!r}", option="master")
        if url.query_string or url.fragment:
            raise ConfigurationError(f"a master URL takes no query or fragment: {shown!r}", option="master")
        try:
            port = url.port  # the scheme's default port when none is given, as for any URL
        except ValueError as exc:
            raise ConfigurationError(f"bad port in {shown!r}", option="master") from exc
        if port is None:
            raise ConfigurationError(f"no port in {shown!r}", option="master")
        prefix = url.path.rstrip("/")
        return Endpoint(url.scheme, url.host, int(port), prefix)
    match = _PID.match(spec)
    if match:
        spec = match.group("rest")
    if "/" in spec or "@" in spec:
        shown = without_password(text.strip())  # user:password@host:port: not the password
        raise ConfigurationError(f"expected host:port, got {shown!r}", option="master")
    host, port = _split_host_port(spec, text.strip(), default_port)
    return Endpoint(default_scheme, host, port)


def _split_host_port(spec: str, original: str, default_port: int) -> tuple[str, int]:
    if spec.startswith("["):
        end = spec.find("]")
        if end < 0:
            raise ConfigurationError(f"unclosed '[' in {original!r}", option="master")
        host, rest = spec[1:end], spec[end + 1 :]
        if rest and not rest.startswith(":"):
            raise ConfigurationError(f"expected ':port' after ']' in {original!r}", option="master")
        port_text = rest[1:] if rest else ""
    elif spec.count(":") > 1:
        # A bare IPv6 address without a port.
        host, port_text = spec, ""
    else:
        host, _, port_text = spec.partition(":")
    if not host:
        raise ConfigurationError(f"no host in {original!r}", option="master")
    if not port_text:
        return host, default_port
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigurationError(f"bad port {port_text!r} in {original!r}", option="master")
    return host, int(port_text)


def resolve_location(current: Endpoint, location: str) -> tuple[Endpoint, str]:
    """Resolve a redirect's ``Location`` against the server that sent it.

    Mesos sends protocol-relative locations such as
    ``//10.0.0.2:5050/master/api/v1/scheduler`` (or ``//[::1]:5050/...``):
    the scheme of the original request is reused. Absolute and path-only
    locations work too. Returns the new server and the path (with query).
    Raises `ProtocolError` for a location that is not a usable URL.
    """
    try:
        url = yarl.URL(location.strip())
    except ValueError as exc:
        raise ProtocolError(f"redirect to an invalid Location {location!r}: {exc}") from exc
    if url.scheme and url.scheme not in ("http", "https"):
        raise ProtocolError(f"redirect to an unsupported scheme in Location {location!r}")
    if not url.path.startswith("/") and url.host is None:
        raise ProtocolError(f"redirect to a relative Location {location!r}")
    path = url.raw_path or "/"
    if url.raw_query_string:
        path = f"{path}?{url.raw_query_string}"
    if url.host is None:
        return Endpoint(current.scheme, current.host, current.port), path
    scheme = url.scheme or current.scheme
    try:
        port = url.explicit_port
    except ValueError as exc:
        raise ProtocolError(f"redirect to a bad port in Location {location!r}") from exc
    if port is None:
        port = 443 if scheme == "https" else 80
    return Endpoint(scheme, url.host, port), path
