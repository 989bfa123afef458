"""The NumPy knowledge-distillation simulator: data, MLP, losses, training, and the trace it records."""

from .config import STUDENT_PRESETS, TEACHER_PRESETS, ConfigError, SimConfig
from .run import simulate

__all__ = ["simulate", "SimConfig", "ConfigError", "TEACHER_PRESETS", "STUDENT_PRESETS"]
