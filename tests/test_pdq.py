"""PDQ: the hash HMA computes, the Hamming index, image banks (CLI, detector, reviewers'
removals) and shared hash lists in and out."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pdqhash
import pytest
from PIL import Image, ImageEnhance
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tidebreak.cli import app as cli_app
from tidebreak.detect.bank import BankDetector, BankEntry
from tidebreak.ingest import parse_event
from tidebreak.media import pdq_index
from tidebreak.media.banklists import HashListError, read_hash_list
from tidebreak.media.pdq import distance, hash_image, query_hashes, to_words
from tidebreak.media.pdq_index import PdqIndex, brute_force
from tidebreak.model import Action, ActionType
from tidebreak.store.schema import BankEntryRow

from .test_media import encode, picture
from .test_pipeline import make_pipeline

runner = CliRunner()


def hma_hex(img: Image.Image) -> tuple[str, int]:
    """python-threatexchange's pdq_hasher, restated: bits as a binary string, one integer, hex."""
    arr = np.asarray(img)
    if arr.ndim == 2:
        arr = np.concatenate([arr[..., np.newaxis]] * 3, axis=2)
    vec, q = pdqhash.compute(arr)
    bin_str = "".join(str(x) for x in vec)
    return ("%0*X" % ((len(bin_str) + 3) // 4, int(bin_str, 2))).lower(), q


@pytest.mark.parametrize("seed", range(4))
def test_hash_is_written_exactly_as_hma_writes_it(seed: int) -> None:
    img = picture(seed)
    ours = hash_image(img)
    assert (ours.pdq, ours.quality) == hma_hex(img)
    grey = img.convert("L")  # HMA stacks greyscale into 3 channels; we convert: same bits
    assert hash_image(grey).pdq == hma_hex(grey)[0]


def test_known_answer_for_a_generated_image() -> None:
    """Pinned on pdqhash 0.2.8 (Meta's C++): a change of library or conversion shows up here."""
    img = Image.fromarray(np.tile(np.arange(256, dtype=np.uint8), (256, 1)))  # horizontal ramp
    img = img.convert("RGB")
    arr = np.asarray(img).copy()
    arr[64:192, 64:192] = 0
    h = hash_image(Image.fromarray(arr), dihedral=False)
    assert (h.pdq, h.quality) == (
        "aab6d2d3d2d32d2c75642d2c2d2cd2d351d1d2d3d2d32d2cf4a42d2c2d2cd2d3", 100)
    assert (h.pdq, h.quality) == hma_hex(Image.fromarray(arr))


def transforms(img: Image.Image) -> dict[str, Image.Image]:
    w, h = img.size
    from PIL import ImageDraw

    wm = img.copy()
    ImageDraw.Draw(wm).text((w - 140, h - 30), "@reposter 2026", fill=(255, 255, 255))
    return {"resize": img.resize((w // 2, h // 2)),
            "recompress": Image.open(__import__("io").BytesIO(encode(img, quality=30))),
            "crop": img.crop((int(w * .03), int(h * .03), int(w * .97), int(h * .97))),
            "watermark": wm, "grey": img.convert("L").convert("RGB"),
            "brighten": ImageEnhance.Brightness(img).enhance(1.3),
            "rotate90": img.rotate(90, expand=True), "mirror": img.transpose(Image.FLIP_LEFT_RIGHT)}


@pytest.mark.parametrize("seed", [10, 11, 12])
def test_copies_are_near_and_unrelated_images_far(seed: int) -> None:
    orig = hash_image(picture(seed))
    for name, t in transforms(picture(seed)).items():
        _, variants = query_hashes(t)
        d = min(distance(v, orig.pdq) for v in variants)
        assert d <= 31, (name, d)
    for other in range(20, 30):
        _, variants = query_hashes(picture(other))
        assert min(distance(v, orig.pdq) for v in variants) > 31


def test_edge_extension_undoes_a_small_crop() -> None:
    img = picture(13)
    w, h = img.size
    crop = img.crop((int(w * .03), int(h * .03), int(w * .97), int(h * .97)))
    orig = hash_image(img).pdq
    plain = distance(hash_image(crop).pdq, orig)
    _, variants = query_hashes(crop)
    assert plain > 31 >= min(distance(v, orig) for v in variants)


# -- the index ------------------------------------------------------------------------------------


def _flip(h: str, n: int, rng: np.random.Generator) -> str:
    bits = np.unpackbits(np.frombuffer(bytes.fromhex(h), dtype=np.uint8))
    bits[rng.choice(256, size=n, replace=False)] ^= 1
    return np.packbits(bits).tobytes().hex()


def test_multi_index_finds_exactly_what_brute_force_finds(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(pdq_index, "BRUTE_FORCE_BELOW", 2000)
    rng = np.random.default_rng(3)
    base = [rng.integers(0, 256, 32, dtype=np.uint8).tobytes().hex() for _ in range(5000)]
    idx = PdqIndex()
    idx.add_many([f"e{i}" for i in range(len(base))], base)
    idx.build()
    assert idx._order is not None  # the multi-index is in use
    # planted neighbours at every distance around the threshold, plus a tail of new entries
    tail = [_flip(base[i], d, rng) for i, d in zip(range(40), range(20, 60))]
    idx.add_many([f"t{i}" for i in range(len(tail))], tail)
    for k in range(60):
        q = [_flip(base[int(rng.integers(len(base)))], int(rng.integers(0, 40)), rng)
             for _ in range(8)]
        got = {i for i, _ in idx.query(q)}
        words = to_words(base + tail)
        names = [f"e{i}" for i in range(len(base))] + [f"t{i}" for i in range(len(tail))]
        want = {names[p] for p in brute_force(words, q, 31)}
        assert got == want, k
    target = base[7]
    assert idx.query([_flip(target, 31, rng)])[0] == ("e7", 31)
    assert not any(i == "e7" for i, _ in idx.query([_flip(target, 32, rng)]))
    assert idx.remove("e7") and not any(i == "e7" for i, _ in idx.query([target]))


# -- banks: CLI, detector, reviewers --------------------------------------------------------------


def _save(img: Image.Image, path: Path, fmt: str = "JPEG") -> Path:
    img.save(path, format=fmt)
    return path


def test_bank_add_image_then_moderate_matches_copies_not_strangers(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/t.db"
    orig = _save(picture(20), tmp_path / "orig.jpg")
    r = runner.invoke(cli_app, ["bank", "add", "--image", str(orig), "--db", db,
                                "--bank", "memes", "--category", "hate"])
    assert r.exit_code == 0 and "added: bank-img-" in r.stdout, r.output
    r = runner.invoke(cli_app, ["bank", "add", "--image", str(orig), "--db", db, "--bank", "memes"])
    assert "already banked" in r.stdout
    lines = []
    for name, img in transforms(picture(20)).items():
        lines.append({"id": name, "media": [{"path": str(_save(img, tmp_path / f"{name}.png", "PNG"))}]})
    for seed in (21, 22, 23):
        lines.append({"id": f"other{seed}", "text": "my holiday",
                      "media": [{"path": str(_save(picture(seed), tmp_path / f"o{seed}.jpg"))}]})
    out = tmp_path / "out.jsonl"
    env = {"TIDEBREAK_OCR": "0", "TIDEBREAK_DETECTORS": "bank"}
    r = runner.invoke(cli_app, ["moderate", "--db", db, "-o", str(out)],
                      input="\n".join(json.dumps(x) for x in lines) + "\n", env=env)
    assert r.exit_code == 0, r.output
    got = {d["id"]: d for d in map(json.loads, out.read_text().splitlines())}
    for name in transforms(picture(20)):
        assert got[name]["action"] == "remove" and "known_violating" in got[name]["categories"], name
    for seed in (21, 22, 23):
        assert got[f"other{seed}"]["action"] == "none"


def test_match_evidence_names_the_entry_and_distance() -> None:
    orig = hash_image(picture(30))
    det = BankDetector(entries=[BankEntry(entry_id="img1", bank="b", key="", added_by="t",
                                          pdq=orig.pdq, pdq_quality=orig.quality),
                                BankEntry.from_text("some banked words here for the text side",
                                                    entry_id="txt1", bank="b", added_by="t")])
    copy = picture(30).resize((320, 240))
    ev = parse_event({"id": "c", "text": "", "media": [{"data": base64.b64encode(
        encode(copy)).decode()}]})
    from tidebreak.media.prepare import detection_item

    (sigs,) = det.detect([detection_item(ev.content)])
    (s,) = sigs
    assert s.category == "known_violating" and s.evidence["entry_id"] == "img1"
    assert s.evidence["match"] == "pdq" and 0 <= s.evidence["distance"] <= 31
    assert s.score == pytest.approx(1 - s.evidence["distance"] / 256)
    assert s.evidence["media_index"] == 0


def test_featureless_images_are_not_banked(tmp_path: Path) -> None:
    flat = _save(Image.new("RGB", (400, 300), (120, 120, 120)), tmp_path / "flat.png", "PNG")
    r = runner.invoke(cli_app, ["bank", "add", "--image", str(flat), "--db",
                                f"sqlite:///{tmp_path}/t.db"])
    assert r.exit_code == 2 and "too featureless" in r.stderr


def test_reviewers_removal_banks_the_image_and_catches_reuploads(engine, clock) -> None:  # type: ignore[no-untyped-def]
    p = make_pipeline(engine, clock)
    data = base64.b64encode(encode(picture(40))).decode()
    first = p.process(parse_event({"id": "p1", "text": "", "author": "u1",
                                   "media": [{"data": data}]}))
    assert first.decision.action == ActionType.NONE
    p.decide_by_human("p1", reviewer="r1", actions=[Action(ActionType.REMOVE)], category="hate",
                      ground="CS 1.1 Hate speech")
    with Session(engine) as s:
        rows = s.execute(select(BankEntryRow).where(BankEntryRow.pdq.is_not(None))).scalars().all()
    assert len(rows) == 1 and rows[0].source_content_id == "p1" and rows[0].category == "hate"
    again = base64.b64encode(encode(picture(40).resize((500, 375)), quality=40)).decode()
    out = p.process(parse_event({"id": "p2", "text": "new caption", "author": "u2",
                                 "media": [{"data": again}]}))
    assert out.decision.action == ActionType.REMOVE
    sig = next(s for s in out.decision.signals if s.evidence.get("match") == "pdq")
    assert sig.evidence["entry_id"] == rows[0].entry_id


# -- hash lists -----------------------------------------------------------------------------------


H1, H2 = "a" * 64, "0123456789abcdef" * 4


def test_hash_list_formats() -> None:
    assert [h.pdq for h in read_hash_list(f"{H1}\n{H2},87,file.jpg\n")[0]] == [H1, H2]
    assert read_hash_list(f"{H2},87,file.jpg\n")[0][0].quality == 87
    assert [h.pdq for h in read_hash_list(f"pdq {H1}\n")[0]] == [H1]
    rows, skipped = read_hash_list(f"signal_type,signal_value,category\npdq,{H1},hate\n"
                                   f"video_md5,{'b' * 32},\npdq,{H2.upper()},\n")
    assert [(r.pdq, r.category) for r in rows] == [(H1, "hate"), (H2, None)] and skipped == 1
    rows, _ = read_hash_list(f"indicator_type\tindicator\nHASH_PDQ\t{H1}\nURI\thttp://x\n")
    assert [r.pdq for r in rows] == [H1]
    with pytest.raises(HashListError, match="line 2"):
        read_hash_list(f"{H1}\nnot-a-hash\n")


def test_import_export_round_trip(tmp_path: Path) -> None:
    db1, db2 = f"sqlite:///{tmp_path}/a.db", f"sqlite:///{tmp_path}/b.db"
    src = tmp_path / "list.csv"
    src.write_text(f"signal_type,signal_value,quality\npdq,{H1},90\npdq,{H2},\npdq,{'c' * 64},20\n")
    r = runner.invoke(cli_app, ["bank", "import", str(src), "--db", db1, "--bank", "shared"])
    assert r.exit_code == 0 and "imported 2 new" in r.stdout and "1 under quality 50" in r.stdout
    out = tmp_path / "out.csv"
    assert runner.invoke(cli_app, ["bank", "export", "--db", db1, "-o", str(out)]).exit_code == 0
    r = runner.invoke(cli_app, ["bank", "import", str(out), "--db", db2])
    assert r.exit_code == 0 and "imported 2 new" in r.stdout
    r = runner.invoke(cli_app, ["bank", "export", "--db", db2, "--format", "lines"])
    assert sorted(r.stdout.split()) == sorted([f"{H1},90", f"{H2},"])
    bad = tmp_path / "bad.txt"
    bad.write_text(f"{H1}\nzzz\n")
    r = runner.invoke(cli_app, ["bank", "import", str(bad), "--db", db2, "--bank", "x"])
    assert r.exit_code == 2 and "line 2" in r.stderr
    r = runner.invoke(cli_app, ["bank", "export", "--db", db2, "--bank", "x"])
    assert r.stdout.strip().splitlines() == ["signal_type,signal_value,quality,bank,category,entry_id"]
