"""Simulation parameters, architecture presets and their validation."""

import math
from dataclasses import asdict, dataclass, replace

from . import datasets
from .errors import ConfigError

__all__ = [
    "SimConfig", "ConfigError", "TEACHER_PRESETS", "STUDENT_PRESETS",
    "DEFAULT_TEACHER", "DEFAULT_STUDENT",
    "MAX_EPOCHS", "parse_widths", "resolve_hidden", "config_from_options",
]

# Named architectures mirroring the explorer page ("Small Teacher (3 layers) · Tiny Student (1 layer)").
# With 64 input features and 5 classes: small teacher 120,389 params, tiny student 7,985.
TEACHER_PRESETS = {
    "compact": (256, 256),            # 2 hidden layers, 83,717 params
    "small": (228, 228, 228),         # 3 hidden layers, 120,389 params (default)
    "large": (256, 256, 256, 256),    # 4 hidden layers, 215,301 params
}
STUDENT_PRESETS = {
    "tiny": (114,),                   # 1 hidden layer, 7,985 params (default)
    "small": (96, 64),                # 2 hidden layers, 12,773 params
}
DEFAULT_TEACHER = "small"
DEFAULT_STUDENT = "tiny"

MAX_EPOCHS = 10_000
MAX_WIDTH = 4096


@dataclass(frozen=True)
class SimConfig:
    """Every parameter of one simulation run; validated on construction."""

    tau: float = 3.0
    alpha: float = 0.5
    epochs: int = 100                 # student epochs
    seed: int = 0
    batch_size: int = 32
    learning_rate: float = 3e-3
    teacher_hidden: tuple = TEACHER_PRESETS[DEFAULT_TEACHER]
    student_hidden: tuple = STUDENT_PRESETS[DEFAULT_STUDENT]
    teacher_preset: str | None = DEFAULT_TEACHER
    student_preset: str | None = DEFAULT_STUDENT
    teacher_epochs: int = 10
    teacher_batch_size: int = 128
    dataset: str = datasets.DEFAULT   # a name in kdanim.sim.datasets; None below: the dataset's default
    n_train: int | None = None        # labelled examples the students see (rings: 100, 20 per class)
    teacher_n_train: int | None = None  # the teacher's larger pool (rings: 2000)
    n_transfer: int | None = None     # unlabelled pool inputs the students also see (the transfer set); None: all
    transfer_batch_size: int = 64     # transfer inputs paired with each labelled batch
    n_test: int | None = None         # rings: 1500
    n_features: int | None = None
    n_classes: int | None = None

    def __post_init__(self):
        try:
            source = datasets.get(self.dataset)
        except KeyError as e:
            raise ConfigError("--dataset", e.args[0]) from None
        for k, v in source.defaults.items():
            if getattr(self, k) is None:
                object.__setattr__(self, k, v)
        object.__setattr__(self, "teacher_hidden", tuple(int(w) for w in self.teacher_hidden))
        object.__setattr__(self, "student_hidden", tuple(int(w) for w in self.student_hidden))
        if self.n_transfer is None and isinstance(self.teacher_n_train, int) and isinstance(self.n_train, int):
            object.__setattr__(self, "n_transfer", self.teacher_n_train - self.n_train)  # the rest of the pool
        self.validate()

    def validate(self):
        if not (isinstance(self.tau, (int, float)) and math.isfinite(self.tau) and self.tau > 0):
            raise ConfigError("--tau", f"must be a finite number > 0, got {self.tau!r}")
        if not (isinstance(self.alpha, (int, float)) and 0.0 <= self.alpha <= 1.0):
            raise ConfigError("--alpha", f"must be in [0, 1], got {self.alpha!r}")
        _int_range("--epochs", self.epochs, 1, MAX_EPOCHS)
        _int_range("--teacher-epochs", self.teacher_epochs, 1, MAX_EPOCHS)
        _int_range("--seed", self.seed, 0, 2**63 - 1)
        _int_range("--batch-size", self.batch_size, 1, 1_000_000)
        _int_range("--teacher-batch-size", self.teacher_batch_size, 1, 1_000_000)
        if not (isinstance(self.learning_rate, (int, float)) and math.isfinite(self.learning_rate)
                and self.learning_rate > 0):
            raise ConfigError("--learning-rate", f"must be a finite number > 0, got {self.learning_rate!r}")
        for option, widths in (("--teacher-hidden", self.teacher_hidden), ("--student-hidden", self.student_hidden)):
            if not widths:
                raise ConfigError(option, "needs at least one hidden layer")
            for w in widths:
                _int_range(option, w, 1, MAX_WIDTH)
        source = datasets.get(self.dataset)
        for option, k in (("--n-classes", "n_classes"), ("--n-features", "n_features")):
            if getattr(self, k) != source.defaults[k]:
                raise ConfigError(option, f"must be {source.defaults[k]} for the {self.dataset} dataset, "
                                          f"got {getattr(self, k)!r}")
        if self.n_train % self.n_classes:
            raise ConfigError("--n-train", f"must be a multiple of {self.n_classes}, got {self.n_train!r}")
        _int_range("--n-train", self.n_train, self.n_classes, 1_000_000)
        _int_range("--teacher-n-train", self.teacher_n_train, self.n_train, 1_000_000)
        _int_range("--n-transfer", self.n_transfer, 0, self.teacher_n_train - self.n_train)
        _int_range("--transfer-batch-size", self.transfer_batch_size, 1, 1_000_000)
        _int_range("--n-test", self.n_test, self.n_classes, 1_000_000)
        _int_range("--n-features", self.n_features, 2, 4096)
        if source.check is not None:  # the dataset's own limits (e.g. how many images it has)
            source.check(self)

    def to_dict(self):
        d = asdict(self)
        d["teacher_hidden"] = list(self.teacher_hidden)
        d["student_hidden"] = list(self.student_hidden)
        return d

    @classmethod
    def from_dict(cls, d):
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})

    def replace(self, **changes):
        return replace(self, **changes)


def _int_range(option, value, lo, hi):
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(option, f"must be an integer, got {value!r}")
    if not lo <= value <= hi:
        raise ConfigError(option, f"must be between {lo} and {hi}, got {value}")


def parse_widths(text, option):
    """'256,256,128' -> (256, 256, 128); ConfigError naming `option` for anything else."""
    parts = [p.strip() for p in str(text).split(",")]
    if not parts or any(not p for p in parts):
        raise ConfigError(option, f"expected comma-separated positive integers like 256,128, got {text!r}")
    widths = []
    for p in parts:
        if not p.isdigit():
            raise ConfigError(option, f"widths must be positive integers, got {p!r}")
        w = int(p)
        if not 1 <= w <= MAX_WIDTH:
            raise ConfigError(option, f"widths must be between 1 and {MAX_WIDTH}, got {w}")
        widths.append(w)
    return tuple(widths)


def resolve_hidden(role, preset, hidden):
    """(preset name or None, hidden widths) for role "teacher"/"student" from a preset or explicit widths."""
    presets = TEACHER_PRESETS if role == "teacher" else STUDENT_PRESETS
    default = DEFAULT_TEACHER if role == "teacher" else DEFAULT_STUDENT
    if preset is not None and hidden is not None:
        raise ConfigError(f"--{role}", f"give either --{role} or --{role}-hidden, not both")
    if hidden is not None:
        widths = parse_widths(hidden, f"--{role}-hidden") if isinstance(hidden, str) else tuple(hidden)
        return None, widths
    name = default if preset is None else preset
    if name not in presets:
        raise ConfigError(f"--{role}", f"unknown preset {name!r}; choose from {', '.join(presets)}")
    return name, presets[name]


def config_from_options(**kw) -> "SimConfig":
    """SimConfig from the command line's simulator options (other keys are ignored).

    ``teacher``/``student`` are preset names and ``teacher_hidden``/``student_hidden`` widths (one of
    each at most); bad values raise ConfigError naming the option.
    """
    teacher_preset, teacher_hidden = resolve_hidden("teacher", kw.get("teacher"), kw.get("teacher_hidden"))
    student_preset, student_hidden = resolve_hidden("student", kw.get("student"), kw.get("student_hidden"))
    fields = {k: kw[k] for k in CLI_FIELDS if kw.get(k) is not None}
    return SimConfig(teacher_hidden=teacher_hidden, student_hidden=student_hidden,
                     teacher_preset=teacher_preset, student_preset=student_preset, **fields)


# ----------------------------------------------------------------------------- the command line

#: The fields `kdanim simulate` and `kdanim render` take as options of the same name
#: (the architectures come as --teacher/--student presets or --teacher-hidden/--student-hidden widths).
CLI_FIELDS = ("dataset", "tau", "alpha", "epochs", "seed")


def cli_args(config, always=("tau", "alpha")) -> list[str]:
    """The options that make `kdanim render` simulate ``config`` again, exactly (latency aside).

    Every option whose value differs from the default, plus those in ``always``:
    ``cli_args(SimConfig(seed=12, student_hidden=(64,), student_preset=None))``
    -> ``['--tau', '3', '--alpha', '0.5', '--seed', '12', '--student-hidden', '64']``.
    Fields that no option sets (batch size, data sizes) are not shown.
    """
    if isinstance(config, dict):
        config = SimConfig.from_dict(config)
    default = SimConfig()
    args = []
    for name in CLI_FIELDS:
        value = getattr(config, name)
        if name in always or value != getattr(default, name):
            text = repr(float(value)).removesuffix(".0") if isinstance(value, float) else str(value)
            args += [f"--{name.replace('_', '-')}", text]
    for role in ("teacher", "student"):
        preset, hidden = getattr(config, f"{role}_preset"), getattr(config, f"{role}_hidden")
        if preset is None:
            args += [f"--{role}-hidden", ",".join(str(w) for w in hidden)]
        elif preset != getattr(default, f"{role}_preset"):
            args += [f"--{role}", preset]
    return args
