"""Secrets in the URLs of free text: stripped for events and clients, masked for logs."""

import pytest

from jobstream_contracts.redaction import mask_url_secrets, strip_url_secrets

CASES = [
    # (text, stripped, masked)
    (
        "period 2021-01-01: https://reader:pw@files.example:8443/a.tif?token=t&v=2: HTTP 404",
        "period 2021-01-01: https://files.example:8443/a.tif: HTTP 404",
        "period 2021-01-01: https://reader:***@files.example:8443/a.tif?token=***&v=***: HTTP 404",
    ),
    # A NATS token is written as a lone user name; a database URL names user and password.
    (
        "nats://tok3n@127.0.0.1:4222, postgresql+psycopg://app:pw@db/jobs.",
        "nats://127.0.0.1:4222, postgresql+psycopg://db/jobs.",
        "nats://***@127.0.0.1:4222, postgresql+psycopg://app:***@db/jobs.",
    ),
    # Inside quotes and GDAL's /vsicurl/ prefix; a fragment and a bare query flag.
    (
        "DownloadError('/vsicurl/s3://bucket/k.nc?X-Amz-Signature=abc&flag#frag')",
        "DownloadError('/vsicurl/s3://bucket/k.nc')",
        "DownloadError('/vsicurl/s3://bucket/k.nc?X-Amz-Signature=***&***#***')",
    ),
    ("http://[::1/broken?token=t", "http://***", "http://***"),
    # Nothing to hide: the URL comes back as it was, an empty authority included.
    ("sqlite:////var/lib/view.sqlite",) * 3,
]


@pytest.mark.parametrize(("text", "stripped", "masked"), CASES)
def test_urls_in_text_are_stripped_for_clients_and_masked_for_logs(text, stripped, masked):
    assert strip_url_secrets(text) == stripped
    assert mask_url_secrets(text) == masked


def test_text_already_masked_stays_as_it_is():
    masked = mask_url_secrets("postgresql://app:pw@db/jobs?sslpassword=x")
    assert mask_url_secrets(masked) == masked
