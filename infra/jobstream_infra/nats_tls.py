"""TLS to the nats-server: the authority a component trusts, and the certificate it shows.

Decisions:
- The files are read when the settings are (a missing or malformed one ends the start with
  the variable's name), and again as the context is made for a connection.
- nats-py upgrades a connection to TLS when the server's INFO asks for it, whatever the URL's
  scheme; a `tls://` URL with no authority given verifies against the system's.
- A handshake that fails is a configuration error, not a server to wait for: see refusal().
"""

import ssl
from pathlib import Path

# The environment variables named in the messages (settings/base.py's variable_of).
CA_VARIABLE = "JOBSTREAM_NATS_TLS_CA_FILE"
CERT_VARIABLES = "JOBSTREAM_NATS_TLS_CERT_FILE and JOBSTREAM_NATS_TLS_KEY_FILE"
SERVER_NAME_VARIABLE = "JOBSTREAM_NATS_TLS_SERVER_NAME"


class UnusableTls(ValueError):
    """A TLS file that cannot be used: its message names the variable."""


def tls_context(
    ca_file: Path | None, cert_file: Path | None, key_file: Path | None
) -> ssl.SSLContext:
    """A client context trusting ``ca_file`` (else the system's authorities), showing the
    certificate ``cert_file`` with its ``key_file`` when given."""
    try:
        context = ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise UnusableTls(f"{CA_VARIABLE}: {ca_file}: no certificate read: {exc}") from None
    if cert_file is not None:
        try:
            context.load_cert_chain(cert_file, key_file)
        except (OSError, ssl.SSLError) as exc:
            raise UnusableTls(
                f"{CERT_VARIABLES}: {cert_file}, {key_file}: not a certificate and its key: {exc}"
            ) from None
    return context


def refusal(exc: Exception, server_info: dict, client_certificate: bool) -> str | None:
    """Why a TLS handshake that raised ``exc`` cannot succeed by waiting, or None when it
    may: a server that is starting or restarting breaks connections too."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (
            f"the nats-server's certificate is not trusted ({exc.verify_message}): set "
            f"{CA_VARIABLE} to the authority that signed it, and {SERVER_NAME_VARIABLE} "
            "to a name it holds if the URL's host is not one"
        )
    # A server that verifies clients ends the handshake of one that shows no certificate:
    # with TLS 1.3's alert (CERTIFICATE_REQUIRED), or, when the close comes first, with the
    # connection lost. Both mean the same, so it is checked before other alerts.
    asked = server_info.get("tls_verify") or "CERTIFICATE_REQUIRED" in str(exc)
    if asked and not client_certificate and isinstance(exc, OSError):
        return f"the nats-server asks for a client certificate: set {CERT_VARIABLES}"
    if isinstance(exc, ssl.SSLError) and "ALERT" in (exc.reason or ""):
        return (
            f"the nats-server refused this client's certificate ({exc.reason}): set "
            f"{CERT_VARIABLES} to a certificate signed by an authority it trusts"
        )
    return None
