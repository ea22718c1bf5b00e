"""Servers: start a private one, bring up (or reuse) a shared named one, attach, close, list, remove.

The flow of :func:`start` and :func:`up` is: find or pull the image, read its data
volume, ``docker run --detach`` (the port published on loopback, or for a remote engine
on its addresses, see ``_engine``; labels; random password handed over through
the CLI's environment), read the mapped port from ``docker
inspect``, then wait for a real query at the engine's host.  A failure at any step removes
the container it created (unless ``keep_on_failure``) and says what failed, with
the container's log tail.  The rules (spec, reuse, exit reason) are pure, in
``_container``; this module does the I/O in their order.
"""

from __future__ import annotations

import errno
import os
import sys
import threading
import time
from typing import TYPE_CHECKING, Callable, Mapping, Sequence

from ._container import (
    LABEL,
    LABEL_IMAGE,
    LABEL_SHARED,
    ContainerInfo,
    ContainerSpec,
    build_spec,
    check_port_and_timeout,
    check_reusable,
    create_argv,
    exit_reason,
    image_pgdata,
    owner_labels,
    private_container_name,
    shared_container_name,
    snapshot_build_spec,
    snapshot_key,
    snapshot_obstacle,
    snapshot_start_spec,
    snapshot_tag,
)
from ._diagnostics import Diagnostics
from ._docker import DockerCLI
from ._endpoint import Endpoint, EndpointView
from ._engine import Engine, api_socket, context_endpoint, current_context_name, decide_engine, engine_variable, needs_context
from ._env import read_env
from ._errors import (
    CleanupError,
    ConfigurationError,
    ContainerExitedError,
    ContainerNameConflictError,
    DockerError,
    MiniTestDBError,
    NoSuchContainerError,
    PortInUseError,
)
from ._hints import command_hint
from ._image import ensure_image
from ._owner import close_at_exit, forget_at_exit, hostname
from ._readiness import check_method, probe, wait_until_ready
from ._redact import register_secret
from ._snapshot import build_lock, commit_snapshot, snapshot_owner
from ._watchdog import ensure_watchdog

if TYPE_CHECKING:
    from ._locks import NamedLock
    from ._migrations import PathLike
    from ._migrators import MigrateArg
    from ._pgconn import Connection
    from ._templates import Template

__all__ = ["DEFAULT_STARTUP_TIMEOUT", "Server", "attach", "down", "engine", "find_servers", "start", "up"]

DEFAULT_STARTUP_TIMEOUT = 60.0
LOG_TAIL_LINES = 40
STOP_GRACE_SECONDS = 5


class Server(EndpointView):
    """A running PostgreSQL server: in a container, or an existing one (:meth:`from_url`).

    Use it as a context manager or call :meth:`close`.  A server from
    :func:`start` is *owned*: closing it removes its container (killed: its data is disposable).  A
    shared server from :func:`up` is not: closing it only lets go of it, and
    :func:`down` removes it.  ``.endpoint`` says where it is; ``.url`` and
    ``.env`` are that endpoint's.
    """

    def __init__(
        self,
        *,
        endpoint: Endpoint,
        docker: DockerCLI,
        container: ContainerInfo | None,
        owned: bool,
        diagnostics: Diagnostics,
        keep_on_failure: bool = False,
    ) -> None:
        self.endpoint = endpoint
        self.docker = docker
        self.container_id: str = container.id if container else ""
        self.container_name: str = container.name if container else ""
        #: The shared server's name (``up --server``), else the container's, else ``host:port``.
        self.name: str = container.server_name if container else endpoint.address
        self.image: str = container.image if container else ""
        self.owned = owned
        self.keep_on_failure = keep_on_failure
        self.diagnostics = diagnostics
        self._closed = False
        self._lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str, *, check: bool = True, timeout: float = 10.0) -> Server:
        """A Server for an existing PostgreSQL (``TEST_DATABASE_URL``): no container is started or removed.

        With *check*, one query proves it answers; an unreachable server raises an
        error naming host and port (never the password).
        """
        endpoint = Endpoint.from_url(url)
        diagnostics = Diagnostics(host=endpoint.host, port=endpoint.port, reused=True)
        server = cls(endpoint=endpoint, docker=DockerCLI(), container=None, owned=False, diagnostics=diagnostics)
        if check:
            diagnostics.readiness_method = "wire"
            diagnostics.readiness_attempts = 1
            probe(endpoint, timeout=timeout)
            diagnostics.mark("ready")
        return server

    def url_for(self, dbname: str | None = None) -> str:
        """The URL of another database on this server (default: the server's own)."""
        return self.endpoint.replace(dbname=dbname).url

    def connect(self, dbname: str | None = None, *, timeout: float = 10.0) -> Connection:
        """A new connection with minitestdb's own wire client."""
        from ._pgconn import connect  # loaded on first use: see _readiness.probe

        return connect(self.endpoint.replace(dbname=dbname), timeout=timeout)

    # --- templates and clones ------------------------------------------------------------

    def template(
        self,
        sql: PathLike | Sequence[PathLike] | None = None,
        seed: PathLike | Sequence[PathLike] | None = None,
        *,
        migrate: MigrateArg | None = None,
        inputs: Sequence[PathLike] = (),
        key: str | None = None,
        cwd: str | None = None,
        name: str | None = None,
        pool: int | None = None,
        timeout: float | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> Template:
        """Find or build (once, across processes) the template for these migrations.

        *sql* and *seed* take paths, globs and directories of ``.sql`` files
        (applied in sorted order; a list keeps its own order) through ``psql -v
        ON_ERROR_STOP=1``.  *migrate* runs in between: an argv list (run in *cwd*,
        never through a shell), a function called with the URL, or a migrator
        (``minitestdb.command``, ``minitestdb.alembic``, your own); its *inputs*
        (relative to *cwd*) and *key* decide when to rebuild.  Its
        :meth:`~minitestdb.Template.clone` gives a fresh database.  *pool* clones
        are kept ready in the background (0 disables; default 2).  *progress*, if
        given, hears each step of a build (the file applied, the migrator run).
        """
        # Templates (and glob, shutil, queue, the wire client) load on first use: about 8 ms off `import minitestdb`.
        from ._migrations import DEFAULT_MIGRATION_TIMEOUT
        from ._migrators import to_migrator
        from ._templates import DEFAULT_POOL_SIZE, build_template

        if migrate is None and (inputs or key is not None):
            raise ConfigurationError("inputs= and key= say when a migrator's template must be rebuilt: pass migrate= as well (sql files are hashed by themselves).")
        return build_template(
            self.endpoint, container=self.container_id or None, docker_binary=self.docker.binary, sql=sql, seed=seed,
            migrator=None if migrate is None else to_migrator(migrate, inputs=inputs, key=key, cwd=cwd, timeout=timeout), name=name,
            pool=DEFAULT_POOL_SIZE if pool is None else pool,
            timeout=DEFAULT_MIGRATION_TIMEOUT if timeout is None else timeout, progress=progress,
        )

    def prune(self, *, keep_templates: int = 2, kept: bool = False) -> list[str]:
        """Drop clones, schemas and half-built templates of dead processes, and all but the newest templates of each source; with *kept*, failed tests' kept databases too."""
        from ._templates import prune_databases  # loaded on first use: see template()

        return prune_databases(self.endpoint, keep_templates=keep_templates, kept=kept)

    def lock(self, name: str, *, timeout: float | None = 600.0) -> NamedLock:
        """The named lock *name* on this server, across processes and machines: ``with server.lock("queue"): ...`` (see :func:`minitestdb.lock`)."""
        from ._locks import lock  # loaded on first use: hashlib and contextlib cost about 5 ms of `import minitestdb`

        return lock(name, server=self, timeout=timeout)

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<minitestdb.Server {self.name!r} {self.redacted_url} container={self.container_id[:12]} {state}>"

    # --- lifecycle -------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Remove an owned server's container at once (a shared one is only let go).

        The container is killed, not stopped: its data is disposable, so a graceful
        shutdown protects nothing (``docker rm --force``, one call).

        Idempotent.  Cleanup errors are recorded in ``diagnostics.cleanup_errors``;
        a failed removal raises :class:`CleanupError` unless ``keep_on_failure``.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            forget_at_exit(self)
            try:
                if self.owned:
                    _remove_container(self.docker, self.container_id, self.diagnostics, raise_errors=not self.keep_on_failure, name=self.container_name)
            finally:
                self.diagnostics.mark("closed")

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


_ENGINES: dict[tuple[str, ...], Engine] = {}


def engine(docker: DockerCLI | None = None) -> Engine:
    """The engine *docker* talks to, so where servers are published and dialled: decided once per process and settings.

    The rules are ``_engine``'s; this reads their inputs: ``DOCKER_HOST`` (podman:
    ``CONTAINER_HOST``), ``MINITESTDB_HOST``, and, only when a docker context other
    than ``default`` is in use, ``docker context inspect``.  Raises
    ConfigurationError for an engine whose servers cannot be reached (``ssh://``
    without ``MINITESTDB_HOST``).
    """
    cli = docker or DockerCLI()
    env = os.environ
    key = (cli.binary, *(env.get(name, "") for name in ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CONFIG", "CONTAINER_HOST", "MINITESTDB_HOST")))
    found = _ENGINES.get(key)
    if found is None:
        variable = engine_variable(cli.binary)
        address, source = env.get(variable, "").strip(), variable
        if needs_context(env, cli.binary, _current_context(env)):
            name, address = context_endpoint(cli.run(["context", "inspect"], timeout=20).stdout)
            source = f"docker context {name!r}"
        found = _ENGINES[key] = decide_engine(address, source=source, host_override=read_env(env).host)
    return found


def _docker_and_engine(binary: str | None) -> tuple[DockerCLI, Engine]:
    """The docker CLI for *binary* and its engine; the CLI reads inspects from the engine's socket where ``api_socket`` allows."""
    cli = DockerCLI(binary)
    where = engine(cli)
    cli.api_socket = api_socket(where, cli.binary)
    return cli, where


def _current_context(env: Mapping[str, str]) -> str:
    """The docker config's ``currentContext`` (``docker context use``), ``""`` if none."""
    if env.get("DOCKER_HOST", "").strip() or env.get("DOCKER_CONTEXT", "").strip():
        return ""  # they decide without the config
    path = os.path.join(env.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker"), "config.json")
    try:
        with open(path, encoding="utf-8") as fh:
            return current_context_name(fh.read())
    except (OSError, UnicodeDecodeError):
        return ""


def _remove_container(
    docker: DockerCLI, container: str, diagnostics: Diagnostics, *, raise_errors: bool, name: str = "", graceful: bool = False,
) -> None:
    """Remove *container*: ``rm --force`` (SIGKILL and remove in one call), after a ``stop`` only when *graceful*.

    A private server's data, and a server that failed to start, are disposable: a
    graceful stop protects nothing and, on an image whose PID 1 does not pass the
    stop signal on, waits the whole grace (5 s instead of 0.2 s).  Only ``down`` of
    a shared server stops first: see :func:`down`.
    """
    if graceful:
        try:
            docker.stop(container, grace=STOP_GRACE_SECONDS)
        except NoSuchContainerError:
            return
        except DockerError as exc:
            # A stop that fails is not fatal: rm --force kills the container anyway.
            diagnostics.note_cleanup_error(f"stop: {exc}")
    try:
        docker.rm(container)
    except NoSuchContainerError:
        return
    except DockerError as exc:
        diagnostics.note_cleanup_error(f"rm: {exc}")
        if raise_errors:
            raise CleanupError(
                f"The container {name or container[:12]} could not be removed ({exc}); remove it with `docker rm --force {container[:12]}`.",
                detail=exc.detail,
            ) from None


def _container_checker(docker: DockerCLI, container: str, name: str, diagnostics: Diagnostics) -> Callable[[], None]:
    def check() -> None:
        info = docker.inspect(container)
        if info is None:
            raise ContainerExitedError(f"The container {name} disappeared while minitestdb waited for PostgreSQL (removed by someone else?); start it again.")
        if not info.running:
            tail = docker.log_tail(container, lines=LOG_TAIL_LINES)
            diagnostics.set_log_tail(tail)
            raise ContainerExitedError(f"The container {name} exited with code {info.exit_code} during startup: {exit_reason(tail)}", detail="log tail:\n" + tail)

    return check


def _check_port_free(where: Engine, port: int | None) -> None:
    """Fail before ``create`` when a fixed port on a local engine is taken: podman's failed
    ``create`` would also remove the port forwarding of the container that holds it (netavark 1.4)."""
    if port is None or where.kind != "local":
        return
    import socket  # only for a fixed port: socket, selectors and array cost 2.5-6 ms of every `import minitestdb`

    family = socket.AF_INET6 if ":" in where.publish_ip else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((where.publish_ip, port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                return  # not ours to judge (say, no IPv6 here): let the engine decide
            raise PortInUseError(f"The host port {port} is already taken on {where.publish_ip}: choose another --port, or leave it out for a free one.") from None


def _new_password() -> str:
    """48 hex digits (192 bits) from the OS's random source: no character a URL, a shell or a suite's parser could trip on."""
    return os.urandom(24).hex()


def _labels(*, name: str, shared: bool, user: str, dbname: str) -> dict[str, str]:
    return owner_labels(name=name, shared=shared, user=user, dbname=dbname, pid=os.getpid(), host=hostname(), now=time.time())


def _run_argv(spec: ContainerSpec) -> list[str]:
    """``create_argv`` as ``run --detach``: create and start in one CLI process (about 0.1 s less than two)."""
    return ["run", "--detach", *create_argv(spec)[1:]]


def _created_by_us(docker: DockerCLI, spec: ContainerSpec) -> str:
    """The id of the container a failed ``run`` of *spec* left behind, ``""`` if it made none.

    ``run`` creates, then starts: a start that fails (a port taken, the engine gone,
    a timeout) leaves the created container.  Its labels (owner pid and host, the
    time of this launch) tell it from one another process made under the same name.
    """
    try:
        info = docker.inspect(spec.name)
    except DockerError:
        return ""
    if info is None or any(info.labels.get(key) != value for key, value in spec.labels.items()):
        return ""
    return info.id


def _launch(
    docker: DockerCLI, spec: ContainerSpec, *, engine: Engine, password: str, owned: bool, timeout: float, readiness: str, keep_on_failure: bool, diagnostics: Diagnostics,
    progress: Callable[[str], None] | None = None,
) -> Server:
    """Run the container (``docker run --detach``), then wait; remove it again if anything fails."""
    register_secret(password)
    diagnostics.image = spec.labels.get(LABEL_IMAGE, spec.image)
    diagnostics.snapshot = spec.image if LABEL_IMAGE in spec.labels else ""
    diagnostics.container_name = spec.name
    container_id = ""
    try:
        container_id = docker.run_detached(_run_argv(spec), env={"POSTGRES_PASSWORD": password})
        diagnostics.container_id = container_id
        diagnostics.mark("started")
        return _await_server(
            docker, container_id, spec.name, engine=engine, password=password, owned=owned, timeout=timeout, readiness=readiness, keep_on_failure=keep_on_failure,
            diagnostics=diagnostics, progress=progress,
        )
    except BaseException as exc:
        # KeyboardInterrupt included: never leave a half-started container behind.
        if not container_id and not isinstance(exc, ContainerNameConflictError):  # a conflict made nothing: the name is another's
            container_id = diagnostics.container_id = _created_by_us(docker, spec)
        if not container_id:
            raise
        if isinstance(exc, MiniTestDBError) and not diagnostics.log_tail:
            diagnostics.set_log_tail(docker.log_tail(container_id, lines=LOG_TAIL_LINES))
        if not keep_on_failure:
            _remove_container(docker, container_id, diagnostics, raise_errors=False, name=spec.name)
        if isinstance(exc, MiniTestDBError) and not isinstance(exc, ContainerExitedError) and diagnostics.log_tail:
            exc.add_detail("log tail:\n" + diagnostics.log_tail)
        raise


def _await_server(
    docker: DockerCLI, container: str, name: str, *, engine: Engine, password: str, owned: bool, timeout: float, readiness: str, keep_on_failure: bool,
    diagnostics: Diagnostics, progress: Callable[[str], None] | None = None, known: ContainerInfo | None = None,
) -> Server:
    """Read the mapped port, wait for a real query at the host *engine* says, and return the Server.

    *known*: the container's ``docker inspect``, read by the caller just now (a running
    server being reused): no second inspect, one docker process (about 20 ms) fewer.
    """
    check = _container_checker(docker, container, name, diagnostics)
    info = known if known is not None and known.running and known.port is not None else docker.inspect(container)
    if info is None or not info.running or info.port is None:
        check()  # raises with the log tail when the container already stopped
        info = docker.inspect(container)
    host, port = info.address(engine) if info is not None else (None, None)
    diagnostics.mark("port")
    if info is None or port is None:
        raise ContainerExitedError(f"The container {name} publishes no port for 5432/tcp: was it created by something other than minitestdb?")
    if host is None:
        fix = command_hint("down", server=info.server_name) if info.shared else f"`docker rm --force {name}`"
        raise ConfigurationError(
            f"The container {name} publishes PostgreSQL on the engine's own loopback only, out of reach of this client of a remote engine ({engine.source}): "
            f"remove it with {fix} and start it again."
        )
    endpoint = Endpoint(host=host, port=port, user=info.user, password=password, dbname=info.dbname)
    diagnostics.host, diagnostics.port = host, port
    try:
        wait_until_ready(endpoint, timeout=timeout, diagnostics=diagnostics, check_container=check, method=readiness, progress=progress)
    except MiniTestDBError:
        if not diagnostics.log_tail:
            diagnostics.set_log_tail(docker.log_tail(container, lines=LOG_TAIL_LINES))
        raise
    diagnostics.mark("ready")
    server = Server(endpoint=endpoint, docker=docker, container=info, owned=owned, diagnostics=diagnostics, keep_on_failure=keep_on_failure)
    if owned:
        close_at_exit(server)  # owned servers still open at exit are removed then
    return server


def _await_named(docker: DockerCLI, name: str, timeout: float = 10.0) -> None:
    """Wait until the container *name*, which another process's ``docker run`` holds the name of, can be inspected.

    The engine reserves a name before the container can be inspected (creating its
    layer takes a moment, longer for a big image): an inspect read from the
    engine's socket (1 ms) right after a name conflict can still find nothing.
    """
    deadline = time.monotonic() + timeout
    while docker.inspect(name) is None and time.monotonic() < deadline:
        time.sleep(0.05)


def _from_snapshot(
    docker: DockerCLI, spec: ContainerSpec, image_info: Mapping[str, object], *, engine: Engine, use: bool | None, timeout: float, readiness: str,
    progress: Callable[[str], None] | None,
) -> ContainerSpec:
    """*spec* started from its image's start-up snapshot (built first when missing), else *spec* as it is.

    The first server of an image pays for the build (a full initialization, a
    clean stop, a commit: about 2 s here); later ones skip initdb and the
    entrypoint's temporary server.  A build that fails says so in one line and the
    server is initialized as before.
    """
    if not (read_env().snapshot if use is None else use) or snapshot_obstacle(spec, image_info):
        return spec
    source_id = str(image_info.get("Id", ""))
    key = snapshot_key(source_id, user=spec.user, dbname=spec.dbname, initdb_args=spec.initdb_args)
    tag = snapshot_tag(key)
    owner = snapshot_owner(docker, tag)
    if owner is None:
        with build_lock(key):
            # Another process may have built it while this one waited for the lock.
            owner = snapshot_owner(docker, tag) or _build_snapshot(
                docker, spec, tag, source_id=source_id, pgdata=image_pgdata(image_info), engine=engine, timeout=timeout, readiness=readiness, progress=progress,
            )
    return spec if owner is None else snapshot_start_spec(spec, tag, owner, docker.binary)


def _build_snapshot(
    docker: DockerCLI, spec: ContainerSpec, tag: str, *, source_id: str, pgdata: str, engine: Engine, timeout: float, readiness: str,
    progress: Callable[[str], None] | None,
) -> str | None:
    """Build the snapshot *tag* of *spec*'s image: the cluster's owner (``uid:gid``), None (said in one line) when it cannot be built."""
    (progress or (lambda message: None))(f"preparing a start-up snapshot of {spec.image} (once per image)")
    ensure_watchdog(docker.binary)  # a builder killed midway leaves no container
    name = private_container_name(os.getpid(), os.urandom(4).hex())
    build_spec_ = snapshot_build_spec(spec, name=name, labels=_labels(name=name, shared=False, user=spec.user, dbname=spec.dbname))
    try:
        builder = _launch(
            docker, build_spec_, engine=engine, password=_new_password(), owned=True, timeout=timeout, readiness=readiness, keep_on_failure=False,
            diagnostics=Diagnostics(),
        )
        try:
            return commit_snapshot(docker, builder.container_id, tag, source=spec.image, source_id=source_id, pgdata=pgdata)
        finally:
            builder.close()
    except MiniTestDBError as exc:
        print(f"minitestdb: no start-up snapshot of {spec.image} ({exc.message}); starting it with initdb (MINITESTDB_SNAPSHOT=0 skips trying).", file=sys.stderr)
        return None


def start(
    *,
    image: str | None = None,
    port: int | None = None,
    user: str = "postgres",
    dbname: str = "postgres",
    password: str | None = None,
    fast: bool = True,
    tmpfs: bool | None = None,
    initdb_args: str | None = None,
    settings: Mapping[str, str | None] | None = None,
    env: Mapping[str, str] | None = None,
    extra_docker_args: Sequence[str] = (),
    readiness: str = "wire",
    timeout: float = DEFAULT_STARTUP_TIMEOUT,
    pull: bool = True,
    keep_on_failure: bool = False,
    docker: str | None = None,
    progress: Callable[[str], None] | None = None,
    snapshot: bool | None = None,
) -> Server:
    """Start a PostgreSQL server private to this process and wait until it answers.

    The container is removed by :meth:`Server.close` (or at interpreter exit).
    ``fast=True`` (the default) puts the data directory on a tmpfs and turns off
    fsync, synchronous_commit and full_page_writes; ``settings`` overrides single
    server settings (``None`` removes one), ``tmpfs`` and ``initdb_args`` override
    the rest.  ``readiness='pg8000'`` checks readiness with pg8000 if installed.
    *progress*, if given, receives one-line messages while it works (a pull,
    the wait for PostgreSQL).  *snapshot* (default: ``MINITESTDB_SNAPSHOT``, on)
    starts it from the image's start-up snapshot, built on the image's first use.
    """
    check_port_and_timeout(port, timeout)
    check_method(readiness)
    cli, where = _docker_and_engine(docker)
    resolved = image or read_env().image
    diagnostics = Diagnostics()
    image_info = ensure_image(cli, resolved, pull=pull, progress=progress)
    diagnostics.mark("image")
    password = password or _new_password()
    container_name = private_container_name(os.getpid(), os.urandom(4).hex())
    _check_port_free(where, port)
    # Before the container exists: a SIGKILL from here on is covered.
    ensure_watchdog(cli.binary)
    spec = build_spec(
        image=resolved, image_info=image_info, name=container_name, labels=_labels(name=container_name, shared=False, user=user, dbname=dbname),
        user=user, dbname=dbname, port=port, fast=fast, tmpfs=tmpfs, initdb_args=initdb_args, settings=settings, env=env, extra_args=extra_docker_args, engine=where,
    )
    spec = _from_snapshot(cli, spec, image_info, engine=where, use=snapshot, timeout=timeout, readiness=readiness, progress=progress)
    diagnostics.mark("snapshot")
    return _launch(
        cli, spec, engine=where, password=password, owned=True, timeout=timeout, readiness=readiness, keep_on_failure=keep_on_failure, diagnostics=diagnostics,
        progress=progress,
    )


def up(
    name: str = "default",
    *,
    image: str | None = None,
    port: int | None = None,
    user: str = "postgres",
    dbname: str = "postgres",
    password: str | None = None,
    fast: bool = True,
    settings: Mapping[str, str | None] | None = None,
    readiness: str = "wire",
    timeout: float = DEFAULT_STARTUP_TIMEOUT,
    pull: bool = True,
    keep_on_failure: bool = False,
    docker: str | None = None,
    progress: Callable[[str], None] | None = None,
    snapshot: bool | None = None,
) -> Server:
    """Start the shared server called *name*, or reuse it when it already runs.

    Every process asking for the same name gets the same container: its
    password is read back from the container, so no file is shared.  Closing
    the returned Server does not remove it; :func:`down` does.  *password*
    (default: a random one) and *settings* (``{"max_connections": "200"}``) are
    used when it is created; reusing a server whose password, or whose value of a
    setting asked for, differs is a ConfigurationError, as for the image and port.
    *progress*, if given, receives one-line messages about what is happening (the
    CLI prints them on stderr on a terminal).  *snapshot*: as for :func:`start`.
    """
    say = progress or (lambda message: None)
    check_port_and_timeout(port, timeout)
    check_method(readiness)
    cli, where = _docker_and_engine(docker)
    container_name = shared_container_name(name)
    environment = read_env()
    resolved = image or environment.image
    diagnostics = Diagnostics()
    # The image is looked for only once the container is known to be missing: a reuse (the
    # common case) then runs one docker process, where an image inspect in parallel cost
    # it about 5-10 ms of CPU on 2 cores; a create pays about 20 ms for the serial inspect.
    for _ in range(3):
        info = cli.inspect(container_name)
        if info is None:
            image_info = ensure_image(cli, resolved, pull=pull, progress=progress)
            diagnostics.mark("image")
            try:
                _check_port_free(where, port)
            except PortInUseError:
                if cli.inspect(container_name) is not None:
                    continue  # another process just made this server on that port: reuse it
                raise
            say(f"starting the server {name!r} from {resolved}")
            spec = build_spec(
                image=resolved, image_info=image_info, name=container_name, labels=_labels(name=name, shared=True, user=user, dbname=dbname),
                user=user, dbname=dbname, port=port, fast=fast, settings=settings, engine=where,
            )
            spec = _from_snapshot(cli, spec, image_info, engine=where, use=snapshot, timeout=timeout, readiness=readiness, progress=progress)
            diagnostics.mark("snapshot")
            try:
                return _launch(
                    cli, spec, engine=where, password=password or _new_password(), owned=False, timeout=timeout, readiness=readiness, keep_on_failure=keep_on_failure,
                    diagnostics=diagnostics, progress=progress,
                )
            except ContainerNameConflictError:
                _await_named(cli, container_name)
                continue  # another process created it first: reuse theirs
        check_reusable(info, name=name, image=resolved, explicit_image=bool(image or environment.explicit_image), port=port, user=user, settings=settings, password=password or None)
        diagnostics.reused = True
        diagnostics.container_id, diagnostics.container_name, diagnostics.image = info.id, info.name, info.image
        say(f"reusing the server {name!r} ({info.name})" if info.running else f"restarting the stopped server {name!r}")
        if not info.running:
            try:
                cli.start(info.id)
                diagnostics.mark("started")
            except NoSuchContainerError:
                continue
        return _await_server(
            cli, info.id, info.name, engine=where, password=info.password, owned=False, timeout=timeout, readiness=readiness, keep_on_failure=True, diagnostics=diagnostics,
            progress=progress, known=info if info.running else None,
        )
    raise MiniTestDBError(f"The shared server {name!r} kept disappearing while starting (another process removing it?); try again.")


def find_servers(*, docker: str | None = None, shared_only: bool = False) -> list[ContainerInfo]:
    """Every container minitestdb made (any state), oldest first."""
    cli = DockerCLI(docker)
    filters = [f"{LABEL}=1"] + ([f"{LABEL_SHARED}=1"] if shared_only else [])
    infos = cli.inspect_many(cli.ps(filters))
    return sorted(infos, key=lambda i: (i.created or 0, i.name))


def attach(name: str = "default", *, docker: str | None = None, timeout: float = 10.0) -> Server:
    """The running shared server *name*, without starting one; raises if it is not running."""
    cli, where = _docker_and_engine(docker)
    info = cli.inspect(shared_container_name(name))
    if info is None or info.labels.get(LABEL) != "1":
        raise MiniTestDBError(f"No minitestdb server named {name!r} exists: start it with `python -m minitestdb up --server {name}`.")
    if not info.running:
        raise MiniTestDBError(f"The minitestdb server {name!r} is not running ({info.status}): start it with `python -m minitestdb up --server {name}`.")
    diagnostics = Diagnostics(reused=True, container_id=info.id, container_name=info.name, image=info.image)
    return _await_server(
        cli, info.id, info.name, engine=where, password=info.password, owned=False, timeout=timeout, readiness="wire", keep_on_failure=True, diagnostics=diagnostics,
        known=info,
    )


def down(name: str | None = "default", *, all_servers: bool = False, docker: str | None = None) -> list[str]:
    """Remove the shared server *name* (or, with *all_servers*, every minitestdb container).

    Returns the names of the containers removed.  A name that does not exist is not an error.
    A shared server is stopped first (SIGINT, PostgreSQL's fast shutdown, up to
    5 s): unlike a private one it may be in use by other processes, which then get
    PostgreSQL's own "terminating connection due to administrator command"
    instead of a reset connection; ``down`` is explicit and rare, so the
    0.2 s (5 s on an image whose PID 1 does not pass signals on) is worth it.
    """
    cli = DockerCLI(docker)
    if all_servers:
        targets = [(i.id, i.name, i.shared) for i in find_servers(docker=docker)]
    else:
        info = cli.inspect(shared_container_name(name or "default"))
        if info is None:
            return []
        if info.labels.get(LABEL) != "1":
            raise ConfigurationError(f"The container {info.name} was not made by minitestdb; minitestdb will not remove it.")
        targets = [(info.id, info.name, info.shared)]
    removed = []
    diagnostics = Diagnostics()
    for container_id, container_name, shared in targets:
        _remove_container(cli, container_id, diagnostics, raise_errors=True, name=container_name, graceful=shared)
        removed.append(container_name)
    return removed
