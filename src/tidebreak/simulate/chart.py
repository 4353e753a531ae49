"""The simulator's PNG chart: views by kind with tidebreak off and on, and violating views
accumulating over time."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers and in CI
import matplotlib.pyplot as plt  # noqa: E402

from tidebreak.simulate.run import SimResult  # noqa: E402


def write_chart(res: SimResult, path: Path) -> None:
    f = res.figures
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=110)
    kinds = ["violating", "benign"]
    off = [f["violating_views_off"], f["benign_views_off"]]
    on = [f["violating_views_on"], f["benign_views_on"]]
    xs = range(len(kinds))
    left.bar([x - 0.2 for x in xs], off, width=0.4, label="tidebreak off", color="#b0b0b0")
    left.bar([x + 0.2 for x in xs], on, width=0.4, label="tidebreak on", color="#1f6f8b")
    left.set_xticks(list(xs), kinds)
    left.set_ylabel("views")
    left.set_title(f"prevented {f['prevented_share']:.1%} of violating views,\n"
                   f"lost {f['collateral_share']:.2%} of benign views")
    left.legend()
    hours = [t / 4 for t in range(len(res.series["violating_views_off"]))]
    right.plot(hours, res.series["violating_views_off"], label="tidebreak off", color="#b0b0b0")
    right.plot(hours, res.series["violating_views_on"], label="tidebreak on", color="#1f6f8b")
    right.set_xlabel("hours")
    right.set_ylabel("cumulative views of violating content")
    right.set_title(f"seed {f['seed']}: {f['users']} accounts, {f['posts']} posts")
    right.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
