"""Authentication and TLS settings for the HTTP client."""

from __future__ import annotations

import base64
import logging
import ssl
from dataclasses import dataclass, field

from mesos_framework.errors import ConfigurationError

__all__ = ["Credentials", "TLSConfig"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Credentials:
    """An HTTP Basic principal and secret (Mesos ``--authenticate_http_frameworks``)."""

    principal: str
    secret: str = field(repr=False)

    def __post_init__(self) -> None:
        if not self.principal:
            raise ConfigurationError("must not be empty", option="credentials.principal")
        if ":" in self.principal:
            raise ConfigurationError("must not contain ':' (HTTP Basic)", option="credentials.principal")

    def authorization(self) -> str:
        """The ``Authorization`` header value (``Basic base64(principal:secret)``)."""
        raw = f"{self.principal}:{self.secret}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")


@dataclass(frozen=True, slots=True)
class TLSConfig:
    """How to talk HTTPS to masters and agents.

    ``ca_file`` is a PEM bundle of trusted CAs (the system store when unset);
    ``verify=False`` turns certificate and hostname checks off (logged as a
    warning: only for tests); ``cert_file``/``key_file`` are a client
    certificate and its key for servers that require one.
    """

    ca_file: str | None = None
    verify: bool = True
    cert_file: str | None = None
    key_file: str | None = None

    def __post_init__(self) -> None:
        if self.key_file and not self.cert_file:
            raise ConfigurationError("a key_file needs a cert_file", option="tls.key_file")

    def ssl_context(self) -> ssl.SSLContext:
        """Build the `ssl.SSLContext`; unreadable files raise `ConfigurationError`."""
        try:
            ctx = ssl.create_default_context(cafile=self.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigurationError(
                f"cannot load CA file {self.ca_file!r}: {exc}", option="tls.ca_file"
            ) from exc
        if not self.verify:
            log.warning("TLS certificate verification is OFF: the master's identity is not checked")
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if self.cert_file:
            try:
                ctx.load_cert_chain(self.cert_file, self.key_file)
            except (OSError, ssl.SSLError) as exc:
                raise ConfigurationError(
                    f"cannot load client certificate {self.cert_file!r}: {exc}", option="tls.cert_file"
                ) from exc
        return ctx
