"""The downloader against a local HTTP server on 127.0.0.1 serving the shared data (never the internet)."""
from __future__ import annotations

import hashlib
import http.server
import io
import json
import tarfile
import threading
import zipfile
from pathlib import Path

import pytest

from lstm_viz.data import DataError, default_cache_dir, download_dataset, list_datasets, load_corpus
from lstm_viz.data.download import CACHE_ENV, cached_path, fetch_url, safe_extract

pytestmark = pytest.mark.timeout(120)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
EWT = DATA / "ud" / "UD_English-EWT"
RT = DATA / "sentiment" / "rt-polarity"
SST2 = DATA / "sentiment" / "sst2"
DEV_SHA = "531a54ff90d6ab12201c5a50c3e78e6ddac4de69abc4bce5d275d3cd29efe2b6"  # en_ewt-ud-dev.conllu


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def shared() -> Path:
    if not DATA.exists():
        pytest.skip(f"../shared/data is absent: {DATA} not found")
    return DATA


class Server:
    """Files by name over HTTP/1.0, with Range support that can be switched off and one-shot cut-offs."""

    def __init__(self) -> None:
        self.files: dict[str, Path] = {}
        self.cut: dict[str, int] = {}  # name -> send only this many body bytes on the next request, then close
        self.honour_range = True
        self.log: list[tuple[str, str | None]] = []  # (name, Range header) per request
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                name = self.path.lstrip("/")
                server.log.append((name, self.headers.get("Range")))
                if name not in server.files:
                    self.send_error(404)
                    return
                data = server.files[name].read_bytes()
                start = 0
                rng = self.headers.get("Range")
                if rng and server.honour_range:
                    start = int(rng.removeprefix("bytes=").rstrip("-"))
                    if start >= len(data):
                        self.send_error(416)
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if name in server.cut:
                    body = body[: server.cut.pop(name)]  # the connection closes after a short body
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


# ---------------------------------------------------------------- one file
def test_fetch_verifies_checksum_and_reports_progress(shared, server, tmp_path):
    src = EWT / "en_ewt-ud-dev.conllu"
    server.files["dev.conllu"] = src
    calls: list[tuple[int, int | None]] = []
    dest = fetch_url(f"{server.url}/dev.conllu", tmp_path / "dev.conllu", DEV_SHA,
                     progress=lambda done, total: calls.append((done, total)))
    assert dest.read_bytes() == src.read_bytes() and not (tmp_path / "dev.conllu.part").exists()
    assert calls[-1] == (1_805_545, 1_805_545) and len(calls) >= 2
    assert all(a[0] <= b[0] for a, b in zip(calls, calls[1:]))
    # Present with the right checksum: no second request.
    fetch_url(f"{server.url}/dev.conllu", dest, DEV_SHA)
    assert len(server.log) == 1


def test_checksum_mismatch_leaves_nothing(shared, server, tmp_path):
    server.files["dev.conllu"] = EWT / "en_ewt-ud-dev.conllu"
    with pytest.raises(DataError, match=r"checksum mismatch .*expected sha256 0{64}, got " + DEV_SHA):
        fetch_url(f"{server.url}/dev.conllu", tmp_path / "dev.conllu", "0" * 64)
    assert list(tmp_path.iterdir()) == []


def test_interrupted_download_keeps_part_and_resumes_with_range(shared, server, tmp_path):
    server.files["dev.conllu"] = EWT / "en_ewt-ud-dev.conllu"
    server.cut["dev.conllu"] = 500_000
    dest = tmp_path / "dev.conllu"
    with pytest.raises(DataError, match="interrupted: 500000 of 1805545 bytes.*run the download again"):
        fetch_url(f"{server.url}/dev.conllu", dest, DEV_SHA, retries=0)
    part = tmp_path / "dev.conllu.part"
    assert not dest.exists() and part.stat().st_size == 500_000  # never looks complete
    calls: list[tuple[int, int | None]] = []
    fetch_url(f"{server.url}/dev.conllu", dest, DEV_SHA, progress=lambda d, t: calls.append((d, t)))
    assert server.log[-1] == ("dev.conllu", "bytes=500000-")
    assert calls[0] == (500_000, 1_805_545) and calls[-1] == (1_805_545, 1_805_545)
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == DEV_SHA and not part.exists()


def test_resume_when_server_ignores_range_or_part_is_corrupt(shared, server, tmp_path):
    server.files["dev.conllu"] = EWT / "en_ewt-ud-dev.conllu"
    dest, part = tmp_path / "dev.conllu", tmp_path / "dev.conllu.part"
    part.write_bytes(b"x" * 1000)
    server.honour_range = False  # a 200 answer: the .part is rewritten from the start
    assert hashlib.sha256(fetch_url(f"{server.url}/dev.conllu", dest, DEV_SHA).read_bytes()).hexdigest() == DEV_SHA
    dest.unlink()
    part.write_bytes(b"x" * 1000)
    server.honour_range = True  # the server appends to bad bytes: the checksum catches it, .part is deleted
    with pytest.raises(DataError, match="checksum mismatch"):
        fetch_url(f"{server.url}/dev.conllu", dest, DEV_SHA)
    assert not part.exists() and not dest.exists()
    fetch_url(f"{server.url}/dev.conllu", dest, DEV_SHA)
    assert dest.stat().st_size == 1_805_545


def test_http_and_network_errors(server, tmp_path):
    with pytest.raises(DataError, match="HTTP 404"):
        fetch_url(f"{server.url}/missing", tmp_path / "f")
    url = server.url
    server.close()
    with pytest.raises(DataError, match="cannot download"):
        fetch_url(f"{url}/f", tmp_path / "f", timeout=5)
    with pytest.raises(DataError, match="unknown download 'nope'; known downloads: ud-english-ewt, sst2"):
        download_dataset("nope", cache_dir=tmp_path)


# ---------------------------------------------------------------- whole datasets
def test_ud_download_resumes_within_one_call_and_loads(shared, server, tmp_path):
    for split in ("train", "dev", "test"):
        server.files[f"en_ewt-ud-{split}.conllu"] = EWT / f"en_ewt-ud-{split}.conllu"
    server.cut["en_ewt-ud-train.conllu"] = 3_000_000
    calls: list[tuple[int, int | None]] = []
    cache = tmp_path / "cache"
    data = download_dataset("ud-english-ewt", cache_dir=cache, base_url=server.url + "/",
                            progress=lambda d, t: calls.append((d, t)))
    assert ("en_ewt-ud-train.conllu", "bytes=3000000-") in server.log  # resumed, not restarted
    total = 14_203_025 + 1_805_545 + 1_804_515
    assert calls[-1] == (total, total) and all(t == total for _, t in calls)
    assert data == cache / "ud-english-ewt" / "data" and cached_path("ud-english-ewt", cache) == data
    assert sorted(p.name for p in data.iterdir()) == [f"en_ewt-ud-{s}.conllu" for s in ("dev", "test", "train")]
    requests = len(server.log)
    assert download_dataset("ud-english-ewt", cache_dir=cache, base_url=server.url) == data
    assert len(server.log) == requests  # already complete: no network
    corpus = load_corpus("ud-english-ewt", cache_dir=cache)
    assert corpus.name == "ud-english-ewt"
    assert (len(corpus.train), len(corpus.dev), len(corpus.test)) == (12544, 2001, 2077)


def rt_archive(tmp_path: Path, pos: bytes | None = None) -> Path:
    """The sentence polarity archive's layout, built from the shared files (its own checksum is unknown)."""
    archive = tmp_path / "served" / "rt-polaritydata.tar.gz"
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "w:gz") as tf:
        tf.add(RT / "rt-polaritydata.README.1.0.txt", "rt-polaritydata.README.1.0.txt")
        tf.add(RT / "rt-polarity.neg", "rt-polaritydata/rt-polarity.neg")
        if pos is None:
            tf.add(RT / "rt-polarity.pos", "rt-polaritydata/rt-polarity.pos")
        else:
            info = tarfile.TarInfo("rt-polaritydata/rt-polarity.pos")
            info.size = len(pos)
            tf.addfile(info, io.BytesIO(pos))
    return archive


def test_cache_env_var_and_archive_with_checked_files(shared, server, tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "env-cache"))
    assert default_cache_dir() == tmp_path / "env-cache"
    server.files["rt-polaritydata.tar.gz"] = rt_archive(tmp_path)
    assert not {i.name: i for i in list_datasets()}["rt-polarity"].cached
    calls: list[tuple[int, int | None]] = []
    data = download_dataset("rt-polarity", base_url=server.url, progress=lambda d, t: calls.append((d, t)))
    root = tmp_path / "env-cache" / "rt-polarity"
    assert data == root / "data" / "rt-polaritydata"
    assert (data / "rt-polarity.pos").read_bytes() == (RT / "rt-polarity.pos").read_bytes()
    assert sorted(p.name for p in root.iterdir()) == ["complete.json", "data", "downloads"]
    assert list((root / "downloads").iterdir()) == []  # the archive is removed after extraction
    assert json.loads((root / "complete.json").read_text())["data_dir"] == "data/rt-polaritydata"
    size = server.files["rt-polaritydata.tar.gz"].stat().st_size
    assert calls[-1] == (size, size)
    assert {i.name: i for i in list_datasets()}["rt-polarity"].cached
    corpus = load_corpus("rt-polarity")
    assert (len(corpus.train), len(corpus.test)) == (9596, 1066)


def test_extracted_file_checksum_mismatch_is_not_cached(shared, server, tmp_path):
    server.files["rt-polaritydata.tar.gz"] = rt_archive(tmp_path, pos=b"an edited snippet .\n")
    with pytest.raises(DataError, match=r"checksum mismatch for rt-polarity\.pos extracted from"):
        download_dataset("rt-polarity", cache_dir=tmp_path / "c", base_url=server.url)
    root = tmp_path / "c" / "rt-polarity"
    assert cached_path("rt-polarity", tmp_path / "c") is None
    assert not (root / "complete.json").exists() and not (root / "extracting").exists()
    assert list((root / "downloads").iterdir()) == []
    with pytest.raises(DataError, match="not downloaded yet"):
        load_corpus("rt-polarity", cache_dir=tmp_path / "c")


def test_archive_checksum_mismatch_is_rejected(shared, server, tmp_path):
    # A re-packed SST-2.zip holds the right files but is not GLUE's archive: its sha256 differs.
    archive = tmp_path / "served" / "SST-2.zip"
    archive.parent.mkdir()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(SST2 / "dev.tsv", "SST-2/dev.tsv")
    server.files["SST-2.zip"] = archive
    with pytest.raises(DataError, match="checksum mismatch for .*SST-2.zip: expected sha256 d67e16fb"):
        download_dataset("sst2", cache_dir=tmp_path / "c", base_url=server.url)
    root = tmp_path / "c" / "sst2"
    assert sorted(p.name for p in root.rglob("*")) == ["downloads"]  # no .part, no zip, no data, no marker


# ---------------------------------------------------------------- archive safety
def evil_tar(path: Path, kind: str) -> Path:
    with tarfile.open(path, "w") as tf:
        if kind == "symlink":
            info = tarfile.TarInfo("data/link")
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
            tf.addfile(info)
        else:
            info = tarfile.TarInfo({"dotdot": "data/../../evil.txt", "absolute": "/tmp/evil-lstm-viz.txt"}[kind])
            info.size = 4
            tf.addfile(info, io.BytesIO(b"evil"))
    return path


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "symlink"])
def test_tar_members_escaping_the_target_are_refused(tmp_path, kind):
    target = tmp_path / "a" / "target"
    with pytest.raises(DataError, match="refusing to extract"):
        safe_extract(evil_tar(tmp_path / "evil.tar", kind), target)
    assert list(target.iterdir()) == [] and not (tmp_path / "a" / "evil.txt").exists()


def test_zip_members_escaping_the_target_are_refused(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("ok.txt", "fine")
        zf.writestr("../evil.txt", "evil")
    target = tmp_path / "target"
    with pytest.raises(DataError, match=r"refusing to extract '\.\./evil\.txt'"):
        safe_extract(archive, target)
    assert list(target.iterdir()) == [] and not (tmp_path / "evil.txt").exists()
    (tmp_path / "junk.tar.gz").write_bytes(b"not an archive")
    with pytest.raises(DataError, match="not a readable .zip or .tar archive"):
        safe_extract(tmp_path / "junk.tar.gz", target)
