"""Servers: start a private one, bring up (or reuse) a shared named one, close, list, remove.

The flow of :func:`start` and :func:`up` is: find or pull the image, read its data
volume, ``docker create`` (loopback-only port, labels, random password handed
over through the CLI's environment), ``docker start``, read the mapped port from
``docker inspect``, then wait for a real query.  A failure at any step removes
the container it created (unless ``keep_on_failure``) and says what failed, with
the container's log tail.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading

from ._container import (
    DEFAULT_IMAGE,
    DEFAULT_SERVER_SETTINGS,
    LABEL,
    LABEL_NAME,
    LABEL_OWNER_HOST,
    LABEL_OWNER_PID,
    LABEL_SHARED,
    ContainerInfo,
    ContainerSpec,
    create_argv,
    data_volume,
    hostname,
    owner_labels,
    private_container_name,
    shared_container_name,
)
from ._diagnostics import Diagnostics
from ._docker import ContainerNameConflictError, DockerCLI, NoSuchContainerError
from ._errors import (
    CleanupError,
    ConfigurationError,
    ContainerExitedError,
    DockerError,
    ImageUnavailableError,
    MiniTestDBError,
)
from ._readiness import READINESS_METHODS, wait_until_ready
from ._redact import register_secret
from ._url import format_database_url
from ._watchdog import ensure_watchdog

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Mapping, Sequence

__all__ = ["DEFAULT_STARTUP_TIMEOUT", "Server", "attach", "down", "find_servers", "prune_containers", "resolve_image", "server_from_env", "start", "up"]

DEFAULT_STARTUP_TIMEOUT = 60.0
LOG_TAIL_LINES = 40
STOP_GRACE_SECONDS = 5


def _new_password() -> str:
    """A random password for one container (imported here: only a new container needs it)."""
    import secrets

    return secrets.token_urlsafe(24)


def _random_hex(nbytes: int) -> str:
    import secrets

    return secrets.token_hex(nbytes)


def resolve_image(image: str | None = None) -> str:
    """``image`` if given, else ``MINITESTDB_IMAGE``, else the pinned default."""
    return image or os.environ.get("MINITESTDB_IMAGE") or DEFAULT_IMAGE


class Server:
    """A running PostgreSQL server in a container.

    Use it as a context manager or call :meth:`close`.  A server from
    :func:`start` is *owned*: closing it stops and removes its container.  A
    shared server from :func:`up` is not: closing it only lets go of it, and
    :func:`down` removes it.
    """

    def __init__(
        self,
        *,
        docker: DockerCLI,
        info: ContainerInfo,
        password: str,
        owned: bool,
        diagnostics: Diagnostics,
        keep_on_failure: bool = False,
    ) -> None:
        if info.host is None or info.port is None:
            raise ConfigurationError(f"The container {info.name} publishes no port for 5432/tcp.")
        self._docker = docker
        self._info = info
        self.host: str = info.host
        self.port: int = info.port
        self.user: str = info.user
        self.dbname: str = info.dbname
        self.password: str = password
        self.container_id: str = info.id
        self.container_name: str = info.name
        self.name: str = info.server_name
        self.image: str = info.image
        self.owned = owned
        self.keep_on_failure = keep_on_failure
        self.diagnostics = diagnostics
        self._closed = False
        self._lock = threading.Lock()
        register_secret(password)

    @classmethod
    def from_url(cls, url: str, *, check: bool = True, timeout: float = 10.0) -> Server:
        """A Server for an existing PostgreSQL (``TEST_DATABASE_URL``): no container is started or removed.

        With *check*, one query proves it answers; an unreachable server raises an
        error naming host and port (never the password).
        """
        from ._url import parse_database_url

        parsed = parse_database_url(url)
        info = ContainerInfo(
            id="", name="", image="", status="external", running=True, exit_code=None, started_at="",
            host=parsed.host, port=parsed.port, labels={LABEL_NAME: f"{parsed.host}:{parsed.port}"},
            env={"POSTGRES_USER": parsed.user, "POSTGRES_DB": parsed.dbname},
        )
        diagnostics = Diagnostics(host=parsed.host, port=parsed.port, reused=True)
        server = cls(docker=DockerCLI(), info=info, password=parsed.password, owned=False, diagnostics=diagnostics)
        if check:
            from ._readiness import probe

            diagnostics.readiness_method = "wire"
            diagnostics.readiness_attempts = 1
            probe(host=parsed.host, port=parsed.port, user=parsed.user, password=parsed.password, dbname=parsed.dbname, timeout=timeout)
            diagnostics.mark("ready")
        return server

    # --- connection details -----------------------------------------------------------

    def url_for(self, dbname: str | None = None, *, password: bool = True) -> str:
        """A ``postgresql://`` URL for *dbname* (default: the server's database)."""
        return format_database_url(user=self.user, password=self.password if password else None, host=self.host, port=self.port, dbname=dbname or self.dbname)

    @property
    def url(self) -> str:
        """The connection URL, password included: hand it to the code under test."""
        return self.url_for()

    @property
    def redacted_url(self) -> str:
        return self.url_for(password=False)

    @property
    def env(self) -> dict[str, str]:
        """libpq's variables for this server (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE)."""
        return {"PGHOST": self.host, "PGPORT": str(self.port), "PGUSER": self.user, "PGPASSWORD": self.password, "PGDATABASE": self.dbname}

    def connect(self, dbname: str | None = None, *, timeout: float = 10.0) -> Any:
        """A new wire-client connection (``minitestdb``'s own, see ``_pgconn``)."""
        from ._pgconn import connect

        return connect(host=self.host, port=self.port, user=self.user, password=self.password, database=dbname or self.dbname, timeout=timeout)

    # --- templates and clones ------------------------------------------------------------

    def template(
        self,
        sql: Any = None,
        seed: Any = None,
        *,
        name: str | None = None,
        pool: int | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Find or build (once, across processes) the template for these migration files.

        *sql* and *seed* take paths, globs and directories (applied in sorted order;
        a list keeps its own order) through ``psql -v ON_ERROR_STOP=1``.  Returns a
        :class:`~minitestdb.Template`; its :meth:`clone` gives a fresh database.
        *pool* clones are kept ready in the background (0 disables; default 2).
        """
        from ._psql import DEFAULT_MIGRATION_TIMEOUT
        from ._templates import DEFAULT_POOL_SIZE, build_template, target_of

        return build_template(
            target_of(self), sql=sql, seed=seed, name=name,
            pool=DEFAULT_POOL_SIZE if pool is None else pool,
            timeout=DEFAULT_MIGRATION_TIMEOUT if timeout is None else timeout,
        )

    def prune(self, *, keep_templates: int = 2) -> list[str]:
        """Drop clones, schemas and half-built templates of dead processes, and old templates."""
        from ._templates import prune, target_of

        return prune(target_of(self), keep_templates=keep_templates)

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<minitestdb.Server {self.name!r} {self.redacted_url} container={self.container_id[:12]} {state}>"

    # --- lifecycle -------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Stop and remove an owned server's container (a shared one is only let go).

        Idempotent.  Cleanup errors are recorded in ``diagnostics.cleanup_errors``;
        a failed removal raises :class:`CleanupError` unless ``keep_on_failure``.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            _OWNED.discard(self)
            try:
                if self.owned:
                    _remove_container(self._docker, self.container_id, self.diagnostics, raise_errors=not self.keep_on_failure, name=self.container_name)
            finally:
                self.diagnostics.mark("closed")

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


# Owned servers still open when the interpreter exits are removed then (by the
# process that started them: _OWNER_PID is reset in a forked child).
_OWNED: set[Server] = set()
_OWNER_PID = [os.getpid()]


def _after_fork_in_child() -> None:
    _OWNER_PID[0] = os.getpid()
    _OWNED.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


@atexit.register
def _close_owned_servers() -> None:
    # A forked child exiting must not remove its parent's servers.
    if os.getpid() != _OWNER_PID[0]:
        return
    for server in list(_OWNED):
        try:
            server.close()
        except MiniTestDBError as exc:
            print(f"minitestdb: {exc}", file=sys.stderr)


def _remove_container(docker: DockerCLI, container: str, diagnostics: Diagnostics, *, raise_errors: bool, name: str = "") -> None:
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


def _show_progress() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


class _ImagePrefetch:
    """``docker image inspect`` in a thread, while the caller checks for a container to reuse."""

    def __init__(self, docker: DockerCLI, image: str) -> None:
        self._result: dict[str, Any] = {}
        self._thread = threading.Thread(target=self._work, args=(docker, image), name="minitestdb-image-inspect", daemon=True)
        self._thread.start()

    def _work(self, docker: DockerCLI, image: str) -> None:
        try:
            self._result["found"] = docker.image_inspect(image)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread by get()
            self._result["error"] = exc

    def get(self) -> dict[str, Any] | None:
        self._thread.join()
        if "error" in self._result:
            raise self._result["error"]
        found: dict[str, Any] | None = self._result.get("found")
        return found

    def wait(self) -> None:
        self._thread.join()


def _ensure_image(docker: DockerCLI, image: str, *, pull: bool, prefetch: _ImagePrefetch | None = None) -> dict[str, Any]:
    found = prefetch.get() if prefetch is not None else docker.image_inspect(image)
    if found is not None:
        return found
    if not pull:
        raise ImageUnavailableError(f"The image {image!r} is not present and pulling is disabled: pull it, or pass --image naming an image you have.")
    if _show_progress():
        print(f"minitestdb: pulling {image} (first use only)...", file=sys.stderr)
    docker.pull(image, show_progress=_show_progress())
    found = docker.image_inspect(image)
    if found is None:
        raise ImageUnavailableError(f"The image {image!r} was pulled but cannot be inspected: check `docker image ls`.")
    return found


def _log_tail(docker: DockerCLI, container: str) -> str:
    try:
        return docker.logs(container, tail=LOG_TAIL_LINES)
    except MiniTestDBError as exc:
        return f"(log not available: {exc})"


def _exit_reason(log_tail: str) -> str:
    """The line of a log tail most likely to say why the container stopped."""
    lines = [line.strip() for line in log_tail.splitlines() if line.strip()]
    for line in lines:
        lowered = line.lower()
        if lowered.startswith("error") or "fatal:" in lowered or "panic:" in lowered or ": error:" in lowered:
            return line[:300]
    return lines[-1][:300] if lines else "no output"


def _container_checker(docker: DockerCLI, container: str, name: str, diagnostics: Diagnostics) -> Any:
    def check() -> None:
        info = docker.inspect(container)
        if info is None:
            raise ContainerExitedError(f"The container {name} disappeared while minitestdb waited for PostgreSQL (removed by someone else?); start it again.")
        if not info.running:
            tail = _log_tail(docker, container)
            diagnostics.set_log_tail(tail)
            raise ContainerExitedError(
                f"The container {name} exited with code {info.exit_code} during startup: {_exit_reason(tail)}",
                detail="log tail:\n" + tail,
            )

    return check


def _build_spec(
    *,
    image: str,
    image_info: Mapping[str, Any],
    name: str,
    server_name: str,
    shared: bool,
    user: str,
    dbname: str,
    port: int | None,
    fast: bool,
    tmpfs: bool | None,
    initdb_args: str | None,
    settings: Mapping[str, str | None] | None,
    env: Mapping[str, str] | None,
    extra_args: Sequence[str],
) -> ContainerSpec:
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
        labels=owner_labels(name=server_name, shared=shared, user=user, dbname=dbname),
        user=user,
        dbname=dbname,
        host_port=port,
        tmpfs=data_volume(image_info) if use_tmpfs else None,
        initdb_args=("--no-sync" if fast else "") if initdb_args is None else initdb_args,
        settings=merged,
        env=dict(env or {}),
        extra_args=tuple(extra_args),
    )


def _check_options(port: int | None, readiness: str, timeout: float) -> None:
    if port is not None and not (0 < port < 65536):
        raise ConfigurationError(f"The port {port} is not a TCP port: use 1-65535, or leave it out for a free one.")
    if readiness not in READINESS_METHODS:
        raise ConfigurationError(f"Unknown readiness method {readiness!r}: use one of {', '.join(READINESS_METHODS)}.")
    if timeout <= 0:
        raise ConfigurationError(f"The startup timeout must be positive, not {timeout!r}.")


def _launch(
    docker: DockerCLI,
    spec: ContainerSpec,
    *,
    password: str,
    owned: bool,
    timeout: float,
    readiness: str,
    keep_on_failure: bool,
    diagnostics: Diagnostics,
) -> Server:
    """Create and start the container, then wait; remove it again if anything fails."""
    diagnostics.image = spec.image
    diagnostics.container_name = spec.name
    container_id = docker.create(create_argv(spec), env={"POSTGRES_PASSWORD": password})
    diagnostics.container_id = container_id
    diagnostics.mark("created")
    try:
        docker.start(container_id)
        diagnostics.mark("started")
        return _await_server(docker, container_id, spec.name, password=password, owned=owned, timeout=timeout, readiness=readiness, keep_on_failure=keep_on_failure, diagnostics=diagnostics)
    except BaseException as exc:
        # KeyboardInterrupt included: never leave a half-started container behind.
        if isinstance(exc, MiniTestDBError) and not diagnostics.log_tail:
            diagnostics.set_log_tail(_log_tail(docker, container_id))
        if not keep_on_failure:
            _remove_container(docker, container_id, diagnostics, raise_errors=False, name=spec.name)
        if isinstance(exc, MiniTestDBError) and not isinstance(exc, ContainerExitedError) and diagnostics.log_tail:
            exc.add_detail("log tail:\n" + diagnostics.log_tail)
        raise


def _await_server(
    docker: DockerCLI,
    container: str,
    name: str,
    *,
    password: str,
    owned: bool,
    timeout: float,
    readiness: str,
    keep_on_failure: bool,
    diagnostics: Diagnostics,
) -> Server:
    """Read the mapped port, wait for a real query, and return the Server."""
    check = _container_checker(docker, container, name, diagnostics)
    info = docker.inspect(container)
    if info is None or not info.running or info.port is None:
        check()  # raises with the log tail when the container already stopped
        info = docker.inspect(container)
    if info is None or info.host is None or info.port is None:
        raise ContainerExitedError(f"The container {name} publishes no port for 5432/tcp: was it created by something other than minitestdb?")
    diagnostics.host, diagnostics.port = info.host, info.port
    register_secret(password)
    try:
        wait_until_ready(
            host=info.host,
            port=info.port,
            user=info.user,
            password=password,
            dbname=info.dbname,
            timeout=timeout,
            diagnostics=diagnostics,
            check_container=check,
            method=readiness,
        )
    except MiniTestDBError:
        if not diagnostics.log_tail:
            diagnostics.set_log_tail(_log_tail(docker, container))
        raise
    diagnostics.mark("ready")
    server = Server(docker=docker, info=info, password=password, owned=owned, diagnostics=diagnostics, keep_on_failure=keep_on_failure)
    if owned:
        _OWNED.add(server)
    return server


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
) -> Server:
    """Start a PostgreSQL server private to this process and wait until it answers.

    The container is removed by :meth:`Server.close` (or at interpreter exit).
    ``fast=True`` (the default) puts the data directory on a tmpfs and turns off
    fsync, synchronous_commit and full_page_writes; ``settings`` overrides single
    server settings (``None`` removes one), ``tmpfs`` and ``initdb_args`` override
    the rest.  ``readiness='pg8000'`` checks readiness with pg8000 if installed.
    """
    _check_options(port, readiness, timeout)
    cli = DockerCLI(docker)
    resolved = resolve_image(image)
    diagnostics = Diagnostics()
    image_info = _ensure_image(cli, resolved, pull=pull)
    password = password or _new_password()
    register_secret(password)
    container_name = private_container_name(os.getpid(), _random_hex(4))
    # Before the container exists: a SIGKILL from here on is covered.
    ensure_watchdog(cli.binary)
    spec = _build_spec(
        image=resolved, image_info=image_info, name=container_name, server_name=container_name, shared=False,
        user=user, dbname=dbname, port=port, fast=fast, tmpfs=tmpfs, initdb_args=initdb_args, settings=settings, env=env,
        extra_args=extra_docker_args,
    )
    return _launch(cli, spec, password=password, owned=True, timeout=timeout, readiness=readiness, keep_on_failure=keep_on_failure, diagnostics=diagnostics)


def up(
    name: str = "default",
    *,
    image: str | None = None,
    port: int | None = None,
    user: str = "postgres",
    dbname: str = "postgres",
    fast: bool = True,
    settings: Mapping[str, str | None] | None = None,
    readiness: str = "wire",
    timeout: float = DEFAULT_STARTUP_TIMEOUT,
    pull: bool = True,
    keep_on_failure: bool = False,
    docker: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> Server:
    """Start the shared server called *name*, or reuse it when it already runs.

    Every process asking for the same name gets the same container: its
    password is read back from the container, so no file is shared.  Closing
    the returned Server does not remove it; :func:`down` does.  *progress*, if
    given, receives one-line messages about what is happening (the CLI prints
    them on stderr).
    """
    say = progress or (lambda message: None)
    _check_options(port, readiness, timeout)
    cli = DockerCLI(docker)
    container_name = shared_container_name(name)
    resolved = resolve_image(image)
    diagnostics = Diagnostics()
    # Usually the server exists (reuse) or the image does (create): look for both at once.
    prefetch: _ImagePrefetch | None = _ImagePrefetch(cli, resolved)
    for _ in range(3):
        info = cli.inspect(container_name)
        if info is None:
            image_info = _ensure_image(cli, resolved, pull=pull, prefetch=prefetch)
            prefetch = None
            password = _new_password()
            register_secret(password)
            say(f"starting the server {name!r} from {resolved}")
            spec = _build_spec(
                image=resolved, image_info=image_info, name=container_name, server_name=name, shared=True, user=user, dbname=dbname, port=port,
                fast=fast, tmpfs=None, initdb_args=None, settings=settings, env=None, extra_args=(),
            )
            try:
                return _launch(cli, spec, password=password, owned=False, timeout=timeout, readiness=readiness, keep_on_failure=keep_on_failure, diagnostics=diagnostics)
            except ContainerNameConflictError:
                continue  # another process created it first: reuse theirs
        _check_reusable(info, name=name, image=resolved, explicit_image=bool(image or os.environ.get("MINITESTDB_IMAGE")), port=port, user=user)
        diagnostics.reused = True
        diagnostics.container_id, diagnostics.container_name, diagnostics.image = info.id, info.name, info.image
        say(f"reusing the server {name!r} ({info.name})" if info.running else f"restarting the stopped server {name!r}")
        if not info.running:
            try:
                cli.start(info.id)
                diagnostics.mark("started")
            except NoSuchContainerError:
                continue
        register_secret(info.password)
        server = _await_server(cli, info.id, info.name, password=info.password, owned=False, timeout=timeout, readiness=readiness, keep_on_failure=True, diagnostics=diagnostics)
        if prefetch is not None:
            prefetch.wait()  # its answer is not needed here; just leave no docker process behind
        return server
    raise MiniTestDBError(f"The shared server {name!r} kept disappearing while starting (another process removing it?); try again.")


def _check_reusable(info: ContainerInfo, *, name: str, image: str, explicit_image: bool, port: int | None, user: str) -> None:
    if info.labels.get(LABEL) != "1":
        raise ConfigurationError(f"A container named {info.name} exists but was not made by minitestdb: remove or rename it, or use another --name.")
    if explicit_image and info.image != image:
        raise ConfigurationError(
            f"The shared server {name!r} runs the image {info.image!r}, not {image!r}: run `python -m minitestdb down --name {name}` first, or use another --name."
        )
    if port is not None and info.port not in (None, port):
        raise ConfigurationError(
            f"The shared server {name!r} listens on port {info.port}, not {port}: run `python -m minitestdb down --name {name}` first, or use another --name."
        )
    if info.user != user:
        raise ConfigurationError(f"The shared server {name!r} was made for the user {info.user!r}, not {user!r}: use another --name.")


def find_servers(*, docker: str | None = None, shared_only: bool = False) -> list[ContainerInfo]:
    """Every container minitestdb made (any state), oldest first."""
    cli = DockerCLI(docker)
    filters = [f"{LABEL}=1"] + ([f"{LABEL_SHARED}=1"] if shared_only else [])
    infos = cli.inspect_many(cli.ps(filters))
    return sorted(infos, key=lambda i: (i.created or 0, i.name))


def attach(name: str = "default", *, docker: str | None = None, timeout: float = 10.0) -> Server:
    """The running shared server *name*, without starting one; raises if it is not running."""
    cli = DockerCLI(docker)
    info = cli.inspect(shared_container_name(name))
    if info is None or info.labels.get(LABEL) != "1":
        raise MiniTestDBError(f"No minitestdb server named {name!r} exists: start it with `python -m minitestdb up --name {name}`.")
    if not info.running:
        raise MiniTestDBError(f"The minitestdb server {name!r} is not running ({info.status}): start it with `python -m minitestdb up --name {name}`.")
    diagnostics = Diagnostics(reused=True, container_id=info.id, container_name=info.name, image=info.image)
    return _await_server(cli, info.id, info.name, password=info.password, owned=False, timeout=timeout, readiness="wire", keep_on_failure=True, diagnostics=diagnostics)


def down(name: str | None = "default", *, all_servers: bool = False, docker: str | None = None) -> list[str]:
    """Remove the shared server *name* (or, with *all_servers*, every minitestdb container).

    Returns the names of the containers removed.  A name that does not exist is not an error.
    """
    cli = DockerCLI(docker)
    if all_servers:
        targets = [(i.id, i.name) for i in find_servers(docker=docker)]
    else:
        info = cli.inspect(shared_container_name(name or "default"))
        if info is None:
            return []
        if info.labels.get(LABEL) != "1":
            raise ConfigurationError(f"The container {info.name} was not made by minitestdb; minitestdb will not remove it.")
        targets = [(info.id, info.name)]
    removed = []
    diagnostics = Diagnostics()
    for container_id, container_name in targets:
        _remove_container(cli, container_id, diagnostics, raise_errors=True, name=container_name)
        removed.append(container_name)
    return removed


def server_from_env(*, private: bool = False, name: str = "default", **options: Any) -> Server:
    """The server tests should use, from one place.

    ``TEST_DATABASE_URL`` set and non-empty: that server, no container (a
    malformed or unreachable URL is a clear error without the password).
    Otherwise the shared server *name* (started, or reused across processes),
    or with *private* a server for this process alone, removed at exit.
    *options* go to :func:`up` or :func:`start`.
    """
    url = os.environ.get("TEST_DATABASE_URL", "").strip()
    if url:
        return Server.from_url(url)
    if private:
        options.pop("progress", None)  # start() prints nothing while it works
        return start(**options)
    return up(name, **options)


def prune_containers(*, docker: str | None = None) -> list[str]:
    """Remove private containers whose owner process (on this host) is gone.

    Never touches a shared server, a live owner's containers, or containers of
    other hosts (their owners cannot be checked from here).  Returns the names removed.
    """
    from ._watchdog import owner_alive

    cli = DockerCLI(docker)
    host = hostname()
    removed = []
    for info in find_servers(docker=docker):
        if info.shared or info.labels.get(LABEL_OWNER_HOST) != host:
            continue
        pid = info.labels.get(LABEL_OWNER_PID, "")
        if not pid.isdigit() or owner_alive(int(pid)):
            continue
        try:
            cli.rm(info.id)
        except NoSuchContainerError:
            continue
        removed.append(info.name)
    return removed

