"""Throwaway TLS certificates for a throwaway server (``--server local``, the tests).

A fresh CA, a server certificate it signed for the names given (by default
``localhost`` and ``127.0.0.1``, where a ``LocalServer`` listens) and a client
certificate, written as PEM files.  Made with ``trustme`` (an extra:
``pip install 'dbbench[tls]'``), which makes exactly such short-lived
certificates and is small, on top of ``cryptography``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dbbench.errors import ConfigError

DEFAULT_NAMES: tuple[str, ...] = ("localhost", "127.0.0.1")


@dataclass(frozen=True)
class CertificateFiles:
    #: the CA that signed both certificates: ssl_ca for verify_ca / verify_identity
    ca: Path
    #: the server's certificate and key: the server's --ssl-cert / --ssl-key
    server_cert: Path
    server_key: Path
    #: a client certificate and key signed by the same CA: ssl_cert / ssl_key
    client_cert: Path
    client_key: Path


def make_certificates(directory: Path, names: Sequence[str] = DEFAULT_NAMES) -> CertificateFiles:
    """Write a new CA, a server certificate for ``names`` and a client certificate."""
    try:
        import trustme
    except ImportError:
        raise ConfigError(
            "making certificates for a throwaway TLS server needs the trustme package: "
            "pip install 'dbbench[tls]'"
        ) from None
    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="dbbench throwaway CA")
    server = ca.issue_cert(*names)
    client = ca.issue_cert("dbbench-client")
    files = CertificateFiles(
        ca=directory / "ca.pem",
        server_cert=directory / "server-cert.pem",
        server_key=directory / "server-key.pem",
        client_cert=directory / "client-cert.pem",
        client_key=directory / "client-key.pem",
    )
    ca.cert_pem.write_to_path(files.ca)
    server.cert_chain_pems[0].write_to_path(files.server_cert)
    server.private_key_pem.write_to_path(files.server_key)
    client.cert_chain_pems[0].write_to_path(files.client_cert)
    client.private_key_pem.write_to_path(files.client_key)
    for key in (files.server_key, files.client_key):
        key.chmod(0o600)
    return files
