"""Endpoint: one value for where a database is; its URL, environment and parsing, redacted."""

from __future__ import annotations

import unittest

from minitestdb._endpoint import Endpoint
from minitestdb._errors import ConfigurationError


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



if __name__ == "__main__":
    unittest.main()
