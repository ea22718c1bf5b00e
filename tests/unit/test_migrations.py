"""Migration inputs and fingerprints: which files, in which order, and what changes a template."""

from __future__ import annotations

import os
import shutil
import tempfile
import unittest

from minitestdb import _migrations
from minitestdb._errors import ConfigurationError
from minitestdb._migrations import InputFile, digest_files, fingerprint, resolve_inputs
from tests.unit.support import doctests


class InputsTest(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp)
        os.makedirs(os.path.join(self.tmp, "m", "sub"))
        for rel in ("m/002_b.sql", "m/001_a.sql", "m/sub/003_c.sql", "m/notes.txt", "seed.sql"):
            with open(os.path.join(self.tmp, rel), "w") as fh:
                fh.write(f"-- {rel}\n")

    def rel(self, items: object) -> list[str]:
        return [f.relative for f in resolve_inputs(items)]  # type: ignore[arg-type]

    def test_directory_glob_file_and_list_order(self) -> None:
        m = os.path.join(self.tmp, "m")
        self.assertEqual(self.rel(m), ["001_a.sql", "002_b.sql", os.path.join("sub", "003_c.sql")])
        self.assertEqual(self.rel(os.path.join(m, "*.sql")), ["001_a.sql", "002_b.sql"])
        self.assertEqual(self.rel([os.path.join(m, "002_b.sql"), os.path.join(m, "001_a.sql")]), ["002_b.sql", "001_a.sql"])
        # A file named twice is applied once, where it first appears.
        self.assertEqual(self.rel([os.path.join(m, "001_a.sql"), m]), ["001_a.sql", "002_b.sql", os.path.join("sub", "003_c.sql")])
        self.assertEqual(resolve_inputs(None), [])

    def test_missing_inputs_are_clear_errors(self) -> None:
        for bad in (os.path.join(self.tmp, "nope.sql"), os.path.join(self.tmp, "*.nothing"), os.path.join(self.tmp, "m", "sub", "empty_dir_glob*")):
            with self.subTest(bad=bad), self.assertRaises(ConfigurationError):
                resolve_inputs(bad)

    def fp(self, sql: list[InputFile], seed: list[InputFile], *, server_version: int = 150018, role: str = "postgres") -> str:
        return fingerprint(digest_files("sql", sql) + digest_files("seed", seed), server_version=server_version, role=role)

    def test_fingerprint_follows_content_order_version_and_role(self) -> None:
        m = os.path.join(self.tmp, "m")
        sql, seed = resolve_inputs(m), resolve_inputs(os.path.join(self.tmp, "seed.sql"))
        fp = self.fp(sql, seed)
        self.assertEqual(fp, self.fp(sql, seed))
        # The same files reached from another working directory hash the same.
        here = os.getcwd()
        try:
            os.chdir(self.tmp)
            self.assertEqual(fp, self.fp(resolve_inputs("m"), seed))
        finally:
            os.chdir(here)
        variants = [
            self.fp(sql, seed, server_version=160001),
            self.fp(sql, seed, role="other"),
            self.fp(list(reversed(sql)), seed),
            self.fp(sql, []),
            # A file moved from the migrations to the seeds is another template.
            self.fp(sql[:-1], [sql[-1], *seed]),
        ]
        for variant in variants:
            self.assertNotEqual(fp, variant)
        with open(os.path.join(m, "001_a.sql"), "a") as fh:
            fh.write("select 1;\n")
        self.assertNotEqual(fp, self.fp(resolve_inputs(m), seed))

    def test_fingerprint_is_pure_over_digests(self) -> None:
        digests = [("sql", "001.sql", "0" * 64), ("seed", "seed.sql", "f" * 64)]
        self.assertEqual(fingerprint(digests, server_version=150004, role="postgres"), fingerprint(list(digests), server_version=150004, role="postgres"))
        self.assertNotEqual(fingerprint(digests, server_version=150004, role="postgres"), fingerprint(digests[:1], server_version=150004, role="postgres"))



load_tests = doctests(_migrations)


if __name__ == "__main__":
    unittest.main()
