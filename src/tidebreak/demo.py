"""`make demo`: seed the banks, ingest the bundled sample, and summarise what happened."""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import datetime, timezone

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tidebreak.config import Settings
from tidebreak.ingest import parse_event
from tidebreak.pipeline import Outcome, PipelineError
from tidebreak.runtime import build_pipeline, bundled_data
from tidebreak.store.bank import add_entry


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


def _against_labels(events: list, results: list) -> Table:
    """How the decisions compare with the hand labels bundled with the sample."""
    labels = {x["id"]: set(x["expected"]) for x in _jsonl("sample_labels.jsonl")}
    acted: dict[str, set[str]] = {}
    for ev, r in zip(events, results):
        if isinstance(r, Outcome) and r.decision.action.value != "none":
            acted.setdefault(ev.content.id, set()).update(r.decision.categories or {"review"})
    t = Table("hand label", "items", "actioned", "share", title="Against the sample's hand labels")
    cats = sorted({c for v in labels.values() for c in v})
    for cat in cats:
        ids = [i for i, v in labels.items() if cat in v]
        hit = sum(1 for i in ids if i in acted)
        t.add_row(cat, str(len(ids)), str(hit), f"{hit / len(ids):.0%}" if ids else "-")
    benign = [i for i, v in labels.items() if not v]
    fp = sum(1 for i in benign if i in acted)
    t.add_row("benign (actioned = false positive)", str(len(benign)), str(fp),
              f"{fp / len(benign):.0%}" if benign else "-")
    return t


def run_demo(engine: Engine, settings: Settings, console: Console) -> dict[str, Counter]:
    tenant = settings.tenant
    banked = seed_banks(engine, tenant)
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
    t0 = time.perf_counter()
    results: list[Outcome | PipelineError] = []
    for i in range(0, len(events), 64):
        results.extend(pipeline.process_batch(events[i:i + 64]))
    elapsed = time.perf_counter() - t0

    by_action: Counter[str] = Counter()
    by_rule: Counter[str] = Counter()
    by_kind: Counter[str] = Counter()
    errors = [r for r in results if isinstance(r, PipelineError)]
    for ev, r in zip(events, results):
        if isinstance(r, Outcome) and not r.duplicate:
            by_action[r.decision.action.value] += 1
            by_kind[f"{ev.type.value}/{ev.content.kind.value}"] += 1
            by_rule.update(r.decision.rules)

    console.print(f"[bold]tidebreak demo[/]: {banked} bank entries seeded, {len(events)} events "
                  f"in {elapsed:.1f}s ({len(events) / elapsed:.0f} events/s), "
                  f"{len(errors)} refused")
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
    console.print(_against_labels(events, results))
    from tidebreak.governance.elections import dashboard

    dash = dashboard(engine, tenant, election_id, datetime.now(timezone.utc))
    console.print(f"Election mode: {dash['election']['name']} is {dash['election']['state']}; "
                  f"{dash['volume']['in_window']} voting-related decisions, "
                  f"{sum(q['open'] for q in dash['queues'].values())} open review tasks on them "
                  f"(tidebreak governance elections dashboard {election_id})", markup=False)
    console.print("Explore: tidebreak decisions list | tidebreak decisions show ID | "
                  "tidebreak ledger verify | tidebreak serve")
    return {"action": by_action, "rule": by_rule, "kind": by_kind}
