"""The examples in docstrings are tests too."""

from __future__ import annotations

import doctest
import unittest

from minitestdb import _errors, _naming, _url


def load_tests(loader: unittest.TestLoader, tests: unittest.TestSuite, pattern: str | None) -> unittest.TestSuite:
    for module in (_errors, _naming, _url):
        tests.addTests(doctest.DocTestSuite(module))
    return tests
