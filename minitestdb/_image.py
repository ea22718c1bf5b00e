"""The image a server runs: found locally, else pulled (with progress on a terminal).

``up`` asks for the image only when its shared container does not exist: a reuse
needs no image inspect (see ``_server.up``).
"""

from __future__ import annotations

import sys
from typing import Any, Callable

from ._docker import DockerCLI
from ._errors import ImageUnavailableError

__all__ = ["ensure_image"]


def _show_progress() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def ensure_image(docker: DockerCLI, image: str, *, pull: bool, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """The image's ``docker image inspect`` JSON, pulling it first when it is missing and *pull* allows.

    With *progress* (the caller decided to show it, as the CLI does on a
    terminal), the pull is announced there and docker's own progress streams to
    stderr; without, both appear only when stderr is a terminal.
    """
    found = docker.image_inspect(image)
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
