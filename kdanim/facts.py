"""Derived facts about a run (or a sweep), read from its trace: the one place scenes and narration get them."""

from __future__ import annotations

import statistics

from kdanim.trace import MODELS

__all__ = ["lesson_title", "gap_recovered", "sweep_view", "sweep_cells", "sweep_findings", "argmax", "top2", "probe_story", "probe_index", "confused_pairs", "fmt_pct", "fmt_int",
           "fmt_num"]


def lesson_title(config: dict, space: str = " ") -> str:
    """The lesson's title: "Knowledge distillation, τ = 3, α = 0.5" (``space`` around "=", e.g. a no-break space)."""
    eq = f"{space}={space}"
    return f"Knowledge distillation, τ{eq}{config['tau']:g}, α{eq}{config['alpha']:g}"


def argmax(probs) -> int:
    """Index of the largest probability (first one on ties)."""
    return max(range(len(probs)), key=lambda i: (probs[i], -i))


def top2(probs) -> tuple[int, int]:
    """Indices of the largest and second-largest probabilities."""
    order = sorted(range(len(probs)), key=lambda i: (-probs[i], i))
    return order[0], order[1]


def probe_story(trace: dict, k: int) -> dict:
    """What happens to probe ``k`` at the end of training: predictions and probabilities."""
    p_t = trace["probes"]["teacher_probs"][k]
    p_s = trace["epochs"][-1]["probe_probs"][k]
    return {
        "label": trace["probes"]["labels"][k],
        "teacher_probs": p_t,
        "student_probs": p_s,
        "teacher_pred": argmax(p_t),
        "student_pred": argmax(p_s),
    }


def confused_pairs(trace: dict, n: int = 3) -> list[tuple[int, int, float]]:
    """The ``n`` class pairs the teacher finds most alike: ``(i, j, p)`` with i < j, most alike first.

    ``p`` is the mean of the teacher's soft probability of j on test examples of class i and of
    i on examples of j (``classes.teacher_similarity``, at the run's τ).
    """
    sim = trace["classes"]["teacher_similarity"]
    K = len(sim)
    pairs = [(i, j, (sim[i][j] + sim[j][i]) / 2) for i in range(K) for j in range(i + 1, K)]
    return sorted(pairs, key=lambda t: (-t[2], t[0], t[1]))[:n]


def probe_index(value, names) -> int:
    """The probe class named by ``value`` (a class name or an index; None = 0); ValueError naming the choices.

    The one parser of --probe-class and KDANIM_PROBE_CLASS.
    """
    names = list(names)
    if value is None or value == "":
        return 0
    if value in names:
        return names.index(value)
    if str(value).isdigit() and int(value) < len(names):
        return int(value)
    raise ValueError(f"{value!r} is not a class: choose one of {', '.join(names)} (or 0–{len(names) - 1}).")


def fmt_pct(x: float, places: int = 1) -> str:
    """On-screen percentage: 0.9134 -> '91.3%'."""
    return f"{100 * x:.{places}f}%"


def fmt_int(n: int) -> str:
    """On-screen count with thousands separators: 120448 -> '120,448'."""
    return f"{int(n):,}"


def fmt_num(x: float) -> str:
    """Short on-screen number: 3.0 -> '3', 0.5 -> '0.5', 2.25 -> '2.25'."""
    return f"{x:g}"


# ----------------------------------------------------------------------------- sweeps

def gap_recovered(summary: dict) -> float:
    """Share of the teacher–scratch accuracy gap the distilled student closes (0 when there is no gap)."""
    t, sc, d = (summary[m]["test_accuracy"] for m in MODELS)
    return 0.0 if abs(t - sc) < 1e-12 else (d - sc) / (t - sc)


def sweep_view(doc: dict) -> dict:
    """What the sweep chapter reads: the axes, the common settings and each run's three accuracies."""
    return {
        "axes": doc["axes"],
        "epochs": doc["base"].get("epochs"),
        "runs": [{"tau": r["tau"], "alpha": r["alpha"], "seed": r["seed"],
                  **{m: r["summary"][m]["test_accuracy"] for m in MODELS}} for r in doc["runs"]],
    }


def sweep_cells(view: dict) -> list[dict]:
    """One entry per (τ, α) in grid order: accuracies and gap recovered over seeds (mean, min, max).

    ``view`` is :func:`sweep_view` of a sweep document.
    """
    groups: dict[tuple, list] = {}
    for r in view["runs"]:
        groups.setdefault((r["tau"], r["alpha"]), []).append(r)
    out = []
    for (t, a), rs in groups.items():
        acc = [r["distilled"] for r in rs]
        gap = [gap_recovered({m: {"test_accuracy": r[m]} for m in MODELS}) for r in rs]
        out.append({"tau": t, "alpha": a, "n": len(rs),
                    "acc_mean": statistics.fmean(acc), "acc_min": min(acc), "acc_max": max(acc),
                    "gap_mean": statistics.fmean(gap), "gap_min": min(gap), "gap_max": max(gap),
                    "teacher": statistics.fmean(r["teacher"] for r in rs),
                    "scratch": statistics.fmean(r["scratch"] for r in rs)})
    return out


def sweep_findings(view: dict) -> dict:
    """What the sweep chapter says: best and worst (τ, α) by mean gap recovered, each seed's best τ,
    and how much the seed moves a setting's accuracy (max − min over seeds)."""
    cs = sweep_cells(view)
    best = max(cs, key=lambda c: (c["gap_mean"], -c["tau"], -c["alpha"]))
    worst = min(cs, key=lambda c: (c["gap_mean"], c["tau"], c["alpha"]))
    per_seed = {}
    for r in view["runs"]:
        b = per_seed.get(r["seed"])
        if b is None or r["distilled"] > b["distilled"]:
            per_seed[r["seed"]] = r
    spreads = [c["acc_max"] - c["acc_min"] for c in cs]
    means = [c["acc_mean"] for c in cs]
    return {"cells": cs, "best": best, "worst": worst,
            "best_tau_by_seed": {s: r["tau"] for s, r in sorted(per_seed.items())},
            "seed_spread_max": max(spreads), "seed_spread_mean": statistics.fmean(spreads),
            "setting_range": max(means) - min(means)}
