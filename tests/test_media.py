"""Images on content: the `media` field through ingest, the API and the CLI, and bad input
(corrupt, truncated, bombs, unsupported formats, private URLs, huge uploads) refused with a
clear 4xx / exit 2 and nothing stored."""

from __future__ import annotations

import base64
import io
import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw
from typer.testing import CliRunner

from tidebreak.api.app import create_app
from tidebreak.auth import create_key
from tidebreak.cli import app as cli_app
from tidebreak.config import Settings
from tidebreak.ingest import InvalidInput, parse_event
from tidebreak.media.errors import MediaError, MediaRefused, MediaTooLarge, UnsupportedMedia
from tidebreak.media.fetch import FetchPolicy, check_url, host_allowed, public_address
from tidebreak.media.load import MediaOptions, parse_media

from .test_pipeline import counts, make_pipeline

runner = CliRunner()


# -- images made here, never downloaded -----------------------------------------------------------


def picture(seed: int = 0, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A 'photo': smooth random blobs and a few shapes (plenty of structure for PDQ)."""
    rng = np.random.default_rng(seed)
    small = (rng.random((12, 16, 3)) * 255).astype(np.uint8)
    img = Image.fromarray(small).resize(size, Image.BICUBIC)
    d = ImageDraw.Draw(img)
    for _ in range(6):
        x, y = int(rng.integers(0, size[0])), int(rng.integers(0, size[1]))
        r = int(rng.integers(20, 120))
        d.ellipse((x - r, y - r, x + r, y + r), fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
    return img


def encode(img: Image.Image, fmt: str = "JPEG", **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A PNG that declares width x height pixels in a few hundred bytes (never decoded here)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
            + chunk(b"IEND", b""))


def bad_files() -> dict[str, tuple[bytes, int]]:
    """name -> (bytes, expected HTTP status)."""
    jpeg = encode(picture(1))
    png = bytearray(encode(picture(2), "PNG"))
    idat = png.find(b"IDAT")
    png[idat + 40: idat + 400] = b"\x00" * 360  # compressed data destroyed, CRC now wrong
    return {
        "corrupt": (bytes(png), 400),
        "truncated_jpeg": (jpeg[: len(jpeg) * 6 // 10], 400),
        "bomb": (png_bomb(), 413),
        "unsupported": (encode(picture(3), "TIFF"), 415),
        "not_an_image": (b"%PDF-1.4 definitely not a picture" * 10, 415),
    }


# -- ingest ---------------------------------------------------------------------------------------


def test_media_item_is_decoded_and_hashed_at_the_boundary() -> None:
    data = encode(picture(4))
    ev = parse_event({"id": "m1", "media": [{"data": b64(data)}]})
    assert ev.content.text == ""  # no caption needed
    (m,) = ev.content.media
    assert (m.format, m.width, m.height, m.source) == ("jpeg", 640, 480, "data")
    assert len(m.pdq) == 64 and m.quality >= 50 and len(m.variants) == 12 and m.variants[0] == m.pdq
    assert m.data == data and "media" not in ev.content.meta


def test_text_is_still_required_without_media() -> None:
    with pytest.raises(InvalidInput, match="'text' is required"):
        parse_event({"id": "m1"})


@pytest.mark.parametrize("name", list(bad_files()))
def test_bad_files_are_refused_with_a_clear_reason(name: str) -> None:
    data, status = bad_files()[name]
    with pytest.raises(MediaError) as e:
        parse_event({"id": "m1", "media": [{"data": b64(data)}]})
    assert e.value.status == status and "media[0]" in str(e.value) and "\n" not in str(e.value)


def test_malformed_media_fields() -> None:
    for media, why in [({"data": "x"}, "must be a list"), ([{"data": "@@@"}], "not valid base64"),
                       ([{"data": "aa", "url": "http://x"}], "exactly one"),
                       ([{}] * 9, "at most 4"), (["x"], "must be an object")]:
        with pytest.raises(MediaError, match=why):
            parse_event({"id": "m1", "media": media})


def test_oversized_data_is_refused_before_decoding() -> None:
    opts = MediaOptions(max_bytes=1000)
    with pytest.raises(MediaTooLarge, match="over the limit"):
        parse_media([{"data": b64(b"\xff" * 5000)}], opts)


def test_pixel_limit_is_enforced_before_pixels_are_decoded() -> None:
    img = encode(picture(5, (1000, 1000)), "PNG")
    with pytest.raises(MediaTooLarge, match="decompression bomb"):
        parse_media([{"data": b64(img)}], MediaOptions(max_pixels=999_999))


def test_paths_are_for_the_command_line_only(tmp_path: Path) -> None:
    f = tmp_path / "a.jpg"
    f.write_bytes(encode(picture(6)))
    with pytest.raises(MediaRefused, match="command line only"):
        parse_event({"id": "m1", "media": [{"path": str(f)}]})
    ev = parse_event({"id": "m1", "media": [{"path": str(f)}]},
                     media_options=MediaOptions(allow_path=True))
    assert ev.content.media[0].source == "path"


# -- URLs: SSRF -----------------------------------------------------------------------------------


def test_urls_are_refused_unless_the_operator_allows_fetching() -> None:
    with pytest.raises(MediaRefused, match="TIDEBREAK_MEDIA_FETCH=1"):
        parse_media([{"url": "https://example.org/a.jpg"}], MediaOptions())


@pytest.mark.parametrize("url", ["http://127.0.0.1/a.png", "http://localhost:8080/a.png",
                                 "http://10.1.2.3/a.png", "http://169.254.169.254/latest/meta-data",
                                 "http://[::1]/a.png", "http://[::ffff:127.0.0.1]/a.png",
                                 "http://0.0.0.0/a.png", "http://192.168.1.1/a.png"])
def test_private_addresses_are_refused(url: str) -> None:
    opts = MediaOptions(fetch=FetchPolicy(enabled=True))
    with pytest.raises(MediaRefused, match="private or reserved"):
        parse_media([{"url": url}], opts)


def test_url_checks() -> None:
    on = FetchPolicy(enabled=True, hosts=("cdn.example.org", ".media.example"))
    assert host_allowed("cdn.example.org", on.hosts) and host_allowed("a.media.example", on.hosts)
    assert not host_allowed("evil.org", on.hosts) and not host_allowed("xmedia.example", on.hosts)
    with pytest.raises(MediaRefused, match="not in TIDEBREAK_MEDIA_FETCH_HOSTS"):
        check_url("https://evil.org/a.png", on)
    for bad in ("file:///etc/passwd", "gopher://cdn.example.org/", "ftp://cdn.example.org/a"):
        with pytest.raises(MediaRefused, match="scheme"):
            check_url(bad, on)
    with pytest.raises(MediaRefused, match="credentials"):
        check_url("https://u:p@cdn.example.org/a.png", on)
    assert public_address("93.184.216.34") and not public_address("100.64.0.1")


def test_fetch_from_a_local_server_when_private_addresses_are_allowed() -> None:
    """The whole fetch path against a real HTTP server on loopback (allowed only by the
    operator's TIDEBREAK_MEDIA_FETCH_PRIVATE): image served, non-image refused, too big refused,
    and a redirect is re-checked."""
    import http.server
    import threading

    jpeg = encode(picture(7))

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            if self.path == "/a.jpg":
                body, ctype = jpeg, "image/jpeg"
            elif self.path == "/page":
                body, ctype = b"<html></html>", "text/html"
            elif self.path == "/redirect":
                self.send_response(302)
                self.send_header("Location", "http://169.254.169.254/latest")
                self.end_headers()
                return
            else:
                body, ctype = b"\xff" * 300_000, "image/png"
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a: object) -> None:
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{srv.server_address[1]}"
    try:
        opts = MediaOptions(max_bytes=200_000, fetch=FetchPolicy(enabled=True, allow_private=True,
                                                                 max_bytes=200_000))
        (m,) = parse_media([{"url": f"{base}/a.jpg"}], opts)
        assert m.source == "url" and m.ref == f"{base}/a.jpg" and m.data == jpeg
        with pytest.raises(UnsupportedMedia, match="content-type"):
            parse_media([{"url": f"{base}/page"}], opts)
        with pytest.raises(MediaTooLarge):
            parse_media([{"url": f"{base}/big"}], opts)
        # redirects are followed by hand and each hop checked: 169.254.x is link-local; with
        # private addresses allowed it is tried and fails to connect - either way never read
        with pytest.raises(MediaError):
            parse_media([{"url": f"{base}/redirect"}],
                        MediaOptions(fetch=FetchPolicy(enabled=True, allow_private=True,
                                                       timeout=1.0)))
        strict = MediaOptions(fetch=FetchPolicy(enabled=True))
        with pytest.raises(MediaRefused, match="private"):
            parse_media([{"url": f"{base}/a.jpg"}], strict)
    finally:
        srv.shutdown()


# -- HTTP API -------------------------------------------------------------------------------------


@pytest.fixture
def api(engine, clock):  # type: ignore[no-untyped-def]
    settings = Settings(max_text_bytes=65536)

    def factory(tenant: str):  # type: ignore[no-untyped-def]
        p = make_pipeline(engine, clock)
        p.tenant = tenant
        return p

    client = TestClient(create_app(engine, settings, factory))
    return client, {"Authorization": f"Bearer {create_key(engine, 'platform')}"}, engine


def test_api_takes_an_image_post_without_text(api) -> None:  # type: ignore[no-untyped-def]
    client, headers, engine = api
    r = client.post("/v1/content", headers=headers,
                    json={"id": "img1", "author": "u1", "media": [{"data": b64(encode(picture(8)))}]})
    assert r.status_code == 201, r.text
    from sqlalchemy.orm import Session

    from tidebreak.store.schema import ContentRow

    with Session(engine) as s:
        row = s.get(ContentRow, ("default", "img1"))
        (m,) = row.meta["media"]
    assert row.text == "" and len(m["pdq"]) == 64 and m["thumb"] and "data" not in m


@pytest.mark.parametrize("name", list(bad_files()))
def test_api_refuses_bad_files_and_stores_nothing(api, name: str) -> None:  # type: ignore[no-untyped-def]
    client, headers, engine = api
    data, status = bad_files()[name]
    before = counts(engine)
    r = client.post("/v1/content", headers=headers,
                    json={"id": "bad", "text": "look", "media": [{"data": b64(data)}]})
    assert r.status_code == status, r.text
    assert "media[0]" in r.json()["reason"]
    assert counts(engine) == before


def test_api_refuses_private_urls_and_stores_nothing(api, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    client, headers, engine = api
    before = counts(engine)
    monkeypatch.delenv("TIDEBREAK_MEDIA_FETCH", raising=False)
    r = client.post("/v1/content", headers=headers,
                    json={"id": "u1", "text": "x", "media": [{"url": "http://127.0.0.1/a.png"}]})
    assert r.status_code == 403 and "TIDEBREAK_MEDIA_FETCH" in r.json()["reason"]
    monkeypatch.setenv("TIDEBREAK_MEDIA_FETCH", "1")
    for url in ("http://127.0.0.1/a.png", "http://169.254.169.254/latest/meta-data"):
        r = client.post("/v1/content", headers=headers,
                        json={"id": "u1", "text": "x", "media": [{"url": url}]})
        assert r.status_code == 403 and "private" in r.json()["reason"]
    r = client.post("/v1/content", headers=headers,
                    json={"id": "u1", "text": "x", "media": [{"path": "/etc/passwd"}]})
    assert r.status_code == 403 and "command line only" in r.json()["reason"]
    assert counts(engine) == before


def test_api_refuses_a_50_mb_upload(api) -> None:  # type: ignore[no-untyped-def]
    client, headers, engine = api
    before = counts(engine)
    body = json.dumps({"id": "huge", "text": "", "media": [{"data": "A" * (50 * 1024 * 1024)}]})
    r = client.post("/v1/content", headers={**headers, "Content-Type": "application/json"},
                    content=body)
    assert r.status_code == 413 and "over" in r.json()["reason"]
    # and one image over the per-image limit inside an acceptable body
    r = client.post("/v1/content", headers=headers,
                    json={"id": "big", "text": "", "media": [{"data": "A" * (12 * 1024 * 1024)}]})
    assert r.status_code == 413 and "media[0]" in r.json()["reason"]
    assert counts(engine) == before


# -- CLI ------------------------------------------------------------------------------------------


def _cli(args: list[str], stdin: str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(cli_app, args, input=stdin)


def test_cli_moderate_reads_local_images(tmp_path: Path) -> None:
    f = tmp_path / "p.png"
    f.write_bytes(encode(picture(9), "PNG"))
    r = _cli(["moderate"], json.dumps({"id": "a", "media": [{"path": str(f)}]}) + "\n")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout.strip().splitlines()[-1])["id"] == "a"


@pytest.mark.parametrize("name", list(bad_files()) + ["fifty_mb"])
def test_cli_refuses_bad_files_with_one_line_and_stores_nothing(tmp_path: Path, name: str) -> None:
    f = tmp_path / "bad.bin"
    if name == "fifty_mb":
        with f.open("wb") as fh:  # sparse: 50 MB on paper, nothing on disk
            fh.truncate(50 * 1024 * 1024)
    else:
        f.write_bytes(bad_files()[name][0])
    db = f"sqlite:///{tmp_path}/t.db"
    r = _cli(["ingest", "--db", db, str(_events(tmp_path, f))])
    assert r.exit_code == 2
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "media[0]" in errors[0], r.stderr
    r = _cli(["hash", str(f)])
    assert r.exit_code == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    r = _cli(["bank", "add", "--image", str(f), "--db", db])
    assert r.exit_code == 2 and r.stderr.strip().startswith("error:")
    from sqlalchemy import create_engine, text

    eng = create_engine(db)
    with eng.connect() as c:
        assert c.execute(text("select count(*) from contents")).scalar_one() == 0
        assert c.execute(text("select count(*) from bank_entries")).scalar_one() == 0
    eng.dispose()


def _events(tmp_path: Path, image: Path) -> Path:
    ev = tmp_path / "events.jsonl"
    ev.write_text(json.dumps({"id": "x1", "text": "hi", "media": [{"path": str(image)}]}) + "\n")
    return ev


# -- console --------------------------------------------------------------------------------------


def test_console_shows_the_items_images_blurred_to_reviewers(engine, clock) -> None:  # type: ignore[no-untyped-def]
    from tidebreak.review import accounts

    from .review_helpers import review_pipeline
    from .test_review_api import login

    p = review_pipeline(engine, clock)
    client = TestClient(create_app(engine, Settings(), lambda tenant: p),
                        base_url="https://testserver")
    key = create_key(engine, "platform")
    accounts.create_user(engine, tenant="default", username="reviewer", role="reviewer",
                         password="correct horse battery", by="test", now=clock.now)
    r = client.post("/v1/content", headers={"Authorization": f"Bearer {key}"},
                    json={"id": "p1", "text": "I will find you [violence=0.6]", "author": "u1",
                          "media": [{"data": b64(encode(picture(11)))}]})
    assert r.status_code == 201, r.text
    assert client.get("/console/tasks/1").status_code in (401, 303)  # not without a session
    csrf = login(client, "reviewer")
    r = client.post("/console/queues/violence/claim", data={"csrf": csrf}, follow_redirects=False)
    page = client.get(r.headers["location"])
    assert '<img class="blurred" src="data:image/jpeg;base64,' in page.text


def test_cli_refuses_a_private_url_with_one_line(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/t.db"
    line = json.dumps({"id": "u", "text": "", "media": [{"url": "http://10.0.0.8/a.png"}]}) + "\n"
    for env, why in (({}, "TIDEBREAK_MEDIA_FETCH=1"), ({"TIDEBREAK_MEDIA_FETCH": "1"}, "private")):
        r = runner.invoke(cli_app, ["moderate", "--db", db], input=line,
                          env={"TIDEBREAK_MEDIA_FETCH": "0", **env})
        errors = r.stderr.strip().splitlines()
        assert r.exit_code == 2 and len(errors) == 1 and why in errors[0], r.stderr
        assert r.stdout.strip() == ""
