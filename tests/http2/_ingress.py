"""A throwaway PKI and an nginx HTTP/2 ingress in front of ``python -m queen.testing``.

The broker runs as a subprocess (as a real broker would), nginx as a non-daemon subprocess
with its own prefix, config, pid and logs in a temporary directory, on free ports. nginx's
access log records ``$connection``, ``$server_protocol`` and ``$server_port`` per request, so
tests can tell which protocol was really spoken and how many TCP connections carried it.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Tuple

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["Broker", "LogLine", "Nginx", "Pki", "free_port", "free_ports", "make_pki"]


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(count: int) -> List[int]:
    """``count`` distinct free ports: each socket stays bound until all are picked, since a
    port just released may be handed out again (two nginx listeners on one port merge)."""
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket())
            sock.bind(("127.0.0.1", 0))
            ports.append(int(sock.getsockname()[1]))
        return ports


def _wait_listening(port: int, proc: subprocess.Popen, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with status {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"{what} is not listening on {port}")


# -- PKI -----------------------------------------------------------------------------------


class Pki(NamedTuple):
    ca: str  # the CA that signed the server certificate
    other_ca: str  # a CA nobody used
    server_cert: str
    server_key: str
    client_ca: str
    client_cert: str
    client_key: str


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: Optional[Tuple[x509.Certificate, ec.EllipticCurvePrivateKey]],
    *,
    ca: bool = False,
    server: bool = False,
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.timezone.utc)
    issuer_name = issuer[0].subject if issuer else _name(subject)
    signer = issuer[1] if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        ).add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    else:
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        if issuer:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer[1].public_key()),
                critical=False,
            )
        if server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
    return builder.sign(signer, hashes.SHA256())


def make_pki(directory: Path) -> Pki:
    def write(name: str, cert: x509.Certificate, key: Optional[ec.EllipticCurvePrivateKey]):
        path = directory / f"{name}.pem"
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        if key is None:
            return str(path), ""
        key_path = directory / f"{name}.key"
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return str(path), str(key_path)

    ca_key, other_key, client_ca_key = _key(), _key(), _key()
    ca = _cert("queen-test CA", ca_key, None, ca=True)
    other = _cert("someone else's CA", other_key, None, ca=True)
    client_ca = _cert("queen-test client CA", client_ca_key, None, ca=True)
    server_key, client_key = _key(), _key()
    server = _cert("localhost", server_key, (ca, ca_key), server=True)
    client = _cert("queen-test client", client_key, (client_ca, client_ca_key))
    server_cert, server_key_path = write("server", server, server_key)
    client_cert, client_key_path = write("client", client, client_key)
    return Pki(
        ca=write("ca", ca, None)[0],
        other_ca=write("other-ca", other, None)[0],
        server_cert=server_cert,
        server_key=server_key_path,
        client_ca=write("client-ca", client_ca, None)[0],
        client_cert=client_cert,
        client_key=client_key_path,
    )


# -- the broker ----------------------------------------------------------------------------


class Broker:
    """``python -m queen.testing`` on a free port, in its own process."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "queen.testing", "--port", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_listening(self.port, self.proc, "the test broker")
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# -- nginx ---------------------------------------------------------------------------------


class LogLine(NamedTuple):
    connection: int
    protocol: str
    port: int
    method: str
    uri: str
    status: int


def _nginx_version() -> Tuple[int, ...]:
    out = subprocess.run(["nginx", "-v"], capture_output=True, text=True, check=True).stderr
    match = re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", out)
    assert match, out
    return tuple(int(x) for x in match.groups())


class Nginx:
    """nginx in front of ``broker_port``. Listeners (all on 127.0.0.1, free ports):

    * ``tls``: TLS, HTTP/2 and HTTP/1.1 by ALPN;
    * ``h2c``: cleartext HTTP/2 (prior knowledge);
    * ``h1``: TLS offering only HTTP/1.1;
    * ``mtls``: like ``tls``, requiring a client certificate;
    * ``narrow``: like ``tls`` with ``http2_max_concurrent_streams 8``;
    * ``turnover``: like ``tls``, closing each connection after :data:`TURNOVER_REQUESTS`
      requests (``GOAWAY`` with streams in flight, as nginx does after 1000 by default);
    * ``turnover-h2c``: the same in cleartext.
    """

    NAMES = ("tls", "h2c", "h1", "mtls", "narrow", "turnover", "turnover-h2c")
    TURNOVER_REQUESTS = 50

    def __init__(self, broker_port: int, pki: Pki, directory: Path) -> None:
        self.dir = directory
        self.ports: Dict[str, int] = dict(zip(self.NAMES, free_ports(len(self.NAMES))))
        for sub in ("logs", "tmp"):
            (directory / sub).mkdir(parents=True, exist_ok=True)
        self.access_log = directory / "logs" / "access.log"
        self.conf = directory / "nginx.conf"
        self.conf.write_text(self._config(broker_port, pki))
        self.proc: Optional[subprocess.Popen] = None
        self.binary = shutil.which("nginx") or "nginx"
        check = subprocess.run(
            [self.binary, "-t", "-p", str(directory), "-c", str(self.conf)],
            capture_output=True,
            text=True,
        )
        if check.returncode != 0:
            raise RuntimeError(f"nginx -t failed:\n{check.stderr}")

    def _config(self, broker_port: int, pki: Pki) -> str:
        version = _nginx_version()
        new_syntax = version >= (1, 25, 1)
        d = self.dir

        def server(name: str, *, tls: bool, http2: bool, extra: str = "") -> str:
            port = self.ports[name]
            flags = (" ssl" if tls else "") + (" http2" if http2 and not new_syntax else "")
            lines = [f"listen 127.0.0.1:{port}{flags};"]
            if http2 and new_syntax:
                lines.append("http2 on;")
            if tls:
                lines += [
                    f"ssl_certificate {pki.server_cert};",
                    f"ssl_certificate_key {pki.server_key};",
                ]
            lines.append(extra)
            lines.append("location / { proxy_pass http://queen; }")
            return "server {\n    " + "\n    ".join(lines) + "\n}\n"

        mtls = f"ssl_verify_client on; ssl_client_certificate {pki.client_ca};"
        # HTTP/2 connections obey keepalive_requests from 1.19.7 on (http2_max_requests before)
        limit = "keepalive_requests" if version >= (1, 19, 7) else "http2_max_requests"
        turnover = f"{limit} {self.TURNOVER_REQUESTS};"
        user = "user root;\n" if hasattr(os, "geteuid") and os.geteuid() == 0 else ""
        return f"""{user}worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/logs/error.log warn;
events {{ worker_connections 4096; }}
http {{
log_format queen '$connection $server_protocol $server_port $request_method $uri $status';
access_log {d}/logs/access.log queen;
client_body_temp_path {d}/tmp/body;
proxy_temp_path {d}/tmp/proxy;
fastcgi_temp_path {d}/tmp/fastcgi;
uwsgi_temp_path {d}/tmp/uwsgi;
scgi_temp_path {d}/tmp/scgi;
upstream queen {{
    server 127.0.0.1:{broker_port};
    keepalive 128;
    keepalive_timeout 4s;
}}
proxy_http_version 1.1;
proxy_set_header Connection "";
proxy_read_timeout 120s;
proxy_send_timeout 120s;
proxy_buffering off;
keepalive_timeout 120s;
{server("tls", tls=True, http2=True)}
{server("h2c", tls=False, http2=True)}
{server("h1", tls=True, http2=False)}
{server("mtls", tls=True, http2=True, extra=mtls)}
{server("narrow", tls=True, http2=True, extra="http2_max_concurrent_streams 8;")}
{server("turnover", tls=True, http2=True, extra=turnover)}
{server("turnover-h2c", tls=False, http2=True, extra=turnover)}
}}
"""

    def url(self, name: str) -> str:
        scheme = "http" if name.endswith("h2c") else "https"
        return f"{scheme}://localhost:{self.ports[name]}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "-p", str(self.dir), "-c", str(self.conf), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for port in self.ports.values():
            _wait_listening(port, self.proc, "nginx")

    def stop(self) -> None:
        """Fast shutdown (SIGTERM): every client connection is closed at once."""
        proc = self.proc
        self.proc = None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    def log(self, name: Optional[str] = None) -> List[LogLine]:
        """Access-log lines (of listener ``name``), oldest first."""
        if not self.access_log.exists():
            return []
        out = []
        for raw in self.access_log.read_text().splitlines():
            conn, proto, port, method, uri, status = raw.split(" ")
            line = LogLine(int(conn), proto, int(port), method, uri, int(status))
            if name is None or line.port == self.ports[name]:
                out.append(line)
        return out

    def mark(self) -> int:
        """The current number of access-log lines (for :meth:`log_since`)."""
        return len(self.log())

    def log_since(self, mark: int, name: str) -> List[LogLine]:
        port = self.ports[name]
        return [line for line in self.log()[mark:] if line.port == port]
