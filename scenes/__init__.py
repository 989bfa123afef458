"""The lesson's chapters, one per file, in the order they are played."""

from kdanim.scenes.ch01_title import TitleAndIdea
from kdanim.scenes.ch02_task import TheTask
from kdanim.scenes.ch03_networks import TeacherAndStudent
from kdanim.scenes.ch04_soft_labels import SoftLabels
from kdanim.scenes.ch05_loss import DistillationLoss
from kdanim.scenes.ch06_training import Training
from kdanim.scenes.ch07_kl import KLDivergence
from kdanim.scenes.ch08_results import CompressionResults
from kdanim.scenes.ch11_choosing import ChoosingTauAlpha
from kdanim.scenes.ch09_prediction import APrediction
from kdanim.scenes.ch10_summary import Summary

SCENES_IN_ORDER = [
    TitleAndIdea,
    TheTask,
    TeacherAndStudent,
    SoftLabels,
    DistillationLoss,
    Training,
    KLDivergence,
    CompressionResults,
    APrediction,
    Summary,
]

#: Chapters played only when a sweep is given (`kdanim render --sweep`), each after chapter ``after``.
SWEEP_SCENES = [ChoosingTauAlpha]


def lesson_order(with_sweep: bool = False) -> list:
    """The chapters in the order they are played, with the sweep chapters when ``with_sweep``."""
    order = list(SCENES_IN_ORDER)
    for c in SWEEP_SCENES if with_sweep else ():
        order.insert(next(i for i, s in enumerate(order) if s.number == c.after) + 1, c)
    return order


__all__ = ["SCENES_IN_ORDER", "SWEEP_SCENES", "lesson_order"] + [c.__name__ for c in SCENES_IN_ORDER + SWEEP_SCENES]
