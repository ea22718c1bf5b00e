"""The examples in docstrings are tests too."""

from __future__ import annotations

import doctest
import unittest

from minitestdb import _container, _endpoint, _env, _errors, _migrations, _naming, _psql


def load_tests(loader: unittest.TestLoader, tests: unittest.TestSuite, pattern: str | None) -> unittest.TestSuite:
    for module in (_container, _endpoint, _env, _errors, _migrations, _naming, _psql):
        tests.addTests(doctest.DocTestSuite(module))
    return tests
