"""_psql: how psql is run (host or container), with which environment, and how its errors are read: exact inputs."""

from __future__ import annotations

import unittest

from minitestdb import _psql
from minitestdb._endpoint import Endpoint
from minitestdb._errors import ConfigurationError
from minitestdb._psql import parse_psql_error, psql_command, psql_environment
from tests.unit.support import doctests

E = Endpoint(host="127.0.0.1", port=5433, user="app user", password="psql-test-pw", dbname="app db")
SCHEMA = E.replace(options="-c search_path=test_x")


class PsqlCommandTest(unittest.TestCase):
    def test_table(self) -> None:
        # (endpoint, args, host psql, container, tty) -> argv
        cases = [
            (E, ["-c", "select 1"], "/usr/bin/psql", "c1", False, ["/usr/bin/psql", "-c", "select 1"]),
            (SCHEMA, ["-f", "-"], "/usr/bin/psql", None, True, ["/usr/bin/psql", "-f", "-"]),  # host psql: options go through PGOPTIONS
            (E, [], "psql", "c1", False, ["psql"]),
            (E, ["-f", "-"], None, "c1", False, ["podman", "exec", "-i", "-e", "PGPASSWORD", "c1", "psql", "-U", "app user", "-d", "app db", "-f", "-"]),
            (E, [], "", "c1", True, ["podman", "exec", "-i", "-t", "-e", "PGPASSWORD", "c1", "psql", "-U", "app user", "-d", "app db"]),
            (
                SCHEMA, ["-v", "ON_ERROR_STOP=1"], None, "c1", False,
                ["podman", "exec", "-i", "-e", "PGPASSWORD", "-e", "PGOPTIONS", "c1", "psql", "-U", "app user", "-d", "app db", "-v", "ON_ERROR_STOP=1"],
            ),
            (
                SCHEMA, [], None, "c1", True,
                ["podman", "exec", "-i", "-t", "-e", "PGPASSWORD", "-e", "PGOPTIONS", "c1", "psql", "-U", "app user", "-d", "app db"],
            ),
        ]
        for endpoint, args, host_psql, container, tty, expected in cases:
            with self.subTest(args=args, host_psql=host_psql, options=endpoint.options, tty=tty):
                argv = psql_command(endpoint, args, host_psql=host_psql, container=container, docker_binary="podman", tty=tty)
                self.assertEqual(argv, expected)
                self.assertNotIn("psql-test-pw", " ".join(argv))

    def test_neither_psql_nor_a_container(self) -> None:
        for container in (None, ""):
            with self.subTest(container=container), self.assertRaises(ConfigurationError) as ctx:
                psql_command(E, ["-c", "select 1"], host_psql=None, container=container, docker_binary="docker")
            self.assertIn("install PostgreSQL's client (psql)", str(ctx.exception))


class PsqlEnvironmentTest(unittest.TestCase):
    def test_the_endpoint_wins_and_service_and_stale_options_go(self) -> None:
        base = {
            "PATH": "/usr/bin", "HOME": "/home/me", "PGSERVICE": "prod", "PGOPTIONS": "-c search_path=prod", "PGHOSTADDR": "10.0.0.9",
            "PGHOST": "prod.example", "PGPASSWORD": "stale", "PGSSLMODE": "disable", "DATABASE_URL": "postgresql://prod/x",
        }
        env = psql_environment(E, base)
        self.assertEqual(
            env,
            {
                "PATH": "/usr/bin", "HOME": "/home/me", "PGSSLMODE": "disable",
                "PGHOST": "127.0.0.1", "PGPORT": "5433", "PGUSER": "app user", "PGPASSWORD": "psql-test-pw", "PGDATABASE": "app db",
                "DATABASE_URL": "postgresql://app%20user:psql-test-pw@127.0.0.1:5433/app%20db",
            },
        )
        self.assertEqual(base["PGSERVICE"], "prod")  # the caller's mapping is not changed

    def test_the_endpoints_own_options_are_kept(self) -> None:
        env = psql_environment(SCHEMA, {"PGOPTIONS": "-c search_path=stale", "PGSERVICE": "x"})
        self.assertEqual(env["PGOPTIONS"], "-c search_path=test_x")
        self.assertNotIn("PGSERVICE", env)
        self.assertEqual(env, SCHEMA.env)

    def test_empty_base(self) -> None:
        self.assertEqual(psql_environment(E, {}), E.env)


class PsqlErrorTest(unittest.TestCase):
    def test_table(self) -> None:
        cases = [
            (
                'psql:/tmp/m/003_broken.sql:3: ERROR:  relation "no_such_table" does not exist\nLINE 1: insert into no_such_table values (1);\n',
                ("/tmp/m/003_broken.sql", 3, 'ERROR: relation "no_such_table" does not exist'),
            ),
            ("psql:<stdin>:12: ERROR:  syntax error at or near \"selec\"\n", ("<stdin>", 12, 'ERROR: syntax error at or near "selec"')),
            ("psql:C:\\m\\x.sql:7: ERROR:  boom\n", ("C:\\m\\x.sql", 7, "ERROR: boom")),
            ("psql: error: connection to server failed\n", ("", None, "psql: error: connection to server failed")),
            ("", ("", None, "")),
        ]
        for stderr, expected in cases:
            with self.subTest(stderr=stderr[:40]):
                self.assertEqual(parse_psql_error(stderr), expected)


load_tests = doctests(_psql)


if __name__ == "__main__":
    unittest.main()
