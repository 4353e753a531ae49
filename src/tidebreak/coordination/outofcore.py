"""Detection out of core, on DuckDB: the same groups as `detect.detect`, for inputs that do not
fit in memory (10 million events and more on a small machine).

What lives where:
- Python streams the input once, in chunks: validation (the same `EventReader` rules), account
  and object codes (first-seen order, as the in-memory table assigns them), URL
  canonicalisation, and near-duplicate text keys (`TextClusterer`, compact arrays). Each chunk
  is appended to a DuckDB table on disk; no list of events is ever held.
- DuckDB does the heavy relational work out of core, spilling to its temp directory: duplicate
  event ids, objects acted on by too many accounts, co-action pairs at the widest window (an
  equi-join on (object, time bucket) so that no object's full cross product is ever built),
  and, in one pass over the pairs for all windows (they are nested: conditional aggregates),
  the directed edge weights and the pair counts of the significance test; then per window the
  degrees and the edge filters. The test's populations (connected components of the
  account-object graph, see `significance`) are found in Python from the distinct
  (account, object) rows.
- Only the kept edges come back to Python, where grouping, scoring and evidence run on a small
  table holding just the candidate members' events (`detect.describe_groups`, the very code the
  in-memory path runs), so both paths produce the same groups.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from tidebreak.coordination.detect import (
    DETECTOR_VERSION,
    DetectedGroup,
    DetectionParams,
    DetectionResult,
    _merge_scales,
    describe_groups,
)
from tidebreak.coordination.edges import EdgeTable
from tidebreak.coordination.events import CoordEvent, EventReader, ObjectType
from tidebreak.coordination.objects import NO_OBJECT, EventTable, object_key
from tidebreak.coordination.significance import (
    MIN_NULL_PAIRS,
    null_lambda,
    populations,
    upper_tail,
)
from tidebreak.coordination.textmatch import TextClusterer

CHUNK = 200_000
_TYPES = list(ObjectType)
_TYPE_CODE = {t: k for k, t in enumerate(_TYPES)}
_PENDING_TEXT = -2


@dataclass
class _Encoder:
    """First-seen codes for accounts and objects, exactly as `objects.build_table` assigns
    them, kept across chunks."""

    threshold: float
    accounts: dict[str, int] = field(default_factory=dict)
    objects: dict[tuple[ObjectType, str], int] = field(default_factory=dict)
    rows: int = 0
    text_kids: list[np.ndarray] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.texts = TextClusterer(self.threshold, keep_samples=False)

    def chunk(self, events: Sequence[CoordEvent]) -> dict[str, np.ndarray]:
        n = len(events)
        acc = np.empty(n, dtype=np.int32)
        obj = np.empty(n, dtype=np.int32)
        tkey = np.full(n, -1, dtype=np.int32)
        t = np.empty(n, dtype=np.float64)
        otype = np.empty(n, dtype=np.int8)
        kids = []
        for k, ev in enumerate(events):
            acc[k] = self.accounts.setdefault(ev.account_id, len(self.accounts))
            t[k] = ev.timestamp
            otype[k] = _TYPE_CODE[ev.object_type]
            if ev.object_type is ObjectType.TEXT:
                kid = self.texts.add(ev.text or ev.object_id)
                obj[k] = NO_OBJECT if kid is None else _PENDING_TEXT
                tkey[k] = -1 if kid is None else kid
                kids.append(-1 if kid is None else kid)
                continue
            obj[k] = self.objects.setdefault((ev.object_type, object_key(ev)), len(self.objects))
        self.text_kids.append(np.asarray(kids, dtype=np.int32))
        r = np.arange(self.rows, self.rows + n, dtype=np.int64)
        self.rows += n
        return {"r": r, "acc": acc, "obj": obj, "tkey": tkey, "t": t, "otype": otype,
                "eid": np.array([ev.event_id for ev in events], dtype=object),
                "text": np.array([ev.text if ev.object_type is ObjectType.TEXT else None
                                  for ev in events], dtype=object)}

    def release_texts(self) -> int:
        """Free the text clustering's arrays once codes are assigned; returns the count of
        texts too short to match, the one figure still reported."""
        too_short = self.texts.too_short
        self.texts = TextClusterer(self.threshold, keep_samples=False)
        self.text_kids = []
        return too_short

    def text_codes(self) -> np.ndarray:
        """Object code per distinct text key (NO_OBJECT never occurs: too-short texts have no
        key), assigning new codes in the order each cluster first appears in the input."""
        roots = self.texts.roots()
        if not len(roots):
            return np.empty(0, dtype=np.int32)
        kids = np.concatenate(self.text_kids) if self.text_kids else np.empty(0, np.int32)
        seq = roots[kids[kids >= 0]]
        uniq, first = np.unique(seq, return_index=True)
        code_of_root = {}
        for root in uniq[np.argsort(first, kind="stable")].tolist():
            code_of_root[root] = self.objects.setdefault(
                (ObjectType.TEXT, self.texts.label(root)), len(self.objects))
        return np.array([code_of_root.get(int(r), NO_OBJECT) for r in roots], dtype=np.int32)


class OutOfCore:
    """One detection run on DuckDB. Feed events with `add` (any number of chunks), then call
    `run`. The database lives in `workdir` (a temporary directory by default) and is removed
    with it."""

    def __init__(self, params: DetectionParams = DetectionParams(), *,
                 workdir: str | Path | None = None, memory_limit: str | None = None,
                 threads: int | None = None) -> None:
        import duckdb

        self.params = params
        self._tmp = tempfile.TemporaryDirectory(prefix="tidebreak-coord-",
                                                dir=str(workdir) if workdir else None)
        path = Path(self._tmp.name)
        self.con = duckdb.connect(str(path / "coord.duckdb"))
        self.con.execute(f"SET temp_directory = '{path / 'spill'}'")
        self.con.execute(f"SET memory_limit = '{memory_limit or _default_memory_limit()}'")
        self.con.execute(f"SET threads = {int(threads or os.cpu_count() or 1)}")
        self.con.execute("SET preserve_insertion_order = false")
        self.con.execute("CREATE TABLE ev (r BIGINT, acc INTEGER, obj INTEGER, tkey INTEGER, "
                         "t DOUBLE, otype TINYINT, eid VARCHAR, text VARCHAR)")
        self.enc = _Encoder(params.text_threshold)

    def close(self) -> None:
        self.con.close()
        self._tmp.cleanup()

    def __enter__(self) -> OutOfCore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add(self, events: Sequence[CoordEvent]) -> None:
        if not events:
            return
        self.con.register("chunk", self.enc.chunk(events))
        self.con.execute("INSERT INTO ev SELECT r, acc, obj, tkey, t, otype, eid, text "
                         "FROM chunk")
        self.con.unregister("chunk")

    def run(self) -> DetectionResult:
        p, con = self.params, self.con
        if p.auto_window:
            raise ValueError("--auto-window needs the in-memory path (--engine memory)")
        scales, significance = p.scales()
        n_acc = len(self.enc.accounts)
        clock = _Stopwatch()
        codes = self.enc.text_codes()
        too_short = self.enc.release_texts()  # the clustering's arrays are no longer needed
        clock.lap("text_clusters")
        con.register("tk", {"tkey": np.arange(len(codes), dtype=np.int32), "code": codes})
        con.execute("UPDATE ev SET obj = tk.code FROM tk WHERE ev.tkey = tk.tkey "
                    "AND ev.obj = -2")
        con.unregister("tk")
        n_obj = len(self.enc.objects)
        events = con.execute("SELECT count(*) FROM ev").fetchall()[0][0]
        # co-actions are built only from objects within the crowd cap, at the widest window
        cap = p.max_object_accounts
        con.execute(f"""CREATE OR REPLACE TABLE viral AS SELECT obj, count(*) AS n FROM ev
                        WHERE obj >= 0 GROUP BY obj
                        HAVING {cap} > 0 AND count(DISTINCT acc) > {cap}""")
        viral = con.execute("SELECT count(*), coalesce(sum(n), 0) FROM viral").fetchall()[0]
        widest = max(scales)
        bucket = max(widest, 1.0)
        con.execute(f"""CREATE OR REPLACE TABLE pe AS
            SELECT r, acc, obj, t, CAST(floor(t / {bucket!r}) AS BIGINT) AS b FROM ev
            WHERE obj >= 0 AND obj NOT IN (SELECT obj FROM viral)""")
        # the in-memory order of a pair: by time, ties by row (a stable sort by (object, t))
        pair_cond = (f"a.acc <> o.acc AND (o.t > a.t OR (o.t = a.t AND o.r > a.r)) "
                     f"AND o.t - a.t <= {widest!r}")
        con.execute(f"""CREATE OR REPLACE TABLE pairs AS
            SELECT a.r AS i, o.r AS j, a.acc AS ai, o.acc AS aj, o.t - a.t AS gap
            FROM pe a JOIN pe o ON a.obj = o.obj AND o.b = a.b WHERE {pair_cond}
            UNION ALL
            SELECT a.r, o.r, a.acc, o.acc, o.t - a.t
            FROM pe a JOIN pe o ON a.obj = o.obj AND o.b = a.b + 1 WHERE {pair_cond}""")
        population = None
        if significance:  # the accounts each account could have met (see `significance`)
            got = con.execute("SELECT DISTINCT acc, obj FROM pe").fetchnumpy()
            population = populations(got["obj"], got["acc"], n_acc)
            del got
        con.execute("DROP TABLE pe")
        clock.lap("pairs")
        co_actions = con.execute("SELECT count(*) FROM pairs").fetchall()[0][0]
        activity = np.zeros(n_acc, dtype=np.int64)
        got = con.execute("SELECT acc, count(*) AS n FROM ev GROUP BY acc").fetchnumpy()
        activity[got["acc"]] = got["n"]
        all_on = np.zeros(n_obj, dtype=np.int64)
        got = con.execute("SELECT obj, count(*) AS n FROM ev WHERE obj >= 0 GROUP BY obj"
                          ).fetchnumpy()
        all_on[got["obj"]] = got["n"]

        candidates: list[DetectedGroup] = []
        per_scale: dict[str, dict[str, int]] = {}
        self._edge_counts(scales)
        clock.lap("edge_counts")
        for k, window in enumerate(scales):
            kept, n_edges = self._kept_edges(k, activity, n_acc, population)
            found, n_groups = self._groups(kept, window, all_on)
            candidates.extend(found)
            per_scale[f"{window:g}"] = {"edges": n_edges, "edges_kept": len(kept),
                                        "groups": n_groups}
            clock.lap(f"window_{window:g}")
        reported, below = _merge_scales(candidates, p.min_score)
        unmatchable = {"text_too_short": too_short} if too_short else {}
        stats = {"engine": "duckdb", "events": int(events), "accounts": n_acc,
                 "objects": n_obj, "unmatchable": unmatchable, "window_s": widest,
                 "windows_s": list(scales), "significance": significance,
                 "viral_objects": int(viral[0]), "viral_object_events": int(viral[1]),
                 "co_actions": int(co_actions),
                 "edges": sum(c["edges"] for c in per_scale.values()),
                 "edges_kept": sum(c["edges_kept"] for c in per_scale.values()),
                 "per_window": per_scale, "candidate_groups": len(candidates),
                 "groups_reported": len(reported), "detector_version": DETECTOR_VERSION,
                 "seconds": clock.laps}
        return DetectionResult(reported, below, widest, stats)

    def _edge_counts(self, scales: tuple[float, ...]) -> None:
        """Every window's counts in one pass over the pairs (the windows are nested): per
        account pair (a < b) and window k, ab_k / ba_k = the distinct events of a (of b) with an
        event of the other within the window (`edges.directed_weights`), n_k = the co-action
        pairs (the significance test's count). A directed event counts at window k when its
        closest partner event is within it, so each (src, dst, event) keeps only its smallest
        gap."""
        inner, outer = [], []
        for k, w in enumerate(scales):
            inner.append(f"count(*) FILTER (WHERE side AND gap <= {float(w)!r}) AS p{k}")
            outer += [f"count(*) FILTER (WHERE src < dst AND g <= {float(w)!r}) AS ab{k}",
                      f"count(*) FILTER (WHERE src > dst AND g <= {float(w)!r}) AS ba{k}",
                      f"CAST(sum(p{k}) AS BIGINT) AS n{k}"]
        self.con.execute(f"""CREATE OR REPLACE TABLE und AS
            SELECT least(src, dst) AS a, greatest(src, dst) AS b, {', '.join(outer)} FROM (
              SELECT src, dst, min(gap) AS g, {', '.join(inner)} FROM (
                SELECT ai AS src, aj AS dst, i AS ev, gap, true AS side FROM pairs
                UNION ALL SELECT aj, ai, j, gap, false FROM pairs)
              GROUP BY src, dst, ev)
            GROUP BY 1, 2""")

    def _kept_edges(self, k: int, activity: np.ndarray, n_acc: int,
                    population: np.ndarray | None) -> tuple[EdgeTable, int]:
        """Window k's edges that pass the filters, ordered as `edges.directed_weights`
        orders them (by account pair), so grouping sees the same graph in the same order."""
        p, con = self.params, self.con
        on = f"n{k} > 0"
        n_edges = con.execute(f"SELECT count(*) FROM und WHERE {on}").fetchall()[0][0]
        weight = f"least(ab{k}, ba{k})"
        cond = [on, f"{weight} >= {int(p.min_weight)}"]
        if p.percentile > 0 and n_edges:
            q = con.execute(f"SELECT quantile_cont({weight}, {p.percentile!r}) "
                            f"FROM und WHERE {on}").fetchall()[0][0]
            cond.append(f"{weight} >= {float(q)!r}")
        got = con.execute(f"SELECT a, b, ab{k} AS w_ab, ba{k} AS w_ba, n{k} AS n FROM und "
                          f"WHERE {' AND '.join(cond)} ORDER BY a, b").fetchnumpy()
        a = got["a"].astype(np.int64)
        b = got["b"].astype(np.int64)
        w_ab, w_ba = got["w_ab"].astype(np.int64), got["w_ba"].astype(np.int64)
        assoc = np.minimum(w_ab, w_ba) / np.sqrt(activity[a].astype(np.float64) * activity[b])
        keep = assoc >= p.min_association
        edges = EdgeTable(a[keep], b[keep], w_ab[keep], w_ba[keep], assoc[keep])
        n_ab = got["n"].astype(np.int64)[keep]
        if population is not None and len(edges):
            deg = np.zeros(n_acc, dtype=np.int64)
            got = con.execute(f"""SELECT acc, CAST(sum(n) AS BIGINT) AS d FROM (
                SELECT a AS acc, n{k} AS n FROM und WHERE {on}
                UNION ALL SELECT b, n{k} FROM und WHERE {on}) GROUP BY acc""").fetchnumpy()
            deg[got["acc"]] = got["d"]
            if int(deg.sum()) // 2 >= MIN_NULL_PAIRS:
                lam = null_lambda(deg, population, edges.a, edges.b)
                edges = edges.subset(upper_tail(n_ab, lam) < p.alpha)
        return edges, int(n_edges)

    def _groups(self, kept: EdgeTable, window: float,
                all_on: np.ndarray) -> tuple[list[DetectedGroup], int]:
        """Groups and evidence on a small table: every event of the accounts on kept edges."""
        if not len(kept):
            return [], 0
        con = self.con
        members = np.unique(np.concatenate([kept.a, kept.b])).astype(np.int32)
        con.register("m", {"acc": members})
        rows = con.execute("""SELECT r, acc, obj, t, otype, eid FROM ev
                              WHERE acc IN (SELECT acc FROM m) ORDER BY r""").fetchnumpy()
        con.execute("CREATE OR REPLACE TEMP TABLE mrows AS SELECT r FROM ev "
                    "WHERE acc IN (SELECT acc FROM m)")
        con.unregister("m")
        pr = con.execute(f"""SELECT i, j FROM pairs WHERE gap <= {float(window)!r}
                             AND i IN (SELECT r FROM mrows)
                             AND j IN (SELECT r FROM mrows)""").fetchnumpy()
        r = rows["r"]
        i = np.searchsorted(r, pr["i"])
        j = np.searchsorted(r, pr["j"])
        table = self._small_table(rows)
        return describe_groups(table, kept, i, j, window, self.params, all_on)

    def _small_table(self, rows: dict[str, np.ndarray]) -> EventTable:
        accounts = list(self.enc.accounts)
        objects = list(self.enc.objects)
        events = [CoordEvent(str(e), "", _TYPES[int(o)], "", "", 0.0)
                  for e, o in zip(rows["eid"].tolist(), rows["otype"].tolist())]
        samples = self._text_samples(np.unique(rows["obj"][rows["obj"] >= 0]), objects)
        return EventTable(events, rows["acc"].astype(np.int32), rows["obj"].astype(np.int32),
                          rows["t"].astype(np.float64), accounts, objects, samples)

    def _text_samples(self, codes: np.ndarray, objects: list[tuple[ObjectType, str]]
                      ) -> dict[str, str]:
        """The first original text of each text cluster among `codes` (its root key's first
        occurrence), as the in-memory clusterer keeps it."""
        wanted = [int(c) for c in codes.tolist() if objects[int(c)][0] is ObjectType.TEXT]
        if not wanted:
            return {}
        self.con.register("wc", {"obj": np.array(wanted, dtype=np.int32)})
        got = self.con.execute("""SELECT obj, arg_min(text, r) FROM ev
                                  WHERE obj IN (SELECT obj FROM wc) GROUP BY obj""").fetchall()
        self.con.unregister("wc")
        return {objects[int(o)][1]: str(text) for o, text in got}


class _Stopwatch:
    """Seconds per stage, for the stats (and bench/ and docs/coordination-scale.md)."""

    def __init__(self) -> None:
        import time

        self._now = time.perf_counter
        self._last = self._now()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = self._now()
        self.laps[name] = round(now - self._last, 2)
        self._last = now


def _default_memory_limit() -> str:
    """A quarter of the machine's memory for DuckDB, at most 4 GB: its buffer pool keeps the
    event table's pages cached up to the limit, and the Python side (codes, duplicate check,
    text keys) needs the rest; past the limit DuckDB evicts and spills to disk."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = 8 << 30
    return f"{max(1, min(4, total // 4 // (1 << 30)))}GB"


def detect_stream(chunks: Iterable[Sequence[CoordEvent]],
                  params: DetectionParams = DetectionParams(), **kw: Any) -> DetectionResult:
    """Out-of-core detection over chunks of validated events."""
    with OutOfCore(params, **kw) as ooc:
        for chunk in chunks:
            ooc.add(chunk)
        return ooc.run()


def read_chunks(stream: IO[bytes], fmt: str, reader: EventReader,
                size: int = CHUNK) -> Iterator[list[CoordEvent]]:
    """Validated events of a JSONL or CSV stream in chunks, with `reader` keeping the report.
    Duplicate event ids are caught by the reader's id index (ids only, not the events)."""
    from tidebreak.coordination.events import _csv_records, _json_records

    records = _csv_records(stream) if fmt == "csv" else _json_records(stream)
    chunk: list[CoordEvent] = []
    for n, rec in records:
        ev = reader.take(n, rec)
        if ev is not None:
            chunk.append(ev)
            if len(chunk) >= size:
                yield chunk
                chunk = []
    if chunk:
        yield chunk
    reader.forget()  # the stream is over: no more duplicates to check, free the id index


def detect_stored(session: Any, tenant: str, since_ts: float,
                  params: DetectionParams = DetectionParams()) -> list[DetectedGroup]:
    """Out-of-core detection over the store's co-actions (the sweep above its size limit),
    read in time order, chunk by chunk."""
    from tidebreak.coordination.live import iter_coaction_chunks

    return detect_stream(iter_coaction_chunks(session, tenant, since_ts, CHUNK), params).groups
