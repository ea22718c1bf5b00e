"""_readiness: which failed attempts are retried, and the polling loop (probe mocked: no server, no Docker)."""

from __future__ import annotations

import sys
import unittest
from unittest import mock

from minitestdb import _readiness
from minitestdb._diagnostics import Diagnostics
from minitestdb._endpoint import Endpoint
from minitestdb._errors import (
    AuthenticationError,
    ConfigurationError,
    ContainerExitedError,
    DatabaseConnectionError,
    ProtocolError,
    ReadinessTimeoutError,
    server_error_from_fields,
)
from minitestdb._readiness import check_method, is_retryable, probe, wait_until_ready

ENDPOINT = Endpoint(host="127.0.0.1", port=5999, user="postgres", password="readiness-test-pw", dbname="postgres")


def err(code: str) -> BaseException:
    return server_error_from_fields({"C": code, "M": "x"})


class RetryTest(unittest.TestCase):
    def test_which_readiness_failures_are_retried(self) -> None:
        self.assertTrue(is_retryable(DatabaseConnectionError("refused")))
        self.assertTrue(is_retryable(err("57P03")))
        self.assertTrue(is_retryable(err("53300")))
        for fatal in ("28P01", "28000", "3D000", "42601"):
            self.assertFalse(is_retryable(err(fatal)), fatal)
        self.assertIsInstance(err("28P01"), AuthenticationError)
        self.assertFalse(is_retryable(ProtocolError("garbage")))

    def test_errors_that_are_not_minitestdb_errors_are_not_retried(self) -> None:
        for error in (OSError("refused"), ValueError("x"), ConfigurationError("bad")):
            with self.subTest(error=type(error).__name__):
                self.assertFalse(is_retryable(error))


class MethodTest(unittest.TestCase):
    def test_known_methods_pass_and_others_are_configuration_errors(self) -> None:
        for method in ("wire", "pg8000"):
            check_method(method)
        for bad in ("", "telepathy", "WIRE", "tcp"):
            with self.subTest(method=bad), self.assertRaises(ConfigurationError) as ctx:
                check_method(bad)
            self.assertIn("wire, pg8000", str(ctx.exception))

    def test_pg8000_missing_says_how_to_install_it(self) -> None:
        with mock.patch.dict(sys.modules, {"pg8000": None, "pg8000.native": None}), self.assertRaises(ConfigurationError) as ctx:
            probe(ENDPOINT, method="pg8000")
        self.assertIn("pip install pg8000", str(ctx.exception))

    def test_unknown_method_is_refused_before_any_connection(self) -> None:
        with mock.patch("minitestdb._pgconn.connect") as connect, self.assertRaises(ConfigurationError):
            probe(ENDPOINT, method="nope")
        connect.assert_not_called()


class WaitUntilReadyTest(unittest.TestCase):
    def wait(self, side_effect: object, *, timeout: float = 5.0, check_container: object = None, method: str = "wire") -> tuple[Diagnostics, mock.Mock]:
        diagnostics = Diagnostics()
        diagnostics.set_log_tail("LOG:  database system is starting up")
        with mock.patch.object(_readiness, "probe", side_effect=side_effect) as probed:
            try:
                wait_until_ready(ENDPOINT, timeout=timeout, diagnostics=diagnostics, check_container=check_container, method=method)  # type: ignore[arg-type]
            finally:
                self.probed = probed
        return diagnostics, probed

    def test_retries_until_a_query_answers(self) -> None:
        diagnostics, probed = self.wait([DatabaseConnectionError("refused"), err("57P03"), None])
        self.assertEqual(probed.call_count, 3)
        self.assertEqual(diagnostics.readiness_attempts, 3)
        self.assertEqual(diagnostics.readiness_method, "wire")
        self.assertEqual(diagnostics.last_readiness_error, "PostgreSQL ERROR 57P03: x")
        for call in probed.call_args_list:
            self.assertEqual(call.args, (ENDPOINT,))
            self.assertEqual(call.kwargs["method"], "wire")
            self.assertTrue(0.2 <= call.kwargs["timeout"] <= 2.0)

    def test_a_fatal_answer_is_raised_at_once(self) -> None:
        fatal = err("28P01")
        with self.assertRaises(AuthenticationError) as ctx:
            self.wait([fatal, None])
        self.assertIs(ctx.exception, fatal)
        self.assertEqual(self.probed.call_count, 1)

    def test_timeout_says_how_many_attempts_and_carries_the_log_tail(self) -> None:
        with self.assertRaises(ReadinessTimeoutError) as ctx:
            self.wait(DatabaseConnectionError("connection refused; password=leaked-pw-123"), timeout=0.06)
        message = str(ctx.exception)
        self.assertIn("127.0.0.1:5999", message)
        self.assertIn("within 0.06 s", message)
        self.assertIn("last: connection refused; password=***", message)
        self.assertNotIn("leaked-pw-123", ctx.exception.full_text())
        self.assertNotIn("readiness-test-pw", ctx.exception.full_text())
        self.assertNotIn("\n", message)
        self.assertEqual(ctx.exception.detail, "LOG:  database system is starting up")
        self.assertGreaterEqual(self.probed.call_count, 2)
        self.assertIn(f"({self.probed.call_count} attempts", message)

    def test_a_stopped_container_fails_fast(self) -> None:
        exited = ContainerExitedError("The container c exited with code 1 during startup: FATAL: boom")
        check = mock.Mock(side_effect=exited)
        with mock.patch.object(_readiness, "STATE_CHECK_INTERVAL", 0.0), self.assertRaises(ContainerExitedError) as ctx:
            self.wait(DatabaseConnectionError("refused"), timeout=30, check_container=check)
        self.assertIs(ctx.exception, exited)
        check.assert_called_once_with()

    def test_the_container_is_not_checked_before_the_interval(self) -> None:
        check = mock.Mock()
        self.wait([DatabaseConnectionError("refused"), None], check_container=check)
        check.assert_not_called()

    def test_progress_hears_each_whole_second_waited(self) -> None:
        # A fake clock: each monotonic() call advances 0.4 s (two per failed attempt); time.sleep does nothing.
        ticks = iter(i * 0.4 for i in range(1000))
        heard: list[str] = []
        with mock.patch.object(_readiness.time, "monotonic", side_effect=lambda: next(ticks)), mock.patch.object(_readiness.time, "sleep"), \
                mock.patch.object(_readiness, "probe", side_effect=[DatabaseConnectionError("refused")] * 5 + [None]):
            wait_until_ready(ENDPOINT, timeout=30, diagnostics=Diagnostics(), progress=heard.append)
        self.assertEqual(heard, ["waiting for PostgreSQL... 1 s", "waiting for PostgreSQL... 2 s", "waiting for PostgreSQL... 3 s", "waiting for PostgreSQL... 4 s"])

    def test_no_progress_when_the_server_answers_within_a_second(self) -> None:
        heard: list[str] = []
        with mock.patch.object(_readiness, "probe", side_effect=[DatabaseConnectionError("refused"), None]):
            wait_until_ready(ENDPOINT, timeout=30, diagnostics=Diagnostics(), progress=heard.append)
        self.assertEqual(heard, [])

    def test_unknown_method_probes_nothing(self) -> None:
        with self.assertRaises(ConfigurationError):
            self.wait(None, method="telepathy")
        self.probed.assert_not_called()


if __name__ == "__main__":
    unittest.main()
