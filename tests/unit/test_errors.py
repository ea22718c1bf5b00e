"""The exception tree: builtins callers catch, one-line messages, redaction, pickling."""

from __future__ import annotations

import pickle
import unittest

import minitestdb
from minitestdb import _errors
from minitestdb._errors import (
    AuthenticationError,
    CleanupError,
    ConfigurationError,
    ContainerExitedError,
    DatabaseConnectionError,
    DatabaseNotFoundError,
    DockerDaemonError,
    DockerNotFoundError,
    DockerPermissionError,
    DockerTimeoutError,
    ImageUnavailableError,
    MiniTestDBError,
    PortInUseError,
    ProtocolError,
    ReadinessTimeoutError,
    ServerError,
    server_error_from_fields,
)
from tests.unit.support import doctests

SECRET = "pw-Zx81-very-secret"


class TreeTest(unittest.TestCase):
    def test_every_public_error_derives_from_the_root(self) -> None:
        for name in minitestdb.__all__:
            obj = getattr(minitestdb, name)
            if isinstance(obj, type) and issubclass(obj, BaseException):
                self.assertTrue(issubclass(obj, MiniTestDBError), name)

    def test_builtin_bases(self) -> None:
        self.assertTrue(issubclass(DockerNotFoundError, FileNotFoundError))
        self.assertTrue(issubclass(DockerDaemonError, ConnectionError))
        self.assertTrue(issubclass(DockerPermissionError, PermissionError))
        self.assertTrue(issubclass(DockerTimeoutError, TimeoutError))
        self.assertTrue(issubclass(ReadinessTimeoutError, TimeoutError))
        self.assertTrue(issubclass(DatabaseConnectionError, ConnectionError))
        self.assertTrue(issubclass(ConfigurationError, ValueError))
        self.assertTrue(issubclass(AuthenticationError, ServerError))

    def test_pickle_round_trip_keeps_type_message_and_attributes(self) -> None:
        errors: list[MiniTestDBError] = [
            DockerNotFoundError("no docker", command=["docker", "version"], exit_code=None),
            DockerDaemonError("daemon down", command=["docker", "ps"], exit_code=1, stderr="Cannot connect"),
            ImageUnavailableError("no image", command=["docker", "pull", "x"], exit_code=1, stderr="no such host"),
            PortInUseError("port taken", command=["docker", "start", "x"], exit_code=1),
            ContainerExitedError("exited", detail="log tail"),
            ReadinessTimeoutError("slow"),
            CleanupError("left behind"),
            ProtocolError("garbage"),
            DatabaseConnectionError("refused"),
            server_error_from_fields({"S": "FATAL", "C": "28P01", "M": "password authentication failed for user \"x\""}),
        ]
        for err in errors:
            with self.subTest(type=type(err).__name__):
                copy = pickle.loads(pickle.dumps(err))
                self.assertIs(type(copy), type(err))
                self.assertEqual(str(copy), str(err))
                self.assertEqual(copy.detail, err.detail)
                self.assertEqual(copy.__dict__, err.__dict__)

    def test_server_error_fields(self) -> None:
        err = server_error_from_fields({"S": "ERROR", "V": "ERROR", "C": "3D000", "M": "database \"x\" does not exist", "H": "create it"})
        self.assertIs(type(err), DatabaseNotFoundError)
        self.assertIsInstance(err, ServerError)
        self.assertEqual(err.sqlstate, "3D000")
        self.assertEqual(str(err), 'PostgreSQL ERROR 3D000: database "x" does not exist')
        self.assertIn("HINT: create it", err.detail)
        self.assertIsInstance(server_error_from_fields({"C": "28000", "M": "no pg_hba.conf entry"}), AuthenticationError)
        self.assertIs(type(server_error_from_fields({"C": "42P01", "M": "relation does not exist"})), ServerError)


class RedactionTest(unittest.TestCase):
    def test_urls_and_assignments_are_masked_everywhere(self) -> None:
        err = DockerDaemonError(
            f"could not reach postgresql://me:{SECRET}@127.0.0.1:5/db",
            command=["docker", "run", "-e", f"PGPASSWORD={SECRET}"],
            stderr=f"password={SECRET}",
        )
        for text in (str(err), repr(err), err.detail, err.full_text(), err.stderr, " ".join(err.command), str(err.args)):
            self.assertNotIn(SECRET, text)

    def test_registered_secret_is_masked_in_any_form(self) -> None:
        from minitestdb._redact import redact, register_secret

        register_secret("another-Secret-42")
        self.assertEqual(redact("token another-Secret-42 here"), "token *** here")
        err = ContainerExitedError("x", detail="FATAL: role with password another-Secret-42")
        self.assertNotIn("another-Secret-42", err.full_text())


load_tests = doctests(_errors)


if __name__ == "__main__":
    unittest.main()
