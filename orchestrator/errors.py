"""Errors the CLI turns into one line on stderr and a non-zero exit code."""


class UsageError(Exception):
    """Bad input or a failed run, explained in one line; `code` is the exit status."""

    def __init__(self, message: str, code: int = 2):
        super().__init__(message)
        self.code = code
