"""kdanim: a real knowledge-distillation experiment, rendered as a narrated lesson."""

__version__ = "0.1.0"
