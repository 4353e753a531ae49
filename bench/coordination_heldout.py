"""A second, differently-built planted-campaign generator, held out from tuning.

The suite's simulator (`tidebreak.coordination.simulate`) is what the detector's defaults were
tuned on; this one is only ever used to *report*. It was written before any tuning and differs
on purpose in how everything is made, so a detector that merely learnt the suite simulator's
quirks shows it here:

- organic traffic is story-driven: stories appear over time with Pareto popularity; their
  sharers are drawn in proportion to a Pareto (not lognormal) account activity, and share after
  gamma-distributed delays (hours), as a link, a repost or a reply to the story's post, or its
  topic hashtag; original posts come from a different, letter-built vocabulary;
- campaigns: sizes 5-200 (lognormal, median 25), four paces: bots (mean delay 1-8 s),
  semi-automated (15-120 s), human (3-45 min) and slow human (30-90 min, gamma delays); some
  split into sub-cells that each push their own share of the objects; objects are links to 1-3
  own sites with tracking variants, copypasta from sentence templates with synonym swaps and
  shuffled sentences, hashtag pairs, reposts of a leader's posts, replies that brigade a target;
  camouflage 50-90% of members' posts;
- hard negatives (truth-labelled): breaking-news events (several outlets' links plus a hashtag,
  300-3000 accounts within minutes), live events (a broadcaster's updates replied to within
  seconds by an audience with a super-fan core), fandoms (fans repost their idol within a
  minute, the public later and more), news-aggregator bots (each follows its own set of outlets
  and posts every new story within seconds).

    .venv/bin/python bench/coordination_heldout.py --seed 101 -o ev.jsonl --truth truth.json
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

from tidebreak.coordination.events import CoordEvent, ObjectType

T0 = 1_795_000_000.0
HOUR, DAY = 3600.0, 86400.0
_LETTERS = "abcdefghiklmnoprstuvwyz"
_TRACKERS = ("?utm_source=share&utm_medium={a}", "?ref_src=twsrc%5E{a}", "?mc_cid={a}", "",
             "#top", "?gclid={a}")


@dataclass(frozen=True)
class HeldOutParams:
    seed: int = 101
    accounts: int = 5000
    days: float = 4.0
    stories_per_day: int = 1500
    campaigns: int = 8
    news_events: int = 4
    live_events: int = 2
    fandoms: int = 2
    aggregator_bots: int = 8


class _Gen:
    def __init__(self, p: HeldOutParams) -> None:
        self.p = p
        self.rng = np.random.default_rng(np.random.SeedSequence([p.seed, 7919]))
        self.span = p.days * DAY
        self.rows: list[tuple[float, str, ObjectType, str, str]] = []
        self.vocab = ["".join(self.rng.choice(list(_LETTERS), int(self.rng.integers(3, 9))))
                      for _ in range(9000)]
        self.outlets = [f"{self.token()}-{self.token()}.example" for _ in range(300)]
        self.accounts = [f"acct{n:07d}" for n in range(p.accounts)]
        act = (self.rng.pareto(1.6, p.accounts) + 1.0) * 0.8  # posts per day, heavy tail
        self.weights = act / act.sum()
        self.activity = act

    def token(self) -> str:
        return self.vocab[int(self.rng.integers(0, len(self.vocab)))]

    def sentence(self, n: int) -> list[str]:
        # uniform vocabulary with a small set of very common words mixed in
        words = [self.vocab[int(i)] for i in self.rng.integers(0, len(self.vocab), n)]
        for k in range(n):
            if self.rng.random() < 0.25:
                words[k] = self.vocab[int(self.rng.integers(0, 40))]
        return words

    def add(self, t: float, acc: str, otype: ObjectType, oid: str, text: str = "") -> None:
        if 0 <= t <= self.span * 1.2:
            self.rows.append((t, acc, otype, oid, text))

    def link(self, base: str, acc: str) -> str:
        tr = str(self.rng.choice(_TRACKERS)).format(a=acc[-5:])
        if self.rng.random() < 0.25:
            base = base.replace("https://", "HTTP://WWW.")
        return base + tr

    # --- organic ------------------------------------------------------------------------------
    def organic(self) -> None:
        p, rng = self.p, self.rng
        n_stories = int(p.stories_per_day * p.days)
        self.story_birth = rng.uniform(0, self.span, n_stories)
        self.story_outlet = rng.integers(0, len(self.outlets), n_stories)
        pop = np.minimum((rng.pareto(1.3, n_stories) + 1.0) * 1.2, 2500).astype(int)
        for s in range(n_stories):
            sharers = rng.choice(p.accounts, min(int(pop[s]), p.accounts), replace=False,
                                 p=self.weights)
            delays = rng.gamma(0.7, 3 * HOUR, len(sharers))
            for a, d in zip(sharers.tolist(), delays.tolist()):
                u, acc, t = rng.random(), self.accounts[a], self.story_birth[s] + d
                if u < 0.45:
                    self.add(t, acc, ObjectType.URL, self.link(self.story_url(s), acc))
                elif u < 0.75:
                    self.add(t, acc, ObjectType.REPOST, f"status/{s}")
                elif u < 0.9:
                    self.add(t, acc, ObjectType.HASHTAG, f"#topic{s % 700}")
                else:
                    self.add(t, acc, ObjectType.REPLY, f"status/{s}")
        # original posts, a third of everyone's activity
        for a, rate in enumerate(self.activity.tolist()):
            for t in rng.uniform(0, self.span, rng.poisson(rate * p.days * 0.3)).tolist():
                self.add(t, self.accounts[a], ObjectType.TEXT, "",
                         " ".join(self.sentence(int(rng.integers(5, 30)))))

    def story_url(self, s: int) -> str:
        return f"https://{self.outlets[int(self.story_outlet[s])]}/{s // 100}/article-{s}"

    def camouflage(self, acc: str, n: int) -> None:
        rng = self.rng
        for _ in range(n):
            s = int(rng.integers(0, len(self.story_birth)))
            t = self.story_birth[s] + float(rng.gamma(0.7, 3 * HOUR))
            if rng.random() < 0.4:
                self.add(t, acc, ObjectType.TEXT, "", " ".join(self.sentence(12)))
            elif rng.random() < 0.5:
                self.add(t, acc, ObjectType.URL, self.link(self.story_url(s), acc))
            else:
                self.add(t, acc, ObjectType.REPOST, f"status/{s}")

    # --- campaigns ----------------------------------------------------------------------------
    def campaign(self, c: int) -> dict[str, Any]:
        rng = self.rng
        pace = ("bot", "semi", "human", "slow_human")[c % 4]
        mean_delay = {"bot": rng.uniform(1, 8), "semi": rng.uniform(15, 120),
                      "human": rng.uniform(180, 2700), "slow_human": rng.uniform(1800, 5400)}[pace]
        size = int(np.clip(round(rng.lognormal(np.log(25), 0.8)), 5, 200))
        members = [f"op{c}x{n:04d}" for n in range(size)]
        cells = [members] if size < 20 or rng.random() < 0.6 else \
            [list(x) for x in np.array_split(np.array(members), int(rng.integers(2, 4)))]
        sites = [f"https://{self.token()}{c}.example" for _ in range(int(rng.integers(1, 4)))]
        tags = [f"#{self.token()}{self.token()}" for _ in range(3)]
        templates = [self.sentence(int(rng.integers(7, 12))) for _ in range(3)]
        synonyms = {w: [self.token(), self.token()] for s in templates for w in s}
        leader, target = f"leader{c}", f"target{c}"
        n_objects = int(rng.integers(15, 81))
        participation = float(rng.uniform(0.35, 0.9))
        pushed = dict.fromkeys(members, 0)
        for k in range(n_objects):
            trigger = float(rng.uniform(0, self.span - 2 * HOUR))
            cell = cells[int(rng.integers(0, len(cells)))]
            joiners = [m for m in cell if rng.random() < participation]
            joiners += [m for m in members if m not in cell and rng.random() < 0.1]
            u = rng.random()
            kind = ("link" if u < 0.3 else "copy" if u < 0.55 else "tags" if u < 0.7 else
                    "repost" if u < 0.85 else "brigade")
            url = f"{sites[k % len(sites)]}/p/{c}-{k}"
            for m in joiners:
                t = trigger + float(rng.gamma(2.0, mean_delay / 2.0))
                pushed[m] += 1
                if kind == "link":
                    self.add(t, m, ObjectType.URL, self.link(url, m))
                elif kind == "copy":
                    self.add(t, m, ObjectType.TEXT, "", self.copypasta(templates, synonyms))
                elif kind == "tags":
                    for tag in tags[:2]:
                        self.add(t + float(rng.uniform(0, 2)), m, ObjectType.HASHTAG, tag)
                elif kind == "repost":
                    self.add(t, m, ObjectType.REPOST, f"{leader}/status/{k}")
                else:
                    self.add(t, m, ObjectType.REPLY, f"{target}/status/{k}")
            if kind in ("link", "repost"):  # the public picks some of it up, hours later
                oid = url if kind == "link" else f"{leader}/status/{k}"
                otype = ObjectType.URL if kind == "link" else ObjectType.REPOST
                for a in rng.choice(self.p.accounts, int(rng.integers(0, 8)), replace=False):
                    self.add(trigger + float(rng.gamma(0.7, 3 * HOUR)), self.accounts[int(a)],
                             otype, oid)
        cover = float(rng.uniform(0.5, 0.9))
        for m, n in pushed.items():
            self.camouflage(m, int(round(n * cover / (1 - cover))))
        return {"accounts": members, "style": pace, "mean_delay_s": round(mean_delay, 1),
                "cells": len(cells), "objects": n_objects,
                "participation": round(participation, 3), "camouflage": round(cover, 3)}

    def copypasta(self, templates: list[list[str]], synonyms: dict[str, list[str]]) -> str:
        rng = self.rng
        sents = [list(s) for s in templates]
        rng.shuffle(sents)
        out = []
        for s in sents:
            for w in s:
                out.append(str(rng.choice(synonyms[w])) if rng.random() < 0.08 else w)
        return " ".join(out).capitalize() + "!"

    # --- hard negatives -----------------------------------------------------------------------
    def news(self, e: int) -> list[str]:
        rng = self.rng
        t0 = float(rng.uniform(0, self.span - HOUR))
        links = [f"https://{self.outlets[int(o)]}/breaking/{e}-{k}"
                 for k, o in enumerate(rng.integers(0, 300, int(rng.integers(3, 9))))]
        tag = f"#breaking{e}"
        crowd = rng.choice(self.p.accounts, int(rng.integers(300, 3000)), replace=False)
        for a in crowd.tolist():
            acc = self.accounts[a]
            for link in rng.choice(links, int(rng.integers(1, 4)), replace=False).tolist():
                self.add(t0 + float(rng.lognormal(np.log(180), 1.0)), acc, ObjectType.URL,
                         self.link(link, acc))
            if rng.random() < 0.5:
                self.add(t0 + float(rng.lognormal(np.log(240), 1.0)), acc, ObjectType.HASHTAG,
                         tag)
        return [self.accounts[a] for a in crowd.tolist()]

    def live(self, e: int) -> list[str]:
        rng = self.rng
        t0 = float(rng.uniform(0, self.span - 3 * HOUR))
        audience = [self.accounts[a] for a in
                    rng.choice(self.p.accounts, int(rng.integers(400, 1200)), replace=False)]
        core = set(audience[: int(rng.integers(30, 80))])
        for k in range(int(rng.integers(30, 60))):
            tk = t0 + k * float(rng.uniform(90, 240))
            post = f"broadcaster{e}/status/{k}"
            for acc in audience:
                if rng.random() < (0.5 if acc in core else 0.06):
                    self.add(tk + float(rng.lognormal(np.log(20), 0.8)), acc, ObjectType.REPLY,
                             post)
                if rng.random() < 0.05:
                    self.add(tk + float(rng.uniform(0, 120)), acc, ObjectType.HASHTAG,
                             f"#match{e}")
        return audience

    def fandom(self, f: int) -> list[str]:
        rng = self.rng
        fans = [f"stan{f}_{n:04d}" for n in range(int(rng.integers(150, 500)))]
        for acc in fans:
            self.camouflage(acc, int(rng.poisson(8)))
        for k in range(int(rng.integers(20, 41))):
            t0 = float(rng.uniform(0, self.span))
            post = f"idol{f}/status/{k}"
            for acc in fans:
                if rng.random() < 0.5:
                    self.add(t0 + float(rng.lognormal(np.log(60), 1.0)), acc,
                             ObjectType.REPOST, post)
                    if rng.random() < 0.4:
                        self.add(t0 + float(rng.lognormal(np.log(90), 1.0)), acc,
                                 ObjectType.HASHTAG, f"#idol{f}forever")
            for a in rng.choice(self.p.accounts, int(len(fans) * rng.uniform(1, 3)),
                                replace=False).tolist():
                self.add(t0 + float(rng.lognormal(np.log(1200), 1.2)), self.accounts[a],
                         ObjectType.REPOST, post)
        return fans

    def aggregators(self) -> list[str]:
        rng = self.rng
        bots = [f"newsbot{n}" for n in range(self.p.aggregator_bots)]
        for acc in bots:
            follows = set(rng.choice(300, int(rng.integers(90, 240)), replace=False).tolist())
            for s in np.flatnonzero(np.isin(self.story_outlet, list(follows))).tolist():
                if rng.random() < 0.9:
                    self.add(float(self.story_birth[s]) + float(rng.lognormal(np.log(20), 0.9)),
                             acc, ObjectType.URL, self.story_url(s))
        return bots


def generate(p: HeldOutParams = HeldOutParams()) -> tuple[list[CoordEvent], dict[str, Any]]:
    g = _Gen(p)
    g.organic()
    groups = {f"campaign{c}": g.campaign(c) for c in range(p.campaigns)}
    hard = {"news_burst": sorted({a for e in range(p.news_events) for a in g.news(e)}),
            "live_event": sorted({a for e in range(p.live_events) for a in g.live(e)}),
            "fandom": [a for f in range(p.fandoms) for a in g.fandom(f)],
            "aggregator_bots": g.aggregators()}
    g.rows.sort(key=lambda r: r[0])
    events = [CoordEvent(f"h{p.seed}-{n:09d}", acc, otype, oid, text, round(T0 + t, 3))
              for n, (t, acc, otype, oid, text) in enumerate(g.rows)]
    coordinated = sorted({a for grp in groups.values() for a in grp["accounts"]})
    truth = {"generator": "heldout-1", "seed": p.seed, "groups": groups,
             "coordinated_accounts": coordinated, "hard_negatives": hard,
             "events": len(events)}
    return events, truth


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=101)
    ap.add_argument("--accounts", type=int, default=5000)
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--truth", required=True)
    args = ap.parse_args()
    events, truth = generate(HeldOutParams(seed=args.seed, accounts=args.accounts))
    with open(args.output, "w", encoding="utf-8") as f:
        for ev in events:
            f.write(json.dumps(ev.to_dict(), ensure_ascii=False) + "\n")
    with open(args.truth, "w", encoding="utf-8") as f:
        json.dump(truth, f)
    print(f"{len(events)} events, {len(truth['coordinated_accounts'])} coordinated accounts",
          file=sys.stderr)


if __name__ == "__main__":
    main()
