"""Run minitestdb's tests with the standard library only.

    python tests/run.py               # unit and integration tests
    python tests/run.py unit          # unit tests only (no Docker needed)
    python tests/run.py integration   # integration tests only (a real Docker engine)
    python tests/run.py core          # the integration core: what every engine and server version must pass

Integration tests skip with a reason when no Docker engine answers, except when
MINITESTDB_REQUIRE_DOCKER=1 (as in CI), where that is a failure.  The start-up
snapshots the integration tests made are removed at the end: the tests leave
none behind.  The last line is "N passed, N failed" (plus ", N skipped").
"""

from __future__ import annotations

import os
import sys
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: The integration core, run on every server version and engine CI proves (MINITESTDB_TEST_IMAGE,
#: MINITESTDB_DOCKER, DOCKER_HOST pick which): start, auth methods, template build and clone, the
#: pool, the schema mode, prune, run, and the shared server's up, reuse, races, owner death and down.
CORE = (
    "tests.integration.test_lifecycle.StartCloseTest.test_start_query_close_leaves_nothing",
    "tests.integration.test_lifecycle.AuthMethodsTest",
    "tests.integration.test_templates.TemplateBuildTest.test_identical_inputs_build_once_across_8_processes",
    "tests.integration.test_templates.TemplateBuildTest.test_broken_migration_names_file_and_line_leaves_nothing_then_builds_after_fix",
    "tests.integration.test_templates.TemplateBuildTest.test_container_psql_when_the_host_has_none",
    "tests.integration.test_templates.CloneTest.test_clones_are_isolated",
    "tests.integration.test_templates.CloneTest.test_template_refuses_connections",
    "tests.integration.test_templates.CloneTest.test_pool_serves_ready_clones_and_drops_the_rest",
    "tests.integration.test_templates.CloneTest.test_reset_returns_to_the_cloned_state",
    "tests.integration.test_templates.CloneTest.test_schema_mode",
    "tests.integration.test_templates.CloneTest.test_prune_drops_only_what_dead_owners_left_unused",
    "tests.integration.test_run.RunTest.test_variables_exit_code_and_cleanup",
    "tests.integration.test_run.RunTest.test_the_database_is_migrated",
    "tests.integration.test_cli.UpDownTest.test_up_reuse_psql_status_down",
    "tests.integration.test_cli.RaceTest.test_16_processes_up_at_once_make_one_container",
    "tests.integration.test_guarantees.OwnerDeathTest.test_private_server_outlives_no_owner",
    "tests.integration.test_snapshot.SnapshotTest.test_a_server_started_from_a_snapshot_is_like_a_freshly_initialized_one",
)


class _CountingResult(unittest.TextTestResult):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.passed = 0

    def addSuccess(self, test: unittest.TestCase) -> None:
        super().addSuccess(test)
        self.passed += 1


def _snapshot_images() -> set[str] | None:
    """The ids of the engine's start-up snapshot images, None when no engine answers."""
    from minitestdb._container import LABEL_SNAPSHOT
    from minitestdb._docker import DockerCLI
    from minitestdb._errors import MiniTestDBError

    try:
        return {image_id for image_id, _ref in DockerCLI().images([LABEL_SNAPSHOT])}
    except MiniTestDBError:
        return None


def _remove_snapshots(images: set[str]) -> list[str]:
    """Remove *images*; returns a line for each that could not be removed."""
    from minitestdb._docker import DockerCLI
    from minitestdb._errors import MiniTestDBError

    problems = []
    for image_id in sorted(images):
        try:
            DockerCLI().run(["rmi", "--force", image_id], timeout=120)
        except MiniTestDBError as exc:
            problems.append(f"the tests left the snapshot image {image_id[:19]}, which could not be removed: {exc}")
    return problems


def main(argv: list[str]) -> int:
    lanes = argv or ["unit", "integration"]
    unknown = [lane for lane in lanes if lane not in ("unit", "integration", "core", "all")]
    if unknown:
        print(f"usage: python tests/run.py [unit] [integration] [core] (unknown: {' '.join(unknown)})", file=sys.stderr)
        return 2
    if "all" in lanes:
        lanes = ["unit", "integration"]
    sys.path.insert(0, ROOT)
    os.chdir(ROOT)
    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    for lane in lanes:
        if lane == "core":
            suite.addTests(loader.loadTestsFromNames(CORE))
        else:
            suite.addTests(loader.discover(start_dir=os.path.join("tests", lane), top_level_dir=ROOT, pattern="test_*.py"))
    verbosity = 2 if os.environ.get("MINITESTDB_TEST_VERBOSE") else 1
    runner = unittest.TextTestRunner(verbosity=verbosity, resultclass=_CountingResult, stream=sys.stderr)
    engine_lanes = any(lane != "unit" for lane in lanes)
    snapshots_before = _snapshot_images() if engine_lanes else None
    began = time.monotonic()
    result = runner.run(suite)
    assert isinstance(result, _CountingResult)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    if snapshots_before is not None:
        problems = _remove_snapshots((_snapshot_images() or set()) - snapshots_before)
        for problem in problems:
            print(problem, file=sys.stderr)
        failed += len(problems)
    skipped = len(result.skipped)
    print(f"python {sys.version.split()[0]}, {' + '.join(lanes)}, {time.monotonic() - began:.1f} s", file=sys.stderr)
    line = f"{result.passed} passed, {failed} failed"
    if skipped:
        line += f", {skipped} skipped"
    print(line, flush=True)
    return 0 if failed == 0 and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
