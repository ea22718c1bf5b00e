"""_endpoint: one value for where a database is; equality, replace, its URL, environment and parsing, redacted."""

from __future__ import annotations

import pickle
import unittest
from unittest import mock

from minitestdb import _endpoint, _redact
from minitestdb._endpoint import Endpoint, format_address
from minitestdb._errors import ConfigurationError
from tests.unit.support import doctests


class URLTest(unittest.TestCase):
    def test_good_urls(self) -> None:
        url = Endpoint.from_url("postgresql://app:p%40ss%3Aw@db.internal:6543/app_test?options=-c%20search_path%3Dx")
        self.assertEqual((url.host, url.port, url.user, url.password, url.dbname, url.options), ("db.internal", 6543, "app", "p@ss:w", "app_test", "-c search_path=x"))
        url = Endpoint.from_url("postgres://u@127.0.0.1")
        self.assertEqual((url.port, url.password, url.dbname), (5432, "", "u"))
        url = Endpoint.from_url("postgresql://u:pw@[::1]:5433/d")
        self.assertEqual((url.host, url.port), ("::1", 5433))
        self.assertNotIn("pw", repr(url))

    def test_bad_urls_are_one_line_and_redacted(self) -> None:
        for bad in ("", "mysql://u:hunter2secret@h/d", "postgresql://u:hunter2secret@:5/d", "postgresql://u:hunter2secret@h:port/d", "postgresql:///var/run/x", "not a url"):
            with self.subTest(bad=bad), self.assertRaises(ConfigurationError) as ctx:
                Endpoint.from_url(bad)
            self.assertNotIn("hunter2secret", str(ctx.exception))
            self.assertNotIn("\n", str(ctx.exception))

    def test_passwords_with_spaces_or_at_signs_never_show_in_url_errors(self) -> None:
        # A password a user typed unescaped: no part of it may show.
        for bad, secret in (
            ("postgresql://u:p w0rd-77@h:x/d", "w0rd-77"),
            ("mysql://u:p@ss-w0rd-9@h/d", "ss-w0rd-9"),
            ("postgresql://u:p@ss-w0rd-8@h:port/d", "ss-w0rd-8"),
            ("postgresql://u:p@ss-w0rd-6@/d", "ss-w0rd-6"),
        ):
            with self.subTest(bad=bad), self.assertRaises(ConfigurationError) as ctx:
                Endpoint.from_url(bad)
            self.assertNotIn(secret, str(ctx.exception))

    def test_host_from_the_query_and_unix_sockets(self) -> None:
        self.assertEqual(Endpoint.from_url("postgresql:///d?host=db.internal").host, "db.internal")
        with self.assertRaisesRegex(ConfigurationError, "Unix socket"):
            Endpoint.from_url("postgresql:///d?host=/var/run/postgresql")


class Isolated(unittest.TestCase):
    """Endpoints register their passwords as secrets: keep this file's out of the process's registry."""

    def setUp(self) -> None:
        patcher = mock.patch.object(_redact, "_secrets", set())
        patcher.start()
        self.addCleanup(patcher.stop)


def endpoint(**changes: object) -> Endpoint:
    base: dict[str, object] = {"host": "127.0.0.1", "port": 5433, "user": "app", "password": "endpoint-pw", "dbname": "test"}
    base.update(changes)
    return Endpoint(**base)  # type: ignore[arg-type]


class ValueTest(Isolated):
    def test_equal_and_hashable_by_every_field(self) -> None:
        e = endpoint()
        self.assertEqual(e, endpoint())
        self.assertEqual(hash(e), hash(endpoint()))
        self.assertEqual(len({e, endpoint(), e.replace()}), 1)
        for field, value in (("host", "::1"), ("port", 5434), ("user", "other"), ("password", "other-pw"), ("dbname", "other"), ("options", "-c x=1")):
            with self.subTest(field=field):
                other = endpoint(**{field: value})
                self.assertNotEqual(e, other)
                self.assertEqual(len({e, other}), 2)
        self.assertNotEqual(e, ("127.0.0.1", 5433, "app", "endpoint-pw", "test", ""))
        self.assertNotEqual(e, e.url)

    def test_immutable(self) -> None:
        e = endpoint()
        for field in ("host", "port", "user", "password", "dbname", "options", "new_attribute"):
            with self.subTest(field=field), self.assertRaisesRegex(AttributeError, rf"immutable: use \.replace\({field}=\.\.\.\)"):
                setattr(e, field, "x")
        for field in ("host", "port", "password"):
            with self.subTest(delete=field), self.assertRaises(AttributeError):
                delattr(e, field)
        self.assertEqual(e, endpoint())

    def test_replace(self) -> None:
        e = endpoint(options="-c search_path=s")
        # changes -> (dbname, options, password); host, port and user never change
        cases = [
            ({}, ("test", "-c search_path=s", "endpoint-pw")),
            ({"dbname": "other"}, ("other", "-c search_path=s", "endpoint-pw")),
            ({"options": ""}, ("test", "", "endpoint-pw")),
            ({"password": "new-pw"}, ("test", "-c search_path=s", "new-pw")),
            ({"password": ""}, ("test", "-c search_path=s", "")),
            ({"dbname": "d", "options": "-c x=1", "password": "p2p2"}, ("d", "-c x=1", "p2p2")),
        ]
        for changes, expected in cases:
            with self.subTest(changes=changes):
                new = e.replace(**changes)  # type: ignore[arg-type]
                self.assertEqual((new.dbname, new.options, new.password), expected)
                self.assertEqual((new.host, new.port, new.user), ("127.0.0.1", 5433, "app"))
        self.assertEqual(e, endpoint(options="-c search_path=s"))  # unchanged
        self.assertIsNot(e.replace(), e)

    def test_repr_masks_the_password(self) -> None:
        e = endpoint(password="repr-secret-pw")
        self.assertEqual(repr(e), "Endpoint('postgresql://app:***@127.0.0.1:5433/test')")
        self.assertEqual(repr(e.replace(options="-c a=b")), "Endpoint('postgresql://app:***@127.0.0.1:5433/test?options=-c%20a%3Db')")
        self.assertEqual(repr(endpoint(password="")), "Endpoint('postgresql://app:***@127.0.0.1:5433/test')")
        self.assertNotIn("repr-secret-pw", repr(e) + str(e) + e.redacted_url + e.address)

    def test_env_with_and_without_options(self) -> None:
        e = endpoint()
        self.assertEqual(
            e.env,
            {
                "PGHOST": "127.0.0.1", "PGPORT": "5433", "PGUSER": "app", "PGPASSWORD": "endpoint-pw", "PGDATABASE": "test",
                "DATABASE_URL": "postgresql://app:endpoint-pw@127.0.0.1:5433/test",
            },
        )
        with_options = e.replace(options="-c search_path=test_x")
        self.assertEqual(
            with_options.env,
            {
                **e.env, "PGOPTIONS": "-c search_path=test_x",
                "DATABASE_URL": "postgresql://app:endpoint-pw@127.0.0.1:5433/test?options=-c%20search_path%3Dtest_x",
            },
        )
        e.env["PGHOST"] = "changed"  # a new dict each time
        self.assertEqual(e.env["PGHOST"], "127.0.0.1")


class AddressTest(Isolated):
    def test_format_address(self) -> None:
        cases = [
            ("127.0.0.1", 5432, "127.0.0.1:5432"),
            ("db.example", 1, "db.example:1"),
            ("::1", 5432, "[::1]:5432"),
            ("fe80::1:2", 65535, "[fe80::1:2]:65535"),
            ("2001:db8::7", 6543, "[2001:db8::7]:6543"),
        ]
        for host, port, expected in cases:
            with self.subTest(host=host):
                self.assertEqual(format_address(host, port), expected)
                self.assertEqual(endpoint(host=host, port=port).address, expected)

    def test_ipv6_urls(self) -> None:
        e = endpoint(host="::1")
        self.assertEqual(e.url, "postgresql://app:endpoint-pw@[::1]:5433/test")
        self.assertEqual(e.redacted_url, "postgresql://app:***@[::1]:5433/test")
        self.assertEqual(Endpoint.from_url(e.url), e)


class RoundTripTest(Isolated):
    def test_hostile_values_survive_url_and_back(self) -> None:
        # (user, password, dbname, options)
        cases = [
            ("app", "p@ss", "test", ""),
            ("app", "a:b:c", "test", ""),
            ("app", "sl/ash", "test", ""),
            ("app", "q?uery&x=1", "test", ""),
            ("app", "h#ash", "test", ""),
            ("app", "per%25cent%", "test", ""),
            ("app", "sp ace\ttab", "test", ""),
            ("app", "quo'te\"dq", "test", ""),
            ("app", "[br]{ace}", "test", ""),
            ("app", "+plus=eq;semi,comma", "test", ""),
            ("app", "back\\slash", "test", ""),
            ("app", "ünï✓code", "test", ""),
            ("app", "PASSWORD", "test", ""),
            ("app", "***", "test", ""),
            ("app", "", "test", ""),
            ("us@er:x", "pw", "db/na?me#1", ""),
            ("App User", "pw", "Mixed Case DB", "-c search_path=a,b -c statement_timeout=5s"),
            ("app", "pw", "test", "-c x='y z'&w=1"),
        ]
        for user, password, dbname, options in cases:
            e = endpoint(user=user, password=password, dbname=dbname, options=options)
            with self.subTest(password=password, user=user, dbname=dbname):
                back = Endpoint.from_url(e.url)
                self.assertEqual((back.user, back.password, back.dbname, back.options), (user, password, dbname, options))
                self.assertEqual(back, e)
                redacted = e.redacted_url
                self.assertIn(":***@", redacted)
                if len(password) >= 4:
                    self.assertNotIn(password, redacted)
                self.assertEqual(Endpoint.from_url(redacted).replace(password=password), e)


class HandedToTestsTest(Isolated):
    """What a test receives works as plain strings and keyword arguments, and shows no password in any repr."""

    def test_every_value_masks_the_password_in_its_repr(self) -> None:
        e = endpoint(user="app", password="pw-visible-9", dbname="test")
        view = _View(e)
        values = {
            "url": view.url,
            "env": view.env,
            "connect_kwargs": view.connect_kwargs,
            "sqlalchemy_url": view.sqlalchemy_url("psycopg"),
            "default sqlalchemy_url": view.sqlalchemy_url(),
            "endpoint": e,
        }
        for what, value in values.items():
            with self.subTest(what=what):
                self.assertNotIn("pw-visible-9", repr(value))
                self.assertNotIn("pw-visible-9", repr([value]))  # containers use the item's repr too
        self.assertEqual(str(view.url), "postgresql://app:pw-visible-9@127.0.0.1:5433/test")
        self.assertEqual(view.env["PGPASSWORD"], "pw-visible-9")
        # Drivers that accept only an exact str (asyncpg) get one.
        self.assertIs(type(view.password), str)
        self.assertEqual({type(value) for value in view.connect_kwargs.values()}, {str, int})
        self.assertEqual(view.env["DATABASE_URL"], view.url)
        self.assertIn("pw-visible-9", f"{view.url}")  # formatting and str() give the real URL

    def test_connect_kwargs_are_what_pg8000_and_asyncpg_take(self) -> None:
        e = endpoint(user="app", password="pw", dbname="test")
        self.assertEqual(_View(e).connect_kwargs, {"host": "127.0.0.1", "port": 5433, "user": "app", "password": "pw", "database": "test"})

    def test_sqlalchemy_url_names_the_driver(self) -> None:
        e = endpoint(user="app", password="p@ss", dbname="test")
        for driver, installed, scheme in (
            ("psycopg", (), "postgresql+psycopg"),
            ("asyncpg", ("psycopg2",), "postgresql+asyncpg"),
            (None, ("pg8000", "psycopg"), "postgresql+psycopg"),
            (None, ("asyncpg",), "postgresql+asyncpg"),
            (None, (), "postgresql"),
        ):
            with self.subTest(driver=driver, installed=installed):
                self.assertEqual(e.sqlalchemy_url(driver, installed), f"{scheme}://app:p%40ss@127.0.0.1:5433/test")
        with mock.patch("importlib.util.find_spec", side_effect=lambda name: object() if name == "pg8000" else None):
            self.assertTrue(_View(e).sqlalchemy_url().startswith("postgresql+pg8000://"))

    def test_masked_values_survive_pickling(self) -> None:
        url = endpoint(password="pw-visible-9").url
        back = pickle.loads(pickle.dumps(url))
        self.assertEqual((back, repr(back)), (url, repr(url)))


class _View(_endpoint.EndpointView):
    def __init__(self, e: Endpoint) -> None:
        self.endpoint = e


load_tests = doctests(_endpoint)


if __name__ == "__main__":
    unittest.main()
