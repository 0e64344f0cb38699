"""The one exception type the library raises for documents it cannot process."""

from __future__ import annotations

from typing import Final, Literal

ErrorCode = Literal[
    "UNSUPPORTED_TYPE",
    "UNREADABLE_PDF",
    "ENCRYPTED_PDF",
    "TOO_MANY_PAGES",
    "EMPTY_DOCUMENT",
    "INVALID_PAGES",
]

ERROR_CODES: Final[frozenset[str]] = frozenset(
    {
        "UNSUPPORTED_TYPE",
        "UNREADABLE_PDF",
        "ENCRYPTED_PDF",
        "TOO_MANY_PAGES",
        "EMPTY_DOCUMENT",
        "INVALID_PAGES",
    }
)


class ExtractError(Exception):
    """A document-level failure with a stable machine-readable ``code``.

    Callers map ``code`` to a failed extraction; ``message`` is safe to show to the user.
    """

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code: str = code
        self.message = message

    def __repr__(self) -> str:
        return f"ExtractError({self.code!r}, {self.message!r})"

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}
