"""The lesson's chapters, one per file, in the order they are played."""

from scenes.ch01_title import TitleAndIdea
from scenes.ch02_task import TheTask
from scenes.ch03_networks import TeacherAndStudent
from scenes.ch04_soft_labels import SoftLabels
from scenes.ch05_loss import DistillationLoss
from scenes.ch06_training import Training
from scenes.ch07_kl import KLDivergence
from scenes.ch08_results import CompressionResults
from scenes.ch09_prediction import APrediction
from scenes.ch10_summary import Summary

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

__all__ = ["SCENES_IN_ORDER"] + [c.__name__ for c in SCENES_IN_ORDER]
