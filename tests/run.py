"""Run minitestdb's tests with the standard library only.

    python tests/run.py               # unit and integration tests
    python tests/run.py unit          # unit tests only (no Docker needed)
    python tests/run.py integration   # integration tests only (a real Docker engine)

Integration tests skip with a reason when no Docker engine answers, except when
MINITESTDB_REQUIRE_DOCKER=1 (as in CI), where that is a failure.  The last line
is "N passed, N failed" (plus ", N skipped").
"""

from __future__ import annotations

import os
import sys
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class _CountingResult(unittest.TextTestResult):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.passed = 0

    def addSuccess(self, test: unittest.TestCase) -> None:
        super().addSuccess(test)
        self.passed += 1


def main(argv: list[str]) -> int:
    lanes = argv or ["unit", "integration"]
    unknown = [lane for lane in lanes if lane not in ("unit", "integration", "all")]
    if unknown:
        print(f"usage: python tests/run.py [unit] [integration] (unknown: {' '.join(unknown)})", file=sys.stderr)
        return 2
    if "all" in lanes:
        lanes = ["unit", "integration"]
    sys.path.insert(0, ROOT)
    os.chdir(ROOT)
    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    for lane in lanes:
        suite.addTests(loader.discover(start_dir=os.path.join("tests", lane), top_level_dir=ROOT, pattern="test_*.py"))
    verbosity = 2 if os.environ.get("MINITESTDB_TEST_VERBOSE") else 1
    runner = unittest.TextTestRunner(verbosity=verbosity, resultclass=_CountingResult, stream=sys.stderr)
    began = time.monotonic()
    result = runner.run(suite)
    assert isinstance(result, _CountingResult)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    skipped = len(result.skipped)
    print(f"python {sys.version.split()[0]}, {' + '.join(lanes)}, {time.monotonic() - began:.1f} s", file=sys.stderr)
    line = f"{result.passed} passed, {failed} failed"
    if skipped:
        line += f", {skipped} skipped"
    print(line, flush=True)
    return 0 if failed == 0 and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
