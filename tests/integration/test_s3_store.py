"""The S3 artifact store against a real S3 server (moto) over HTTP, through boto3."""

from __future__ import annotations

import secrets
from urllib.parse import parse_qs, urlsplit

import boto3
import httpx
import pytest

from skyq.errors import StorageError
from skyq.storage import open_artifact_store
from skyq.storage.s3 import S3ArtifactStore
from tests.conftest import make_settings
from tests.fake_llm import Script
from tests.integration.test_agent_actions import complete


@pytest.fixture
def bucket(s3_server) -> str:
    name = f"skyq-{secrets.token_hex(4)}"
    boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1").create_bucket(Bucket=name)
    return name


def test_put_get_presigned_url_and_delete(s3_server, bucket):
    store = S3ArtifactStore(f"s3://{bucket}/runs", endpoint_url=s3_server, expiry_seconds=120)
    uri = store.put("o_1/tsk_1/001/screenshot_a_1.jpg", b"\xff\xd8\xffdata", "image/jpeg")
    assert uri == f"s3://{bucket}/runs/o_1/tsk_1/001/screenshot_a_1.jpg"
    assert store.get(uri) == b"\xff\xd8\xffdata"
    url = store.url(uri)
    assert parse_qs(urlsplit(url).query)["X-Amz-Expires"] == ["120"]
    fetched = httpx.get(url)
    assert fetched.status_code == 200 and fetched.content == b"\xff\xd8\xffdata"
    assert fetched.headers["content-type"] == "image/jpeg"
    store.delete(uri)
    with pytest.raises(StorageError):
        store.get(uri)


def test_keys_cannot_escape_the_prefix(s3_server, bucket):
    store = S3ArtifactStore(f"s3://{bucket}/runs", endpoint_url=s3_server)
    with pytest.raises(ValueError):
        store.put("../other/x.txt", b"x", "text/plain")


def test_a_missing_bucket_is_a_storage_error(s3_server):
    store = S3ArtifactStore("s3://no-such-bucket-here", endpoint_url=s3_server)
    with pytest.raises(StorageError, match="cannot write s3://no-such-bucket-here/k"):
        store.put("k", b"x", "text/plain")


def test_a_run_with_artifacts_in_s3(s3_server, bucket, tmp_path, fake_llm, sites, room, loop):
    from skyq.runner import RunServices
    from tests.conftest import Embedded, open_run_store

    settings = make_settings(
        tmp_path, fake_llm.url, artifacts_url=f"s3://{bucket}/art", s3_endpoint_url=s3_server
    )
    store = open_run_store(settings)
    artifacts = open_artifact_store(settings)
    services = RunServices(settings=settings, store=store, artifacts=artifacts, room=room)
    embedded = Embedded(settings, store, artifacts, services, loop, store.ensure_organization("s3"))
    fake_llm.script = Script([complete({"ok": True})])
    response = embedded.run(prompt="Done", url=sites.url("products.html"))
    assert response.status == "completed"
    assert response.screenshot_urls
    for url in response.screenshot_urls:
        assert url.startswith(f"{s3_server}/{bucket}/art/")
        got = httpx.get(url)
        assert got.status_code == 200 and got.content[:3] == b"\xff\xd8\xff"


def test_downloaded_files_are_served_as_attachments(s3_server, bucket):
    """S3 applies response-content-disposition from the signed query; moto ignores it
    (and does not check signatures), so the signed URL is what is checked here."""
    store = S3ArtifactStore(f"s3://{bucket}", endpoint_url=s3_server)
    uri = store.put("o/t/001/download_a.html", b"<script>alert(1)</script>", "text/html")
    url = store.url(uri, download_as="page.html")
    query = parse_qs(urlsplit(url).query)
    assert query["response-content-disposition"] == ["attachment; filename*=UTF-8''page.html"]
    assert httpx.get(url).status_code == 200
