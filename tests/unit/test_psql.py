"""How psql is run (host or container) and how its errors are read: exact inputs."""

from __future__ import annotations

import unittest

from minitestdb._psql import parse_psql_error


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


if __name__ == "__main__":
    unittest.main()
