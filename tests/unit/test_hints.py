"""The one way hints spell a command: program, command, --server, arguments."""

from __future__ import annotations

import unittest

from minitestdb import _hints
from minitestdb._hints import command_hint
from tests.unit.support import doctests


class CommandHintTest(unittest.TestCase):
    def test_always_names_a_shared_server_and_quotes_what_needs_it(self) -> None:
        for args, server, program, expected in (
            (("drop", "mtdb_kept_a_1"), "default", "python -m minitestdb", "`python -m minitestdb drop --server default mtdb_kept_a_1`"),
            (("psql", "-d", "db"), "my ci", "minitestdb", "`minitestdb psql --server 'my ci' -d db`"),
            (("drop", "mtdb_x"), None, "minitestdb", "`minitestdb drop mtdb_x`"),
        ):
            with self.subTest(args=args, server=server):
                self.assertEqual(command_hint(*args, server=server, program=program), expected)


load_tests = doctests(_hints)


if __name__ == "__main__":
    unittest.main()
