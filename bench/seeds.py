"""Does distillation hold on every seed? Teacher, scratch and distilled test accuracy per seed (the README table).

Usage: python bench/seeds.py [--seeds 0-49] [--tau 3] [--alpha 0.5] [--set field=value ...] [--quiet]
Prints one row per seed, then mean, min and max of every column, and checks the README's claims:
distilled beats scratch on every seed, mean gap recovered >= 75% and no seed below 30%,
mean agreement with the teacher >= 0.95, student >= 10x smaller than the teacher.
Exit status 0 when every claim holds, 1 otherwise.
"""

import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from kdanim.sim import SimConfig, simulate  # noqa: E402

COLUMNS = ("teacher", "scratch", "distilled", "gain", "recovered", "agreement")


def seed_row(seed, **overrides):
    """Test accuracies, gain (distilled - scratch), share of the teacher-scratch gap recovered, agreement."""
    s = simulate(SimConfig(seed=seed, **overrides), measure_latency=False).summary
    t, sc, d = (s[m]["test_accuracy"] for m in ("teacher", "scratch", "distilled"))
    recovered = (d - sc) / (t - sc) if t > sc else float("nan")
    return {"seed": seed, "teacher": t, "scratch": sc, "distilled": d, "gain": d - sc, "recovered": recovered,
            "agreement": s["distilled"]["agreement"],
            "ratio": s["teacher"]["params"] / s["distilled"]["params"]}


def seed_range(text):
    """'0-49' -> range(0, 50); '12' -> range(12, 13)."""
    lo, _, hi = text.partition("-")
    return range(int(lo), int(hi or lo) + 1)


def override(text):
    """'n_transfer=500' -> ("n_transfer", 500); widths as '64,32'."""
    key, _, value = text.partition("=")
    if key not in SimConfig.__dataclass_fields__:
        raise argparse.ArgumentTypeError(f"unknown SimConfig field {key!r}")
    return key, tuple(int(w) for w in value.split(",")) if key.endswith("hidden") else type(getattr(SimConfig(), key))(value)


def fmt(col, v):
    if col == "gain":
        return f"{100 * v:+.1f} pt"
    if col == "agreement":
        return f"{v:.3f}"
    return f"{v:.1%}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=seed_range, default=seed_range("0-49"), help="a seed range like 0-49")
    ap.add_argument("--tau", type=float, default=SimConfig.tau)
    ap.add_argument("--alpha", type=float, default=SimConfig.alpha)
    ap.add_argument("--set", type=override, action="append", default=[], metavar="FIELD=VALUE",
                    help="any other SimConfig field, e.g. n_transfer=0 (repeatable)")
    ap.add_argument("--quiet", action="store_true", help="only the mean, min and max rows")
    args = ap.parse_args()
    rows = [seed_row(seed, tau=args.tau, alpha=args.alpha, **dict(args.set)) for seed in args.seeds]
    print("| seed | teacher | scratch | distilled | distilled − scratch | gap recovered | agreement |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in [] if args.quiet else rows:
        print(f"| {r['seed']} | " + " | ".join(fmt(c, r[c]) for c in COLUMNS) + " |")
    for name, fn in (("mean", statistics.fmean), ("min", min), ("max", max)):
        print(f"| **{name}** | " + " | ".join(fmt(c, fn(r[c] for r in rows)) for c in COLUMNS) + " |")
    print()
    wins = sum(r["distilled"] > r["scratch"] for r in rows)
    mean_rec = statistics.fmean(r["recovered"] for r in rows)
    min_rec = min(r["recovered"] for r in rows)
    mean_agree = statistics.fmean(r["agreement"] for r in rows)
    ratio = min(r["ratio"] for r in rows)
    claims = {
        f"distilled beats scratch on {wins}/{len(rows)} seeds": wins == len(rows),
        f"mean gap recovered {mean_rec:.0%} (≥ 75%)": mean_rec >= 0.75,
        f"lowest gap recovered {min_rec:.0%} (≥ 30%)": min_rec >= 0.30,
        f"mean agreement with the teacher {mean_agree:.3f} (≥ 0.95)": mean_agree >= 0.95,
        f"student {ratio:.1f}× smaller than the teacher (≥ 10×)": ratio >= 10,
    }
    for text, ok in claims.items():
        print(f"{'yes' if ok else 'NO '}  {text}")
    return 0 if all(claims.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
