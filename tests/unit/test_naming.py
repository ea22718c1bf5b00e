"""Names, inputs and fingerprints: pure rules, table-driven, plus hostile names."""

from __future__ import annotations

import os
import random
import shutil
import tempfile
import unittest

from minitestdb._errors import ConfigurationError
from minitestdb._naming import (
    clone_name,
    fingerprint,
    host_tag,
    parse_name,
    resolve_inputs,
    schema_name,
    slug,
    temp_build_name,
    template_name,
)
from minitestdb._wire import quote_ident

FP = "0123456789abcdef" * 4


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

    def test_fingerprint_follows_content_order_version_and_role(self) -> None:
        m = os.path.join(self.tmp, "m")
        base = {"sql": resolve_inputs(m), "seed": resolve_inputs(os.path.join(self.tmp, "seed.sql")), "server_version": 150018, "role": "postgres"}
        fp = fingerprint(**base)  # type: ignore[arg-type]
        self.assertEqual(fp, fingerprint(**base))  # type: ignore[arg-type]
        # The same files reached from another working directory hash the same.
        here = os.getcwd()
        try:
            os.chdir(self.tmp)
            self.assertEqual(fp, fingerprint(**dict(base, sql=resolve_inputs("m"))))  # type: ignore[arg-type]
        finally:
            os.chdir(here)
        variants = [
            dict(base, server_version=160001),
            dict(base, role="other"),
            dict(base, sql=list(reversed(base["sql"]))),  # type: ignore[call-overload]
            dict(base, seed=[]),
        ]
        for variant in variants:
            self.assertNotEqual(fp, fingerprint(**variant))  # type: ignore[arg-type]
        with open(os.path.join(m, "001_a.sql"), "a") as fh:
            fh.write("select 1;\n")
        self.assertNotEqual(fp, fingerprint(**dict(base, sql=resolve_inputs(m))))  # type: ignore[arg-type]


class NamesTest(unittest.TestCase):
    def test_slug(self) -> None:
        for text, expected in (
            ("My Tests/test_users.py::TestX", "my_tests_test_users"),
            ("", ""),
            ("___", ""),
            ("Ünïcode 名前 test", "n_code_test"),
            ('a"b\'c; drop table x', "a_b_c_drop_table_x"),
        ):
            self.assertEqual(slug(text), expected, text)

    def test_template_names_are_stable_and_parse(self) -> None:
        self.assertEqual(template_name("demo", FP), "mtdb_tpl_demo_0123456789abcdef01234567")
        self.assertEqual(template_name(None, FP), "mtdb_tpl_0123456789abcdef01234567")
        self.assertEqual(parse_name(template_name("demo", FP)).kind, "template")  # type: ignore[union-attr]

    def test_clone_schema_and_temp_names_carry_their_owner(self) -> None:
        for name, kind in ((clone_name("x", FP, pid=4321), "clone"), (schema_name("x"), "schema"), (temp_build_name(FP, pid=4321), "temp")):
            parsed = parse_name(name)
            assert parsed is not None, name
            self.assertEqual(parsed.kind, kind)
            self.assertEqual(parsed.host, host_tag())
        self.assertEqual(parse_name(clone_name("x", FP, pid=4321)).pid, 4321)  # type: ignore[union-attr]
        self.assertEqual(parse_name(clone_name(None, FP, pid=0)).pid, 0)  # type: ignore[union-attr]

    def test_names_not_ours_are_never_claimed(self) -> None:
        for name in ("postgres", "template1", "app_test", "mtdb", "mtdb_tpl_x", "test_", "test_users", "mtdb_tmp_abc", "public"):
            self.assertIsNone(parse_name(name), name)

    def test_hostile_labels_many_random_names(self) -> None:
        rng = random.Random(20261121)
        alphabet = "aZ09 _-\"'`;\\/.\u00e9\u540d\U0001f600\t\n%$"
        seen: set[str] = set()
        for _ in range(5000):
            label = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 200)))
            name = clone_name(label, FP)
            self.assertLessEqual(len(name.encode()), 63, name)
            self.assertRegex(name, r"^[a-z0-9_]+$")
            self.assertIsNotNone(parse_name(name), name)
            self.assertNotIn(name, seen)
            seen.add(name)
            quoted = quote_ident(name)
            self.assertEqual(quoted, f'"{name}"')
            schema = schema_name(label)
            self.assertLessEqual(len(schema.encode()), 63, schema)
            self.assertEqual(parse_name(schema).kind, "schema")  # type: ignore[union-attr]


if __name__ == "__main__":
    unittest.main()
