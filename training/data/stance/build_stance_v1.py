"""Build stance_v1.jsonl from the hand-written chunks in src/.

Chunk format: a header line "## <claim_id>" (fc-* ids take their claim text
from src/tidebreak/data/factchecks.jsonl) or "## own-NN | <claim text>",
followed by one post per line, prefixed with a code:
  r = repeats, R = repeats (hard), f = refutes, F = refutes (hard),
  o = other,   O = other (hard: neutral report / genuine question restating the claim).
All texts are written by us and released under CC0.
"""
import collections, glob, json, os, re, sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
FC = os.path.join(ROOT, "src", "tidebreak", "data", "factchecks.jsonl")
OUT = os.path.join(HERE, "stance_v1.jsonl")
CODES = {"r": ("repeats", False), "R": ("repeats", True), "f": ("refutes", False),
         "F": ("refutes", True), "o": ("other", False), "O": ("other", True)}

fc = {}
for line in open(FC, encoding="utf-8"):
    d = json.loads(line)
    fc[d["identifier"]] = d["claimReviewed"]

claims, rows, cur = {}, [], None
for path in sorted(glob.glob(os.path.join(HERE, "src", "*.txt"))):
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        line = line.rstrip("\n")
        if not line.strip():
            continue
        if line.startswith("## "):
            head = line[3:].strip()
            if "|" in head:
                cid, text = (x.strip() for x in head.split("|", 1))
                assert claims.get(cid, text) == text, (path, n)
                claims[cid] = text
            else:
                cid = head
                if cid.startswith("fc-"):
                    claims[cid] = fc[cid]
                assert cid in claims, (path, n, cid)
            cur = cid
            continue
        code, text = line[:1], line[2:].strip()
        assert code in CODES and line[1] == " " and cur, (path, n, line)
        stance, hard = CODES[code]
        rows.append({"claim_id": cur, "claim": claims[cur], "text": text,
                     "stance": stance, "hard": hard})

with open(OUT, "w", encoding="utf-8") as f:
    for r in rows:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")

# validate the written file
seen, errs = set(), []
data = [json.loads(l) for l in open(OUT, encoding="utf-8")]
for i, d in enumerate(data):
    if set(d) != {"claim_id", "claim", "text", "stance", "hard"}: errs.append((i, "keys"))
    if d["stance"] not in ("repeats", "refutes", "other"): errs.append((i, "stance"))
    if not isinstance(d["hard"], bool): errs.append((i, "hard"))
    key = re.sub(r"\W+", " ", d["text"].lower()).strip()
    if key in seen: errs.append((i, "dup: " + d["text"]))
    seen.add(key)
    nw = len(d["text"].split())
    if not 4 <= nw <= 60: errs.append((i, f"len {nw}: " + d["text"]))
if errs:
    print("\n".join(map(str, errs))); sys.exit(1)
print("rows", len(data), "claims", len({d["claim_id"] for d in data}),
      "fc", len({d["claim_id"] for d in data if d["claim_id"].startswith("fc-")}),
      "own", len({d["claim_id"] for d in data if d["claim_id"].startswith("own-")}))
c = collections.Counter(d["stance"] for d in data)
print("stance", {k: f"{v} ({v/len(data):.0%})" for k, v in c.items()})
print("hard", collections.Counter(d["hard"] for d in data))
print("stance x hard", collections.Counter((d["stance"], d["hard"]) for d in data))
per = collections.Counter(d["claim_id"] for d in data)
print("per-claim min/max", min(per.values()), max(per.values()))
