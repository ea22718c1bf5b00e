"""Django: ``TEST_RUNNER = "minitestdb.django.TestRunner"`` gives ``manage.py test`` a migrated database in milliseconds.

The runner is Django's ``DiscoverRunner`` with its ``setup_databases`` and
``teardown_databases`` steps replaced for PostgreSQL aliases:

* the server is ``TEST_DATABASE_URL``, else minitestdb's shared server (started
  if needed; ``MINITESTDB_SERVER`` names it);
* each alias's test database is a clone of a template that Django's own
  ``migrate`` (and ``createcachetable``) built once, fingerprinted over every
  installed app's migration files (the models of apps without migrations), the
  settings that shape the schema, Django's version, ``MINITESTDB_INPUTS`` (files
  your data migrations read) and ``MINITESTDB_KEY`` (anything else);
* ``--parallel N`` workers each get their own clone (Django's ``<name>_<n>``);
* the clones are dropped afterwards, unless ``--keepdb``, which keeps them and says how to drop them.

Two runs at once never collide (every clone carries its process), and the
first run pays for ``migrate`` once; later runs find the template.  Other
database engines are set up by Django as usual.  This module imports Django;
``import minitestdb`` never does.

``database_settings(url)`` turns a ``postgresql://`` URL into a ``DATABASES`` entry.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any, Sequence

import django  # type: ignore[import-not-found,import-untyped,unused-ignore]
from django.conf import settings  # type: ignore[import-not-found,import-untyped,unused-ignore]
from django.core.management import call_command  # type: ignore[import-not-found,import-untyped,unused-ignore]
from django.db import connections  # type: ignore[import-not-found,import-untyped,unused-ignore]
from django.db.migrations.loader import MigrationLoader  # type: ignore[import-not-found,import-untyped,unused-ignore]
from django.test.runner import DiscoverRunner  # type: ignore[import-not-found,import-untyped,unused-ignore]
from django.test.utils import get_unique_databases_and_mirrors  # type: ignore[import-not-found,import-untyped,unused-ignore]

from ._endpoint import Endpoint
from ._env import read_env
from ._hints import ON_TEST_DATABASE_URL, command_hint
from ._migrators import digest_inputs, stable_digest
from ._server import Server
from ._server_from_env import server_from_env
from ._templates import Database, Template

__all__ = ["DjangoMigrator", "TestRunner", "database_settings"]


def database_settings(url: str) -> dict[str, Any]:
    """The ``DATABASES`` entry for a ``postgresql://`` URL (for projects configured from ``DATABASE_URL``).

    >>> database_settings("postgresql://app:s3cret@127.0.0.1:5433/shop")["PORT"]
    '5433'
    """
    endpoint = Endpoint.from_url(url)
    entry: dict[str, Any] = {"ENGINE": "django.db.backends.postgresql", **_connection_settings(endpoint)}
    if endpoint.options:
        entry["OPTIONS"] = {"options": endpoint.options}
    return entry


def _connection_settings(endpoint: Endpoint) -> dict[str, str]:
    return {"HOST": endpoint.host, "PORT": str(endpoint.port), "USER": endpoint.user, "PASSWORD": endpoint.password, "NAME": endpoint.dbname}


class DjangoMigrator:
    """Django's ``migrate`` (run_syncdb) and ``createcachetable`` for one database alias, as a minitestdb migrator."""

    def __init__(self, alias: str, *, verbosity: int = 1) -> None:
        self.alias = alias
        self.verbosity = verbosity

    def describe(self) -> str:
        return f"django migrate (database {self.alias!r})"

    def _schema_sources(self) -> dict[str, str]:
        """app label -> digest of its migrations directory, or of its models module when it has no migrations."""
        from django.apps import apps  # type: ignore[import-not-found,import-untyped,unused-ignore]  # ready once the runner runs

        migrate = connections[self.alias].settings_dict.get("TEST", {}).get("MIGRATE", True) is not False
        sources: dict[str, str] = {}
        for app in apps.get_app_configs():
            module_name, _explicit = MigrationLoader.migrations_module(app.label)
            directory = None
            if migrate and module_name:
                try:
                    module = importlib.import_module(module_name)
                except ImportError:
                    module = None
                paths = list(getattr(module, "__path__", []) or [])
                directory = paths[0] if paths else None
            if directory:
                sources[app.label] = "migrations:" + digest_inputs(["."], directory)
            elif app.models_module is not None and getattr(app.models_module, "__file__", None):
                models = os.path.dirname(app.models_module.__file__) if app.models_module.__file__.endswith("__init__.py") else app.models_module.__file__
                sources[app.label] = "models:" + digest_inputs([os.path.basename(models)], os.path.dirname(models))
        return sources

    def fingerprint(self) -> str:
        connection = connections[self.alias]
        parts = {
            "django": django.get_version(),
            "engine": connection.settings_dict.get("ENGINE"),
            "installed_apps": list(settings.INSTALLED_APPS),
            "auth_user_model": getattr(settings, "AUTH_USER_MODEL", ""),
            "default_auto_field": getattr(settings, "DEFAULT_AUTO_FIELD", ""),
            "migration_modules": dict(sorted(getattr(settings, "MIGRATION_MODULES", {}).items())),
            "sources": self._schema_sources(),
            "inputs": digest_inputs(list(getattr(settings, "MINITESTDB_INPUTS", ())), str(getattr(settings, "BASE_DIR", os.getcwd()))) if getattr(settings, "MINITESTDB_INPUTS", ()) else "",
            "key": getattr(settings, "MINITESTDB_KEY", None),
        }
        return stable_digest(parts)

    def migrate(self, endpoint: Endpoint) -> None:
        connection = connections[self.alias]
        saved = dict(connection.settings_dict)
        saved_modules = settings.MIGRATION_MODULES
        connection.close()
        connection.settings_dict.update(_connection_settings(endpoint))
        try:
            if saved.get("TEST", {}).get("MIGRATE", True) is False:
                from django.apps import apps  # type: ignore[import-not-found,import-untyped,unused-ignore]

                settings.MIGRATION_MODULES = {app.label: None for app in apps.get_app_configs()}
            call_command("migrate", verbosity=max(self.verbosity - 1, 0), interactive=False, database=self.alias, run_syncdb=True)
            call_command("createcachetable", database=self.alias)
        finally:
            settings.MIGRATION_MODULES = saved_modules
            connection.close()
            connection.settings_dict.clear()
            connection.settings_dict.update(saved)


class _Clones:
    """What the runner made for one alias: its clones, and the settings to put back."""

    def __init__(self, connection: Any, saved: dict[str, Any], saved_setting: dict[str, Any], databases: Sequence[Database]) -> None:
        self.connection = connection
        self.saved = saved
        self.saved_setting = saved_setting
        self.databases = list(databases)


class TestRunner(DiscoverRunner):  # type: ignore[misc,unused-ignore]
    """``DiscoverRunner`` whose test databases are clones of a template built once by ``migrate``."""

    def _server(self) -> Server:
        server = getattr(self, "_minitestdb_server", None)
        if server is None:
            server = server_from_env(name=read_env().server)
            self._minitestdb_server = server
        return server

    def _say(self, message: str) -> None:
        if self.verbosity >= 1:
            print(f"minitestdb: {message}", file=sys.stderr)

    def _clone_for(self, alias: str) -> _Clones:
        connection = connections[alias]
        server = self._server()
        template: Template = server.template(migrate=DjangoMigrator(alias, verbosity=self.verbosity), name=f"django_{alias}", pool=0)
        how = f"built in {template.build_seconds:.2f} s" if template.built else "found"
        database = template.clone(f"dj_{alias}")
        workers = [template._clone_exact(f"{database.name}_{index + 1}") for index in range(self.parallel if self.parallel > 1 else 0)]
        self._say(f"test database for alias {alias!r}: {database.name} on {server.endpoint.address}, a clone of {template.name} ({how})")
        saved, saved_setting = dict(connection.settings_dict), dict(settings.DATABASES[alias])
        connection.close()
        fields = _connection_settings(database.endpoint)
        options = {k: v for k, v in (connection.settings_dict.get("OPTIONS") or {}).items() if k != "service"}
        connection.settings_dict.update(fields, OPTIONS=options)
        settings.DATABASES[alias].update(fields)
        connection.ensure_connection()
        return _Clones(connection, saved, saved_setting, [database, *workers])

    def setup_databases(self, **kwargs: Any) -> list[Any]:
        aliases, serialized_aliases = kwargs.get("aliases"), kwargs.get("serialized_aliases")
        test_databases, mirrored_aliases = get_unique_databases_and_mirrors(aliases)
        old_config: list[Any] = []
        serialize = []
        for _name, group in test_databases.values():
            first = None
            for alias in sorted(group, key=lambda a: (a != "default", a)):
                connection = connections[alias]
                if first is not None:
                    connection.creation.set_as_test_mirror(connections[first].settings_dict)
                    continue
                first = alias
                if connection.vendor == "postgresql":
                    old_config.append(self._clone_for(alias))
                else:  # not PostgreSQL: Django's own set-up
                    old_config.append((connection, _name, True))
                    connection.creation.create_test_db(verbosity=self.verbosity, autoclobber=not self.interactive, keepdb=self.keepdb, serialize=False)
                    for index in range(self.parallel if self.parallel > 1 else 0):
                        connection.creation.clone_test_db(suffix=str(index + 1), verbosity=self.verbosity, keepdb=self.keepdb)
                if serialized_aliases is None or alias in serialized_aliases:
                    serialize.append(connection)
        for alias, mirror in mirrored_aliases.items():
            connections[alias].creation.set_as_test_mirror(connections[mirror].settings_dict)
        for connection in serialize:
            connection._test_serialized_contents = connection.creation.serialize_db_to_string()
        if self.debug_sql:
            for alias in connections:
                connections[alias].force_debug_cursor = True
        return old_config

    def teardown_databases(self, old_config: list[Any], **kwargs: Any) -> None:
        for entry in old_config:
            if not isinstance(entry, _Clones):
                connection, old_name, _destroy = entry
                for index in range(self.parallel if self.parallel > 1 else 0):
                    connection.creation.destroy_test_db(suffix=str(index + 1), verbosity=self.verbosity, keepdb=self.keepdb)
                connection.creation.destroy_test_db(old_name, self.verbosity, self.keepdb)
                continue
            entry.connection.close()
            for database in entry.databases:
                if self.keepdb:
                    database.keep()
                    server = getattr(self, "_minitestdb_server", None)
                    shared = server.name if server is not None and server.container_id else None
                    hint = command_hint("drop", database.name, server=shared)
                    self._say(f"kept {database.name} (--keepdb); drop it with {hint}" + ("" if shared else f" {ON_TEST_DATABASE_URL}"))
                else:
                    database.drop()
            entry.connection.settings_dict.clear()
            entry.connection.settings_dict.update(entry.saved)
            settings.DATABASES[entry.connection.alias].clear()
            settings.DATABASES[entry.connection.alias].update(entry.saved_setting)
