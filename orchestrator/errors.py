"""Errors the CLI turns into one line on stderr and a non-zero exit code."""


class UsageError(Exception):
    """Bad input (unknown space, bad flag, missing data, existing run), explained in one line; exit status 2."""

    code = 2


class RunFailed(Exception):
    """A run that started but did not finish every trial (exit 1), or was interrupted (exit 130)."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code
