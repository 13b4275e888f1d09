"""The one exception ``load_media`` may raise: a stable code plus a message a person can read."""

from __future__ import annotations

from serving.contract import ErrorCode


class IntakeError(Exception):
    """Why an input was refused. Also used as a value (the engine turns it into ``verdict: invalid``).

    ``args`` are ``(code, message)`` so it pickles across Ray process boundaries unchanged.
    """

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(ErrorCode(code), message)
        self.code: ErrorCode = ErrorCode(code)
        self.message: str = message

    def __str__(self) -> str:
        return f"{self.code.value}: {self.message}"

    def __repr__(self) -> str:
        return f"IntakeError({self.code.value!r}, {self.message!r})"

    def to_dict(self) -> dict[str, str]:
        """The ``error`` object of the result JSON."""
        return {"code": self.code.value, "message": self.message}
