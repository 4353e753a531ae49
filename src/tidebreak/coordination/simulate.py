"""A planted-group simulator: coordinated groups hidden among organic users and organic
look-alikes, with the truth written down, so detection can be measured without real data.

Follows the recommended design in shared/reference/coordination-methods.md (section 1.7):

- Organic users: heavy-tailed activity (lognormal), Zipf object popularity, each object born at
  a random time and shared after lognormal delays (median half an hour).
- Planted groups (sizes 5-300, median 25): each pushes 20-60 campaign objects (links with per-account
  tracking variants, copypasta with word edits, a campaign hashtag, reposts of a seed post);
  every member joins each object with probability p, after an exponential delay from the
  trigger: seconds for automated networks, tens of seconds for semi-automated, minutes for human
  ones, and human-paced ones acting minutes to an hour apart. Members also post organic-looking
  camouflage (50-80% of their posts), and a few organic users share campaign objects too.
- Hard negatives, truth-labelled: breaking-news bursts (1,000-3,000 accounts share one link
  within minutes), a fandom that reposts its idol's posts together (and the public reposts them
  too), news-aggregator bots that each follow a set of outlets and post every new story of
  theirs within a minute, and live events (a match or a debate) whose audience replies to the
  broadcaster's updates within seconds, a core of super-fans to nearly every one.

Randomness comes from numpy's PCG64 seeded with `seed`: the same seed and numpy version give
the same events.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import IO, Any

import numpy as np

from tidebreak.coordination.events import CoordEvent, ObjectType

EPOCH = 1793491200.0  # 2026-11-01T00:00:00Z
DAY = 86400.0
_SYLLABLES = ("ka", "lo", "mi", "ren", "to", "sa", "vel", "dor", "an", "is", "ur", "pe", "qua",
              "bri", "nos", "te", "fal", "gi", "mon", "ze", "ul", "ra", "cor", "vin")
_TRACKING_VARIANTS = ("?utm_source={a}", "?utm_medium=social&utm_campaign={a}", "?fbclid=IwAR{a}",
                      "", "/", "?utm_source=tw&igshid={a}")


@dataclass(frozen=True)
class SimParams:
    seed: int = 0
    organic_accounts: int = 4000
    days: float = 7.0
    posts_per_day_median: float = 1.5
    groups: int = 6
    bursts: int = 3
    burst_size: tuple[int, int] = (1000, 3000)
    fandom_size: tuple[int, int] = (150, 300)
    idol_posts: int = 25
    aggregator_bots: int = 5
    aggregator_posts: int = 1500
    outlet_bots: int = 4  # aggregators that follow whole outlets (domains), not top links
    live_events: int = 1
    live_audience: tuple[int, int] = (300, 800)


@dataclass
class _Sink:
    rows: list[tuple[float, str, ObjectType, str, str]]

    def add(self, t: float, account: str, otype: ObjectType, object_id: str,
            text: str = "") -> None:
        self.rows.append((t, account, otype, object_id, text))


class _World:
    def __init__(self, p: SimParams) -> None:
        self.p = p
        self.rng = np.random.Generator(np.random.PCG64(p.seed))
        self.span = p.days * DAY
        self.vocab = self._vocabulary(6000)
        self.word_cdf = self._zipf_cdf(len(self.vocab), 1.0)
        self.domains = [f"{self._word(2)}{self._word(1)}.{tld}" for tld in
                        self.rng.choice(["com", "net", "org", "news", "info"], 800)]
        # organic object pools: (type, pool size); birth times per object
        self.pools = {ObjectType.URL: 20000, ObjectType.REPOST: 20000,
                      ObjectType.HASHTAG: 2000, ObjectType.REPLY: 8000,
                      ObjectType.MEDIA_HASH: 5000}
        self.birth = {k: self.rng.uniform(0, self.span, n) for k, n in self.pools.items()}
        self.zipf = {k: self._zipf_cdf(n, 1.2) for k, n in self.pools.items()}

    def _word(self, n: int) -> str:
        return "".join(self.rng.choice(_SYLLABLES, n))

    def _vocabulary(self, n: int) -> list[str]:
        words = {self._word(int(self.rng.integers(1, 4))) for _ in range(n * 2)}
        return sorted(words)[:n]

    @staticmethod
    def _zipf_cdf(n: int, s: float) -> np.ndarray:
        w = 1.0 / np.arange(1, n + 1) ** s
        return np.cumsum(w) / w.sum()

    def words(self, n: int) -> list[str]:
        # Zipf word frequencies (s = 1, as in natural language): common words repeat across
        # unrelated posts, so unrelated texts are not trivially far apart
        ranks = np.searchsorted(self.word_cdf, self.rng.random(n))
        return [self.vocab[r] for r in ranks.tolist()]

    def organic_object(self, otype: ObjectType) -> tuple[str, float]:
        k = int(np.searchsorted(self.zipf[otype], self.rng.random()))
        return self.object_id(otype, k), float(self.birth[otype][k])

    def object_id(self, otype: ObjectType, k: int) -> str:
        if otype is ObjectType.URL:
            return f"https://{self.domains[k % len(self.domains)]}/story/{k}"
        if otype is ObjectType.HASHTAG:
            return f"#tag{k}"
        if otype is ObjectType.MEDIA_HASH:
            return f"{k * 2654435761 % 2**64:016x}"
        return f"post{k}" if otype is ObjectType.REPOST else f"thread{k}"

    def organic_post(self, sink: _Sink, account: str, t_hint: float | None = None) -> None:
        """One organic-looking event (also used for camouflage)."""
        u = self.rng.random()
        if u < 0.35:
            t = float(self.rng.uniform(0, self.span)) if t_hint is None else t_hint
            sink.add(t, account, ObjectType.TEXT, "",
                     " ".join(self.words(int(self.rng.integers(6, 26)))))
            return
        otype = (ObjectType.URL if u < 0.6 else ObjectType.REPOST if u < 0.85 else
                 ObjectType.HASHTAG if u < 0.95 else ObjectType.REPLY if u < 0.98 else
                 ObjectType.MEDIA_HASH)
        oid, birth = self.organic_object(otype)
        delay = float(self.rng.lognormal(np.log(1800), 1.5))
        sink.add(birth + delay, account, otype, oid)


def _variant(rng: np.random.Generator, url: str, account: str) -> str:
    v = str(rng.choice(_TRACKING_VARIANTS)).format(a=account[-6:])
    if rng.random() < 0.3:
        url = url.replace("https://", "http://www." if rng.random() < 0.5 else "http://")
    return url + v if not v.startswith("/") else url + v


def _edit(rng: np.random.Generator, words: list[str], vocab: list[str]) -> list[str]:
    """One to three word-level edits (substitute, insert, delete) of a copypasta."""
    out = list(words)
    for _ in range(int(rng.integers(1, 4))):
        op, pos = rng.random(), int(rng.integers(0, len(out)))
        if op < 0.5:
            out[pos] = vocab[int(rng.integers(0, len(vocab)))]
        elif op < 0.8:
            out.insert(pos, vocab[int(rng.integers(0, len(vocab)))])
        elif len(out) > 8:
            del out[pos]
    return out


def simulate(params: SimParams) -> tuple[list[CoordEvent], dict[str, Any]]:
    """Events (time order) and the truth: planted groups and hard-negative accounts."""
    w = _World(params)
    rng = w.rng
    sink = _Sink([])
    organic = [f"u{n:06d}" for n in range(params.organic_accounts)]
    rate = rng.lognormal(np.log(params.posts_per_day_median), 1.0, len(organic))
    for acc, r in zip(organic, rate):
        for _ in range(int(rng.poisson(r * params.days))):
            w.organic_post(sink, acc)

    # --- planted groups ---
    truth_groups: dict[str, dict[str, Any]] = {}
    styles = ("automated", "semi_automated", "human", "human_slow")
    for g in range(params.groups):
        style = styles[g % len(styles)]
        tau = float({"automated": rng.uniform(2, 10), "semi_automated": rng.uniform(10, 40),
                     "human": rng.uniform(40, 90), "human_slow": rng.uniform(300, 2400)}[style])
        size = int(np.clip(round(rng.lognormal(np.log(25), 0.9)), 5, 300))
        members = [f"g{g}m{n:03d}" for n in range(size)]
        n_objects = int(rng.integers(20, 61))
        p_join = float(rng.uniform(0.5, 0.9))
        camouflage = float(rng.uniform(0.5, 0.8))
        template = w.words(int(rng.integers(18, 30)))
        hashtag = f"#{w._word(3)}{g}"
        seed_posts = [f"g{g}seed{k}" for k in range(n_objects)]
        # a campaign links to its own few sites (CooRnet's "top domains" of a network)
        own_sites = rng.choice(w.domains, int(rng.integers(1, 5)), replace=False)
        per_member = dict.fromkeys(members, 0)
        for k in range(n_objects):
            trigger = float(rng.uniform(0, w.span))
            u = rng.random()
            otype = (ObjectType.URL if u < 0.35 else ObjectType.TEXT if u < 0.7 else
                     ObjectType.HASHTAG if u < 0.85 else ObjectType.REPOST)
            base_url = f"https://{rng.choice(own_sites)}/g{g}/a{k}"
            joined = [m for m in members if rng.random() < p_join]
            for m in joined:
                t = trigger + float(rng.exponential(tau))
                per_member[m] += 1
                if otype is ObjectType.URL:
                    sink.add(t, m, otype, _variant(rng, base_url, m))
                elif otype is ObjectType.TEXT:
                    sink.add(t, m, otype, "", " ".join(_edit(rng, template, w.vocab)))
                elif otype is ObjectType.HASHTAG:
                    sink.add(t, m, otype, hashtag)
                else:
                    sink.add(t, m, otype, seed_posts[k])
            # a few organic users pick the campaign object up, on organic timescales
            if otype is not ObjectType.TEXT:
                for acc in rng.choice(organic, int(rng.integers(0, 6)), replace=False):
                    oid = {ObjectType.URL: base_url, ObjectType.HASHTAG: hashtag,
                           ObjectType.REPOST: seed_posts[k]}[otype]
                    sink.add(trigger + float(rng.lognormal(np.log(1800), 1.5)), str(acc),
                             otype, oid)
        for m, n_campaign in per_member.items():
            n_cover = int(round(n_campaign * camouflage / (1 - camouflage)))
            for _ in range(n_cover):
                w.organic_post(sink, m)
        truth_groups[f"planted{g}"] = {"accounts": members, "style": style, "tau_s": round(tau, 2),
                                       "objects": n_objects, "participation": round(p_join, 3),
                                       "camouflage": round(camouflage, 3)}

    # --- hard negatives ---
    burst_accounts: set[str] = set()
    for b in range(params.bursts):
        t0 = float(rng.uniform(0, w.span))
        url = f"https://{w.domains[int(rng.integers(0, 40))]}/breaking/{b}"
        n = int(rng.integers(*params.burst_size))
        for acc in rng.choice(organic, min(n, len(organic)), replace=False):
            acc = str(acc)
            burst_accounts.add(acc)
            sink.add(t0 + float(rng.lognormal(np.log(90), 1.0)), acc, ObjectType.URL,
                     _variant(rng, url, acc) if rng.random() < 0.3 else url)

    fans = [f"fan{n:04d}" for n in range(int(rng.integers(*params.fandom_size)))]
    fan_rate = rng.lognormal(np.log(params.posts_per_day_median), 1.0, len(fans))
    for acc, r in zip(fans, fan_rate):
        for _ in range(int(rng.poisson(r * params.days))):
            w.organic_post(sink, acc)
    for k in range(params.idol_posts):
        t0 = float(rng.uniform(0, w.span))
        post = f"idolpost{k}"
        sink.add(t0, "idol", ObjectType.TEXT, "", " ".join(w.words(15)))
        for acc in fans:
            if rng.random() < 0.45:
                sink.add(t0 + float(rng.lognormal(np.log(120), 1.2)), acc, ObjectType.REPOST,
                         post)
                if rng.random() < 0.3:
                    sink.add(t0 + float(rng.lognormal(np.log(150), 1.2)), acc,
                             ObjectType.HASHTAG, "#idolnation")
        for acc in rng.choice(organic, int(rng.integers(50, 200)), replace=False):
            sink.add(t0 + float(rng.lognormal(np.log(1800), 1.5)), str(acc), ObjectType.REPOST,
                     post)

    bots = [f"aggbot{n}" for n in range(params.aggregator_bots)]
    top_urls = 2 * params.aggregator_posts  # each bot posts most of the most popular links
    for acc in bots:
        for k in rng.choice(top_urls, params.aggregator_posts, replace=False):
            birth = float(w.birth[ObjectType.URL][int(k)])
            sink.add(birth + float(rng.lognormal(np.log(20), 0.8)), acc, ObjectType.URL,
                     w.object_id(ObjectType.URL, int(k)))

    # aggregators that follow outlets: every story of their outlets, within a minute of birth
    url_birth = w.birth[ObjectType.URL]
    for n in range(params.outlet_bots):
        acc = f"feedbot{n}"
        bots.append(acc)
        outlets = set(rng.choice(len(w.domains), int(rng.integers(60, 200)), replace=False)
                      .tolist())
        for k in range(len(url_birth)):
            if k % len(w.domains) in outlets and rng.random() < 0.8:
                sink.add(float(url_birth[k]) + float(rng.lognormal(np.log(30), 0.7)), acc,
                         ObjectType.URL, w.object_id(ObjectType.URL, k))

    live_accounts: set[str] = set()
    for e in range(params.live_events):
        t0 = float(rng.uniform(0, w.span - 4 * 3600))
        audience = [str(a) for a in rng.choice(organic, min(len(organic),
                    int(rng.integers(*params.live_audience))), replace=False)]
        core = set(audience[:max(3, len(audience) // 12)])
        live_accounts.update(audience)
        for k in range(int(rng.integers(25, 50))):
            tk = t0 + k * float(rng.uniform(60, 300))
            for acc in audience:
                if rng.random() < (0.6 if acc in core else 0.05):
                    sink.add(tk + float(rng.lognormal(np.log(15), 0.9)), acc, ObjectType.REPLY,
                             f"live{e}update{k}")
                if rng.random() < 0.04:
                    sink.add(tk + float(rng.uniform(0, 90)), acc, ObjectType.HASHTAG,
                             f"#live{e}")

    sink.rows.sort(key=lambda r: r[0])
    events = [CoordEvent(f"e{n:08d}", acc, otype, oid, text, round(EPOCH + t, 3))
              for n, (t, acc, otype, oid, text) in enumerate(sink.rows)]
    planted = sorted({a for g in truth_groups.values() for a in g["accounts"]})
    truth = {"seed": params.seed, "params": asdict(params), "numpy": np.__version__,
             "groups": truth_groups, "coordinated_accounts": planted,
             "hard_negatives": {"news_burst": sorted(burst_accounts), "fandom": fans,
                                "aggregator_bots": bots, "live_event": sorted(live_accounts)},
             "accounts": len(organic) + len(planted) + len(fans) + len(bots) + 1,
             "events": len(events)}
    return events, truth


def write_events(events: list[CoordEvent], f: IO[str]) -> None:
    for ev in events:
        f.write(json.dumps(ev.to_dict(), ensure_ascii=False) + "\n")
