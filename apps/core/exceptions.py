"""Errors every app builds on.

A service refuses an operation by raising a :class:`FincoreError` subclass defined next to
it. Each subclass names a stable ``code`` (merchants branch on it), a short ``title`` and
the HTTP status the API answers with; the API's exception handler turns it into RFC 9457
problem details. Subclasses register themselves, so the catalogue of codes served at
``/api/v1/problems/`` is always complete.
"""

from typing import Any, ClassVar


class FincoreError(Exception):
    """An operation was refused; nothing was changed."""

    code: ClassVar[str] = "error"
    title: ClassVar[str] = "The request was refused"
    status: ClassVar[int] = 400
    # Seconds after which a retry may succeed, sent as Retry-After (for a conflict that passes).
    retry_after: ClassVar[int | None] = None
    catalogue: ClassVar[dict[str, type["FincoreError"]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        registered = FincoreError.catalogue.get(cls.code)
        # The same class seen twice (a module re-imported) is fine; two classes are not.
        if registered is not None and registered.__qualname__ != cls.__qualname__:
            raise TypeError(f"problem code {cls.code!r} is already used by {registered!r}")
        FincoreError.catalogue[cls.code] = cls

    def __init__(self, detail: str | None = None, **extensions: Any) -> None:
        self.detail = detail or self.title
        self.extensions = extensions
        super().__init__(self.detail)


class TransientError(Exception):
    """A failure worth retrying: a timeout, an outage, a lock that could not be taken."""
