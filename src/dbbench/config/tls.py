"""TLS as the settings say it: ``ssl_mode`` and the ``ssl_*`` keys -> one ``TlsSettings``,
and the certificate and key files checked before anything connects.

A settings concept, not a driver's: each driver turns ``TlsSettings`` into its own
``connect`` arguments (``drivers/``).  Imports nothing of dbbench but its errors, its
parsing and ``safeio``.
"""

from __future__ import annotations

import os
import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from dbbench import safeio
from dbbench.errors import ConfigError
from dbbench.parsing import bad_value

#: ``ssl_mode`` values, weakest first (MySQL's own ``--ssl-mode`` names, lower case)
SSL_MODES: tuple[str, ...] = ("disabled", "preferred", "required", "verify_ca", "verify_identity")


@dataclass(frozen=True)
class TlsSettings:
    """What TLS a connection asks for, as one ``ssl_mode`` plus the files it needs.

    ``preferred`` means "the driver's default": PyMySQL and mysql-connector then
    try TLS when the server offers it; mysqlclient built on MariaDB Connector/C
    does not use TLS at all unless asked to (it has no 'preferred' of its own).
    """

    mode: str = "preferred"
    ca: str | None = None
    cert: str | None = None
    key: str | None = None
    key_password: str | None = field(default=None, repr=False)

    def as_ssl_keys(self) -> dict[str, Any]:
        """The same, said with the older ``ssl_*`` keys (PyMySQL's names), for code that
        reads those (the async-pool runner's SSL context)."""
        keys: dict[str, Any] = {
            name: value
            for name, value in (
                ("ssl_ca", self.ca),
                ("ssl_cert", self.cert),
                ("ssl_key", self.key),
                ("ssl_key_password", self.key_password),
            )
            if value is not None
        }
        if self.mode == "disabled":
            return {"ssl_disabled": True}
        if self.mode == "verify_ca":
            keys["ssl_verify_cert"] = True
        if self.mode == "verify_identity":
            keys["ssl_verify_identity"] = True
        return keys

    @property
    def verifies(self) -> bool:
        return self.mode in ("verify_ca", "verify_identity")

    @property
    def encrypts(self) -> bool:
        """TLS is demanded: connecting without it must fail."""
        return self.mode in ("required", "verify_ca", "verify_identity")


#: the ssl_* keys that name files
_TLS_FILE_KEYS = ("ssl_ca", "ssl_cert", "ssl_key")


def resolve_tls(ssl_mode: str | None, ssl: Mapping[str, Any]) -> TlsSettings:
    """One ``TlsSettings`` from ``ssl_mode`` and the ``ssl_*`` keys as given.

    Without ``ssl_mode`` the older keys say the mode, as PyMySQL reads them:
    ``ssl_disabled`` -> disabled, ``ssl_verify_identity`` -> verify_identity,
    ``ssl_verify_cert`` -> verify_ca, a CA/certificate/key -> required,
    nothing -> preferred.  With ``ssl_mode``, keys that say otherwise are
    refused: ``ValueError`` with one line naming both.
    """
    files = {key: ssl.get(key) for key in _TLS_FILE_KEYS}
    given_files = [key for key, value in files.items() if value is not None]
    verify_cert, verify_identity = ssl.get("ssl_verify_cert"), ssl.get("ssl_verify_identity")
    disabled = ssl.get("ssl_disabled")
    if ssl_mode is None:
        if disabled:
            mode = "disabled"
        elif verify_identity:
            mode = "verify_identity"
        elif verify_cert:
            mode = "verify_ca"
        elif given_files:
            mode = "required"
        else:
            mode = "preferred"
    else:
        mode = ssl_mode
        _check_conflicts(mode, given_files, disabled, verify_cert, verify_identity)
    if mode in ("verify_ca", "verify_identity") and files["ssl_ca"] is None and ssl_mode:
        raise NeedsKey(
            "ssl_ca",
            f"ssl_mode = {mode!r} needs ssl_ca, the CA certificate to verify the server with",
        )
    return TlsSettings(
        mode=mode,
        ca=files["ssl_ca"],
        cert=files["ssl_cert"],
        key=files["ssl_key"],
        key_password=ssl.get("ssl_key_password"),
    )


def _check_conflicts(
    mode: str,
    files: list[str],
    disabled: bool | None,
    verify_cert: bool | None,
    verify_identity: bool | None,
) -> None:
    said = f"ssl_mode = {mode!r}"
    if disabled is not None and disabled != (mode == "disabled"):
        raise ValueError(f"{said} contradicts ssl_disabled = {str(disabled).lower()}; drop one")
    if mode in ("disabled", "preferred") and files:
        use = "drop them" if mode == "disabled" else "use 'required' or 'verify_ca'"
        raise ValueError(f"{said} takes no {', '.join(files)}; {use}")
    wants_cert = mode in ("verify_ca", "verify_identity")
    if verify_cert is not None and verify_cert != wants_cert:
        raise ValueError(
            f"{said} contradicts ssl_verify_cert = {str(verify_cert).lower()}; "
            "ssl_mode alone says it (verify_ca or verify_identity verify the certificate)"
        )
    if verify_identity is not None and verify_identity != (mode == "verify_identity"):
        raise ValueError(
            f"{said} contradicts ssl_verify_identity = {str(verify_identity).lower()}; "
            "ssl_mode alone says it (verify_identity checks the host name)"
        )


class NeedsKey(ValueError):
    """A mode that needs another key given (``verify_ca`` needs ``ssl_ca``): the loader says
    where that key is set."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


class Given(Protocol):
    """A key's value as read, and where it was read (``FILE: [database] ssl_ca``)."""

    @property
    def value(self) -> Any: ...

    @property
    def where(self) -> str: ...

    @property
    def echo(self) -> str:
        """The value as the user gave it, for a message (``parsing.bad_value``)."""
        ...


def check_tls_files(tls: TlsSettings, given: Mapping[str, Given]) -> None:
    """Each of ``ssl_ca``, ``ssl_cert``, ``ssl_key`` that is given must be a readable file
    holding what it claims, checked here, before anything connects: otherwise the first
    connect fails with the driver's words (``[Errno 2] No such file or directory``, an
    OpenSSL reason) and no word of which key or file.  ``ConfigError``: one line naming
    the key, the file and where the key was set.

    A key encrypted with ``ssl_key_password`` passes; whether the driver can read such a
    key is the driver's own check (``Driver.refuse_encrypted_key``).
    """
    if tls.mode == "disabled":
        return  # the files are not used
    files = {"ssl_ca": tls.ca, "ssl_cert": tls.cert, "ssl_key": tls.key}  # ~ expanded
    for key, path in files.items():
        if path is not None and key in given:
            _check_readable(key, path, given[key])
    for key in ("ssl_ca", "ssl_cert"):
        if files[key] is not None:
            try:
                ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=files[key])
            except ssl.SSLError as exc:
                problem = f"not a PEM certificate ({_ssl_reason(exc)})"
                raise _file_error(key, given, problem) from None
    if tls.cert is None:
        return  # a key without a certificate is never sent: the drivers leave it aside
    _check_key(tls, given)


def _check_readable(key: str, path: str, item: Given) -> None:
    """``path`` (``item``'s value as read) must be a regular file this process can read, of
    at most ``safeio.TLS_FILE_LIMIT``: read here once, within that limit and without
    blocking, so that OpenSSL, which reads it next, is never handed a FIFO or a device."""
    try:
        safeio.read_bytes(path, limit=safeio.TLS_FILE_LIMIT, what="a TLS file")
    except safeio.FileProblem as exc:
        relative = (
            f" (relative to the working directory {os.getcwd()})"
            if exc.missing and not os.path.isabs(path)
            else ""
        )
        raise _file_error(key, {key: item}, exc.reason + relative) from None


def _check_key(tls: TlsSettings, given: Mapping[str, Given]) -> None:
    """The certificate's private key: in ``ssl_key``, or else in the ``ssl_cert`` file."""
    assert tls.cert is not None
    holder = "ssl_key" if tls.key is not None else "ssl_cert"
    asked = False

    def password() -> str:
        # never OpenSSL's own prompt on the terminal: without ssl_key_password, say so
        nonlocal asked
        asked = True
        return tls.key_password or ""

    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_cert_chain(
            tls.cert, tls.key, password=password
        )
    except ssl.SSLError as exc:
        if exc.reason == "KEY_VALUES_MISMATCH":
            problem = f"not the key of ssl_cert = {tls.cert!r} ({_ssl_reason(exc)})"
        elif asked and tls.key_password is not None:
            path = tls.key if holder == "ssl_key" else tls.cert
            problem = f"does not decrypt the key in {holder} = {path!r}"
            raise _file_error("ssl_key_password", given, problem) from None
        elif asked:
            problem = (
                "the key is encrypted and no ssl_key_password is given; "
                "give it (PyMySQL only) or decrypt the key"
            )
        elif holder == "ssl_cert":
            problem = "holds no private key, and no ssl_key is given: give the certificate's key"
        else:
            problem = "not a PEM private key"
        raise _file_error(holder, given, problem) from None


def _file_error(key: str, given: Mapping[str, Given], problem: str) -> ConfigError:
    item = given[key]
    return bad_value(
        item.where, item.value, problem, secret=key == "ssl_key_password", echo=item.echo
    )


def _ssl_reason(exc: ssl.SSLError) -> str:
    """OpenSSL's words without the ``[LIB: REASON]`` prefix and the ``(_ssl.c:1234)`` suffix."""
    text = str(exc.args[1] if len(exc.args) > 1 else exc)
    return re.sub(r"^\[[^\]]*\]\s*|\s*\(_ssl\.c:\d+\)$", "", text) or text
