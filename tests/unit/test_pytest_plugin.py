"""pytest_plugin: its options and where the migration paths come from (fake config objects; needs pytest importable).

Only the parts that need no running pytest session are here; the fixtures run
against a real server in the integration lane.
"""

from __future__ import annotations

import os
import types
import unittest
from pathlib import Path
from typing import Any

try:
    import pytest  # noqa: F401 - only to know whether the plugin can be imported
except ImportError:  # pragma: no cover - depends on the interpreter
    pytest_plugin: Any = None
else:
    from minitestdb import pytest_plugin

PROJ = Path(os.sep, "proj")
INVOKED = Path(os.sep, "proj", "sub")


def config(options: dict[str, list[str] | None], ini: dict[str, list[str]], *, inipath: Path | None = PROJ / "pytest.ini", rootpath: Path = PROJ) -> Any:
    return types.SimpleNamespace(
        getoption=options.get,
        getini=lambda name: ini.get(name, []),
        invocation_params=types.SimpleNamespace(dir=INVOKED),
        inipath=inipath,
        rootpath=rootpath,
    )


def p(*parts: str) -> str:
    return os.path.join(os.sep, *parts)


class PluginTestCase(unittest.TestCase):
    def setUp(self) -> None:
        if pytest_plugin is None:
            self.skipTest("pytest is not installed for this interpreter (CI installs it in the venv that runs the full suite)")


class InputsTest(PluginTestCase):
    def test_table(self) -> None:
        ini = {"minitestdb_sql": ["migrations/", "extra/*.sql"], "minitestdb_seed": ["seed.sql"]}
        # (command-line options, ini, inipath, kind) -> paths
        cases = [
            ({}, ini, PROJ / "pytest.ini", "sql", [p("proj", "migrations"), p("proj", "extra", "*.sql")]),
            ({}, ini, PROJ / "pytest.ini", "seed", [p("proj", "seed.sql")]),
            ({}, ini, PROJ / "conf" / "tox.ini", "seed", [p("proj", "conf", "seed.sql")]),
            ({}, ini, None, "sql", [p("proj", "migrations"), p("proj", "extra", "*.sql")]),  # no ini file: the rootdir
            ({}, {}, PROJ / "pytest.ini", "sql", []),
            ({"--minitestdb-sql": ["db", p("abs", "x.sql")]}, ini, PROJ / "pytest.ini", "sql", [p("proj", "sub", "db"), p("abs", "x.sql")]),
            ({"--minitestdb-sql": ["../db"]}, ini, PROJ / "pytest.ini", "seed", [p("proj", "seed.sql")]),  # --minitestdb-sql says nothing about seeds
            ({"--minitestdb-seed": ["s.sql"]}, ini, PROJ / "pytest.ini", "seed", [p("proj", "sub", "s.sql")]),
            ({"--minitestdb-sql": []}, ini, PROJ / "pytest.ini", "sql", [p("proj", "migrations"), p("proj", "extra", "*.sql")]),
        ]
        for options, ini_values, inipath, kind, expected in cases:
            with self.subTest(options=options, inipath=inipath, kind=kind):
                self.assertEqual(pytest_plugin._inputs(config(options, ini_values, inipath=inipath), kind), expected)


class AddOptionTest(PluginTestCase):
    def test_options_and_ini_keys(self) -> None:
        added: list[tuple[str, dict[str, Any]]] = []
        ini: list[tuple[str, dict[str, Any]]] = []
        group = types.SimpleNamespace(addoption=lambda name, **kwargs: added.append((name, kwargs)))
        parser = types.SimpleNamespace(getgroup=lambda *args: group, addini=lambda name, help, **kwargs: ini.append((name, kwargs)))
        pytest_plugin.pytest_addoption(parser)
        self.assertEqual([name for name, _ in added], ["--minitestdb-sql", "--minitestdb-seed", "--minitestdb-migrate", "--minitestdb-inputs", "--minitestdb-keep-failed"])
        for name, kwargs in added:
            expected = (None, None) if name in ("--minitestdb-migrate", "--minitestdb-keep-failed") else ("append", None)
            self.assertEqual((kwargs.get("action"), kwargs["default"]), expected, name)
        self.assertEqual(
            ini,
            [
                ("minitestdb_sql", {"type": "linelist", "default": []}),
                ("minitestdb_seed", {"type": "linelist", "default": []}),
                ("minitestdb_migrate", {"type": "string", "default": ""}),
                ("minitestdb_inputs", {"type": "linelist", "default": []}),
                ("minitestdb_keep_failed", {"type": "string", "default": ""}),
            ],
        )


if __name__ == "__main__":
    unittest.main()
