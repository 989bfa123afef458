"""Derived facts about a run, read from its trace: the one place scenes and narration get them."""

from __future__ import annotations

__all__ = ["gap_recovered", "argmax", "top2", "probe_story", "probe_index", "fmt_pct", "fmt_int", "fmt_num"]


def argmax(probs) -> int:
    """Index of the largest probability (first one on ties)."""
    return max(range(len(probs)), key=lambda i: (probs[i], -i))


def top2(probs) -> tuple[int, int]:
    """Indices of the largest and second-largest probabilities."""
    order = sorted(range(len(probs)), key=lambda i: (-probs[i], i))
    return order[0], order[1]


def gap_recovered(trace: dict) -> float:
    """Share of the teacher–scratch accuracy gap that distillation closes (can be < 0 or > 1)."""
    s = trace["summary"]
    gap = s["teacher"]["test_accuracy"] - s["scratch"]["test_accuracy"]
    if abs(gap) < 1e-12:
        return 0.0
    return (s["distilled"]["test_accuracy"] - s["scratch"]["test_accuracy"]) / gap


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
