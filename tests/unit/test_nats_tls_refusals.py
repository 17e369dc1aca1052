"""Why a TLS handshake with nats-server failed, as `nats_tls.refusal` tells it from the error
alone: the two ways a server that verifies clients refuses one without a certificate read the
same (seen racing in a run: the alert or the closed connection, whichever came first)."""

import ssl

from jobstream_infra.nats_tls import refusal

ASKED = "asks for a client certificate"


def alert(reason: str) -> ssl.SSLError:
    error = ssl.SSLError(1, f"[SSL: {reason}] {reason.lower()}")
    error.reason = reason
    return error


def test_a_certificate_required_alert_without_a_certificate_asks_for_one():
    assert ASKED in str(refusal(alert("TLSV13_ALERT_CERTIFICATE_REQUIRED"), {}, False))


def test_a_closed_connection_from_a_verifying_server_asks_for_a_certificate():
    lost = ConnectionResetError("Connection lost")
    assert ASKED in str(refusal(lost, {"tls_verify": True}, False))
    assert refusal(lost, {}, False) is None  # a server restarting: worth waiting for


def test_an_alert_against_a_given_certificate_says_it_was_refused():
    reason = str(refusal(alert("SSLV3_ALERT_BAD_CERTIFICATE"), {"tls_verify": True}, True))
    assert "refused this client's certificate" in reason
