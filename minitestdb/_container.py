"""Pure rules for containers: names, labels, the spec and its ``docker create`` argv,
``docker inspect`` parsing, whether a shared server can be reused, why one exited.

Nothing here runs a process, opens a socket or reads the clock, so every rule
(publishing on loopback unless the engine is remote, labels, the fast defaults, port parsing, reuse) is
tested with exact argv lists and captured ``docker inspect`` JSON.
"""

from __future__ import annotations

import json
import re
from typing import Any, Mapping, Sequence

from ._engine import LOCAL_ENGINE, LOOPBACK, Engine, is_podman, publish_argument
from ._errors import ConfigurationError

__all__ = [
    "CONTAINER_PORT",
    "DEFAULT_IMAGE",
    "DEFAULT_SERVER_SETTINGS",
    "LABEL",
    "ContainerInfo",
    "ContainerSpec",
    "build_spec",
    "check_port_and_timeout",
    "check_reusable",
    "command_settings",
    "create_argv",
    "data_volume",
    "exit_reason",
    "image_pgdata",
    "owner_labels",
    "parse_inspect",
    "private_container_name",
    "published_address",
    "same_image",
    "settings_mismatch",
    "shared_container_name",
    "snapshot_build_spec",
    "snapshot_commit_argv",
    "snapshot_key",
    "snapshot_obstacle",
    "snapshot_start_spec",
    "snapshot_tag",
    "tmpfs_owner_options",
    "validate_server_name",
]

#: The image used when neither ``--image`` nor ``MINITESTDB_IMAGE`` says otherwise.
DEFAULT_IMAGE = "postgres:18"
#: The port PostgreSQL listens on inside the container.
CONTAINER_PORT = 5432
#: Every container minitestdb creates carries this label (value "1").
LABEL = "minitestdb"
LABEL_OWNER_PID = "minitestdb.owner-pid"
LABEL_OWNER_HOST = "minitestdb.owner-host"
LABEL_CREATED = "minitestdb.created"
LABEL_NAME = "minitestdb.name"
LABEL_SHARED = "minitestdb.shared"
LABEL_USER = "minitestdb.user"
LABEL_DBNAME = "minitestdb.dbname"
#: On a container started from a snapshot: the image that was asked for (the container's own image is the snapshot).
LABEL_IMAGE = "minitestdb.image"
LABEL_SNAPSHOT = "minitestdb.snapshot"
LABEL_SNAPSHOT_SOURCE = "minitestdb.snapshot.source"
LABEL_SNAPSHOT_SOURCE_ID = "minitestdb.snapshot.source-id"

#: Server settings for speed: a test database need not survive a crash. Each can be
#: overridden (or removed with ``None``) through ``start(settings=...)``.
DEFAULT_SERVER_SETTINGS: Mapping[str, str] = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    # WAL lives in memory on the tmpfs: keep it bounded.
    "max_wal_size": "256MB",
}

_SERVER_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$")


def validate_server_name(name: str) -> str:
    """Return *name* if it can be part of a container name, else raise ConfigurationError."""
    if not _SERVER_NAME.match(name):
        raise ConfigurationError(
            f"The server name {name!r} is not usable: use 1-63 letters, digits, '_', '.' or '-', starting with a letter or digit."
        )
    return name


def shared_container_name(name: str) -> str:
    """The container name of the shared server called *name* (``up --server NAME``)."""
    return "minitestdb-" + validate_server_name(name)


def private_container_name(pid: int, token: str) -> str:
    """The container name of a server private to process *pid*."""
    return f"minitestdb-p{pid}-{token}"


def owner_labels(*, name: str, shared: bool, user: str, dbname: str, pid: int, host: str, now: float) -> dict[str, str]:
    """The labels that let any process find, attach to, or prune a container."""
    return {
        LABEL: "1",
        LABEL_NAME: name,
        LABEL_SHARED: "1" if shared else "0",
        LABEL_OWNER_PID: str(pid),
        LABEL_OWNER_HOST: host,
        LABEL_CREATED: str(int(now)),
        LABEL_USER: user,
        LABEL_DBNAME: dbname,
    }


def data_volume(image_inspect: Mapping[str, Any], pgdata: str | None = None) -> str | None:
    """The directory to put on a tmpfs: the image's declared volume holding PGDATA.

    The official image declares ``/var/lib/postgresql/data`` up to 17 and
    ``/var/lib/postgresql`` from 18 on, so this is read from the image, not assumed.
    """
    config = image_inspect.get("Config") or {}
    volumes = sorted((config.get("Volumes") or {}).keys())
    if pgdata is None:
        pgdata = image_pgdata(image_inspect)
    if pgdata:
        # The longest declared volume that contains PGDATA.
        holding = [v for v in volumes if pgdata == v or pgdata.startswith(v.rstrip("/") + "/")]
        if holding:
            return str(max(holding, key=len))
        return pgdata
    return str(volumes[0]) if volumes else None


class ContainerSpec:
    """Everything ``docker create`` needs; turned into argv by :func:`create_argv`."""

    __slots__ = ("dbname", "env", "extra_args", "host_port", "image", "initdb_args", "labels", "name", "publish_ip", "settings", "tmpfs", "tmpfs_options", "user")

    def __init__(
        self,
        *,
        image: str,
        name: str,
        labels: Mapping[str, str],
        user: str = "postgres",
        dbname: str = "postgres",
        host_port: int | None = None,
        tmpfs: str | None = None,
        initdb_args: str = "--no-sync",
        settings: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
        extra_args: Sequence[str] = (),
        publish_ip: str = LOOPBACK,
        tmpfs_options: str = "",
    ) -> None:
        self.image = image
        self.name = name
        self.labels = dict(labels)
        self.user = user
        self.dbname = dbname
        self.host_port = host_port
        self.tmpfs = tmpfs
        self.initdb_args = initdb_args
        self.settings = dict(settings or {})
        self.env = dict(env or {})
        self.extra_args = tuple(extra_args)
        #: The engine's host address the port is published on: loopback, unless the engine is remote (``_engine``).
        self.publish_ip = publish_ip
        #: More ``--tmpfs`` options: who owns it (a snapshot's server runs as the cluster's owner, not root; see :func:`tmpfs_owner_options`).
        self.tmpfs_options = tmpfs_options

    def replace(self, **changes: Any) -> ContainerSpec:
        """This spec with *changes* (keyword arguments of the constructor)."""
        fields: dict[str, Any] = {name: getattr(self, name) for name in self.__slots__}
        fields.update(changes)
        return ContainerSpec(**fields)


def create_argv(spec: ContainerSpec) -> list[str]:
    """The arguments after ``docker`` for ``docker create``.

    The password is not in argv (other users can read a process's arguments):
    ``-e POSTGRES_PASSWORD`` without a value makes the docker CLI copy it from its
    own environment, which the caller sets.
    """
    publish = publish_argument(spec.publish_ip, str(CONTAINER_PORT), spec.host_port)
    argv = ["create", "--name", spec.name]
    for key in sorted(spec.labels):
        argv += ["--label", f"{key}={spec.labels[key]}"]
    argv += [
        "--publish", publish,
        # SIGINT is PostgreSQL's fast shutdown; images built with `docker import`
        # cannot declare STOPSIGNAL, so say it here for every image.
        "--stop-signal", "SIGINT",
        "--env", "POSTGRES_PASSWORD",
        "--env", f"POSTGRES_USER={spec.user}",
        "--env", f"POSTGRES_DB={spec.dbname}",
    ]
    if spec.initdb_args:
        argv += ["--env", f"POSTGRES_INITDB_ARGS={spec.initdb_args}"]
    for key in sorted(spec.env):
        argv += ["--env", f"{key}={spec.env[key]}"]
    if spec.tmpfs:
        argv += ["--tmpfs", f"{spec.tmpfs}:rw" + (f",{spec.tmpfs_options}" if spec.tmpfs_options else "")]
    argv += list(spec.extra_args)
    argv.append(spec.image)
    if spec.settings:
        argv.append("postgres")
        for key in sorted(spec.settings):
            argv += ["-c", f"{key}={spec.settings[key]}"]
    return argv


class ContainerInfo:
    """What minitestdb reads back from ``docker inspect`` of one container."""

    __slots__ = ("bindings", "command", "env", "error", "exit_code", "host", "id", "image", "labels", "name", "port", "running", "snapshot", "started_at", "status")

    def __init__(
        self,
        *,
        id: str,
        name: str,
        image: str,
        status: str,
        running: bool,
        exit_code: int | None,
        started_at: str,
        host: str | None,
        port: int | None,
        labels: Mapping[str, str],
        env: Mapping[str, str],
        error: str = "",
        command: Sequence[str] = (),
        bindings: Sequence[tuple[str, int]] = (),
        snapshot: str = "",
    ) -> None:
        self.id = id
        self.name = name
        #: The image asked for (for a server started from a snapshot, the snapshot's source).
        self.image = image
        #: The start-up snapshot the container runs, ``""`` when it was started from *image* itself.
        self.snapshot = snapshot
        self.status = status
        self.running = running
        self.exit_code = exit_code
        self.started_at = started_at
        self.host = host
        self.port = port
        self.labels = labels
        self.env = env
        self.error = error
        #: The container's command (``Config.Cmd``): ``postgres -c NAME=VALUE ...`` for a server with settings.
        self.command = tuple(command)
        #: Where 5432/tcp is published: (``HostIp``, ``HostPort``) pairs as the engine reports them.
        self.bindings = tuple(bindings)

    def address(self, engine: Engine) -> tuple[str | None, int | None]:
        """The host to dial and the port, for a client of *engine*; host None when nothing reachable is published."""
        return published_address(self.bindings, engine)

    def __repr__(self) -> str:
        # No env: it holds the password.
        return f"ContainerInfo(name={self.name!r}, id={self.id[:12]!r}, status={self.status!r}, host={self.host!r}, port={self.port!r}, image={self.image!r})"

    @property
    def password(self) -> str:
        return self.env.get("POSTGRES_PASSWORD", "")

    @property
    def user(self) -> str:
        return self.labels.get(LABEL_USER) or self.env.get("POSTGRES_USER") or "postgres"

    @property
    def dbname(self) -> str:
        return self.labels.get(LABEL_DBNAME) or self.env.get("POSTGRES_DB") or self.user

    @property
    def server_name(self) -> str:
        return self.labels.get(LABEL_NAME, self.name)

    @property
    def shared(self) -> bool:
        return self.labels.get(LABEL_SHARED) == "1"

    @property
    def settings(self) -> dict[str, str]:
        """The server settings the container was started with (each ``-c NAME=VALUE`` of its command)."""
        return command_settings(self.command)

    @property
    def created(self) -> float | None:
        value = self.labels.get(LABEL_CREATED, "")
        return float(value) if value.isdigit() else None


def command_settings(command: Sequence[str]) -> dict[str, str]:
    """The ``-c NAME=VALUE`` (and ``-cNAME=VALUE``) settings of a ``postgres`` command line.

    >>> command_settings(["postgres", "-c", "fsync=off", "-cmax_connections=200"])
    {'fsync': 'off', 'max_connections': '200'}
    """
    found: dict[str, str] = {}
    items = list(command)
    for index, item in enumerate(items):
        if item == "-c" and index + 1 < len(items):
            setting = items[index + 1]
        elif item.startswith("-c") and len(item) > 2:
            setting = item[2:]
        else:
            continue
        key, sep, value = setting.partition("=")
        if sep:
            found[key] = value
    return found


def _bindings(ports: Mapping[str, Any] | None) -> list[tuple[str, int]]:
    found = []
    for binding in (ports or {}).get(f"{CONTAINER_PORT}/tcp") or []:
        try:
            found.append((str(binding.get("HostIp") or ""), int(binding.get("HostPort") or "")))
        except ValueError:
            continue
    return found


def published_address(bindings: Sequence[tuple[str, int]], engine: Engine = LOCAL_ENGINE) -> tuple[str | None, int | None]:
    """The host to dial and the port of the first binding *engine*'s client can reach (a local engine: 127.0.0.1's first).

    (None, None) when nothing is published; (None, port) when only the remote
    engine's own loopback is (unreachable from here).

    >>> remote = Engine(kind="remote", address="tcp://10.0.0.5:2375", source="DOCKER_HOST", publish_ip="0.0.0.0", dial_host="10.0.0.5")
    >>> published_address([("0.0.0.0", 1111), ("127.0.0.1", 2222)]), published_address([("0.0.0.0", 1111)], remote)
    (('127.0.0.1', 2222), ('10.0.0.5', 1111))
    >>> published_address([("127.0.0.1", 2222)], remote), published_address([])
    ((None, 2222), (None, None))
    """
    reachable = [(ip, port) for ip, port in bindings if engine.reaches(ip)]
    if not reachable:
        return None, (bindings[0][1] if bindings else None)
    preferred = [b for b in reachable if b[0] == LOOPBACK] if not engine.remote else []
    host_ip, port = (preferred or reachable)[0]
    return engine.dial(host_ip), port


def parse_inspect(data: Mapping[str, Any], engine: Engine = LOCAL_ENGINE) -> ContainerInfo:
    """Read one element of ``docker inspect``'s JSON list (docker or podman); ``host`` is where *engine*'s client dials."""
    state = data.get("State") or {}
    config = data.get("Config") or {}
    env: dict[str, str] = {}
    for item in config.get("Env") or []:
        key, _, value = item.partition("=")
        env[key] = value
    bindings = _bindings((data.get("NetworkSettings") or {}).get("Ports"))
    host, port = published_address(bindings, engine)
    exit_code = state.get("ExitCode")
    labels = dict(config.get("Labels") or {})
    own_image = str(config.get("Image", ""))
    asked_image = labels.get(LABEL_IMAGE, "")
    return ContainerInfo(
        id=str(data.get("Id", "")),
        name=str(data.get("Name", "")).lstrip("/"),
        image=asked_image or own_image,
        snapshot=own_image if asked_image else "",
        status=str(state.get("Status", "")),
        running=bool(state.get("Running")),
        exit_code=int(exit_code) if isinstance(exit_code, int) else None,
        started_at=str(state.get("StartedAt", "")),
        host=host,
        port=port,
        labels=labels,
        env=env,
        error=str(state.get("Error", "") or ""),
        command=[str(part) for part in (config.get("Cmd") or [])],
        bindings=bindings,
    )


# --- rules for starting and reusing servers ------------------------------------------------


def build_spec(
    *,
    image: str,
    image_info: Mapping[str, Any],
    name: str,
    labels: Mapping[str, str],
    user: str,
    dbname: str,
    port: int | None,
    fast: bool,
    tmpfs: bool | None = None,
    initdb_args: str | None = None,
    settings: Mapping[str, str | None] | None = None,
    env: Mapping[str, str] | None = None,
    extra_args: Sequence[str] = (),
    engine: Engine = LOCAL_ENGINE,
) -> ContainerSpec:
    """The container for a server: *fast* puts the image's data volume on a tmpfs and turns off durability.

    *settings* override the fast defaults one by one (``None`` removes one);
    *tmpfs* and *initdb_args* override the rest.  The port is published where
    *engine* says: loopback, unless the engine is remote.
    """
    merged: dict[str, str] = dict(DEFAULT_SERVER_SETTINGS) if fast else {}
    for key, value in (settings or {}).items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = str(value)
    use_tmpfs = fast if tmpfs is None else tmpfs
    return ContainerSpec(
        image=image,
        name=name,
        labels=labels,
        user=user,
        dbname=dbname,
        host_port=port,
        tmpfs=data_volume(image_info) if use_tmpfs else None,
        initdb_args=("--no-sync" if fast else "") if initdb_args is None else initdb_args,
        settings=merged,
        env=dict(env or {}),
        extra_args=tuple(extra_args),
        publish_ip=engine.publish_ip,
    )


def check_port_and_timeout(port: int | None, timeout: float) -> None:
    """Raise ConfigurationError for a port outside 1-65535 or a timeout that is not positive."""
    if port is not None and not (0 < port < 65536):
        raise ConfigurationError(f"The port {port} is not a TCP port: use 1-65535, or leave it out for a free one.")
    if timeout <= 0:
        raise ConfigurationError(f"The startup timeout must be positive, not {timeout!r}.")


def check_reusable(
    info: ContainerInfo,
    *,
    name: str,
    image: str,
    explicit_image: bool,
    port: int | None,
    user: str,
    settings: Mapping[str, str | None] | None = None,
    password: str | None = None,
) -> None:
    """Raise ConfigurationError unless the existing container *info* is the shared server that was asked for.

    *settings* asked for must be the ones it runs with (a ``None`` value: that
    setting must not be set); settings not asked for do not matter, so asking
    for none never refuses.  A *password* asked for must be its password (read
    back from the container; never shown).
    """
    down_hint = f"run `python -m minitestdb down --server {name}` first, or use another server name."
    if info.labels.get(LABEL) != "1":
        raise ConfigurationError(f"A container named {info.name} exists but was not made by minitestdb: remove or rename it, or use another server name.")
    if explicit_image and not same_image(info.image, image):
        raise ConfigurationError(f"The shared server {name!r} runs the image {info.image!r}, not {image!r}: {down_hint}")
    if port is not None and info.port not in (None, port):
        raise ConfigurationError(f"The shared server {name!r} listens on port {info.port}, not {port}: {down_hint}")
    if info.user != user:
        raise ConfigurationError(f"The shared server {name!r} was made for the user {info.user!r}, not {user!r}: use another server name.")
    differ = settings_mismatch(info.settings, settings or {})
    if differ:
        raise ConfigurationError(f"The shared server {name!r} runs with other settings ({'; '.join(differ)}): {down_hint}")
    if password is not None and info.password != password:
        raise ConfigurationError(f"The shared server {name!r} was started with another password: {down_hint}")


def _image_key(reference: str) -> str:
    """*reference* in one spelling: registry, path and tag (or digest) always written out."""
    name, at, digest = reference.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon <= slash and not at:
        name += ":latest"
    first, sep, rest = name.partition("/")
    if not sep or not ("." in first or ":" in first or first == "localhost"):
        first, rest = "docker.io", name
    if first in ("index.docker.io", "localhost"):
        # podman names an image loaded, built or imported without a registry localhost/NAME,
        # and finds it again by NAME: the same image that docker calls NAME.
        first = "docker.io"
    if first == "docker.io" and "/" not in rest.split(":", 1)[0]:
        rest = "library/" + rest
    return f"{first}/{rest}" + (f"@{digest}" if at else "")


def same_image(running: str, asked: str) -> bool:
    """Whether two image references name the same image, however each is spelled.

    Docker shows a container's image as it was asked for; podman fully qualified
    (``docker.io/library/postgres:18``, or ``localhost/NAME`` for an image it
    was given without a registry).

    >>> same_image("docker.io/library/postgres:18", "postgres:18")
    True
    >>> same_image("localhost/minitestdb/postgres-test:15", "minitestdb/postgres-test:15")
    True
    >>> same_image("postgres", "postgres:latest"), same_image("postgres:17", "postgres:18")
    (True, False)
    >>> same_image("registry.example:5000/postgres:18", "postgres:18")
    False
    """
    return running == asked or _image_key(running) == _image_key(asked)


def settings_mismatch(running: Mapping[str, str], asked: Mapping[str, str | None]) -> list[str]:
    """What differs between the settings a server runs with and those asked for, one phrase each (asked-for order).

    >>> settings_mismatch({"fsync": "off", "max_connections": "100"}, {"max_connections": "200", "fsync": "off", "work_mem": None})
    ['max_connections=100, not 200']
    >>> settings_mismatch({"fsync": "off"}, {"fsync": None, "jit": "off"})
    ['fsync=off, not unset', 'jit unset, not off']
    """
    differ = []
    for key, value in asked.items():
        have = running.get(key)
        if have == (None if value is None else str(value)):
            continue
        shown_have = f"{key}={have}" if have is not None else f"{key} unset"
        differ.append(f"{shown_have}, not {'unset' if value is None else value}")
    return differ


def exit_reason(log_tail: str) -> str:
    """The line of a container's log tail most likely to say why it stopped.

    >>> exit_reason("initdb: warning\\nFATAL:  data directory has wrong ownership\\nbye")
    'FATAL:  data directory has wrong ownership'
    """
    lines = [line.strip() for line in log_tail.splitlines() if line.strip()]
    for line in lines:
        lowered = line.lower()
        if lowered.startswith("error") or "fatal:" in lowered or "panic:" in lowered or ": error:" in lowered:
            return line[:300]
    return lines[-1][:300] if lines else "no output"


# --- start-up snapshots --------------------------------------------------------------------
#
# initdb, the entrypoint's temporary server and its shutdown take most of a cold
# start (about 0.7 s of 1.1 s here).  A snapshot is the image with one cluster
# initialized by the image's own entrypoint (so its initdb arguments, locale,
# pg_hba rules and init scripts are the image's), kept outside the data volume,
# committed as a local image.  A server started from it copies that cluster into
# its data directory, sets its own random password in single-user mode, and only
# then starts PostgreSQL: the port accepts nothing before the password is set.

SNAPSHOT_REPOSITORY = "minitestdb-snapshot"
#: Part of every snapshot's key: a change to the build or the start script makes new snapshots.
SNAPSHOT_RECIPE = "2"
SNAPSHOT_DIR = "/var/lib/minitestdb"
#: Where the build puts the cluster: outside every declared volume, so ``docker commit`` keeps it.
SNAPSHOT_DATA = SNAPSHOT_DIR + "/snapshot"
SNAPSHOT_SCRIPT = SNAPSHOT_DIR + "/start.sh"

#: The snapshot's entrypoint (run as the cluster's owner).  A data directory that is
#: already initialized (a stopped server restarted on a persistent volume) starts as
#: it is, as the official entrypoint would.  -j: a statement ends at ";" and an empty
#: line, so a password may hold a newline.
SNAPSHOT_START_SCRIPT = f"""\
#!/bin/sh
# minitestdb start-up snapshot, recipe {SNAPSHOT_RECIPE}: copy the initialized cluster, set this server's password, start.
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  mkdir -p "$PGDATA"
  cp -a {SNAPSHOT_DATA}/. "$PGDATA/"
  chmod 700 "$PGDATA"
  if [ -n "${{POSTGRES_PASSWORD:-}}" ]; then
    role=$(printf '%s' "${{POSTGRES_USER:-postgres}}" | sed 's/"/""/g')
    password=$(printf '%s' "$POSTGRES_PASSWORD" | sed "s/'/''/g")
    printf 'ALTER ROLE "%s" PASSWORD '"'"'%s'"'"';\\n\\n' "$role" "$password" \\
      | postgres --single -j -D "$PGDATA" -c exit_on_error=on template1 >/dev/null
  fi
fi
exec "$@"
"""


def snapshot_key(image_id: str, *, user: str, dbname: str, initdb_args: str) -> str:
    """16 hex digits naming what a snapshot depends on: the image (by id), the role, database and initdb arguments, the recipe.

    >>> snapshot_key("sha256:ab", user="postgres", dbname="postgres", initdb_args="--no-sync")
    '3d4bd2dc0d72bad9'
    """
    import hashlib  # only for a new server: hashlib costs 3 ms of every `import minitestdb` (-S, measured)

    parts = [SNAPSHOT_RECIPE, image_id, user, dbname, initdb_args]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def snapshot_tag(key: str) -> str:
    """The local image name of the snapshot *key* (never pushed: no registry in it)."""
    return f"{SNAPSHOT_REPOSITORY}:{key}"


def image_pgdata(image_info: Mapping[str, Any]) -> str:
    """The PGDATA an image sets (``""``: none).

    >>> image_pgdata({"Config": {"Env": ["PATH=/bin", "PGDATA=/var/lib/postgresql/18/docker"]}})
    '/var/lib/postgresql/18/docker'
    """
    for item in (image_info.get("Config") or {}).get("Env") or []:
        if item.startswith("PGDATA="):
            return str(item.split("=", 1)[1])
    return ""


def snapshot_obstacle(spec: ContainerSpec, image_info: Mapping[str, Any]) -> str:
    """Why *spec* cannot start from a snapshot (``""``: it can).

    Environment variables and extra docker arguments may change what the
    entrypoint initializes (a mounted ``/docker-entrypoint-initdb.d``, say), so
    such a server is initialized as it asks, every time.

    >>> image = {"Config": {"Env": ["PGDATA=/var/lib/postgresql/data"]}}
    >>> snapshot_obstacle(ContainerSpec(image="i", name="n", labels={}), image)
    ''
    >>> snapshot_obstacle(ContainerSpec(image="i", name="n", labels={}, extra_args=["-v", "x:/y"]), image)
    'it has its own docker arguments or environment'
    >>> snapshot_obstacle(ContainerSpec(image="i", name="n", labels={}), {"Config": {"Env": []}})
    'the image sets no PGDATA'
    """
    if spec.env or spec.extra_args:
        return "it has its own docker arguments or environment"
    if not image_pgdata(image_info).startswith("/"):
        return "the image sets no PGDATA"
    return ""


def snapshot_build_spec(spec: ContainerSpec, *, name: str, labels: Mapping[str, str]) -> ContainerSpec:
    """The container that initializes the snapshot's cluster: *spec*'s image, role, database and
    initdb arguments, its data directory outside the volume, any free port (only for the readiness probe)."""
    return ContainerSpec(
        image=spec.image,
        name=name,
        labels=labels,
        user=spec.user,
        dbname=spec.dbname,
        tmpfs=spec.tmpfs,
        initdb_args=spec.initdb_args,
        env={"PGDATA": SNAPSHOT_DATA},
        publish_ip=spec.publish_ip,
    )


def snapshot_commit_argv(container: str, *, owner: str, source: str, source_id: str, pgdata: str) -> list[str]:
    """``docker commit`` arguments turning the stopped build container into a snapshot image (no tag: see ``_snapshot``).

    *owner* is the cluster's ``uid:gid``: the start script runs as it.  *pgdata*
    is the image's own PGDATA, which the build container overrode.

    >>> snapshot_commit_argv("c1", owner="999:999", source="postgres:18", source_id="sha256:ab", pgdata="/var/lib/postgresql/data")[:8]
    ['commit', '--pause=false', '--change', 'ENTRYPOINT ["/bin/sh", "/var/lib/minitestdb/start.sh"]', '--change', 'CMD ["postgres"]', '--change', 'USER 999:999']
    """
    labels = {LABEL_SNAPSHOT: SNAPSHOT_RECIPE, LABEL_SNAPSHOT_SOURCE: source, LABEL_SNAPSHOT_SOURCE_ID: source_id}
    # A commit keeps the build container's configuration: its password and the labels that make a
    # container minitestdb's (owner, name, created).  Blanked, so the image holds no secret and a
    # container started from it by hand is nobody's server to list or prune.
    labels.update(dict.fromkeys((LABEL, LABEL_NAME, LABEL_SHARED, LABEL_OWNER_PID, LABEL_OWNER_HOST, LABEL_CREATED, LABEL_USER, LABEL_DBNAME), ""))
    argv = [
        "commit",
        "--pause=false",  # PostgreSQL has stopped: nothing to freeze
        "--change", f'ENTRYPOINT ["/bin/sh", "{SNAPSHOT_SCRIPT}"]',
        "--change", 'CMD ["postgres"]',
        "--change", f"USER {owner}",
        "--change", f"ENV PGDATA={json.dumps(pgdata)}",
        "--change", 'ENV POSTGRES_PASSWORD=""',
    ]
    for key, value in labels.items():
        argv += ["--change", f"LABEL {key}={json.dumps(value)}"]  # one label per change: podman reads the rest of the line as the value
    return [*argv, container]


def tmpfs_owner_options(owner: str, binary: str) -> str:
    """The ``--tmpfs`` options giving the tmpfs to *owner* (``uid:gid``), as *binary* spells them:
    docker takes the kernel's ``uid=``/``gid=``, podman refuses them and has ``U`` (the container's user).

    >>> tmpfs_owner_options("999:998", "docker"), tmpfs_owner_options("70:70", "/usr/bin/podman")
    ('uid=999,gid=998', 'U')
    """
    if is_podman(binary):
        return "U"
    uid, _, gid = owner.partition(":")
    return f"uid={uid},gid={gid or uid}"


def snapshot_start_spec(spec: ContainerSpec, tag: str, owner: str, binary: str = "docker") -> ContainerSpec:
    """*spec* started from the snapshot *tag*: the same container, labelled with the image asked for,
    its tmpfs owned by the cluster's *owner* (``uid:gid``, the snapshot's user), who copies the cluster there."""
    return spec.replace(image=tag, labels={**spec.labels, LABEL_IMAGE: spec.image}, tmpfs_options=tmpfs_owner_options(owner, binary))
