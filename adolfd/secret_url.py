"""Service URLs that carry a password (PostgreSQL, Redis) as a secret type, and settings errors without values.

`str()` and `repr()` of a `SecretUrl` mask the password, so the URL can sit in a log line, a traceback's
arguments or a pydantic error without leaking it; `get_secret_value()` is the URL for the driver. A password
with a reserved character (`/`, `#`, `@`, `?`, `:`) must be percent-encoded; an URL that is not is refused at
start-up with a message naming the field, never the value — the drivers' own parse errors would print a piece of
the password in a traceback on every restart.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated
from urllib.parse import unquote, urlsplit

from pydantic import AfterValidator, SecretStr, ValidationError

# scheme://user:PASSWORD@ — up to the last "@", so an unencoded "/" or "#" in the password is masked too
_USERINFO_PASSWORD = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://[^:/@]*:)(.*)@", re.DOTALL)
ENCODING_HINT = "percent-encode reserved characters in the password: / %2F, # %23, @ %40, ? %3F, : %3A, % %25"


def masked(url: str) -> str:
    """The URL with its password replaced by `***` (whatever the password holds)."""
    return _USERINFO_PASSWORD.sub(r"\1***@", url)


class SecretUrl(SecretStr):
    """A URL whose password never prints; everything else of it does (host, port, database) for diagnostics."""

    def _display(self) -> str:   # SecretStr shows only stars; the host and database help operators
        return masked(self.get_secret_value())

    @property
    def password(self) -> str | None:
        raw = urlsplit(self.get_secret_value()).password
        return None if raw is None else unquote(raw)

    @property
    def username(self) -> str | None:
        raw = urlsplit(self.get_secret_value()).username
        return None if raw is None else unquote(raw)


def _checked(schemes: tuple[str, ...], *, numeric_path: bool = False) -> Callable[[SecretUrl], SecretUrl]:
    def check(url: SecretUrl) -> SecretUrl:
        parts = urlsplit(url.get_secret_value())
        if parts.scheme not in schemes:
            raise ValueError(f"the URL's scheme must be one of {', '.join(schemes)}")
        if parts.fragment or "@" in parts.path + parts.query or "#" in url.get_secret_value():
            raise ValueError(f"the URL does not parse; {ENCODING_HINT}")
        if parts.scheme == "redis+sentinel":     # several host:port pairs and /MASTER[/DB]: parsed at connect
            return url
        try:
            parts.port  # noqa: B018 — a password's unencoded "/" leaves the port as the password's start
        except ValueError:
            raise ValueError(f"the URL's port is not a number; {ENCODING_HINT}") from None
        if numeric_path and parts.scheme != "unix" and parts.path.strip("/") and not parts.path.strip("/").isdigit():
            raise ValueError(f"the Redis database must be a number; {ENCODING_HINT}")
        return url

    return check


DatabaseUrl = Annotated[SecretUrl, AfterValidator(_checked(("postgresql", "postgres")))]
RedisUrl = Annotated[SecretUrl, AfterValidator(_checked(("redis", "rediss", "unix", "redis+sentinel"),
                                                       numeric_path=True))]


def describe_validation_error(exc: ValidationError, env_prefix: str = "ADOLFD_") -> str:
    """A settings error as the operator can act on it: the variable and what is wrong, never the value given
    (pydantic's own text prints `input_value=`, which may be a token set under a misspelt name)."""
    lines = []
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        where = "__".join(str(part) for part in error["loc"]).upper()
        lines.append(f"{env_prefix}{where}: {error['msg']}")
    return "; ".join(lines)
