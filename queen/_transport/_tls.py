"""TLS settings of a client: trust, client certificate, and the one explicit way out.

Certificates are verified against, in this order of precedence: ``ca_bundle`` (a PEM file or
a directory of hashed certificates) when it is given; the ``SSL_CERT_FILE`` or else the
``SSL_CERT_DIR`` environment variable, as httpx (and so the reference client) honours them;
certifi's bundle otherwise. There is no "verify=False": skipping verification takes
``insecure_skip_verify=True``, which is logged at WARNING every time a client is built with
it.
"""

from __future__ import annotations

import logging
import os
import ssl
from typing import NamedTuple, Optional, Sequence, Tuple

from .._errors import QueenConnectError, QueenConnectionError, QueenValidationError

__all__ = ["TlsOptions", "connection_error", "misconfiguration", "ssl_context"]

log = logging.getLogger("queen.client.transport")


class TlsOptions(NamedTuple):
    """What the ``tls_*`` options of ``Queen`` configure.

    Attributes:
        ca_bundle: PEM file (or directory) of the CAs to trust instead of certifi's bundle.
        client_cert: PEM file of the client certificate (may also hold the key).
        client_key: PEM file of the client certificate's private key.
        insecure_skip_verify: accept any server certificate and host name.
    """

    ca_bundle: Optional[str] = None
    client_cert: Optional[str] = None
    client_key: Optional[str] = None
    insecure_skip_verify: bool = False


def _default_cafile() -> Optional[str]:
    try:
        import certifi
    except ImportError:  # pragma: no cover - certifi comes with httpx
        return None
    return str(certifi.where())


def _trust_source(ca_bundle: Optional[str]) -> Tuple[str, Optional[str], bool]:
    """(what configured it, path, whether it is a directory) of the CAs to trust, by the
    precedence above."""
    if ca_bundle is not None:
        return "tls_ca_bundle", ca_bundle, os.path.isdir(ca_bundle)
    cert_file = os.environ.get("SSL_CERT_FILE")
    if cert_file:
        return "SSL_CERT_FILE", cert_file, False
    cert_dir = os.environ.get("SSL_CERT_DIR")
    if cert_dir:
        return "SSL_CERT_DIR", cert_dir, True
    return "certifi", _default_cafile(), False


def _unusable(option: str, path: str, exc: BaseException) -> QueenValidationError:
    if isinstance(exc, FileNotFoundError):
        return QueenValidationError(f"{option}: no such file or directory: {path!r}")
    detail = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return QueenValidationError(f"{option}: cannot use {path!r} ({detail})")


def ssl_context(options: TlsOptions, alpn: Sequence[str]) -> ssl.SSLContext:
    """A client context for ``options`` offering ``alpn`` (a fresh one per caller: httpcore
    sets its own ALPN list on the context it is given).

    Raises:
        QueenValidationError: a missing or unreadable file, a file without a usable PEM
            certificate or key (the message names the option and the path).
    """
    if options.client_key and not options.client_cert:
        raise QueenValidationError(
            f"tls_client_key ({options.client_key!r}) needs tls_client_cert"
        )
    source, path, is_dir = _trust_source(options.ca_bundle)
    try:
        if is_dir:
            context = ssl.create_default_context(capath=path)
        else:
            if path is not None and not os.path.exists(path):
                raise FileNotFoundError(path)
            context = ssl.create_default_context(cafile=path)
    except (OSError, ssl.SSLError) as exc:
        raise _unusable(source, str(path), exc) from exc
    if options.insecure_skip_verify:
        log.warning(
            "TLS certificate verification is DISABLED (tls_insecure_skip_verify=True): "
            "any server can impersonate the broker"
        )
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if options.client_cert:
        try:
            context.load_cert_chain(options.client_cert, options.client_key)
        except (OSError, ssl.SSLError) as exc:
            option, path = "tls_client_cert", options.client_cert
            if options.client_key and os.path.exists(options.client_cert) and not (
                os.path.exists(options.client_key)
            ):
                option, path = "tls_client_key", options.client_key
            elif options.client_key and not isinstance(exc, FileNotFoundError):
                option = "tls_client_cert/tls_client_key"
                path = f"{options.client_cert}, {options.client_key}"
            raise _unusable(option, path, exc) from exc
    context.set_alpn_protocols(list(alpn))
    return context


# OpenSSL reasons that no retry can cure. The first set means the port does not speak TLS
# (an https:// URL pointed at a plain-HTTP port); the second, that the server refused our
# client certificate or we offered none it accepts.
_NOT_TLS = frozenset(
    {
        "WRONG_VERSION_NUMBER",
        "RECORD_LAYER_FAILURE",
        "PACKET_LENGTH_TOO_LONG",
        "HTTP_REQUEST",
        "UNKNOWN_PROTOCOL",
        "WRONG_SSL_VERSION",
    }
)
_CLIENT_CERT_REFUSED = frozenset(
    {
        "TLSV1_ALERT_UNKNOWN_CA",
        "SSLV3_ALERT_BAD_CERTIFICATE",
        "SSLV3_ALERT_CERTIFICATE_UNKNOWN",
        "TLSV13_ALERT_CERTIFICATE_REQUIRED",
        "SSLV3_ALERT_UNSUPPORTED_CERTIFICATE",
        "TLSV1_ALERT_ACCESS_DENIED",
    }
)
_NO_COMMON_PROTOCOL = frozenset(
    {"TLSV1_ALERT_PROTOCOL_VERSION", "UNSUPPORTED_PROTOCOL", "NO_PROTOCOLS_AVAILABLE"}
)


def misconfiguration(exc: Optional[BaseException]) -> Optional[str]:
    """What is misconfigured when ``exc`` (or an exception it was raised from) is a TLS
    failure that repeating the request cannot cure; None for anything else."""
    seen = 0
    while exc is not None and seen < 8:
        if isinstance(exc, ssl.SSLCertVerificationError):
            return (
                f"TLS certificate verification failed ({exc.verify_message or exc}); pass "
                "the CA that signed the server certificate as tls_ca_bundle"
            )
        if isinstance(exc, ssl.SSLError):
            reason = exc.reason or ""
            if reason in _NOT_TLS:
                return (
                    f"TLS handshake failed ({reason}): the server does not speak TLS on this "
                    "port; use an http:// URL for it"
                )
            if reason in _CLIENT_CERT_REFUSED:
                return (
                    f"the server refused the TLS client certificate ({reason}); check "
                    "tls_client_cert and tls_client_key"
                )
            if reason in _NO_COMMON_PROTOCOL:
                return f"no TLS version in common with the server ({reason})"
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


def connection_error(
    exc: BaseException, method: str = "", url: str = "", *, connecting: bool = False
) -> QueenConnectionError:
    """The error a transport failure ``exc`` becomes: a :class:`QueenConnectError` when the
    connection could not be opened (``connecting``), not retriable when ``exc`` is a TLS
    misconfiguration (see :func:`misconfiguration`)."""
    cls = QueenConnectError if connecting else QueenConnectionError
    problem = misconfiguration(exc)
    if problem is not None:
        return cls(problem, method=method, url=url, retriable=False)
    return cls(str(exc) or type(exc).__name__, method=method, url=url)
