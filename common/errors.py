"""Domain errors: views turn them into a message on the page, the API into a JSON status."""


class InvalidValue(Exception):
    """A value that does not satisfy its config's schema; `errors` are [{path, message}]."""

    def __init__(self, errors: list[dict[str, str]]):
        self.errors = errors
        count = len(errors)
        super().__init__(f"The value has {count} problem{'s' if count != 1 else ''}.")


class ValueTooLarge(InvalidValue):
    """A value larger, serialized, than CONFIG_MAX_VALUE_BYTES (the API answers 413)."""

    def __init__(self, size: int, limit: int):
        self.size, self.limit = size, limit
        super().__init__(
            [
                {
                    "path": "",
                    "message": f"The value is {size:,} bytes as JSON; a config value may be at "
                    f"most {limit:,} bytes (CONFIG_MAX_VALUE_BYTES). Split it into several "
                    "configs, or keep large data elsewhere and refer to it.",
                }
            ]
        )
        Exception.__init__(self, self.errors[0]["message"])


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
