"""An S3-compatible server for tests: moto in server mode on a free loopback port, spoken to
over the real S3 wire protocol by boto3 (no in-process mocks of boto3 itself)."""

from __future__ import annotations

import socket
import uuid

import boto3
import pytest

from core.s3_storage import S3BlobStore

CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test", "region_name": "us-east-1"}


@pytest.fixture(scope="session")
def s3_endpoint() -> str:
    """The URL of a moto S3 server that lives as long as the test session."""
    from moto.server import ThreadedMotoServer

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def s3_client(endpoint: str):
    return boto3.client("s3", endpoint_url=endpoint, **CREDENTIALS)


def new_bucket(endpoint: str) -> str:
    """A fresh bucket of its own for one test."""
    name = f"mendan-{uuid.uuid4().hex[:16]}"
    s3_client(endpoint).create_bucket(Bucket=name)
    return name


def s3_store(endpoint: str, master_key: bytes, *, bucket: str | None = None, part_size: int = 5 * 1024 * 1024) -> S3BlobStore:
    return S3BlobStore(s3_client(endpoint), bucket or new_bucket(endpoint), master_key,
                       prefix="blobs/", part_size=part_size)
