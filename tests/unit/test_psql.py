"""psql error parsing and database URL parsing: exact inputs, redacted errors."""

from __future__ import annotations

import unittest

from minitestdb._errors import ConfigurationError
from minitestdb._psql import parse_psql_error
from minitestdb._url import parse_database_url


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


class URLTest(unittest.TestCase):
    def test_good_urls(self) -> None:
        url = parse_database_url("postgresql://app:p%40ss%3Aw@db.internal:6543/app_test?options=-c%20search_path%3Dx")
        self.assertEqual((url.host, url.port, url.user, url.password, url.dbname, url.options), ("db.internal", 6543, "app", "p@ss:w", "app_test", "-c search_path=x"))
        url = parse_database_url("postgres://u@127.0.0.1")
        self.assertEqual((url.port, url.password, url.dbname), (5432, "", "u"))
        url = parse_database_url("postgresql://u:pw@[::1]:5433/d")
        self.assertEqual((url.host, url.port), ("::1", 5433))
        self.assertNotIn("pw", repr(url))

    def test_bad_urls_are_one_line_and_redacted(self) -> None:
        for bad in ("", "mysql://u:hunter2secret@h/d", "postgresql://u:hunter2secret@:5/d", "postgresql://u:hunter2secret@h:port/d", "postgresql:///var/run/x", "not a url"):
            with self.subTest(bad=bad), self.assertRaises(ConfigurationError) as ctx:
                parse_database_url(bad)
            self.assertNotIn("hunter2secret", str(ctx.exception))
            self.assertNotIn("\n", str(ctx.exception))


if __name__ == "__main__":
    unittest.main()
