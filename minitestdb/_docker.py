"""The docker CLI wrapper: every docker call goes through :class:`DockerCLI`.

Calls are argv lists (never a shell string) with a timeout.  A failure becomes a
typed error carrying the command, exit code and stderr, redacted.  Using the CLI
(not the engine's socket) means DOCKER_HOST, docker contexts and podman's
docker-compatible CLI (``MINITESTDB_DOCKER=podman``) work as the user set them up.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from typing import Any, Mapping, Sequence
from urllib.parse import quote

from ._container import ContainerInfo, parse_inspect
from ._env import read_env
from ._errors import (
    ContainerNameConflictError,
    DockerCommandError,
    DockerDaemonError,
    DockerError,
    DockerNotFoundError,
    DockerPermissionError,
    DockerTimeoutError,
    ImageUnavailableError,
    NoSuchContainerError,
    PortInUseError,
)
from ._redact import redact

__all__ = [
    "DEFAULT_TIMEOUT",
    "DockerCLI",
    "DockerResult",
    "classify_failure",
    "docker_binary",
    "version_info",
]

DEFAULT_TIMEOUT = 60.0
PULL_TIMEOUT = 900.0


def docker_binary() -> str:
    """The docker CLI to run: ``MINITESTDB_DOCKER`` or ``docker``."""
    return read_env().docker


_DAEMON_DOWN = (
    r"cannot connect to the docker daemon|is the docker daemon running|error during connect"
    r"|connection refused|cannot connect to podman|no such file or directory.*\.sock"
)
# Text that proves the engine answered and the failure lies further on (a registry that
# refuses a pull): docker says so in "Error response from daemon"; podman has no
# daemon and says it tried to reach a registry.
_ENGINE_ANSWERED = r"error response from daemon|trying to pull|pinging container registry|initializing source"
_PERMISSION = r"permission denied"
_IMAGE_MISSING = (
    r"no such image|unable to find image|pull access denied|manifest unknown|not found: manifest"
    r"|repository does not exist|no such host|failed to resolve reference|error pulling image"
    r"|toomanyrequests|i/o timeout|name unknown|requested access to the resource is denied"
    r"|image not known|pinging container registry|initializing source|did not resolve to an alias"
)
# podman: a short name (postgres:18) with no alias and no unqualified-search registries.
_SHORT_NAME = r"short-name .* did not resolve to an alias"
_PORT_TAKEN = r"port is already allocated|address already in use"
_NAME_CONFLICT = (
    r"conflict.*(container name|already in use)|is already in use by container"
    r"|container name .* is already in use"  # podman
)
_NO_SUCH_CONTAINER = r"no such container|no such object"


def _has(pattern: str, text: str) -> bool:
    # Patterns are compiled on first use (re caches them): only failures need them.
    return re.search(pattern, text, re.IGNORECASE) is not None


def classify_failure(argv: Sequence[str], exit_code: int, stderr: str) -> DockerError:
    """Map a failed docker command to the error a person needs (pure: tested with exact stderr)."""
    words = [a for a in argv[1:3] if not a.startswith("-")]
    verb = words[0] if words else ""
    if verb in ("container", "image") and len(words) > 1:
        verb = f"{verb} {words[1]}"
    shown = f"`{os.path.basename(argv[0])} {verb}`" if argv else "docker"
    last = _last_line(stderr)
    kwargs: dict[str, Any] = {"command": argv, "exit_code": exit_code, "stderr": stderr}
    if _has(_PERMISSION, stderr) and ("socket" in stderr or "daemon" in stderr.lower()):
        return DockerPermissionError(
            f"{shown} was denied access to the Docker engine's socket: add your user to the 'docker' group "
            "(then log in again) or use rootless Docker.",
            **kwargs,
        )
    # "Error response from daemon" means the engine answered: it is not down.
    if _has(_DAEMON_DOWN, stderr) and not _has(_ENGINE_ANSWERED, stderr):
        return DockerDaemonError(
            f"{shown} cannot reach a Docker engine ({last}): start Docker, or point DOCKER_HOST or the docker context at a running one.",
            **kwargs,
        )
    if _has(_NAME_CONFLICT, stderr):
        return ContainerNameConflictError(f"{shown} failed: the container name is already taken ({last}).", **kwargs)
    if _has(_PORT_TAKEN, stderr):
        return PortInUseError(
            f"{shown} failed because the host port is already taken ({last}): choose another --port or leave it out for a free one.",
            **kwargs,
        )
    if _has(_NO_SUCH_CONTAINER, stderr) and not verb.startswith(("pull", "image")):
        return NoSuchContainerError(f"{shown} failed: the container does not exist ({last}).", **kwargs)
    if verb in ("pull", "create", "run") and _has(_SHORT_NAME, stderr):
        return ImageUnavailableError(
            f"{shown} failed: podman cannot tell which registry the short image name means ({last}); pass --image "
            "(MINITESTDB_IMAGE) with the registry named, such as docker.io/library/postgres:18, or set "
            "unqualified-search-registries in registries.conf.",
            **kwargs,
        )
    if verb in ("pull", "create", "run", "image inspect") and _has(_IMAGE_MISSING, stderr):
        return ImageUnavailableError(
            f"{shown} failed: the image is not present and cannot be pulled ({last}); check the network, "
            "or pass --image (MINITESTDB_IMAGE) naming an image you have.",
            **kwargs,
        )
    return DockerCommandError(f"{shown} failed with exit code {exit_code}: {last or 'no error output'}.", **kwargs)


# `docker run` (and create) end a failure with this hint, after the line that says what failed.
_HELP_HINT = r"^Run '.*--help' for more information\.?$"


def _last_output_line(out: str) -> str:
    """The last line of a command's stdout, where ``create``, ``run --detach`` and ``commit`` print the new id (podman prints progress first)."""
    lines = out.strip().splitlines()
    return lines[-1].strip() if lines else ""


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip() and not _has(_HELP_HINT, line.strip())]
    line = lines[-1] if lines else ""
    return line[:300]


class DockerResult:
    """The output of a docker command that succeeded."""

    __slots__ = ("argv", "stderr", "stdout")

    def __init__(self, argv: list[str], stdout: str, stderr: str) -> None:
        self.argv = argv
        self.stdout = stdout
        self.stderr = stderr


class DockerCLI:
    """Runs the docker CLI; one instance per binary (``docker``, ``podman``, a path)."""

    def __init__(self, binary: str | None = None, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.binary = binary or docker_binary()
        self.timeout = timeout
        #: The engine API's unix socket (``_engine.api_socket``): when set, :meth:`inspect` and
        #: :meth:`image_inspect` read the same JSON there without starting the CLI (about 15 ms each).
        self.api_socket: str | None = None

    def _api_json(self, path: str) -> Any:
        """The engine API's JSON answer to ``GET path``: None for a 404, :data:`_NO_API` when the socket does not serve
        (missing, not permitted, an answer not understood), so the caller asks the CLI and its errors are the CLI's."""
        if not self.api_socket:
            return _NO_API
        try:
            status, body = _api_get(self.api_socket, path, 10.0)
            if status == 404:
                return None
            if status == 200:
                return json.loads(body)
        except (OSError, ValueError):
            pass
        return _NO_API

    def __repr__(self) -> str:
        return f"DockerCLI(binary={self.binary!r})"

    def run(
        self,
        args: Sequence[str],
        *,
        timeout: float | None = None,
        env: Mapping[str, str] | None = None,
        stream_output: bool = False,
    ) -> DockerResult:
        """Run ``docker ARGS``; raise a typed :class:`DockerError` unless it exits 0.

        *env* adds variables to the CLI's environment (a way to hand it a
        password without putting it in argv).  With *stream_output*, the
        command's output goes to our stderr as it comes (pull progress).
        """
        argv = [self.binary, *args]
        limit = self.timeout if timeout is None else timeout
        full_env = None
        stdout_target: Any = subprocess.PIPE
        if stream_output:
            try:
                sys.stderr.flush()
                stdout_target = sys.stderr.fileno()
            except (AttributeError, OSError, ValueError):
                stdout_target = subprocess.PIPE
        if env:
            full_env = dict(os.environ)
            full_env.update(env)
        try:
            proc = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=stdout_target,
                stderr=subprocess.PIPE,
                timeout=limit,
                env=full_env,
                check=False,
            )
        except FileNotFoundError:
            raise DockerNotFoundError(
                f"The docker CLI {self.binary!r} was not found on PATH: install Docker "
                "(or set MINITESTDB_DOCKER to a docker-compatible CLI such as podman).",
                command=argv,
            ) from None
        except PermissionError as exc:
            raise DockerNotFoundError(
                f"The docker CLI {self.binary!r} cannot be executed ({exc.strerror}): check MINITESTDB_DOCKER and the file's permissions.",
                command=argv,
            ) from None
        except subprocess.TimeoutExpired as exc:
            stderr = _text(exc.stderr)
            raise DockerTimeoutError(
                f"`{os.path.basename(self.binary)} {args[0] if args else ''}` did not finish within {limit:g} s: "
                "the Docker engine may be overloaded or hung; check `docker info`.",
                command=argv,
                stderr=stderr,
            ) from None
        stdout = _text(proc.stdout)
        stderr = _text(proc.stderr)
        if proc.returncode != 0:
            raise classify_failure(argv, proc.returncode, stderr)
        return DockerResult(argv=argv, stdout=stdout, stderr=stderr)

    # --- the verbs ------------------------------------------------------------------

    def version(self) -> dict[str, Any]:
        """``docker version`` as JSON (client and server); raises if no engine answers."""
        out = self.run(["version", "--format", "{{json .}}"], timeout=20).stdout
        return version_info(_loads(out))

    def image_inspect(self, image: str) -> dict[str, Any] | None:
        """The image's inspect JSON, or None when the image is not present locally."""
        found = self._api_json(f"/images/{quote(image, safe='/:@')}/json")
        if found is not _NO_API:
            return found if isinstance(found, dict) else None
        try:
            out = self.run(["image", "inspect", image], timeout=30).stdout
        except (DockerCommandError, ImageUnavailableError) as exc:
            if re.search(r"no such (image|object)|image not known|not found", exc.stderr, re.IGNORECASE):
                return None
            raise
        data = _loads(out)
        return data[0] if isinstance(data, list) and data else None

    def pull(self, image: str, *, show_progress: bool = False, timeout: float = PULL_TIMEOUT) -> None:
        try:
            self.run(["pull", image], timeout=timeout, stream_output=show_progress)
        except (DockerCommandError, ImageUnavailableError) as exc:
            if _has(_SHORT_NAME, exc.stderr):
                raise  # its own advice (name the registry) is the one that helps
            raise ImageUnavailableError(
                f"The image {image!r} is not present and could not be pulled ({_last_line(exc.stderr) or exc.message}): "
                "check the network, or pass --image (or set MINITESTDB_IMAGE) to an image you have.",
                command=exc.command,
                exit_code=exc.exit_code,
                stderr=exc.stderr,
            ) from None

    def create(self, args: Sequence[str], *, env: Mapping[str, str] | None = None) -> str:
        """``docker create ...``; returns the new container's id."""
        out = self.run(list(args), timeout=60, env=env).stdout
        return _last_output_line(out)

    def run_detached(self, args: Sequence[str], *, env: Mapping[str, str] | None = None) -> str:
        """``docker run --detach ...`` (create and start in one call); returns the new container's id.

        A failure after the create (the start's) leaves the created container: the caller removes it.
        """
        out = self.run(list(args), timeout=60, env=env).stdout
        return _last_output_line(out)

    def start(self, container: str) -> None:
        self.run(["start", container], timeout=60)

    def inspect(self, container: str) -> ContainerInfo | None:
        """The container's state, or None when it does not exist."""
        found = self._api_json(f"/containers/{quote(container, safe='')}/json")
        if found is not _NO_API:
            return parse_inspect(found) if isinstance(found, dict) else None
        try:
            out = self.run(["container", "inspect", container], timeout=30).stdout
        except NoSuchContainerError:
            return None
        except DockerCommandError as exc:
            if re.search(r"no such|not found", exc.stderr, re.IGNORECASE):
                return None
            raise
        data = _loads(out)
        if not isinstance(data, list) or not data:
            return None
        return parse_inspect(data[0])

    def logs(self, container: str, *, tail: int = 50) -> str:
        """The last *tail* lines of the container's output (stdout and stderr), redacted."""
        result = self.run(["logs", "--tail", str(tail), container], timeout=30)
        # docker logs replays the container's stdout and stderr on its own two streams.
        return redact((result.stdout + result.stderr).strip())

    def log_tail(self, container: str, *, lines: int) -> str:
        """Like :meth:`logs`, for error reports: never raises, says why when the log cannot be read."""
        try:
            return self.logs(container, tail=lines)
        except DockerError as exc:
            return f"(log not available: {exc})"

    def stop(self, container: str, *, grace: int = 5) -> None:
        self.run(["stop", "--time", str(grace), container], timeout=grace + 30)

    def rm(self, container: str) -> None:
        self.run(["rm", "--force", "--volumes", container], timeout=60)

    def exec(self, container: str, argv: Sequence[str], *, user: str | None = None, timeout: float = 60) -> str:
        """``docker exec [--user USER] CONTAINER ARGV...``; returns its stdout."""
        args = ["exec", *(["--user", user] if user else []), container, *argv]
        return self.run(args, timeout=timeout).stdout

    def wait(self, container: str, *, timeout: float = 30) -> int:
        """``docker wait``: until *container* stops (DockerTimeoutError after *timeout*); returns its exit code."""
        code = _last_output_line(self.run(["wait", container], timeout=timeout).stdout)
        return int(code) if code.lstrip("-").isdigit() else -1

    def commit(self, args: Sequence[str]) -> str:
        """``docker commit ...`` (*args* after ``docker``); returns the new image's id."""
        out = self.run(list(args), timeout=300).stdout
        return _last_output_line(out)

    def tag(self, image: str, tag: str) -> None:
        self.run(["tag", image, tag], timeout=60)

    def rmi(self, image: str) -> None:
        """``docker rmi IMAGE``: fails (DockerCommandError) while a container uses it."""
        self.run(["rmi", image], timeout=120)

    def images(self, label_filters: Sequence[str], *, dangling: bool = False) -> list[tuple[str, str]]:
        """(id, ``repository:tag``) of the local images carrying every ``key`` or ``key=value`` in *label_filters*."""
        args = ["images", "--no-trunc", "--format", "{{.ID}} {{.Repository}}:{{.Tag}}"]
        for item in label_filters:
            args += ["--filter", f"label={item}"]
        if dangling:
            args += ["--filter", "dangling=true"]
        found = []
        for line in self.run(args, timeout=30).stdout.splitlines():
            image_id, _, reference = line.strip().partition(" ")
            if image_id:
                found.append((image_id, reference))
        return found

    def ps(self, label_filters: Sequence[str], *, all_states: bool = True) -> list[str]:
        """Ids of containers carrying every ``key`` or ``key=value`` in *label_filters*."""
        args = ["ps", "--no-trunc", "--quiet"]
        if all_states:
            args.append("--all")
        for item in label_filters:
            args += ["--filter", f"label={item}"]
        return [line.strip() for line in self.run(args, timeout=30).stdout.splitlines() if line.strip()]

    def inspect_many(self, containers: Sequence[str]) -> list[ContainerInfo]:
        if not containers:
            return []
        try:
            out = self.run(["container", "inspect", *containers], timeout=30).stdout
        except DockerCommandError as exc:
            # A container removed between ps and inspect fails the whole call: inspect the rest one by one.
            if not re.search(r"no such", exc.stderr, re.IGNORECASE):
                raise
            return [info for info in (self.inspect(c) for c in containers) if info is not None]
        data = _loads(out)
        return [parse_inspect(item) for item in data] if isinstance(data, list) else []


#: What :meth:`DockerCLI._api_json` answers when the API cannot be used.
_NO_API = object()


def _api_get(socket_path: str, path: str, timeout: float) -> tuple[int, bytes]:
    """One ``GET`` to the engine API on a unix socket: (status, body).  HTTP/1.0, so the answer is
    neither chunked nor kept alive: it ends when the engine closes the connection."""
    import socket  # already loaded when this runs: the readiness probe that follows needs it

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(socket_path)
        sock.sendall(f"GET {path} HTTP/1.0\r\nHost: docker\r\n\r\n".encode("ascii"))
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].split()
    if len(status_line) < 2 or not status_line[0].startswith(b"HTTP/"):
        raise ValueError("not an HTTP answer")
    return int(status_line[1]), body


def version_info(data: Any) -> dict[str, Any]:
    """``version --format '{{json .}}'`` with a ``Server`` part even for a local podman.

    Local podman has no daemon: the CLI runs containers itself and prints only
    ``Client`` (with a service or ``--remote`` it prints ``Server`` too).  Such
    a CLI is its own engine, so its ``Client`` is the engine's version.  Docker
    without an engine fails instead, so a missing ``Server`` never hides one.
    """
    if not isinstance(data, dict):
        return {}
    if not data.get("Server") and isinstance(data.get("Client"), dict):
        return {**data, "Server": data["Client"]}
    return data


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise DockerCommandError(f"The docker CLI printed output that is not JSON: {text[:200]!r}.") from None
