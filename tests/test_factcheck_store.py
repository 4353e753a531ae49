"""The fact-check store: `tidebreak factcheck import|export`, the detector reading the store,
and the HTTP routes. Bad input stores nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tidebreak.api.app import create_app
from tidebreak.auth import create_key
from tidebreak.config import Settings
from tidebreak.detect.factcheck import FactCheckDetector
from tidebreak.factcheck.cli import factcheck_app
from tidebreak.model import Content, ContentKind, Item
from tidebreak.store.schema import DecisionRow, FactCheckRow, LedgerEntryRow
from tidebreak.text import normalise

LEMON = {"@context": "https://schema.org", "@type": "ClaimReview", "identifier": "fc-lemon",
         "url": "https://factcheck.example.org/lemon-water",
         "claimReviewed": "Drinking hot water with lemon kills the coronavirus.",
         "author": {"@type": "Organization", "name": "Example Fact Check"},
         "datePublished": "2026-10-01",
         "reviewRating": {"@type": "Rating", "alternateName": "False"}}
MAGNETS = {"id": "fc-magnet", "text": "Vaccines make your arm magnetic.", "rating": "False",
           "url": "https://factcheck.example.org/magnets", "publisher": "Example Fact Check"}


def write(path: Path, rows: list[object]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def cli(*args: str) -> object:
    return CliRunner().invoke(factcheck_app, list(args))


def counts(engine: Engine) -> tuple[int, int]:
    with Session(engine) as s:
        return (s.execute(select(func.count()).select_from(FactCheckRow)).scalar_one(),
                s.execute(select(func.count()).select_from(LedgerEntryRow)).scalar_one())


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/fc.db"


def test_import_reports_duplicates_and_export_round_trips(tmp_path: Path, db: str) -> None:
    f = write(tmp_path / "fcs.jsonl", [LEMON, MAGNETS, LEMON])  # LEMON twice, identical
    r = cli("import", str(f), "--db", db)
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert (summary["added"], summary["duplicates"]) == (2, 1)
    assert "duplicate claim id 'fc-lemon'" in r.stderr

    r = cli("export", "-o", str(tmp_path / "out.json"), "--db", db)
    assert r.exit_code == 0, r.output
    docs = json.loads((tmp_path / "out.json").read_text())
    assert {d["@type"] for d in docs} == {"ClaimReview"}
    assert {d["reviewRating"]["alternateName"] for d in docs} == {"False"}  # original words kept

    # Re-importing the export changes nothing; a revised rating replaces and keeps the old one.
    r = cli("import", str(tmp_path / "out.json"), "--db", db)
    assert json.loads(r.stdout.strip().splitlines()[-1])["unchanged"] == 2
    revised = dict(MAGNETS, rating="Misleading")
    r = cli("import", str(write(tmp_path / "rev.jsonl", [revised])), "--db", db)
    assert json.loads(r.stdout.strip().splitlines()[-1])["replaced"] == 1
    from sqlalchemy import create_engine

    eng = create_engine(db)
    with Session(eng) as s:
        row = s.get(FactCheckRow, ("default", "fc-magnet"))
        assert row is not None and row.rating == "misleading"
        assert row.history[0]["record"]["rating"] == "false"
        kinds = s.execute(select(LedgerEntryRow.kind)).scalars().all()
    assert kinds.count("factcheck.import") == 3  # one entry per import
    eng.dispose()


@pytest.mark.parametrize("rows, reason", [
    ([LEMON, "{not json"], "record 2"),
    ([LEMON, {"id": "x"}], "record 2"),
    ([MAGNETS, dict(MAGNETS, text="Vaccines contain microchips.")], "appears twice"),
])
def test_bad_import_exits_2_with_one_line_and_stores_nothing(tmp_path: Path, db: str,
                                                             rows: list[object], reason: str) -> None:
    f = tmp_path / "bad.jsonl"
    f.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    r = cli("import", str(f), "--db", db)
    assert r.exit_code == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and reason in lines[0], r.stderr
    from tidebreak.store.db import open_store

    eng = open_store(db)
    before = counts(eng)
    assert before[0] == 0
    eng.dispose()


def test_unknown_rating_scale_is_imported_as_unrated_with_the_original_kept(tmp_path: Path,
                                                                            db: str) -> None:
    odd = dict(LEMON, identifier="fc-odd", reviewRating={"@type": "Rating",
                                                         "alternateName": "Four Pinocchios-ish"})
    r = cli("import", str(write(tmp_path / "odd.jsonl", [odd])), "--db", db)
    assert r.exit_code == 0, r.output
    from tidebreak.store.db import open_store

    eng = open_store(db)
    with Session(eng) as s:
        row = s.get(FactCheckRow, ("default", "fc-odd"))
        assert row is not None and row.rating == "unrated"
        assert row.record["original_rating"] == "Four Pinocchios-ish"
    eng.dispose()


def test_same_fact_check_under_another_id_is_stored_once(tmp_path: Path, db: str) -> None:
    # The same ClaimReview (review URL and claim) with no identifier, or from an aggregator
    # under its own id: idempotent, no second row.
    bare = {k: v for k, v in LEMON.items() if k != "identifier"}
    other_id = dict(LEMON, identifier="aggregator-991",
                    claimReviewed="  drinking hot water with LEMON kills the coronavirus. ")
    r = cli("import", str(write(tmp_path / "a.jsonl", [LEMON])), "--db", db)
    assert r.exit_code == 0, r.output
    r = cli("import", str(write(tmp_path / "b.jsonl", [bare])), "--db", db)
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert (summary["added"], summary["aliased"], summary["unchanged"]) == (0, 1, 1)
    assert "is the same fact-check as 'fc-lemon'" in r.stderr
    r = cli("import", str(write(tmp_path / "c.jsonl", [other_id])), "--db", db)
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert (summary["added"], summary["aliased"], summary["replaced"]) == (0, 1, 1)
    from tidebreak.store.db import open_store

    eng = open_store(db)
    with Session(eng) as s:
        assert s.execute(select(FactCheckRow.claim_id)).scalars().all() == ["fc-lemon"]
    eng.dispose()


@pytest.mark.parametrize("rating, expected_note", [
    (None, "no rating given"),  # no reviewRating at all
    ({"@type": "Rating", "ratingValue": 2}, "scale unknown"),  # a number without its scale
    ({"@type": "Rating", "alternateName": "Four Pinocchios-ish"}, "unknown textual rating"),
])
def test_missing_or_unknown_rating_scale_is_stored_unrated(tmp_path: Path, db: str,
                                                           rating: dict | None,
                                                           expected_note: str) -> None:
    rec = {k: v for k, v in LEMON.items() if k != "reviewRating"}
    if rating is not None:
        rec["reviewRating"] = rating
    r = cli("import", str(write(tmp_path / "r.jsonl", [rec])), "--db", db)
    assert r.exit_code == 0, r.output
    from tidebreak.store.db import open_store

    eng = open_store(db)
    with Session(eng) as s:
        row = s.get(FactCheckRow, ("default", "fc-lemon"))
        assert row is not None and row.rating == "unrated"
        assert expected_note in row.record["rating_note"]
    eng.dispose()


def test_non_english_claim_is_stored_with_its_language_and_matched(engine: Engine) -> None:
    from tidebreak.factcheck.store import import_factchecks, parse_objects
    from tidebreak.pipeline import utcnow

    es = {"@context": "https://schema.org", "@type": "ClaimReview", "identifier": "fc-es-whatsapp",
          "url": "https://factcheck.example.es/votar-whatsapp", "inLanguage": {"@type": "Language",
                                                                              "name": "Spanish"},
          "claimReviewed": "Se puede votar por WhatsApp enviando una foto del documento de identidad.",
          "author": {"@type": "Organization", "name": "Ejemplo Verifica"},
          "reviewRating": {"@type": "Rating", "alternateName": "Falso"}}
    with Session(engine) as s, s.begin():
        import_factchecks(s, tenant="default", factchecks=parse_objects([es, LEMON]),
                          actor="test", now=utcnow(), source="test")
    with Session(engine) as s:
        row = s.get(FactCheckRow, ("default", "fc-es-whatsapp"))
        assert row is not None and (row.language, row.rating) == ("es", "false")
        assert row.record["original_rating"] == "Falso"
    det = FactCheckDetector(sync_seconds=0)
    det.bind_store(engine, "default")
    [sigs] = det.detect([item("¡Atención! Este año se puede votar por WhatsApp con una foto de tu DNI")])
    assert sigs and sigs[0].evidence["claim_id"] == "fc-es-whatsapp"
    assert sigs[0].evidence["language"] == "es" and sigs[0].category == "voting_misinformation"


def test_decisions_record_the_factcheck_index_version_in_use(engine: Engine) -> None:
    from tidebreak.factcheck.store import import_factchecks, parse_objects
    from tidebreak.ingest import parse_event
    from tidebreak.pipeline import utcnow
    from tidebreak.runtime import build_pipeline

    p = build_pipeline(engine, Settings(), detector_names=["factcheck"])
    det = p.detectors[0]
    det.sync_seconds = 0  # re-read the store at every batch (every 5 s by default)
    before = p.process(parse_event({"id": "a", "text": "my tomatoes are ripe"})).decision
    assert before.model_versions["factcheck"] == det.version

    with Session(engine) as s, s.begin():  # `tidebreak factcheck import`, in another process
        import_factchecks(s, tenant="default", factchecks=parse_objects([LEMON]), actor="test",
                          now=utcnow(), source="test")
    after = p.process(parse_event({"id": "b", "text": "drinking hot water with lemon kills the "
                                                      "coronavirus"})).decision
    assert after.model_versions["factcheck"] != before.model_versions["factcheck"]
    assert after.model_versions["factcheck"] == det.version == after.signals[0].detector_version
    with Session(engine) as s:  # what is stored (and in the ledger) is the same
        row = s.get(DecisionRow, after.id)
        assert row is not None and row.payload["model_versions"]["factcheck"] == det.version


def item(text: str) -> Item:
    return Item(Content(id="x", kind=ContentKind.POST, text=text), normalise(text))


def test_detector_uses_the_tenants_store_when_it_has_fact_checks(engine: Engine, tmp_path: Path) -> None:
    det = FactCheckDetector(sync_seconds=0)
    det.bind_store(engine, "default")
    bundled = det.index.fingerprint
    post = item("drinking hot water with lemon kills the coronavirus, share this")
    assert not any(s.evidence["claim_id"] == "fc-lemon" for s in det.detect([post])[0])

    from tidebreak.factcheck.store import import_factchecks, parse_objects
    from tidebreak.pipeline import utcnow

    with Session(engine) as s, s.begin():
        import_factchecks(s, tenant="default", factchecks=parse_objects([LEMON, MAGNETS]),
                          actor="test", now=utcnow(), source="test")
    sig = det.detect([post])[0]
    assert sig and sig[0].evidence["claim_id"] == "fc-lemon" and sig[0].score >= 0.88
    assert sig[0].evidence["fact_check_url"] == LEMON["url"]
    assert det.index.fingerprint != bundled and len(det.index) == 2
    other = FactCheckDetector()
    other.bind_store(engine, "other-tenant")  # no fact-checks there: the bundled set
    assert other.index.fingerprint == bundled


def test_http_import_and_match(engine: Engine) -> None:
    from .test_pipeline import make_pipeline

    app = create_app(engine, Settings(), lambda tenant: make_pipeline(engine, None))
    client = TestClient(app)
    admin = {"Authorization": f"Bearer {create_key(engine, 'policy_admin')}"}
    platform = {"Authorization": f"Bearer {create_key(engine, 'platform')}"}

    assert client.post("/v1/factchecks", headers=platform, json=[LEMON]).status_code == 403
    before = counts(engine)
    bad = client.post("/v1/factchecks", headers=admin, json={"factchecks": [LEMON, {"id": "x"}]})
    assert bad.status_code == 400 and "record 2" in bad.json()["reason"]
    assert counts(engine) == before  # nothing stored, no ledger entry

    ok = client.post("/v1/factchecks", headers=admin, json={"factchecks": [LEMON, MAGNETS]})
    assert ok.status_code == 201 and ok.json()["added"] == 2
    again = client.post("/v1/factchecks", headers=admin, json=[LEMON])  # idempotent
    assert again.status_code == 201 and (again.json()["added"], again.json()["unchanged"]) == (0, 1)
    assert counts(engine)[0] == 2

    r = client.post("/v1/factchecks/match", headers=platform,
                    json={"queries": [{"id": "q1", "text": "hot lemon water kills covid!!"},
                                      {"id": "q2", "text": "see https://factcheck.example.org/magnets"}],
                          "k": 1})
    assert r.status_code == 200, r.text
    res = {x["id"]: x["matches"][0] for x in r.json()["results"]}
    assert res["q1"]["claim_id"] == "fc-lemon" and res["q1"]["rating"] == "false"
    assert res["q2"]["claim_id"] == "fc-magnet" and res["q2"]["score"] == 1.0  # URL match
    assert client.post("/v1/factchecks/match", headers=platform, json={"k": 0, "text": "x"}).status_code == 400


def test_http_match_takes_each_posts_created_at(engine: Engine) -> None:
    from .test_pipeline import make_pipeline

    client = TestClient(create_app(engine, Settings(), lambda tenant: make_pipeline(engine, None)))
    admin = {"Authorization": f"Bearer {create_key(engine, 'policy_admin')}"}
    platform = {"Authorization": f"Bearer {create_key(engine, 'platform')}"}
    assert client.post("/v1/factchecks", headers=admin, json=[
        {"id": "trump-2019", "text": "A video shows a crowd chanting 'We love Trump' in London in June 2019.",
         "rating": "False", "url": "https://factcheck.example.org/trump-2019"},
        {"id": "trump-2017", "text": "A video shows a crowd chanting 'We love Trump' in London in March 2017.",
         "rating": "False", "url": "https://factcheck.example.org/trump-2017"},
    ]).status_code == 201
    post = "Huge crowd in London chanting we love Trump!"

    r = client.post("/v1/factchecks/match", headers=platform, json={"k": 1, "queries": [
        {"id": "june", "text": post, "created_at": "2019-06-04T20:15:00Z"},
        {"id": "march", "text": post, "created_at": "2017-03-10"},
    ]})
    assert r.status_code == 200, r.text
    assert {x["id"]: x["matches"][0]["claim_id"] for x in r.json()["results"]} == {
        "june": "trump-2019", "march": "trump-2017"}
    one = client.post("/v1/factchecks/match", headers=platform,  # the single-text form
                      json={"text": post, "created_at": "2019-06-04", "k": 1})
    assert one.status_code == 200 and one.json()["results"][0]["matches"][0]["claim_id"] == "trump-2019"

    before = counts(engine)
    for created_at in ("last Tuesday", 20190604):
        bad = client.post("/v1/factchecks/match", headers=platform, json={"queries": [
            {"id": "ok", "text": post}, {"id": "bad", "text": post, "created_at": created_at}]})
        assert bad.status_code == 400
        assert bad.json()["reason"] == "queries[1]: 'created_at' must be an ISO 8601 date or datetime"
    assert counts(engine) == before
