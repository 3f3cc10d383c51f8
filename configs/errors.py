"""Domain errors: views turn them into a message on the page, the API into a JSON status."""


class InvalidValue(Exception):
    """A value that does not satisfy its config's schema; `errors` are [{path, message}]."""

    def __init__(self, errors: list[dict[str, str]]):
        self.errors = errors
        count = len(errors)
        super().__init__(f"The value has {count} problem{'s' if count != 1 else ''}.")


class Conflict(Exception):
    """The config moved on since the change was based on it, or two changes collided."""


class RuleViolation(Exception):
    """A request the review rules refuse (too few approvals, effective time going backwards…)."""


class SchemaInUse(Exception):
    """A schema change that would make live values invalid; `problems` maps config → errors."""

    def __init__(self, problems: dict[str, list[dict[str, str]]]):
        self.problems = problems
        names = ", ".join(sorted(problems))
        super().__init__(f"This change would make the live value of {names} invalid.")
