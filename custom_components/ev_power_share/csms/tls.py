"""TLS for the central system (OCPP security profile 2: wss:// with a server
certificate). No Home Assistant imports; the loading reads files, so callers run
it off the event loop."""

from __future__ import annotations

from pathlib import Path
import ssl


class TlsError(ValueError):
    """The certificate or key cannot be used; ``reason`` says why in one word."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def server_ssl_context(certificate: str | Path, key: str | Path) -> ssl.SSLContext:
    """A server context for wss:// from PEM files (TLS 1.2 at least, as OCPP's
    security profile 2 requires).

    ``certificate`` holds the server certificate, optionally followed by its
    chain (``fullchain.pem``); ``key`` its private key. Raises :class:`TlsError`
    with reason ``missing`` (a file is not there or unreadable) or ``invalid``
    (not PEM, or the key does not match the certificate).
    """
    for path in (Path(certificate), Path(key)):
        if not path.is_file():
            raise TlsError("missing", str(path))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(certfile=str(certificate), keyfile=str(key))
    except PermissionError as err:
        raise TlsError("missing", str(err)) from err
    except (ssl.SSLError, OSError) as err:
        raise TlsError("invalid", str(err)) from err
    return context
