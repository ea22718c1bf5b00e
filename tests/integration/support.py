"""What every integration test needs: a real Docker engine and the test image.

When no engine answers, the tests skip with the reason, except when
MINITESTDB_REQUIRE_DOCKER=1 (CI), where that is a failure: a skipped
integration test is not a pass.
"""

from __future__ import annotations

import os
import unittest
from typing import Any

from minitestdb._docker import DockerCLI
from minitestdb._errors import MiniTestDBError

TEST_IMAGE = os.environ.get("MINITESTDB_TEST_IMAGE", "minitestdb/postgres-test:15")
_checked: str | None = None


def require_docker() -> None:
    """Call from setUpModule: skip (or fail under MINITESTDB_REQUIRE_DOCKER=1) without an engine and image."""
    global _checked
    if _checked is None:
        _checked = _problem()
    if _checked:
        if os.environ.get("MINITESTDB_REQUIRE_DOCKER") == "1":
            raise AssertionError(f"MINITESTDB_REQUIRE_DOCKER=1 but {_checked}")
        raise unittest.SkipTest(_checked)
    os.environ["MINITESTDB_IMAGE"] = TEST_IMAGE


def _problem() -> str:
    cli = DockerCLI()
    try:
        cli.version()
    except MiniTestDBError as exc:
        return f"no Docker engine answers ({exc}); run scripts/docker-engine.sh"
    try:
        if cli.image_inspect(TEST_IMAGE) is None:
            return f"the test image {TEST_IMAGE} is missing; run scripts/build-test-image.sh"
    except MiniTestDBError as exc:
        return f"cannot inspect the test image ({exc})"
    return ""


def minitestdb_containers() -> set[str]:
    """Ids of every container carrying the minitestdb label, in any state."""
    return set(DockerCLI().ps(["minitestdb=1"]))


class LeakCheck(unittest.TestCase):
    """Fails a test that leaves a minitestdb container behind."""

    def setUp(self) -> None:
        self._before = minitestdb_containers()

    def assert_no_new_containers(self) -> None:
        left = minitestdb_containers() - self._before
        self.assertEqual(left, set(), "containers left behind")


def ROOT_ENV() -> dict[str, str]:
    """The environment for a `python -m minitestdb` child: the checkout on PYTHONPATH, the test image."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["MINITESTDB_IMAGE"] = TEST_IMAGE
    return env


def database_names(server: Any, *, templates: bool = True) -> set[str]:
    """The databases on *server*; without *templates*, leave out the templates (meant to stay)."""
    sql = "select datname from pg_database" + ("" if templates else " where not datistemplate")
    with server.connect() as conn:
        return {row[0] for row in conn.query(sql).rows if row[0]}
