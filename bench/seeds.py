"""Seeds 0-9 with the default settings: teacher, scratch and distilled test accuracy (the README table).

Usage: python bench/seeds.py [--seeds 10] [--markdown]
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from kdanim.sim import SimConfig, simulate  # noqa: E402


def seed_table(n_seeds=10, **overrides):
    """Rows (seed, teacher, scratch, distilled) of test accuracy, one per seed."""
    rows = []
    for seed in range(n_seeds):
        s = simulate(SimConfig(seed=seed, **overrides), measure_latency=False)["summary"]
        rows.append((seed, s["teacher"]["test_accuracy"], s["scratch"]["test_accuracy"],
                     s["distilled"]["test_accuracy"]))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    args = ap.parse_args()
    rows = seed_table(args.seeds)
    print("| seed | teacher | scratch | distilled | distilled − scratch |")
    print("|---:|---:|---:|---:|---:|")
    for seed, t, s, d in rows:
        print(f"| {seed} | {t:.1%} | {s:.1%} | {d:.1%} | {100 * (d - s):+.1f} pt |")
    n = len(rows)
    mt, ms, md = (sum(r[i] for r in rows) / n for i in (1, 2, 3))
    wins = sum(r[3] > r[2] for r in rows)
    gap = (md - ms) / (mt - ms) if mt > ms else float("nan")
    print(f"| mean | {mt:.1%} | {ms:.1%} | {md:.1%} | {100 * (md - ms):+.1f} pt |")
    print()
    print(f"distilled beats scratch on {wins}/{n} seeds; "
          f"gap recovered (mean distilled − scratch) / (teacher − scratch) = {gap:.0%}")
    ok = mt > md > ms and wins >= 0.8 * n and gap >= 0.4
    print("lesson holds: teacher > distilled > scratch, ≥ 8/10 wins, ≥ 40% of the gap:", "yes" if ok else "NO")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
