"""Every environment variable minitestdb reads, read from a mapping in one place.

| variable | meaning |
| --- | --- |
| ``TEST_DATABASE_URL`` | use this existing server instead of a container |
| ``MINITESTDB_IMAGE`` | the image for new servers (default ``postgres:18``) |
| ``MINITESTDB_DOCKER`` | the docker-compatible CLI to run (default ``docker``; e.g. ``podman``) |
| ``MINITESTDB_SERVER`` | the shared server the test helpers use (default ``default``) |
| ``MINITESTDB_REQUIRED``, ``MINITESTDB_REQUIRE_DOCKER`` | ``1``: no Docker engine is an error in the test helpers, not a skip |
| ``MINITESTDB_KEEP_FAILED`` | how many failed tests' databases a server keeps (default 10); ``0`` (or ``no``) keeps none |
| ``MINITESTDB_DEBUG`` | ``1``: test reports show minitestdb's own tracebacks (a broken migration's, say) |
| ``MINITESTDB_HOST`` | the host to dial for servers instead of the engine's own (a NAT, a forwarded port; see ``_engine``) |
| ``MINITESTDB_SNAPSHOT`` | ``0`` (or ``no``): start new servers with initdb every time, never from a start-up snapshot (default: use one) |

:func:`read_env` takes any mapping, so every rule is tested without touching
``os.environ``; called with none, it reads ``os.environ`` at that moment.
"""

from __future__ import annotations

import os
from typing import Mapping

from ._container import DEFAULT_IMAGE
from ._errors import ConfigurationError

__all__ = ["DEFAULT_KEEP_FAILED", "REQUIRED_VARIABLES", "Environment", "parse_keep_failed", "read_env"]

#: How many failed tests' databases a server keeps at most (the newest) when nothing says otherwise.
DEFAULT_KEEP_FAILED = 10

#: Either of these set to 1 (or true/yes/on) turns the helpers' skip into an error.
REQUIRED_VARIABLES = ("MINITESTDB_REQUIRED", "MINITESTDB_REQUIRE_DOCKER")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def parse_keep_failed(text: str, where: str = "MINITESTDB_KEEP_FAILED") -> int | None:
    """How many failed tests' databases to keep, from *text*: a number (0: none), yes/on/true (the default), no/off/false (0); None when blank.

    >>> [parse_keep_failed(t) for t in ("", "0", "off", "3", " yes ", "25")]
    [None, 0, 0, 3, 10, 25]
    """
    value = text.strip().lower()
    if not value:
        return None
    if value.isdigit():
        return int(value)
    if value in _FALSE:
        return 0
    if value in _TRUE[1:]:
        return DEFAULT_KEEP_FAILED
    raise ConfigurationError(f"{where}={text.strip()!r} is not understood: give how many failed tests' databases to keep (0 keeps none), or yes/no.")


class Environment:
    """What minitestdb's environment variables say, with defaults applied.

    >>> env = read_env({"MINITESTDB_REQUIRE_DOCKER": "yes", "TEST_DATABASE_URL": " "})
    >>> env.required_by, env.test_database_url, env.server, env.docker
    ('MINITESTDB_REQUIRE_DOCKER', '', 'default', 'docker')
    """

    __slots__ = ("debug", "docker", "explicit_image", "host", "keep_failed_text", "required_by", "server", "snapshot", "test_database_url")

    def __init__(
        self, *, test_database_url: str, explicit_image: str, docker: str, server: str, required_by: str, keep_failed_text: str = "", debug: bool = False, host: str = "",
        snapshot: bool = True,
    ) -> None:
        #: ``TEST_DATABASE_URL`` (stripped; ``""`` when unset or blank).
        self.test_database_url = test_database_url
        #: ``MINITESTDB_IMAGE`` (``""`` when unset): an image the user asked for.
        self.explicit_image = explicit_image
        self.docker = docker
        self.server = server
        #: The variable that makes a missing engine an error, or ``""``.
        self.required_by = required_by
        #: ``MINITESTDB_KEEP_FAILED`` as given (``""`` when unset): read by :attr:`keep_failed`.
        self.keep_failed_text = keep_failed_text
        #: ``MINITESTDB_DEBUG`` set to 1 (or true/yes/on): test reports keep minitestdb's tracebacks.
        self.debug = debug
        #: ``MINITESTDB_HOST`` (stripped; ``""`` when unset): the host to dial instead of the engine's.
        self.host = host
        #: ``MINITESTDB_SNAPSHOT`` not set to 0 (or false/no/off): new servers start from a start-up snapshot.
        self.snapshot = snapshot

    @property
    def keep_failed(self) -> int | None:
        """``MINITESTDB_KEEP_FAILED`` as a bound (0: keep none), None when unset; a value not understood raises ConfigurationError."""
        return parse_keep_failed(self.keep_failed_text)

    @property
    def image(self) -> str:
        """The image for new servers: ``MINITESTDB_IMAGE``, else the pinned default."""
        return self.explicit_image or DEFAULT_IMAGE

    @property
    def required(self) -> bool:
        return bool(self.required_by)

    def key(self) -> tuple[str, str, str, str]:
        """What decides which server the test helpers use (their cache key)."""
        return (self.test_database_url, self.server, self.explicit_image, self.docker)


def read_env(environ: Mapping[str, str] | None = None) -> Environment:
    """Read minitestdb's variables from *environ* (default: ``os.environ`` now)."""
    env = os.environ if environ is None else environ
    required_by = next((var for var in REQUIRED_VARIABLES if env.get(var, "").strip().lower() in _TRUE), "")
    return Environment(
        test_database_url=env.get("TEST_DATABASE_URL", "").strip(),
        explicit_image=env.get("MINITESTDB_IMAGE", "").strip(),
        docker=env.get("MINITESTDB_DOCKER", "").strip() or "docker",
        server=env.get("MINITESTDB_SERVER", "").strip() or "default",
        required_by=required_by,
        keep_failed_text=env.get("MINITESTDB_KEEP_FAILED", ""),
        debug=env.get("MINITESTDB_DEBUG", "").strip().lower() in _TRUE,
        host=env.get("MINITESTDB_HOST", "").strip(),
        snapshot=env.get("MINITESTDB_SNAPSHOT", "").strip().lower() not in _FALSE,
    )
