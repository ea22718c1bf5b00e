"""The image a server runs: found locally, else pulled (with progress on a terminal).

``up`` looks for its shared container and for the image at once:
:class:`ImagePrefetch` runs ``docker image inspect`` in a thread while the
caller inspects the container, since one of the two answers is usually enough.
"""

from __future__ import annotations

import sys
import threading
from typing import Any, Callable

from ._docker import DockerCLI
from ._errors import ImageUnavailableError

__all__ = ["ImagePrefetch", "ensure_image"]


class ImagePrefetch:
    """``docker image inspect`` in a thread; :meth:`get` returns its answer (or raises its error) in the caller's."""

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
        """Wait for the thread without using its answer, so no docker process is left behind."""
        self._thread.join()


def _show_progress() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def ensure_image(
    docker: DockerCLI, image: str, *, pull: bool, prefetch: ImagePrefetch | None = None, progress: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """The image's ``docker image inspect`` JSON, pulling it first when it is missing and *pull* allows.

    With *progress* (the caller decided to show it, as the CLI does on a
    terminal), the pull is announced there and docker's own progress streams to
    stderr; without, both appear only when stderr is a terminal.
    """
    found = prefetch.get() if prefetch is not None else docker.image_inspect(image)
    if found is not None:
        return found
    if not pull:
        raise ImageUnavailableError(f"The image {image!r} is not present and pulling is disabled: pull it, or pass --image naming an image you have.")
    show = progress is not None or _show_progress()
    if show:
        message = f"pulling {image} (first use only)..."
        if progress is not None:
            progress(message)
        else:
            print(f"minitestdb: {message}", file=sys.stderr)
    docker.pull(image, show_progress=show)
    found = docker.image_inspect(image)
    if found is None:
        raise ImageUnavailableError(f"The image {image!r} was pulled but cannot be inspected: check `docker image ls`.")
    return found
