"""minitestdb.django without a database: the DATABASES entry for a URL (the runner itself is tested on the real engine)."""

from __future__ import annotations

import importlib.util
import unittest


@unittest.skipUnless(importlib.util.find_spec("django"), "Django is not installed here (the integration lane runs the Django example)")
class DatabaseSettingsTest(unittest.TestCase):
    def test_table(self) -> None:
        from minitestdb.django import database_settings

        for url, expected in (
            (
                "postgresql://app:s%40cret@db.internal:6543/shop",
                {"ENGINE": "django.db.backends.postgresql", "NAME": "shop", "USER": "app", "PASSWORD": "s@cret", "HOST": "db.internal", "PORT": "6543"},
            ),
            (
                "postgres://u@127.0.0.1/d?options=-c%20search_path%3Dx",
                {"ENGINE": "django.db.backends.postgresql", "NAME": "d", "USER": "u", "PASSWORD": "", "HOST": "127.0.0.1", "PORT": "5432", "OPTIONS": {"options": "-c search_path=x"}},
            ),
        ):
            with self.subTest(url=url):
                self.assertEqual(database_settings(url), expected)

    def test_import_minitestdb_does_not_import_django(self) -> None:
        import subprocess
        import sys

        code = "import sys, minitestdb; print(sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'alembic', 'sqlalchemy', 'pytest')))"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
        self.assertEqual(out, "[]")


if __name__ == "__main__":
    unittest.main()
