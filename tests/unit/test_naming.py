"""Names: pure rules, table-driven, plus hostile names."""

from __future__ import annotations

import random
import unittest

from minitestdb import _naming
from minitestdb._naming import (
    base36,
    clone_name,
    host_tag,
    owner_part,
    parse_name,
    schema_name,
    slug,
    temp_build_name,
    template_name,
    unique_part,
)
from minitestdb._wire import quote_ident
from tests.unit.support import doctests

FP = "0123456789abcdef" * 4


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
        owner = owner_part("ci-runner-7", 4321)
        for name, kind in (
            (clone_name("x", FP, owner=owner, suffix=unique_part(1, "abcdef")), "clone"),
            (schema_name("x", owner=owner, suffix=unique_part(2, "abcdef")), "schema"),
            (temp_build_name(FP, owner=owner, suffix="abcdef"), "temp"),
        ):
            parsed = parse_name(name)
            assert parsed is not None, name
            self.assertEqual((parsed.kind, parsed.host, parsed.pid), (kind, host_tag("ci-runner-7"), 4321))
        self.assertEqual(parse_name(clone_name(None, FP, owner=owner_part("h", 0), suffix="1abcdef")).pid, 0)  # type: ignore[union-attr]

    def test_host_tags_differ_between_hosts(self) -> None:
        self.assertEqual(host_tag("a"), host_tag("a"))
        self.assertNotEqual(host_tag("ci-runner-7"), host_tag("ci-runner-8"))
        self.assertRegex(host_tag("x"), r"^[0-9a-f]{4}$")

    def test_base36(self) -> None:
        for value, expected in ((0, "0"), (9, "9"), (10, "a"), (35, "z"), (36, "10"), (4321, "3c1"), (2**22, "2hwcg")):
            self.assertEqual(base36(value), expected)
            self.assertEqual(int(expected, 36), value)

    def test_names_not_ours_are_never_claimed(self) -> None:
        for name in ("postgres", "template1", "app_test", "mtdb", "mtdb_tpl_x", "test_", "test_users", "mtdb_tmp_abc", "public"):
            self.assertIsNone(parse_name(name), name)

    def test_hostile_labels_many_random_names(self) -> None:
        rng = random.Random(20261121)
        alphabet = "aZ09 _-\"'`;\\/.\u00e9\u540d\U0001f600\t\n%$"
        seen: set[str] = set()
        for _ in range(5000):
            label = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 200)))
            name = clone_name(label, FP, owner=owner_part("host", 4321), suffix=unique_part(len(seen) + 1, "abcdef"))
            self.assertLessEqual(len(name.encode()), 63, name)
            self.assertRegex(name, r"^[a-z0-9_]+$")
            self.assertIsNotNone(parse_name(name), name)
            self.assertNotIn(name, seen)
            seen.add(name)
            quoted = quote_ident(name)
            self.assertEqual(quoted, f'"{name}"')
            schema = schema_name(label, owner=owner_part("host", 4321), suffix=unique_part(len(seen), "abcdef"))
            self.assertLessEqual(len(schema.encode()), 63, schema)
            self.assertEqual(parse_name(schema).kind, "schema")  # type: ignore[union-attr]


load_tests = doctests(_naming)


if __name__ == "__main__":
    unittest.main()
