"""`make demo`: seed the banks, ingest the bundled sample, and summarise what happened.

With the factcheck detector on (the default), the demo also tells the fact-check story: the
bundled ClaimReviews are imported as the tenant's fact-checks, a few decisions are shown with
their rule, signals and the fact-checker's link (a post labelled and demoted, a voting lie
removed), then a new fact-check arrives after the sample was posted, a backfill labels the
earlier posts that repeat it, and the people who reshared them before it are listed (the
`factcheck.notice` ledger entry).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import datetime, timezone

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tidebreak.config import Settings
from tidebreak.ingest import parse_event
from tidebreak.pipeline import Outcome, Pipeline, PipelineError
from tidebreak.runtime import build_pipeline, bundled_data
from tidebreak.detect.bank_store import add_entry
from tidebreak.store.schema import ContentRow, DecisionRow, LedgerEntryRow

NEW_FACTCHECK = "demo_factcheck.json"  # arrives after the sample was posted (see fact_check_story)


def _jsonl(name: str) -> list[dict]:
    with bundled_data(name).open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def seed_banks(engine: Engine, tenant: str) -> int:
    added = 0
    with Session(engine) as s, s.begin():
        for e in _jsonl("bank_seed.jsonl"):
            _, created = add_entry(s, tenant=tenant, text=e["text"], bank=e["bank"],
                                   category=e["category"], added_by="demo-seed",
                                   now=datetime.now(timezone.utc), note=e.get("note"),
                                   entry_id=e["entry_id"])
            added += created
    return added


def seed_factchecks(engine: Engine, tenant: str, now: datetime) -> int:
    """Import the bundled ClaimReviews as the tenant's fact-checks, as a fact-checker's feed
    would be, so that a later import adds to them (the detector reads the store once it has any)."""
    from tidebreak.factcheck.claimreview import read_factchecks
    from tidebreak.factcheck.store import import_factchecks, parse_records

    fcs = parse_records(read_factchecks(bundled_data("factchecks.jsonl")), "factchecks.jsonl")
    with Session(engine) as s, s.begin():
        res = import_factchecks(s, tenant=tenant, factchecks=fcs, actor="demo-seed", now=now,
                                source="factchecks.jsonl")
    return len(res.added)


def _against_labels(acted: dict[str, set[str]], reviewed: set[str]) -> Table:
    """How the decisions compare with the hand labels bundled with the sample. `acted`: items
    with an enforcement outcome (a determination); `reviewed`: items only sent to a person."""
    labels = {x["id"]: set(x["expected"]) for x in _jsonl("sample_labels.jsonl")}
    t = Table("hand label", "items", "actioned", "share", "only sent to review",
              title="Against the sample's hand labels")
    cats = sorted({c for v in labels.values() for c in v})
    for cat in cats:
        ids = [i for i, v in labels.items() if cat in v]
        hit = sum(1 for i in ids if i in acted)
        routed = sum(1 for i in ids if i in reviewed and i not in acted)
        t.add_row(cat, str(len(ids)), str(hit), f"{hit / len(ids):.0%}" if ids else "-",
                  str(routed))
    benign = [i for i, v in labels.items() if not v]
    fp = sum(1 for i in benign if i in acted)
    routed = sum(1 for i in benign if i in reviewed and i not in acted)
    t.add_row("benign (actioned = false positive)", str(len(benign)), str(fp),
              f"{fp / len(benign):.0%}" if benign else "-", str(routed))
    return t


# -- the fact-check story -------------------------------------------------------------------------

def _short(text: str, n: int = 110) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _explain(console: Console, d: dict, row: ContentRow | None) -> None:
    """One decision as a reader needs it: what happened, which rule, which signals, which link."""
    def say(line: str) -> None:  # soft_wrap: long URLs stay whole, so they can be copied
        console.print(line, markup=False, soft_wrap=True, highlight=False)

    who = f" by {row.author_id}" if row is not None and row.author_id else ""
    say(f"  {d['content_id']} ({row.kind if row is not None else 'item'}{who}) -> {d['action']}")
    if row is not None:
        say(f'    "{_short(row.text)}"')
    for a in d["actions"]:
        if a["type"] == "label":
            say(f"    label: {a.get('label')}")
        elif a["type"] == "reduce":
            say(f"    reduced distribution: reach x{a.get('factor')}")
    for h in d["reasons"]:
        acts = ", ".join(a["type"] for a in h["actions"])
        say(f"    rule {h['rule_id']} ({acts}): {h['ground']}")
        for sig in h["signals"]:
            ev = sig.get("evidence", {})
            how = ""
            if sig["detector"] == "factcheck":
                how = (f" [{ev.get('match')} match to {ev.get('claim_id')}: "
                       f"\"{_short(str(ev.get('claim', '')), 80)}\" rated {ev.get('rating')}"
                       f" (\"{ev.get('original_rating')}\") by {ev.get('publisher')}]")
            say(f"      signal {sig['detector']}:{sig['category']} = {sig['score']:.3f}{how}")
    urls = dict.fromkeys(str(s["evidence"]["fact_check_url"]) for s in d["signals"]
                         if s["detector"] == "factcheck" and s.get("evidence", {}).get("fact_check_url"))
    for u in urls:
        say(f"    fact-check: {u}")


def _pick(decisions: list[dict], rule: str, action: str, n: int) -> list[dict]:
    """Up to n decisions by `rule` with strongest action `action` and a fact-check signal:
    paraphrases (text matches) first, as they show the matcher (a URL match is only a link),
    the most confident matches first."""
    def fc(d: dict) -> dict | None:
        return next((s for s in d["signals"] if s["detector"] == "factcheck"), None)

    chosen = [(d, fc(d)) for d in decisions if rule in d["rules"] and d["action"] == action]
    ranked = sorted(((d, s) for d, s in chosen if s is not None),
                    key=lambda x: (x[1]["evidence"].get("match") != "text", -x[1]["score"]))
    return [d for d, _ in ranked[:n]]


def fact_check_story(engine: Engine, pipeline: Pipeline, tenant: str, console: Console,
                     decisions: list[dict], since_days: float) -> dict[str, set[str]]:
    """Print decisions that used fact-checks, then import a new fact-check and backfill.
    Returns the content the backfill actioned, with categories (for the hand-label table)."""
    from tidebreak.factcheck.backfill import run_backfill
    from tidebreak.factcheck.claimreview import read_factchecks
    from tidebreak.factcheck.store import import_factchecks, parse_records

    def rows(ids: list[str]) -> dict[str, ContentRow]:
        with Session(engine) as s:
            return {r.id: r for r in s.execute(select(ContentRow).where(
                ContentRow.tenant == tenant, ContentRow.id.in_(ids))).scalars()}

    console.print("\n[bold]Fact-checks at work[/]")
    shown = [("Labelled with the fact-check and demoted (reduced distribution):",
              _pick(decisions, "misinfo-false-label", "reduce", 2)),
             ("Removed as voting misinformation:", _pick(decisions, "voting-remove", "remove", 1))]
    found = rows([d["content_id"] for _, ds in shown for d in ds])
    for title, ds in shown:
        console.print(title, markup=False)
        for d in ds:
            _explain(console, d, found.get(d["content_id"]))
        if not ds:
            console.print("  (none in this run)", markup=False)

    # A fact-checker publishes after the sample was posted: import it, then match earlier posts.
    fcs = parse_records(read_factchecks(bundled_data(NEW_FACTCHECK)), NEW_FACTCHECK)
    with Session(engine) as s, s.begin():
        import_factchecks(s, tenant=tenant, factchecks=fcs, actor="demo", now=pipeline.clock(),
                          source=NEW_FACTCHECK)
    reports = run_backfill(engine, pipeline, since_days=since_days)
    console.print(f"\nA new fact-check arrives: {fcs[0].publisher} rates \"{fcs[0].claim}\" "
                  f"{fcs[0].original_rating}. Backfill (tidebreak factcheck backfill): "
                  + ("; ".join(f"{r.scanned} stored items matched against {len(r.claim_ids)} "
                               f"new fact-check(s), {r.matched} re-decided, {r.actioned} actioned"
                               for r in reports) or "nothing new (imported by an earlier run)"),
                  markup=False, soft_wrap=True, highlight=False)
    acted: dict[str, set[str]] = {}
    run_ids = [r.run_id for r in reports if r.run_id]
    with Session(engine) as s:
        redecided = [d for run_id in run_ids for (d,) in s.execute(
            select(DecisionRow.payload).where(DecisionRow.tenant == tenant,
                                              DecisionRow.event_id.like(f"fcbackfill:{run_id}:%"))
            .order_by(DecisionRow.content_id)).all()]
        notices = [json.loads(e.payload) for e in s.execute(select(LedgerEntryRow).where(
            LedgerEntryRow.tenant == tenant, LedgerEntryRow.kind == "factcheck.notice")
            .order_by(LedgerEntryRow.seq)).scalars()]
    found = rows([d["content_id"] for d in redecided])
    for d in redecided:
        if d["action"] != "none":
            if d["categories"]:  # a determination, not a review or an information label
                acted.setdefault(d["content_id"], set()).update(d["categories"])
            _explain(console, d, found.get(d["content_id"]))
    for n in notices:
        if n.get("run_id") in run_ids:
            console.print(f"  notice to {len(n['recipients'])} people who reshared "
                          f"{n['content_id']} before the fact-check: "
                          f"{', '.join(n['recipients'])} (rated {n['rating']} by {n['publisher']}: "
                          f"{n['fact_check_url']}; ledger entry factcheck.notice)",
                          markup=False, soft_wrap=True, highlight=False)
    return acted


def run_demo(engine: Engine, settings: Settings, console: Console) -> dict[str, Counter]:
    tenant = settings.tenant
    banked = seed_banks(engine, tenant)
    with_factchecks = "factcheck" in settings.detectors
    seeded = seed_factchecks(engine, tenant, datetime.now(timezone.utc)) if with_factchecks else 0
    # --- accountability: the sample's ballot-measure committee is authorised for political ads ---
    from tidebreak.accountability.ads import seed_authorisations

    seed_authorisations(engine, tenant, str(bundled_data("ad_authorisations.jsonl")),
                        datetime.now(timezone.utc))
    # --- governance: one election in its window, so election mode and its dashboard show ---
    from tidebreak.governance.elections import ensure_demo_election

    election_id = ensure_demo_election(engine, tenant, datetime.now(timezone.utc))
    pipeline = build_pipeline(engine, settings, tenant=tenant)
    raw = _jsonl("sample_events.jsonl")
    events = [parse_event(obj, max_text_bytes=settings.max_text_bytes) for obj in raw]
    posted = [e.content.created_at for e in events if e.content.created_at is not None]
    # The backfill window reaches back to the sample's first post, whenever the demo runs.
    since_days = (datetime.now(timezone.utc) - min(posted)).total_seconds() / 86400 + 1 \
        if posted else 30.0
    if with_factchecks:
        from tidebreak.factcheck.backfill import run_backfill

        # The seeded fact-checks count as matched already (nothing is stored yet): the backfill
        # after the new one then covers only it.
        run_backfill(engine, pipeline, since_days=since_days)
    t0 = time.perf_counter()
    results: list[Outcome | PipelineError] = []
    for i in range(0, len(events), 64):
        results.extend(pipeline.process_batch(events[i:i + 64]))
    elapsed = time.perf_counter() - t0

    by_action: Counter[str] = Counter()
    by_rule: Counter[str] = Counter()
    by_kind: Counter[str] = Counter()
    errors = [r for r in results if isinstance(r, PipelineError)]
    acted: dict[str, set[str]] = {}
    reviewed: set[str] = set()
    for ev, r in zip(events, results):
        if isinstance(r, Outcome) and not r.duplicate:
            by_action[r.decision.action.value] += 1
            by_kind[f"{ev.type.value}/{ev.content.kind.value}"] += 1
            by_rule.update(r.decision.rules)
        # only a determination acts against a post: a review is a suspicion, an information
        # label context (tidebreak.model.OutcomeKind)
        if isinstance(r, Outcome) and r.decision.categories:
            acted.setdefault(ev.content.id, set()).update(r.decision.categories)
        elif isinstance(r, Outcome) and r.decision.outcome == "routing":
            reviewed.add(ev.content.id)

    console.print(f"[bold]tidebreak demo[/]: {banked} bank entries and {seeded} fact-checks "
                  f"seeded, {len(events)} events in {elapsed:.1f}s "
                  f"({len(events) / elapsed:.0f} events/s), {len(errors)} refused")
    t = Table("action", "decisions", title="Decisions by action")
    for a, n in by_action.most_common():
        t.add_row(a, str(n))
    console.print(t)
    t = Table("rule", "hits", title="Rules that fired")
    for rule, n in by_rule.most_common():
        t.add_row(rule, str(n))
    console.print(t)
    for e in errors:
        console.print(f"refused: {e}", markup=False)
    if with_factchecks:
        decided = [r.decision.to_dict() for r in results if isinstance(r, Outcome) and not r.duplicate]
        for cid, cats in fact_check_story(engine, pipeline, tenant, console, decided,
                                          since_days).items():
            acted.setdefault(cid, set()).update(cats)
    console.print(_against_labels(acted, reviewed))
    from tidebreak.governance.elections import dashboard

    dash = dashboard(engine, tenant, election_id, datetime.now(timezone.utc))
    console.print(f"Election mode: {dash['election']['name']} is {dash['election']['state']}; "
                  f"{dash['volume']['in_window']} voting-related decisions, "
                  f"{sum(q['open'] for q in dash['queues'].values())} open review tasks on them "
                  f"(tidebreak governance elections dashboard {election_id})", markup=False)
    console.print("Explore: tidebreak decisions list | tidebreak decisions show ID | "
                  "tidebreak ledger verify | tidebreak serve")
    return {"action": by_action, "rule": by_rule, "kind": by_kind}
