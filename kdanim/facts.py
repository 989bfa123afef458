"""Derived facts about a run (or a sweep), read from its trace: the one place scenes and narration get them."""

from __future__ import annotations

import math
import statistics

from kdanim.trace import MODEL_LABELS, MODELS, content_hash

__all__ = ["lesson_title", "summary_table", "gap_recovered", "sweep_view", "sweep_cells", "sweep_findings", "argmax", "top2", "probe_story", "probe_index", "confused_pairs", "fmt_pct", "fmt_int",
           "fmt_num"]


def lesson_title(config: dict, space: str = " ") -> str:
    """The lesson's title: "Knowledge distillation, τ = 3, α = 0.5" (``space`` around "=", e.g. a no-break space)."""
    eq = f"{space}={space}"
    return f"Knowledge distillation, τ{eq}{config['tau']:g}, α{eq}{config['alpha']:g}"


def summary_table(trace: dict) -> str:
    """The run's summary as a readable table (what `kdanim simulate` prints)."""
    cfg, summary = trace["config"], trace["summary"]
    lines = [
        f"{cfg['dataset']} · τ = {cfg['tau']:g} · α = {cfg['alpha']:g} · {cfg['epochs']} epochs · seed {cfg['seed']} · "
        f"{cfg['n_train']} labelled + {cfg['n_transfer']} unlabelled examples (teacher: {cfg['teacher_n_train']}) · "
        f"{cfg['n_test']} test",
        "",
        f"{'model':<20}{'hidden':>14}{'params':>10}{'test acc':>10}{'agreement':>11}{'latency':>12}",
    ]
    for key in MODELS:
        s = summary[key]
        hidden = ",".join(str(w) for w in s["hidden"])
        lines.append(f"{MODEL_LABELS[key].lower():<20}{hidden:>14}{s['params']:>10,}{s['test_accuracy']:>10.1%}"
                     f"{s['agreement']:>11.1%}{s['latency_us']:>9.2f} µs")
    t, sc, d = (summary[k]["test_accuracy"] for k in MODELS)
    gap = f"{gap_recovered(summary):.0%} of the teacher–scratch gap" if t > sc else "no teacher–scratch gap"
    lines += ["", f"distillation: {100 * (d - sc):+.1f} points over scratch ({gap})"]
    return "\n".join(lines)


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


# ----------------------------------------------------------------------------- the named facts of a run

#: A difference of accuracies under this many points is "no difference" in the lesson's words.
LEVEL_POINTS = 1.0
#: Training this short (epochs) is "very short" in the lesson's words.
SHORT_EPOCHS = 10
#: Soft labels whose mean entropy is at least this share of the largest possible are "nearly uniform".
NEARLY_UNIFORM = 0.95
#: A student whose KL to the teacher on an example is at most this "follows the teacher's distribution".
CLOSE_KL = 0.05
#: A student whose probabilities (τ = 1) on an example are all within this many points of the teacher's
#: "follows the teacher's whole distribution" (what the bars of the prediction chapter show).
FOLLOW_POINTS = 5.0


def class_word(name: str) -> str:
    """A class as said and written in a sentence: "cat", or "digit 3" for a class named by a digit."""
    return f"digit {name}" if name.isdigit() else name


def run_facts(trace: dict, probe_class: int = 0, sweep: dict | None = None) -> dict:
    """Every named fact of a run that the lesson's words may use (see the script's header for the list).

    Plain values (numbers, strings, booleans, lists and dicts of them); accuracies and probabilities as
    fractions, differences as fractions too (``gain``) and in points (``gain_points``).
    """
    cfg = trace["config"]
    f = {
        "tau": cfg["tau"], "alpha": cfg["alpha"], "tau_sq": cfg["tau"] * cfg["tau"], "epochs": cfg["epochs"],
        "seed": cfg["seed"],
        "no_distillation": cfg["alpha"] == 0, "soft_only": cfg["alpha"] == 1,
        "sharpening": cfg["tau"] < 1, "tau_is_one": cfg["tau"] == 1, "softening": cfg["tau"] > 1,
        "short_training": cfg["epochs"] < SHORT_EPOCHS,
        **_data_facts(trace),
        **_model_facts(trace["summary"]),
        "probe": _probe_facts(trace, probe_class),
        "soft": _soft_facts(trace),
        "training": _training_facts(trace),
        "kl": _kl_facts(trace, probe_class),
        "pairs": [{"a": class_word(trace["classes"]["names"][i]), "b": class_word(trace["classes"]["names"][j]),
                   "a_name": trace["classes"]["names"][i], "b_name": trace["classes"]["names"][j],
                   "p": p} for i, j, p in confused_pairs(trace, 3)],
        "trace_hash": content_hash(trace)[:16],
    }
    f["training"]["half_fell"] = f["training"]["half"]["combined"] < f["training"]["first"]["combined"]
    if sweep is not None:
        f["sweep"] = sweep_facts(sweep)
    return f


def _data_facts(trace: dict) -> dict:
    cfg, ds = trace["config"], trace.get("dataset", {})
    names = trace["classes"]["names"]
    supers = trace["classes"].get("superclass") or []
    families = {}
    for name, fam in zip(names, supers):
        families.setdefault(fam, []).append(name)
    shape = ds.get("image_shape")
    return {
        "dataset": {"name": cfg["dataset"], "title": ds.get("title", cfg["dataset"]), "view": ds.get("view", ""),
                    "images": bool(shape), "height": shape[0] if shape else None,
                    "width": shape[1] if shape else None},
        "classes": list(names), "class_words": [class_word(n) for n in names], "n_classes": len(names),
        "families": [{"name": fam, "members": members} for fam, members in families.items()],
        "n_features": cfg["n_features"], "n_train": cfg["n_train"], "per_class": cfg["n_train"] // cfg["n_classes"],
        "n_transfer": cfg["n_transfer"], "teacher_n_train": cfg["teacher_n_train"], "n_test": cfg["n_test"],
    }


def _model_facts(summary: dict) -> dict:
    out = {m: {"acc": summary[m]["test_accuracy"], "params": summary[m]["params"],
               "layers": len(summary[m]["hidden"]), "hidden": list(summary[m]["hidden"]),
               "agreement": summary[m]["agreement"], "latency_us": summary[m]["latency_us"]} for m in MODELS}
    t, sc, d = out["teacher"], out["scratch"], out["distilled"]
    gain = d["acc"] - sc["acc"]
    gain_points = 100 * gain
    measured = t["latency_us"] > 0 and d["latency_us"] > 0
    return {
        **out,
        "gain": gain, "gain_points": gain_points,
        "helps": gain_points >= LEVEL_POINTS, "hurts": gain_points <= -LEVEL_POINTS,
        "level": abs(gain_points) < LEVEL_POINTS,
        "gap": t["acc"] - sc["acc"], "gap_points": 100 * (t["acc"] - sc["acc"]),
        "gap_share": gap_recovered(summary),
        "vs_teacher": d["acc"] - t["acc"], "vs_teacher_points": 100 * (d["acc"] - t["acc"]),
        "reaches_teacher": d["acc"] >= t["acc"],
        "size_ratio": t["params"] / d["params"],
        "latency_measured": measured,
        "speed_ratio": t["latency_us"] / d["latency_us"] if measured else None,
    }


def _probe_facts(trace: dict, k: int) -> dict:
    """The lesson's probe input: its class, and what the teacher (τ = 1 and τ) and the distilled student say."""
    names = trace["classes"]["names"]
    story = probe_story(trace, k)
    label, tp, sp = story["label"], story["teacher_pred"], story["student_pred"]
    p1, pt = story["teacher_probs"], trace["probes"]["teacher_probs_tau"][k]
    # the runner-up: the most probable class other than the true one (the top class when the teacher is wrong)
    second1, second_t = (max((i for i in range(len(p)) if i != label), key=lambda i: (p[i], -i)) for p in (p1, pt))
    return {
        "word": class_word(names[label]), "name": names[label],
        "teacher": {"word": class_word(names[tp]), "name": names[tp], "p": p1[tp], "right": tp == label},
        "student": {"word": class_word(names[sp]), "name": names[sp], "p": story["student_probs"][sp],
                    "right": sp == label},
        "agree": tp == sp,
        # the teacher at τ = 1 and at the run's τ: the true class and the runner-up
        "tau1": {"p": p1[label], "second": class_word(names[second1]), "p_second": p1[second1]},
        "soft": {"p": pt[label], "second": class_word(names[second_t]), "p_second": pt[second_t],
                 "p_of_tau1_second": pt[second1], "top_is_true": argmax(pt) == label},
        "kl": trace["summary"]["distilled"]["probe_kl"][k],
        # its whole distribution follows the teacher's (KL at the run's τ, per example)
        "close": trace["summary"]["distilled"]["probe_kl"][k] <= CLOSE_KL,
        # the largest difference between the two distributions at τ = 1 (as drawn), and whether every
        # probability is within FOLLOW_POINTS of the teacher's
        "max_diff": max(abs(a - b) for a, b in zip(p1, story["student_probs"])),
        "follows": max(abs(a - b) for a, b in zip(p1, story["student_probs"])) <= FOLLOW_POINTS / 100,
    }


def _soft_facts(trace: dict) -> dict:
    """How soft the teacher's labels are at the run's τ, over the test set: the mean probability it gives the
    true class, against the uniform 1/K, and the mean entropy as a share of the largest possible."""
    sim = trace["classes"]["teacher_similarity"]
    K = len(sim)
    top = statistics.fmean(sim[i][i] for i in range(K))
    entropy = statistics.fmean(-sum(p * math.log(p) for p in row if p > 0) for row in sim) / math.log(K)
    return {"true_p": top, "uniform": 1.0 / K, "entropy_share": entropy,
            "nearly_uniform": entropy >= NEARLY_UNIFORM}


def _training_facts(trace: dict) -> dict:
    rows = trace["epochs"]
    half = max(len(rows) // 2, 1)
    first, mid, last = rows[0], rows[half - 1], rows[-1]
    return {"first": {"combined": first["combined_loss"]},
            "half_epoch": half, "half": {"combined": mid["combined_loss"]},
            "last": {"hard": last["hard_loss"], "soft": last["soft_loss"], "combined": last["combined_loss"],
                     "acc": last["test_accuracy"]},
            "loss_fell": last["combined_loss"] < first["combined_loss"]}


def _kl(p, q) -> float:
    """KL(p ‖ q) of two distributions (terms where p is 0 count 0; q is floored to avoid log 0)."""
    return sum(pi * math.log(pi / max(qi, 1e-12)) for pi, qi in zip(p, q) if pi > 0)


def _kl_facts(trace: dict, k: int) -> dict:
    """KL(teacher ‖ student) over the epochs, and three stops (start, halfway, end) for the probe."""
    rows = trace["epochs"]
    n = len(rows)
    target = trace["probes"]["teacher_probs_tau"][k]
    stops, seen = [], set()
    for name, epoch in (("start", 1), ("middle", (n + 1) // 2), ("end", n)):
        if epoch not in seen:  # a short run has fewer distinct stops
            seen.add(epoch)
            stops.append(name)
    at = {name: epoch for name, epoch in (("start", 1), ("middle", (n + 1) // 2), ("end", n))}
    out = {"first": rows[0]["kl"], "last": rows[-1]["kl"], "fell": rows[-1]["kl"] < rows[0]["kl"], "stops": stops,
           "half_closer": rows[max(n // 2, 1) - 1]["kl"] < rows[0]["kl"],
           # the probe's own bars (at τ): closer to the teacher's halfway than after the first epoch
           "probe_half_closer": _kl(target, rows[max(n // 2, 1) - 1]["probe_probs_tau"][k])
                                < _kl(target, rows[0]["probe_probs_tau"][k])}
    for name in stops:
        row = rows[at[name] - 1]
        out[name] = {"epoch": at[name], "kl": row["kl"], "student_p": row["probe_probs_tau"][k][trace["probes"]["labels"][k]],
                     "teacher_p": target[trace["probes"]["labels"][k]]}
    return out


def _points_shown(x: float) -> float:
    """A difference of accuracies as the frame writes it, one decimal of a point (back as a fraction)."""
    return round(100 * x, 1) / 100


def sweep_facts(view: dict) -> dict:
    """The named facts of a sweep (its :func:`sweep_view`): the grid, the best and worst settings among those
    that distil (α > 0), ties as the frame rounds them, the α = 0 settings, and how much the seed moves.

    The seed's effect and the settings' spread are measured on the settings compared (those that distil;
    all of them when none does), rounded to the one decimal of a point the frame shows, and compared as
    shown. A seed's best τ is the τ of its best distilling run, all of them when runs at several τ tie.
    """
    cells = sweep_cells(view)
    axes = view["axes"]
    distilling = [c for c in cells if c["alpha"] > 0]
    compared = distilling or cells

    def setting(c):
        return {"tau": c["tau"], "alpha": c["alpha"], "gap": c["gap_mean"], "acc": c["acc_mean"]}

    def shown(c):  # the heatmap's label: whole percent
        return fmt_pct(c["gap_mean"], 0)

    spreads = [c["acc_max"] - c["acc_min"] for c in compared]
    means = [c["acc_mean"] for c in compared]
    spread_max, spread_mean = _points_shown(max(spreads)), _points_shown(statistics.fmean(spreads))
    setting_range = _points_shown(max(means) - min(means))
    out = {
        "n_runs": len(view["runs"]), "epochs": view["epochs"], "taus": list(axes["tau"]), "alphas": list(axes["alpha"]),
        "n_seeds": len(axes["seed"]), "n_settings": len(cells), "n_distilling": len(distilling),
        "n_compared": len(compared),
        "teacher": cells[0]["teacher"], "scratch": cells[0]["scratch"],
        # the share of the gap means something only where the teacher beats the student from scratch
        "gap_open": all(r["teacher"] > r["scratch"] for r in view["runs"]),
        "has_alpha0": any(c["alpha"] == 0 for c in cells), "all_alpha0": not distilling,
        # a cell below zero as shown: the distilled student did worse than from scratch (when there is a gap)
        "any_negative": any(c["gap_mean"] < 0 and shown(c) != "-0%" for c in distilling)
                        and all(r["teacher"] > r["scratch"] for r in view["runs"]),
        # as the frame shows them (one decimal of a point)
        "seed_spread_max": spread_max, "seed_spread_mean": spread_mean, "setting_range": setting_range,
    }
    per_seed: dict = {}
    for r in view["runs"]:
        if distilling and r["alpha"] == 0:
            continue
        top = per_seed.setdefault(r["seed"], [r["distilled"], set()])
        if r["distilled"] > top[0]:
            top[0], top[1] = r["distilled"], {r["tau"]}
        elif r["distilled"] == top[0]:
            top[1].add(r["tau"])
    by_seed = [sorted(taus) for _, (_, taus) in sorted(per_seed.items())]
    out["best_tau_by_seed"] = by_seed  # per seed, the τ of its best run (several when they tie)
    single = [t[0] for t in by_seed if len(t) == 1]
    out["best_taus"] = [{"tau": t, "seeds": single.count(t)} for t in sorted(set(single))]
    out["tied_seeds"] = len(by_seed) - len(single)
    ranked = False
    if distilling:
        best = max(distilling, key=lambda c: (c["gap_mean"], -c["tau"], -c["alpha"]))
        worst = min(distilling, key=lambda c: (c["gap_mean"], c["tau"], c["alpha"]))
        out["best"], out["worst"] = setting(best), setting(worst)
        out["best_ties"] = [setting(c) for c in distilling if c is not best and shown(c) == shown(best)]
        out["worst_ties"] = [setting(c) for c in distilling if c is not worst and shown(c) == shown(worst)]
        # the best setting recovers some of the gap, as the heatmap shows it (not 0% or below)
        out["best_helps"] = best["gap_mean"] > 0 and shown(best) != "0%"
        ranked = len(distilling) > 1 and shown(best) != shown(worst) and out["gap_open"]
    out["ranked"] = ranked
    out["choice_matters"] = setting_range > spread_mean
    out["seed_matters"] = spread_mean > setting_range
    return out
