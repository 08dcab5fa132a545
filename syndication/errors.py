"""One exception tree for the whole project.

    SyndicationError
    ├── ConfigError                 the operator's TOML is invalid (carries every Problem found)
    ├── DatabaseError
    │   └── DatabaseBehind          migrations are pending; run `syndication db upgrade`
    ├── FetchError                  one fetch failed; ``url`` is attached
    │   ├── FetchTimeout
    │   ├── FetchConnectError
    │   ├── HTTPStatusError         a 4xx/5xx answer (``status`` attached)
    │   ├── TooManyRedirects
    │   ├── BodyTooLarge            over the cap, counted after decompression
    │   └── AddressNotAllowed       the host resolves to an address the guard rejects
    ├── ParseError                  the bytes are not a feed we can read
    └── DeliveryError               a webhook POST failed (``status`` attached when there was an answer)

Failures of one source or one delivery are recorded as values on their rows; only unexpected errors
propagate out of a task.
"""

from __future__ import annotations

from dataclasses import dataclass


class SyndicationError(Exception):
    """Base of every error this project raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One problem in the operator's config, with where it is."""

    file: str
    where: str  # e.g. "sources[2]" or "channels[0] (id 'news')"
    key: str | None
    message: str

    def __str__(self) -> str:
        loc = self.where + (f".{self.key}" if self.key else "")
        return f"{self.file}: {loc}: {self.message}"


class ConfigError(SyndicationError):
    def __init__(self, problems: list[Problem] | str):
        if isinstance(problems, str):
            problems = [Problem(file="?", where="config", key=None, message=problems)]
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class DatabaseError(SyndicationError):
    pass


class DatabaseBehind(DatabaseError):
    pass


class FetchError(SyndicationError):
    def __init__(self, message: str, *, url: str | None = None, status: int | None = None):
        super().__init__(message)
        self.url = url
        self.status = status


class FetchTimeout(FetchError):
    pass


class FetchConnectError(FetchError):
    pass


class HTTPStatusError(FetchError):
    pass


class TooManyRedirects(FetchError):
    pass


class BodyTooLarge(FetchError):
    pass


class AddressNotAllowed(FetchError):
    pass


class ParseError(SyndicationError):
    pass


class DeliveryError(SyndicationError):
    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after  # seconds, from the answer's Retry-After header
