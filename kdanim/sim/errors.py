"""The error of a bad simulation parameter: below kdanim.sim.config and the datasets, which both raise it."""

__all__ = ["ConfigError"]


class ConfigError(ValueError):
    """A bad simulation parameter; `option` is the CLI option that carries it (e.g. "--tau")."""

    def __init__(self, option, message):
        super().__init__(f"{option}: {message}")
        self.option = option
        self.message = message
