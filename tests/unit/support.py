"""Shared helpers for the unit tests (not a test module itself)."""

from __future__ import annotations

import ast
import doctest
import os
import types
import unittest
from typing import Callable, Optional
from unittest import mock

from minitestdb import _testenv

LoadTests = Callable[[unittest.TestLoader, unittest.TestSuite, Optional[str]], unittest.TestSuite]


def doctests(*modules: types.ModuleType) -> LoadTests:
    """A ``load_tests`` hook that adds the doctests of *modules* to a test file's own tests.

    In ``tests/unit/test_x.py``: ``load_tests = doctests(_x)``.
    """

    def load_tests(loader: unittest.TestLoader, tests: unittest.TestSuite, pattern: str | None) -> unittest.TestSuite:
        for module in modules:
            suite = doctest.DocTestSuite(module)
            if not suite.countTestCases():
                raise AssertionError(f"{module.__name__} has no doctests: remove it from load_tests")
            tests.addTests(suite)
        return tests

    return load_tests


def without_cached_servers_or_settings(test: unittest.TestCase) -> None:
    """For *test*: no server cached by the test helpers, and none of the variables that choose or require one."""
    for patcher in (mock.patch.dict(_testenv._servers, clear=True), mock.patch.dict(os.environ)):
        patcher.start()
        test.addCleanup(patcher.stop)
    for var in ("TEST_DATABASE_URL", "MINITESTDB_REQUIRED", "MINITESTDB_REQUIRE_DOCKER", "MINITESTDB_SERVER"):
        os.environ.pop(var, None)


def absolute_imports(package_dir: str) -> list[str]:
    """``file:line`` of every ``import minitestdb...`` / ``from minitestdb... import`` in the package (they must be relative)."""
    found = []
    for dirpath, _dirs, files in os.walk(package_dir):
        for filename in sorted(files):
            if not filename.endswith(".py"):
                continue
            path = os.path.join(dirpath, filename)
            with open(path, encoding="utf-8") as fh:
                tree = ast.parse(fh.read(), path)
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0:
                    names = [node.module or ""]
                else:
                    continue
                if any(n == "minitestdb" or n.startswith("minitestdb.") for n in names):
                    found.append(f"{os.path.relpath(path, package_dir)}:{node.lineno}")
    return found
