"""The encrypted blob store on S3-compatible object storage (AWS S3, MinIO, Ceph, ...).

Same envelope and tenant keys as the local folder (core.storage); only where the sealed
bytes live differs. Objects are `<prefix><tenant id>/<key>`. Writes stream as a multipart
upload (one part in memory at a time; a blob smaller than a part is one PUT), reads are
ranged GETs, so neither way holds a blob whole. Credentials come the usual boto3 way
(AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, a profile or an instance role).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, BinaryIO

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from core.config import Settings
from core.storage import BlobError, BlobNotFound, BlobStore, StoredBlob, load_master_key

MIN_PART = 5 * 1024 * 1024  # S3 refuses smaller parts, except the last


def _missing(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound")


class MultipartSink:
    """Sealed bytes to one object: parts of `part_size` uploaded as they fill, completed on commit.

    Nothing is visible under the key until commit; abort removes the uploaded parts.
    """

    def __init__(self, client: Any, bucket: str, key: str, part_size: int) -> None:
        self.client, self.bucket, self.key = client, bucket, key
        self.part_size = max(part_size, MIN_PART)
        self.buffer = bytearray()
        self.upload_id: str | None = None
        self.parts: list[dict[str, Any]] = []

    def write(self, data: bytes) -> None:
        self.buffer += data
        while len(self.buffer) >= self.part_size:
            with memoryview(self.buffer) as view:
                part = bytes(view[: self.part_size])  # the one copy of the part that goes up
            del self.buffer[: self.part_size]
            self._upload_part(part)

    def _upload_part(self, body: bytes) -> None:
        if self.upload_id is None:
            self.upload_id = self.client.create_multipart_upload(Bucket=self.bucket, Key=self.key)["UploadId"]
        number = len(self.parts) + 1
        answer = self.client.upload_part(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id,
                                         PartNumber=number, Body=body)
        self.parts.append({"PartNumber": number, "ETag": answer["ETag"]})

    def commit(self) -> None:
        if self.upload_id is None:
            self.client.put_object(Bucket=self.bucket, Key=self.key, Body=bytes(self.buffer))
        else:
            if self.buffer:
                self._upload_part(bytes(self.buffer))
            self.client.complete_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id,
                                                  MultipartUpload={"Parts": self.parts})
        self.buffer.clear()

    def abort(self) -> None:
        self.buffer.clear()
        if self.upload_id is not None:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id)


class S3BlobStore(BlobStore):
    """BlobStore whose sealed bytes live in a bucket (see the module docstring)."""

    def __init__(self, client: Any, bucket: str, master_key: bytes, *, prefix: str = "",
                 part_size: int = 8 * 1024 * 1024) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.part_size = part_size
        self.master_key = master_key

    @classmethod
    def from_settings(cls, settings: Settings) -> S3BlobStore:
        if not settings.s3_bucket:
            raise ValueError("MENDAN_BLOB_BACKEND=s3 needs MENDAN_S3_BUCKET")
        client = boto3.client("s3", endpoint_url=settings.s3_endpoint_url, region_name=settings.s3_region,
                              config=Config(retries={"mode": "standard"}))
        return cls(client, settings.s3_bucket, load_master_key(settings), prefix=settings.s3_prefix,
                   part_size=settings.s3_part_size)

    @property
    def location(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def _object(self, tenant_id: Any, key: str) -> str:
        return f"{self.prefix}{tenant_id}/{self._checked(key)}"

    def _sink(self, tenant_id: Any, key: str) -> MultipartSink:
        return MultipartSink(self.client, self.bucket, self._object(tenant_id, key), self.part_size)

    def _sealed_size(self, tenant_id: Any, key: str) -> int:
        try:
            return self.client.head_object(Bucket=self.bucket, Key=self._object(tenant_id, key))["ContentLength"]
        except ClientError as exc:
            if _missing(exc):
                raise BlobNotFound(key) from exc
            raise BlobError(f"{key}: {exc}") from exc

    def _open_sealed(self, tenant_id: Any, key: str, start: int, end: int) -> BinaryIO:
        if end <= start:
            return _Empty()
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._object(tenant_id, key),
                                            Range=f"bytes={start}-{end - 1}")
        except ClientError as exc:
            if _missing(exc):
                raise BlobNotFound(key) from exc
            raise BlobError(f"{key}: {exc}") from exc
        return answer["Body"]

    def _delete_sealed(self, tenant_id: Any, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._object(tenant_id, key))

    def _listed(self, under: str):
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=under):
            yield from page.get("Contents", [])

    def stored(self):
        for item in self._listed(self.prefix):
            relative = item["Key"][len(self.prefix):]
            if "/" in relative:
                tenant_id, key = relative.split("/", 1)
                yield StoredBlob(tenant_id, key, item["Size"], item["LastModified"], item["ETag"])

    def listed(self, tenant_id: Any, under: str):
        start = f"{self.prefix}{tenant_id}/"
        for item in self._listed(start + self._checked(under.rstrip("/")) + "/"):
            yield StoredBlob(str(tenant_id), item["Key"][len(start):], item["Size"], item["LastModified"],
                             item["ETag"])

    def drop_unfinished_writes(self, older_than: datetime) -> int:
        """Abort multipart uploads of crashed writers started before `older_than` (their parts
        are stored and billed until then)."""
        count = 0
        for page in self.client.get_paginator("list_multipart_uploads").paginate(Bucket=self.bucket,
                                                                                 Prefix=self.prefix):
            for upload in page.get("Uploads", []):
                if upload["Initiated"] < older_than:
                    try:
                        self.client.abort_multipart_upload(Bucket=self.bucket, Key=upload["Key"],
                                                           UploadId=upload["UploadId"])
                        count += 1
                    except ClientError as exc:
                        if exc.response.get("Error", {}).get("Code") != "NoSuchUpload":  # another sweep was first
                            raise
        return count

    def delete_tenant(self, tenant_id: Any) -> int:
        keys = [item["Key"] for item in self._listed(f"{self.prefix}{tenant_id}/")]
        for i in range(0, len(keys), 1000):  # DeleteObjects takes at most 1000 keys
            self.client.delete_objects(Bucket=self.bucket,
                                       Delete={"Objects": [{"Key": k} for k in keys[i : i + 1000]], "Quiet": True})
        return len(keys)

    def count(self, tenant_id: Any) -> int:
        return sum(1 for _ in self._listed(f"{self.prefix}{tenant_id}/"))

    def check(self) -> None:
        """Raises when the bucket cannot be written (used by /readyz)."""
        probe = f"{self.prefix}.ready-{uuid.uuid4().hex}"
        self.client.put_object(Bucket=self.bucket, Key=probe, Body=b"ok")
        self.client.delete_object(Bucket=self.bucket, Key=probe)


class _Empty:
    def read(self, n: int = -1) -> bytes:
        return b""

    def close(self) -> None:
        pass
