"""The Alembic migrator: ``template(migrate=minitestdb.alembic("alembic.ini"))``.

Its inputs are found from the ini file: the ini itself and the script location
(``env.py``, ``script.py.mako``, ``versions/``), plus any ``version_locations``.
It runs ``upgrade <revision>`` in this interpreter through Alembic's command API
when Alembic is importable here (no second interpreter start-up), else the
``alembic`` command with a copy of the ini pointing at the template.  Either
way ``sqlalchemy.url`` is the template being built (keeping the ini's driver,
else the first of psycopg2, psycopg, pg8000, asyncpg installed) and
``DATABASE_URL``, ``TEST_DATABASE_URL`` and ``PG*`` are set for env.py files
that read those instead.  Alembic itself is never imported by ``import minitestdb``.
"""

from __future__ import annotations

import configparser
import importlib.util
import os
import shutil
import tempfile
import threading
from typing import Sequence

from ._endpoint import SQLALCHEMY_DRIVERS, Endpoint, sqlalchemy_scheme
from ._errors import ConfigurationError, MigrationError
from ._migrations import PathLike
from ._migrators import CommandMigrator, digest_inputs, migration_env, migrator_raised, stable_digest

__all__ = ["AlembicMigrator", "alembic", "sqlalchemy_driver"]

# In-process runs change the working directory and os.environ for their duration: one at a time.
_IN_PROCESS = threading.Lock()


def sqlalchemy_driver(configured_url: str, installed: Sequence[str]) -> str:
    """The SQLAlchemy scheme for the template URL: the ini's own driver, else the first installed one.

    >>> sqlalchemy_driver("postgresql+asyncpg://u@h/d", ["psycopg2"])
    'postgresql+asyncpg'
    >>> sqlalchemy_driver("driver://user:pass@localhost/dbname", ["psycopg", "pg8000"])
    'postgresql+psycopg'
    """
    scheme = configured_url.split("://", 1)[0] if "://" in configured_url else ""
    if scheme.startswith(("postgresql+", "postgres+")):
        return "postgresql+" + scheme.split("+", 1)[1]
    return sqlalchemy_scheme(None, installed)


class AlembicMigrator:
    """``alembic upgrade <revision>`` for the project whose ini file is *ini*; see :func:`alembic`."""

    def __init__(self, ini: PathLike = "alembic.ini", *, revision: str = "head", inputs: Sequence[PathLike] = (), key: str | None = None, cwd: str | None = None, section: str = "alembic") -> None:
        self.ini = os.path.abspath(os.fspath(ini))
        if not os.path.isfile(self.ini):
            raise ConfigurationError(f"The Alembic config {os.fspath(ini)!r} does not exist (relative to {os.getcwd()}): pass the path of your alembic.ini.")
        #: Where Alembic runs (relative script_location and prepend_sys_path are taken from here): the ini's directory by default.
        self.cwd = os.path.abspath(cwd or os.path.dirname(self.ini))
        self.revision = revision
        self.section = section
        self.key = key
        parser = configparser.ConfigParser(defaults={"here": os.path.dirname(self.ini)})
        parser.read(self.ini)
        if not parser.has_option(section, "script_location"):
            raise ConfigurationError(f"The Alembic config {self.ini} has no script_location in [{section}]: is it an alembic.ini?")
        self.configured_url = parser.get(section, "sqlalchemy.url", fallback="")
        self.script_location = self._local_path(parser.get(section, "script_location"))
        locations = [self._local_path(p) for p in parser.get(section, "version_locations", fallback="").replace(",", " ").split() if p]
        self.inputs: list[str] = [self.ini, *(p for p in [self.script_location, *locations] if os.path.exists(p)), *(os.fspath(p) for p in inputs)]

    def _local_path(self, value: str) -> str:
        # package:path resources are hashed where they are installed
        if ":" in value and not os.path.isabs(value) and not os.path.exists(os.path.join(self.cwd, value)):
            package, _, rest = value.partition(":")
            spec = importlib.util.find_spec(package)
            if spec and spec.submodule_search_locations:
                return os.path.join(next(iter(spec.submodule_search_locations)), rest)
        return value if os.path.isabs(value) else os.path.normpath(os.path.join(self.cwd, value))

    def __repr__(self) -> str:
        return f"<minitestdb.alembic {self.ini} {self.revision}>"

    def describe(self) -> str:
        return f"alembic upgrade {self.revision} ({os.path.relpath(self.ini)})"

    def fingerprint(self) -> str:
        parts = {"kind": "alembic", "revision": self.revision, "section": self.section, "inputs": digest_inputs(self.inputs, self.cwd), "key": self.key}
        return stable_digest(parts)

    def _url(self, endpoint: Endpoint) -> str:
        installed = [module for module in SQLALCHEMY_DRIVERS if importlib.util.find_spec(module) is not None]
        scheme = sqlalchemy_driver(self.configured_url, installed)
        return endpoint.sqlalchemy_url(scheme.partition("+")[2] or None)

    def migrate(self, endpoint: Endpoint) -> None:
        if importlib.util.find_spec("alembic") is not None:
            self._migrate_in_process(endpoint)
        else:
            self._migrate_by_command(endpoint)

    def _migrate_in_process(self, endpoint: Endpoint) -> None:
        # Imported here: only a template build with Alembic needs it, and it may be absent.
        from alembic import command as alembic_command  # type: ignore[import-not-found,import-untyped,unused-ignore]
        from alembic.config import Config  # type: ignore[import-not-found,import-untyped,unused-ignore]

        with _IN_PROCESS:
            added = migration_env(endpoint, {})
            saved_env, saved_cwd = {name: os.environ.get(name) for name in added}, os.getcwd()
            try:
                os.environ.update(added)  # for env.py files that read DATABASE_URL
                os.chdir(self.cwd)
                config = Config(self.ini, ini_section=self.section)
                config.set_main_option("sqlalchemy.url", self._url(endpoint).replace("%", "%%"))
                alembic_command.upgrade(config, self.revision)
            except Exception as exc:
                raise migrator_raised(self.describe(), exc) from exc
            finally:
                os.chdir(saved_cwd)
                for name, value in saved_env.items():
                    if value is None:
                        os.environ.pop(name, None)
                    else:
                        os.environ[name] = value

    def _migrate_by_command(self, endpoint: Endpoint) -> None:
        executable = shutil.which("alembic")
        if executable is None:
            raise MigrationError(f"The migrator {self.describe()} needs Alembic: install it in this environment (pip install alembic) or put `alembic` on PATH.", migrator=self.describe())
        # A copy of the ini with the template's URL; %(here)s still means the original's directory.
        raw = configparser.RawConfigParser()
        raw.read(self.ini)
        here = os.path.dirname(self.ini).replace("%", "%%")
        for section in raw.sections():
            for option, value in raw.items(section):
                raw.set(section, option, value.replace("%(here)s", here))
        raw.set(self.section, "sqlalchemy.url", self._url(endpoint).replace("%", "%%"))
        with tempfile.TemporaryDirectory(prefix="minitestdb-alembic-") as tmp:
            copy = os.path.join(tmp, "alembic.ini")
            with open(copy, "w") as fh:
                raw.write(fh)
            CommandMigrator([executable, "-c", copy, "-n", self.section, "upgrade", self.revision], cwd=self.cwd, key="alembic").migrate(endpoint)


def alembic(ini: PathLike = "alembic.ini", *, revision: str = "head", inputs: Sequence[PathLike] = (), key: str | None = None, cwd: str | None = None, section: str = "alembic") -> AlembicMigrator:
    """A migrator that runs ``alembic upgrade <revision>`` for the project configured by *ini*.

    Its inputs (the ini, env.py, the versions) are found from the ini; add
    *inputs* for other files the migrations read, and *key* for anything else.
    """
    return AlembicMigrator(ini, revision=revision, inputs=inputs, key=key, cwd=cwd, section=section)
