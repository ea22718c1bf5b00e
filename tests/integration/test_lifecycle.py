"""start(), the wire client and close() against the real engine and test image."""

from __future__ import annotations

import importlib.util
import json
import os
import time
import unittest

import minitestdb
from minitestdb._diagnostics import Diagnostics
from minitestdb._docker import DockerCLI
from minitestdb._readiness import probe, wait_until_ready
from tests.integration.support import PUBLISHED_ON, SERVER_HOST, LeakCheck, require_docker


def setUpModule() -> None:
    require_docker()


class StartCloseTest(LeakCheck):
    def test_start_query_close_leaves_nothing(self) -> None:
        server = minitestdb.start(password="integration-pw-123456")
        try:
            with server.connect() as conn:
                result = conn.query("select current_user, current_database(), current_setting('fsync'), current_setting('server_encoding')")
            self.assertEqual(result.rows, [("postgres", "postgres", "off", "UTF8")])
            self.assertEqual(server.host, SERVER_HOST)
            self.assertTrue(server.url.startswith(f"postgresql://postgres:integration-pw-123456@{SERVER_HOST}:{server.port}/postgres"))
            info = DockerCLI().inspect(server.container_id)
            assert info is not None
            self.assertTrue(info.running)
            self.assertEqual(info.labels["minitestdb"], "1")
            self.assertEqual(info.labels["minitestdb.owner-pid"], str(os.getpid()))
            # Published on loopback only (a remote engine: on its addresses, for its loopback is out of reach).
            self.assertEqual({ip for ip, _ in info.bindings}, {PUBLISHED_ON})
            diag = server.diagnostics
            self.assertEqual(diag.container_id, server.container_id)
            self.assertEqual(diag.port, server.port)
            self.assertGreaterEqual(diag.readiness_attempts, 1)
            for event in ("started", "ready"):  # one `docker run`: no separate "created"
                self.assertIn(event, diag.timestamps)
            for text in (repr(server), json.dumps(diag.to_dict()), server.redacted_url):
                self.assertNotIn("integration-pw-123456", text)
        finally:
            server.close()
        self.assertIn("closed", server.diagnostics.timestamps)
        self.assertIsNone(DockerCLI().inspect(server.container_id))
        server.close()  # idempotent
        self.assert_no_new_containers()

    def test_context_manager_removes_on_exception(self) -> None:
        with self.assertRaises(RuntimeError), minitestdb.start() as server:
            raise RuntimeError("test body failed")
        self.assertIsNone(DockerCLI().inspect(server.container_id))
        self.assert_no_new_containers()

    def test_slow_mode_keeps_durable_settings(self) -> None:
        with minitestdb.start(fast=False) as server, server.connect() as conn:
            self.assertEqual(conn.query("show fsync").rows, [("on",)])
            info = DockerCLI().inspect(server.container_id)
            assert info is not None
        self.assert_no_new_containers()


class AuthMethodsTest(LeakCheck):
    """The wire client against each method the server offers, and readiness's fast failures."""

    def test_cleartext_md5_trust_and_scram(self) -> None:
        for method in ("password", "md5", "trust", "scram-sha-256"):
            # Before 14 initdb stores the superuser's password as md5, which scram-sha-256 cannot
            # check: the official image's documented recipe is --auth-host=scram-sha-256 (a no-op from 14).
            initdb_args = "--no-sync --auth-host=scram-sha-256" if method == "scram-sha-256" else None
            with self.subTest(method=method), minitestdb.start(env={"POSTGRES_HOST_AUTH_METHOD": method}, initdb_args=initdb_args) as server:
                if method == "md5":
                    # Store an MD5 verifier so that the server really asks for MD5.
                    with server.connect() as conn:
                        conn.query("set password_encryption = 'md5'; alter role postgres password 'md5-pw-987654'")
                        self.assertTrue(conn.query("select rolpassword like 'md5%' from pg_authid where rolname = 'postgres'").rows[0][0] == "t")
                    server.endpoint = server.endpoint.replace(password="md5-pw-987654")
                with server.connect() as conn:
                    self.assertEqual(conn.query("select 1").rows, [("1",)])
                    hba = conn.query("select auth_method from pg_hba_file_rules where type = 'host' order by line_number desc limit 1").rows
                    self.assertEqual(hba, [(method,)])
        self.assert_no_new_containers()

    def test_fatal_answers_fail_fast(self) -> None:
        with minitestdb.start() as server:
            for endpoint, expected, sqlstate in (
                (server.endpoint.replace(password="wrong-password"), minitestdb.AuthenticationError, "28P01"),
                (server.endpoint.replace(dbname="no_such_database"), minitestdb.ServerError, "3D000"),
            ):
                began = time.monotonic()
                with self.subTest(sqlstate=sqlstate), self.assertRaises(expected) as ctx:
                    wait_until_ready(endpoint, timeout=20, diagnostics=Diagnostics())
                self.assertEqual(ctx.exception.sqlstate, sqlstate)
                self.assertLess(time.monotonic() - began, 3, "a fatal answer must not wait for the timeout")
                self.assertNotIn(server.password, str(ctx.exception))


@unittest.skipUnless(
    importlib.util.find_spec("pg8000") or os.environ.get("MINITESTDB_REQUIRE_DOCKER") == "1",
    "pg8000 is not installed (optional; CI installs it)",
)
class Pg8000ReadinessTest(LeakCheck):
    def test_both_readiness_paths_against_one_server(self) -> None:
        with minitestdb.start(readiness="pg8000") as server:
            self.assertEqual(server.diagnostics.readiness_method, "pg8000")
            probe(server.endpoint, method="wire")
            probe(server.endpoint, method="pg8000")
            for method in ("wire", "pg8000"):
                with self.subTest(method=method), self.assertRaises(minitestdb.AuthenticationError) as ctx:
                    probe(server.endpoint.replace(password="wrong-password"), method=method)
                self.assertEqual(ctx.exception.sqlstate, "28P01")
        self.assert_no_new_containers()


if __name__ == "__main__":
    unittest.main()
