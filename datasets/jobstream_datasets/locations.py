"""Where a dataset's repository lives: a path, or an object-store URL, and its Icechunk storage.

Decisions:
- Object-store settings come from the standard environment variables of each cloud, never
  from our own settings: ``AWS_ENDPOINT_URL[_S3]``, ``AWS_REGION``/``AWS_DEFAULT_REGION`` and
  the AWS credential chain for S3; ``AZURE_STORAGE_ACCOUNT_NAME`` (when the URL does not name
  the account) and the Azure credential variables for Azure; the Google chain for GCS.
- An S3 endpoint other than AWS's (MinIO, Ceph, a test server) is addressed path-style, as
  those servers expect, and over plain HTTP when its URL says ``http://``.
- Azure URLs follow the forms object_store and adlfs accept: ``az://container/prefix``,
  ``az://container@account/prefix`` and ``abfs[s]://container@account.dfs.core.windows.net/prefix``.
"""

import os
from dataclasses import dataclass
from urllib.parse import urlsplit

import icechunk

AZURE_SCHEMES = ("az", "azure", "abfs", "abfss")
GCS_SCHEMES = ("gs", "gcs")
# Host suffixes of Azure storage accounts, dropped to leave the account name.
AZURE_HOSTS = (".dfs.core.windows.net", ".blob.core.windows.net")


@dataclass(frozen=True)
class ObjectLocation:
    """A place in an object store: ``scheme://container/prefix`` (S3 and GCS call it a bucket)."""

    scheme: str
    container: str
    prefix: str
    # Azure only: the storage account (None: from AZURE_STORAGE_ACCOUNT_NAME).
    account: str | None = None


def parse_location(location: str) -> ObjectLocation | str:
    """An object-store URL as its parts, or a filesystem path as is (``file://`` stripped)."""
    scheme, separator, rest = location.partition("://")
    if not separator:
        return location
    if scheme == "file":
        return rest
    parts = urlsplit(location)
    prefix = parts.path.strip("/")
    if scheme in AZURE_SCHEMES:
        container, _, account = parts.netloc.partition("@")
        return ObjectLocation(scheme, container, prefix, _account_name(account) or None)
    if scheme == "s3" or scheme in GCS_SCHEMES:
        return ObjectLocation(scheme, parts.netloc, prefix)
    raise ValueError(f"no Icechunk storage for {location!r} (use a path, s3://, gs:// or az://)")


def repository_exists(location: str) -> bool:
    """Whether an Icechunk repository is at ``location``. A path is looked at first: Icechunk's
    own look creates the folder it looks in."""
    parsed = parse_location(location)
    if isinstance(parsed, str) and not os.path.isdir(parsed):
        return False
    return icechunk.Repository.exists(storage_for(location))


def _account_name(host: str) -> str:
    for suffix in AZURE_HOSTS:
        host = host.removesuffix(suffix)
    return host


def storage_for(location: str) -> icechunk.Storage:
    """Icechunk storage for a path or an object-store URL (settings from the environment)."""
    parsed = parse_location(location)
    if isinstance(parsed, str):
        return icechunk.local_filesystem_storage(parsed)
    if parsed.scheme == "s3":
        return _s3_storage(parsed)
    if parsed.scheme in GCS_SCHEMES:
        return icechunk.gcs_storage(bucket=parsed.container, prefix=parsed.prefix, from_env=True)
    return _azure_storage(parsed)


def _s3_storage(location: ObjectLocation) -> icechunk.Storage:
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    return icechunk.s3_storage(
        bucket=location.container,
        prefix=location.prefix,
        region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"),
        endpoint_url=endpoint,
        allow_http=bool(endpoint) and endpoint.startswith("http://"),
        force_path_style=bool(endpoint),
        from_env=True,
    )


def _azure_storage(location: ObjectLocation) -> icechunk.Storage:
    account = location.account or os.environ.get("AZURE_STORAGE_ACCOUNT_NAME")
    if not account:
        raise ValueError(
            f"no Azure storage account for {location.scheme}://{location.container}: "
            "name it in the URL (container@account) or in AZURE_STORAGE_ACCOUNT_NAME"
        )
    return icechunk.azure_storage(
        account=account, container=location.container, prefix=location.prefix, from_env=True
    )
