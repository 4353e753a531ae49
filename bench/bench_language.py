"""Language identification in front of the harm model: how often English is routed away, how
often other languages are caught, and what it costs per post.

    .venv/bin/python bench/bench_language.py [--n 1000] [--split test|dev] [--show 10]

English: posts from ../shared/data/hate (DynaHate, Gab Hate Corpus, Davidson tweets, Implicit
Hate), normalised as the pipeline does. `--split dev` reads DynaHate dev and GHC train (where the
cut-offs in tidebreak.text.language were chosen); `test` (the default) DynaHate test and GHC
test; Davidson and Implicit Hate have no split, so dev reads their first half and test their
second. Other languages: the sentences below (written for this benchmark: threats, slurs and
everyday chat in 30 languages, most of them under 12 words). Prints, per source, the share
marked not covered (for English: lost to the English model; for the rest: caught), the English
posts routed away, and microseconds per post.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
DATA = Path(os.environ.get("TIDEBREAK_DATA_DIR", ROOT.parent / "shared" / "data")) / "hate"

FOREIGN = [
    ("es", "Todos los inmigrantes son unos delincuentes y deberían largarse de nuestro país."),
    ("es", "Odio a esa gente, son basura y no merecen vivir aquí."),
    ("es", "Mañana vamos a la playa con mis primos, ¿vienes?"),
    ("es", "Los judíos controlan los medios y hay que echarlos"),
    ("es", "Ojalá se mueran todos esos maricones de mierda."),
    ("es", "jajaja qué risa me das, vete a la mierda"),
    ("de", "Alle Ausländer sind Verbrecher und sollten sofort abgeschoben werden."),
    ("de", "Ich hasse diese Leute, sie sind Abschaum."),
    ("de", "Heute Abend gehen wir ins Kino, kommst du mit?"),
    ("de", "Wir werden euch alle finden und umbringen."),
    ("de", "Geh zurück in dein Land, du dreckiger Kanake!"),
    ("de", "Was für ein Idiot, echt jetzt"),
    ("fr", "Tous ces migrants sont des parasites qui volent notre pays."),
    ("fr", "Je vais te retrouver et te casser la gueule, sale type."),
    ("fr", "On se retrouve au café demain matin ?"),
    ("fr", "Ces gens-là ne méritent aucun respect"),
    ("fr", "Les musulmans n'ont rien à faire en France, dehors !"),
    ("pt", "Esses imigrantes são todos ladrões e deviam voltar para a terra deles."),
    ("pt", "Vou te encontrar e te matar, seu desgraçado."),
    ("pt", "Hoje o jogo foi incrível, que golaço do Flamengo!"),
    ("pt", "kkkk que idiota, vai se ferrar"),
    ("it", "Questi stranieri sono tutti delinquenti, fuori dal nostro paese!"),
    ("it", "Domani andiamo al mare con gli amici."),
    ("nl", "Al die buitenlanders zijn tuig en moeten het land uit."),
    ("nl", "Ik ga morgen met de fiets naar mijn werk."),
    ("tr", "Bu göçmenlerin hepsi suçlu, ülkemizden defolup gitsinler."),
    ("tr", "Yarın akşam sinemaya gidelim mi?"),
    ("ru", "Все эти мигранты преступники, их надо выгнать из страны."),
    ("ru", "Я тебя найду и убью, урод."),
    ("ru", "Завтра идём в кино с друзьями."),
    ("uk", "Ми завтра йдемо до бабусі на обід."),
    ("pl", "Wszyscy imigranci to przestępcy i powinni wynosić się z naszego kraju."),
    ("pl", "Jutro idziemy do kina ze znajomymi."),
    ("ar", "كل هؤلاء المهاجرين مجرمون ويجب طردهم من بلادنا."),
    ("ar", "سأجدك وأقتلك يا حقير"),
    ("ar", "نذهب غدا إلى البحر مع الأصدقاء"),
    ("hi", "ये सब प्रवासी अपराधी हैं और इन्हें देश से बाहर निकाल देना चाहिए।"),
    ("hi", "मैं तुम्हें ढूंढकर मार दूंगा।"),
    ("hi", "कल हम दोस्तों के साथ फिल्म देखने जाएंगे।"),
    ("zh", "这些移民都是罪犯，应该把他们赶出我们的国家。"),
    ("zh", "我明天和朋友去看电影。"),
    ("zh", "你们这些垃圾都该死"),
    ("ja", "この移民たちはみんな犯罪者だ、国から追い出せ。"),
    ("ja", "明日友達と映画を見に行きます。"),
    ("ko", "이 이민자들은 모두 범죄자다, 우리나라에서 쫓아내야 한다."),
    ("id", "Semua imigran itu penjahat dan harus diusir dari negara kita."),
    ("id", "Besok kita pergi ke pantai bersama teman-teman."),
    ("vi", "Tất cả những người nhập cư này đều là tội phạm."),
    ("sv", "Alla invandrare är kriminella och borde kastas ut ur landet."),
    ("el", "Όλοι αυτοί οι μετανάστες είναι εγκληματίες και πρέπει να φύγουν."),
    ("fa", "همه این مهاجران جنایتکار هستند و باید از کشور بیرون شوند."),
    ("he", "כל המהגרים האלה פושעים וצריך לגרש אותם מהארץ."),
    ("ro", "Toți imigranții ăștia sunt infractori și trebuie dați afară din țară."),
    ("tl", "Ang mga dayuhan ay mga kriminal at dapat silang palayasin."),
    ("sw", "Wahamiaji hawa wote ni wahalifu na wanapaswa kufukuzwa."),
    ("bn", "এই সব অভিবাসী অপরাধী, তাদের দেশ থেকে বের করে দেওয়া উচিত।"),
    ("ur", "یہ سب مہاجر مجرم ہیں اور انہیں ملک سے نکال دینا چاہیے۔"),
    ("th", "ผู้อพยพเหล่านี้เป็นอาชญากรทั้งหมด"),
    ("es", "Qué asco de gente"),
    ("de", "Die sind alle dumm wie Brot"),
]


def _rows(path: Path, delimiter: str = ",") -> list[dict[str, str]]:
    if not path.exists():
        return []
    csv.field_size_limit(10**8)
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter=delimiter))


def english(split: str, n: int) -> dict[str, list[str]]:
    dyn = _rows(DATA / "dynahate" / "dynahate_v0.2.3_reconstructed.csv")
    ghc = _rows(DATA / "gab_hate_corpus" / ("ghc_test.tsv" if split == "test" else "ghc_train.tsv"),
                "\t")
    dav = _rows(DATA / "davidson" / "labeled_data.csv")
    imp = _rows(DATA / "implicit_hate" / "implicit_hate_v1_stg1_posts.tsv", "\t")
    half = (lambda xs: xs[len(xs) // 2:]) if split == "test" else (lambda xs: xs[: len(xs) // 2])
    sets = {
        "dynahate": [r["text"] for r in dyn if r["split"] == split],
        "gab": [r["text"] for r in ghc],
        "davidson": half([r["tweet"] for r in dav]),
        "implicit_hate": half([r["post"] for r in imp]),
    }
    rng = random.Random(0)
    out = {}
    for name, texts in sets.items():
        texts = [t for t in texts if t and t.strip()]
        rng.shuffle(texts)
        if texts:
            out[name] = texts[:n]
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000, help="English posts per source")
    ap.add_argument("--split", choices=("dev", "test"), default="test")
    ap.add_argument("--show", type=int, default=10, help="routed-away English posts to print")
    args = ap.parse_args()

    from tidebreak.text.language import _identifier, covered, detect_language
    from tidebreak.text.normalise import normalise

    t0 = time.perf_counter()
    _identifier()
    print(f"model load: {time.perf_counter() - t0:.2f} s")
    all_texts: list[str] = []
    for name, texts in english(args.split, args.n).items():
        norm = [normalise(t).text for t in texts]
        all_texts += norm
        guesses = [detect_language(t) for t in norm]
        away = [(g, t) for g, t in zip(guesses, norm) if not covered(g)]
        und = sum(1 for g in guesses if g.code == "und")
        print(f"{name:14s} n={len(norm):5d}  routed away {len(away):3d} "
              f"({len(away) / len(norm):.2%})  too short to tell {und / len(norm):.1%}")
        for g, t in away[: args.show]:
            print(f"    {g.code} {g.confidence:.3f} {t[:100]!r}")
    caught = [(lang, detect_language(t), t) for lang, t in FOREIGN]
    n_caught = sum(1 for _, g, _ in caught if not covered(g))
    print(f"{'other langs':14s} n={len(FOREIGN):5d}  caught {n_caught} ({n_caught / len(FOREIGN):.1%})")
    for lang, g, t in caught:
        if covered(g) or g.code != lang:
            print(f"    {lang} -> {g.code} {g.confidence:.3f} reliable={g.reliable} {t!r}")
    for _ in range(2):  # second pass timed
        t0, c0 = time.perf_counter(), time.process_time()
        for t in all_texts:
            detect_language(t)
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
    n = max(len(all_texts), 1)
    mean_len = sum(map(len, all_texts)) / n
    print(f"speed: {dt / n * 1e6:.0f} us/post wall, {dc / n * 1e6:.0f} us CPU, over {n} English "
          f"posts (mean {mean_len:.0f} chars)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
