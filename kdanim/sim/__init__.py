"""The NumPy knowledge-distillation simulator: data, MLP, losses, training; results as plain data (kdanim.trace writes traces)."""

from .config import STUDENT_PRESETS, TEACHER_PRESETS, ConfigError, SimConfig
from .run import SimResult, simulate

__all__ = ["simulate", "SimResult", "SimConfig", "ConfigError", "TEACHER_PRESETS", "STUDENT_PRESETS"]
