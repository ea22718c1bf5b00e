"""Which Docker engine the CLI talks to, and so where servers are published and dialled.

A server's port is published by the engine, on the engine's machine.  For a local
engine (a unix socket, a named pipe, ``tcp://`` on loopback) that machine is this
one: publish on ``127.0.0.1`` and dial ``127.0.0.1``.  For a remote engine
(``DOCKER_HOST=tcp://build-host:2375``, GitLab's ``tcp://docker:2375``) loopback is
the engine's own, out of reach: publish on all the engine's addresses and dial
the engine's host.  ``MINITESTDB_HOST`` replaces the host to dial (a NAT, a
forwarded port); it never widens what a local engine publishes.  An ``ssh://``
engine's host name says where ssh goes, not whether PostgreSQL's port is open
there, so it needs ``MINITESTDB_HOST`` to say so.

| engine address (``DOCKER_HOST``, the docker context's, podman's ``CONTAINER_HOST``) | published on | dialled |
| --- | --- | --- |
| unset, ``unix://...``, ``npipe://...``, a path | ``127.0.0.1`` | ``127.0.0.1`` |
| ``tcp://`` (or ``http(s)://``, bare ``HOST:PORT``) on 127.0.0.0/8, ``localhost``, ``::1``, ``0.0.0.0``, no host | ``127.0.0.1`` | ``127.0.0.1`` |
| ``tcp://HOST:PORT`` (any other host) | ``0.0.0.0`` (``::`` for an IPv6 HOST) | HOST |
| ``ssh://[USER@]HOST[:PORT]`` | error without ``MINITESTDB_HOST`` | |
| any of the above with ``MINITESTDB_HOST=H`` | as above (ssh: as remote) | H |

Everything here is pure: the caller (``_server.engine``) reads the variables, the
docker config's current context and, only when a context is in use, ``docker
context inspect`` once.
"""

from __future__ import annotations

import json
import os
from typing import Mapping
from urllib.parse import urlsplit

from ._errors import ConfigurationError

__all__ = [
    "DEFAULT_DOCKER_SOCKET",
    "LOCAL_ENGINE",
    "LOOPBACK",
    "Engine",
    "api_socket",
    "context_endpoint",
    "current_context_name",
    "decide_engine",
    "engine_variable",
    "is_podman",
    "needs_context",
    "publish_argument",
]

#: Where a local engine publishes and where its servers are dialled.
LOOPBACK = "127.0.0.1"
_ALL_IPV4 = "0.0.0.0"  # noqa: S104 -- only ever for a remote engine, whose loopback is out of reach
_ALL_IPV6 = "::"
_LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost")


class Engine:
    """Where the engine is, and so where its servers are published (``publish_ip``) and dialled (``dial_host``).

    >>> engine = decide_engine("tcp://build-host:2375", source="DOCKER_HOST")
    >>> engine.kind, engine.publish("5432"), engine.dial("0.0.0.0")
    ('remote', '0.0.0.0::5432', 'build-host')
    """

    __slots__ = ("address", "dial_host", "kind", "override", "publish_ip", "source")

    def __init__(self, *, kind: str, address: str, source: str, publish_ip: str, dial_host: str, override: bool = False) -> None:
        #: ``local`` or ``remote``.
        self.kind = kind
        #: The engine's address as given (``unix:///var/run/docker.sock``, ``tcp://host:2375``); ``""`` for the default.
        self.address = address
        #: Where the address came from: ``DOCKER_HOST``, ``CONTAINER_HOST``, ``docker context 'NAME'``, or ``default``.
        self.source = source
        #: The host address ports are published on (``--publish IP::5432``).
        self.publish_ip = publish_ip
        #: The host a client dials: the engine's host, ``MINITESTDB_HOST``, or ``127.0.0.1``.
        self.dial_host = dial_host
        #: True when ``dial_host`` is ``MINITESTDB_HOST``'s.
        self.override = override

    def __repr__(self) -> str:
        return f"Engine(kind={self.kind!r}, address={self.address!r}, source={self.source!r}, publish_ip={self.publish_ip!r}, dial_host={self.dial_host!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Engine) and all(getattr(self, s) == getattr(other, s) for s in self.__slots__)

    def __hash__(self) -> int:
        return hash(tuple(getattr(self, s) for s in self.__slots__))

    @property
    def remote(self) -> bool:
        return self.kind == "remote"

    def publish(self, container_port: str, host_port: int | None = None) -> str:
        """The ``--publish`` value for *container_port* (a fixed *host_port*, else a free one).

        >>> LOCAL_ENGINE.publish("5432"), LOCAL_ENGINE.publish("5432", 6543)
        ('127.0.0.1::5432', '127.0.0.1:6543:5432')
        """
        return publish_argument(self.publish_ip, container_port, host_port)

    def reaches(self, host_ip: str) -> bool:
        """Whether a port published on *host_ip* (a ``docker inspect`` binding's ``HostIp``) can be dialled from here.

        A remote engine's loopback is its own: a port published there (by a local
        engine's rules, or an older minitestdb) cannot be reached.
        """
        return not self.remote or not _is_loopback(host_ip, unspecified=False)

    def dial(self, host_ip: str) -> str:
        """The host to dial for a port published on *host_ip* (``''``, ``0.0.0.0``, ``::``, ``127.0.0.1``, an address).

        >>> LOCAL_ENGINE.dial("0.0.0.0"), LOCAL_ENGINE.dial("::")
        ('127.0.0.1', '::1')
        """
        if self.remote or self.override:
            return self.dial_host
        # A local engine: any address it published on is reached over loopback.
        return "::1" if host_ip in ("::", "::1") else LOOPBACK

    def describe(self) -> str:
        """One line for ``doctor``: the kind, where it came from, where servers are published and reached.

        >>> print(decide_engine("tcp://10.0.0.5:2375", source="DOCKER_HOST").describe())
        remote (DOCKER_HOST=tcp://10.0.0.5:2375): servers are published on a non-loopback address of the engine (0.0.0.0: all its addresses) and reached at 10.0.0.5, each with its own random password
        """
        if self.source == "default":
            where = "the default socket"
        elif self.source.startswith("docker context"):
            where = f"{self.source}: {self.address}"
        else:
            where = f"{self.source}={self.address}"
        by = " (MINITESTDB_HOST)" if self.override else ""
        if not self.remote:
            reached = f", reached at {self.dial_host}{by}" if self.override else ""
            return f"local ({where}): servers are published on {self.publish_ip} only{reached}"
        return (
            f"remote ({where}): servers are published on a non-loopback address of the engine ({self.publish_ip}: all its addresses) "
            f"and reached at {self.dial_host}{by}, each with its own random password"
        )


def publish_argument(ip: str, container_port: str, host_port: int | None = None) -> str:
    """``docker create --publish``'s value: *container_port* on *ip* at *host_port* (``None``: a free one).

    >>> publish_argument("127.0.0.1", "5432"), publish_argument("::", "5432", 6543)
    ('127.0.0.1::5432', '[::]:6543:5432')
    """
    shown = f"[{ip}]" if ":" in ip else ip
    return f"{shown}:{host_port or ''}:{container_port}"


#: Today's engine, and the default when nothing says otherwise: a local socket.
LOCAL_ENGINE = Engine(kind="local", address="", source="default", publish_ip=LOOPBACK, dial_host=LOOPBACK)


#: The Docker engine's socket when nothing names another.
DEFAULT_DOCKER_SOCKET = "/var/run/docker.sock"


def api_socket(engine: Engine, binary: str) -> str | None:
    """The unix socket of *engine*'s API when the ``docker`` CLI would talk to it there, else None.

    A read that must be fast (the warm ``up``'s inspect) asks the API there
    directly: the same JSON as ``docker container inspect``, without starting the
    CLI (about 15 ms).  Never for podman or a remote engine: they keep the CLI.

    >>> api_socket(LOCAL_ENGINE, "docker"), api_socket(LOCAL_ENGINE, "/usr/bin/podman")
    ('/var/run/docker.sock', None)
    >>> api_socket(decide_engine("unix:///run/user/1000/docker.sock", source="DOCKER_HOST"), "/usr/bin/docker")
    '/run/user/1000/docker.sock'
    >>> api_socket(decide_engine("tcp://10.0.0.5:2375", source="DOCKER_HOST"), "docker") is None
    True
    """
    if os.path.basename(binary) != "docker" or engine.kind != "local":
        return None
    if not engine.address:
        return DEFAULT_DOCKER_SOCKET
    return engine.address[len("unix://"):] if engine.address.startswith("unix://") else None


def is_podman(binary: str) -> bool:
    """Whether the CLI *binary* is podman (by its file name), whose spellings differ from docker's.

    >>> is_podman("/usr/bin/podman"), is_podman("podman-remote"), is_podman("docker")
    (True, True, False)
    """
    return os.path.basename(binary).startswith("podman")


def engine_variable(binary: str) -> str:
    """The variable naming the engine for *binary*: podman reads ``CONTAINER_HOST``, docker ``DOCKER_HOST``.

    >>> engine_variable("/usr/bin/podman"), engine_variable("docker")
    ('CONTAINER_HOST', 'DOCKER_HOST')
    """
    return "CONTAINER_HOST" if is_podman(binary) else "DOCKER_HOST"


def needs_context(environ: Mapping[str, str], binary: str, current_context: str) -> bool:
    """Whether the engine comes from a docker context, so ``docker context inspect`` must be asked.

    Not for podman, not when ``DOCKER_HOST`` is set (the docker CLI prefers it to
    any context), not for the ``default`` context (the local socket).
    *current_context* is the docker config's ``currentContext`` (``""`` if none).
    """
    if engine_variable(binary) != "DOCKER_HOST" or environ.get("DOCKER_HOST", "").strip():
        return False
    name = environ.get("DOCKER_CONTEXT", "").strip() or current_context
    return name not in ("", "default")


def current_context_name(config_text: str) -> str:
    """The ``currentContext`` of a docker ``config.json`` (``""`` when absent or unreadable).

    >>> current_context_name('{"auths": {}, "currentContext": "build-host"}'), current_context_name("not json")
    ('build-host', '')
    """
    try:
        data = json.loads(config_text)
    except ValueError:
        return ""
    name = data.get("currentContext") if isinstance(data, dict) else None
    return name.strip() if isinstance(name, str) else ""


def context_endpoint(inspect_text: str) -> tuple[str, str]:
    """The context's name and docker endpoint from ``docker context inspect``'s JSON.

    >>> context_endpoint('[{"Name": "ci", "Endpoints": {"docker": {"Host": "tcp://10.0.0.5:2375"}}}]')
    ('ci', 'tcp://10.0.0.5:2375')
    """
    try:
        data = json.loads(inspect_text)
    except ValueError:
        data = None
    item = data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else {}
    docker = (item.get("Endpoints") or {}).get("docker") or {}
    return str(item.get("Name") or ""), str(docker.get("Host") or "")


def _is_loopback(host: str, *, unspecified: bool = True) -> bool:
    """Loopback; with *unspecified*, also ``0.0.0.0``, ``::`` and empty (an engine there is dialled over loopback)."""
    host = host.strip("[]").lower()
    if host in _LOCAL_NAMES:
        return True
    if not host:
        return unspecified
    # Only an engine given by address needs this: about 1 ms off every `import minitestdb`.
    import ipaddress

    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return ip.is_loopback or (unspecified and ip.is_unspecified)


def _override_host(text: str) -> str:
    host = text.strip()
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not bare:
        return ""
    ipv6 = ":" in bare
    if ipv6:
        import ipaddress  # see _is_loopback

        try:
            ipaddress.IPv6Address(bare.split("%", 1)[0])
        except ValueError:
            ipv6 = False
    if any(c in bare for c in "/@?# \t") or (":" in bare and not ipv6):
        raise ConfigurationError(
            f"MINITESTDB_HOST={text.strip()!r} is not a host name or address: give only the host to dial (each server's port is its own), such as build-host or 10.0.0.5."
        )
    return bare


def decide_engine(address: str, *, source: str, host_override: str = "") -> Engine:
    """The :class:`Engine` for an engine *address* (``DOCKER_HOST``'s value, a context's endpoint; ``""``: the default socket).

    *source* names where *address* came from, for messages; *host_override* is
    ``MINITESTDB_HOST``.  Raises ConfigurationError for an ``ssh://`` engine
    without *host_override*, and for an address the docker CLI would not take.
    """
    override = _override_host(host_override)
    text = address.strip()
    given = source if text else "default"
    scheme, sep, rest = text.partition("://")
    if not sep:
        # The docker CLI reads a bare "HOST:PORT" as tcp; a bare path is a socket.
        scheme, rest = ("unix", text) if text.startswith("/") or not text else ("tcp", text)
    scheme = scheme.lower()
    if scheme in ("unix", "npipe"):
        return _local(text, given, override)
    if scheme in ("tcp", "http", "https", "ssh"):
        try:
            parts = urlsplit(f"{scheme}://{rest}")
            host = parts.hostname or ""
            _ = parts.port  # raises ValueError for a port that is not a number
        except ValueError:
            raise ConfigurationError(f"{given}={text!r} is not an engine address: use tcp://HOST:PORT, ssh://USER@HOST, or unix:///PATH.") from None
        if scheme == "ssh":
            if not override:
                raise ConfigurationError(
                    f"{given} is an ssh:// engine ({host}), whose servers minitestdb cannot reach through ssh: "
                    f"set MINITESTDB_HOST to an address of {host} that this machine reaches (its servers are then published on all its addresses)."
                )
            return _remote(text, given, host, override)
        if _is_loopback(host):
            return _local(text, given, override)
        return _remote(text, given, host, override)
    raise ConfigurationError(f"{given}={text!r} is not an engine address minitestdb understands: use unix:///PATH, npipe://, tcp://HOST:PORT, or ssh://USER@HOST.")


def _local(address: str, source: str, override: str) -> Engine:
    return Engine(kind="local", address=address, source=source, publish_ip=LOOPBACK, dial_host=override or LOOPBACK, override=bool(override))


def _remote(address: str, source: str, host: str, override: str) -> Engine:
    dial_host = override or host
    # An IPv6 address is dialled over IPv6: publish there (Linux's [::] takes IPv4 too).
    publish_ip = _ALL_IPV6 if ":" in dial_host else _ALL_IPV4
    return Engine(kind="remote", address=address, source=source, publish_ip=publish_ip, dial_host=dial_host, override=bool(override))
