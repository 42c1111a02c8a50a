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
from typing import NamedTuple, Optional, Sequence

__all__ = ["TlsOptions", "ssl_context"]

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


def _trusting(ca_bundle: Optional[str]) -> ssl.SSLContext:
    """A default client context trusting the CAs chosen by the precedence above."""
    if ca_bundle is not None:
        if os.path.isdir(ca_bundle):
            return ssl.create_default_context(capath=ca_bundle)
        return ssl.create_default_context(cafile=ca_bundle)
    cert_file = os.environ.get("SSL_CERT_FILE")
    if cert_file:
        return ssl.create_default_context(cafile=cert_file)
    cert_dir = os.environ.get("SSL_CERT_DIR")
    if cert_dir:
        return ssl.create_default_context(capath=cert_dir)
    return ssl.create_default_context(cafile=_default_cafile())


def ssl_context(options: TlsOptions, alpn: Sequence[str]) -> ssl.SSLContext:
    """A client context for ``options`` offering ``alpn`` (a fresh one per caller: httpcore
    sets its own ALPN list on the context it is given)."""
    if options.client_key and not options.client_cert:
        raise ValueError("tls_client_key needs tls_client_cert")
    context = _trusting(options.ca_bundle)
    if options.insecure_skip_verify:
        log.warning(
            "TLS certificate verification is DISABLED (tls_insecure_skip_verify=True): "
            "any server can impersonate the broker"
        )
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if options.client_cert:
        context.load_cert_chain(options.client_cert, options.client_key)
    context.set_alpn_protocols(list(alpn))
    return context
