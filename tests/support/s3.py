"""A real S3 API on loopback for the object-storage tests: moto's standalone server as a process.

    with S3Server(tmp_path) as s3:
        bucket = s3.bucket("datasets")
        stack.env.update(s3.env)

The components find it the way they would find AWS: through the standard environment
variables in ``env`` (endpoint, region, credentials), nothing of ours.
"""

import subprocess
import sys
from pathlib import Path

import boto3

from jobstream_infra.embedded import free_port

from .stack import wait_serving

REGION = "us-east-1"


class S3Server:
    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }
        self.log = workdir / "moto.log"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "S3Server":
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_ready()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)

    def _wait_ready(self, timeout: float = 30) -> None:
        wait_serving(f"{self.url}/moto-api/", self.process, timeout)

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"],
        )

    def bucket(self, name: str) -> str:
        """Create the bucket ``name`` and return it."""
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        pages = (
            self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        )
        return [item["Key"] for page in pages for item in page.get("Contents", [])]
