import pytest

from skyq.config import Settings
from skyq.errors import StorageError
from skyq.loop_thread import LoopThread
from skyq.storage import LocalArtifactStore, open_artifact_store


def test_put_get_url_delete(tmp_path):
    store = LocalArtifactStore(tmp_path)
    uri = store.put("o/tsk/001/a.txt", b"hello", "text/plain")
    assert uri == (tmp_path / "o/tsk/001/a.txt").as_uri()
    assert store.get(uri) == b"hello"
    assert store.url(uri) == uri
    store.delete(uri)
    with pytest.raises(StorageError):
        store.get(uri)


@pytest.mark.parametrize("key", ["../x", "/abs", "a//b", "a/./b"])
def test_bad_keys_are_refused(tmp_path, key):
    with pytest.raises(ValueError):
        LocalArtifactStore(tmp_path).put(key, b"x", "text/plain")


def test_reads_outside_the_root_are_refused(tmp_path):
    (tmp_path / "secret").write_text("s")
    store = LocalArtifactStore(tmp_path / "root")
    with pytest.raises(StorageError, match="outside the store"):
        store.get((tmp_path / "secret").as_uri())


def test_unknown_artifact_url_scheme_is_a_configuration_error(tmp_path):
    from skyq.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="file:///path or s3://bucket/prefix"):
        open_artifact_store(Settings(home=tmp_path, artifacts_url="ftp://x"))


def test_loop_thread_runs_coroutines():
    async def double(x: int) -> int:
        return x * 2

    loop = LoopThread()
    try:
        assert loop.run(double(21)) == 42
    finally:
        loop.stop()
