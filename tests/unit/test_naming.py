"""Names: pure rules, table-driven, plus hostile names."""

from __future__ import annotations

import os
import random
import unittest

from minitestdb import _naming
from minitestdb._naming import (
    base36,
    clone_name,
    host_tag,
    kept_name,
    next_kept_number,
    owner_part,
    parse_name,
    schema_name,
    slug,
    temp_build_name,
    template_group,
    template_name,
    template_source,
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

    def test_names_with_an_owner_key_parse_with_it_and_fit(self) -> None:
        for key in (0, 36, 2**31, 2**32 - 1):
            owner = owner_part("ci-runner-7", 4194304, key)  # the largest pid Linux hands out
            for name, kind in (
                (clone_name("x" * 80, FP, owner=owner, suffix=unique_part(36**4, "abcdef")), "clone"),
                (clone_name("x" * 80, FP, owner=owner, suffix=unique_part(36**4, "abcdef")) + "_9999", "clone"),  # Django's parallel copy
                (schema_name("x" * 80, owner=owner, suffix=unique_part(36**4, "abcdef")), "schema"),
                (temp_build_name(FP, owner=owner, suffix="abcdef"), "temp"),
            ):
                self.assertLessEqual(len(name.encode()), 63, name)
                self.assertEqual(parse_name(name), (kind, host_tag("ci-runner-7"), 4194304, key), name)
        self.assertEqual(owner_part("h", 1, 2**32 - 1), f"{host_tag('h')}1_k1z141z3")
        with self.assertRaises(ValueError):
            owner_part("h", 1, 2**32)
        self.assertIsNone(parse_name(f"mtdb_x_01234567_{host_tag('h')}1_k1z141z4_1abcdef"), "a key past 32 bits is not one of ours")

    def test_old_and_keyed_names_never_parse_as_each_other(self) -> None:
        # An older minitestdb knows only the unkeyed forms: it must recognise no keyed name (so never drop one),
        # and an unkeyed name must never be read as keyed (its owner would be judged by a key it never held).
        rng = random.Random(14)
        old_patterns = (_naming._CLONE, _naming._SCHEMA, _naming._TEMP)
        keyed_patterns = (_naming._KEYED_CLONE, _naming._KEYED_SCHEMA, _naming._KEYED_TEMP)
        hexish = "0123456789abcdefk_"
        for count in range(1, 3000):
            label = "".join(rng.choice(hexish) for _ in range(rng.randint(0, 40)))
            pid, key = rng.choice([0, 1, 4321, 4194304]), rng.randrange(2**32)
            fp = "".join(rng.choice("0123456789abcdef") for _ in range(64))
            suffix = unique_part(count, os.urandom(3).hex())
            django = f"_{rng.randint(1, 9999)}" if rng.random() < 0.3 else ""
            keyed = [
                clone_name(label, fp, owner=owner_part("host", pid, key), suffix=suffix) + django,
                schema_name(label, owner=owner_part("host", pid, key), suffix=suffix),
                temp_build_name(fp, owner=owner_part("host", pid, key), suffix=suffix[-6:]),
            ]
            old = [
                clone_name(label, fp, owner=owner_part("host", pid), suffix=suffix) + django,
                schema_name(label, owner=owner_part("host", pid), suffix=suffix),
                temp_build_name(fp, owner=owner_part("host", pid), suffix=suffix[-6:]),
            ]
            for name in keyed:
                self.assertFalse(any(p.match(name) for p in old_patterns), name)
                self.assertEqual(parse_name(name).key, key, name)  # type: ignore[union-attr]
            for name in old:
                self.assertFalse(any(p.match(name) for p in keyed_patterns), name)
                self.assertEqual(parse_name(name)[2:], (pid, None), name)  # type: ignore[index]

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


class KeptNamesTest(unittest.TestCase):
    def test_kept_names_show_the_test_fit_63_bytes_and_parse_as_kept(self) -> None:
        for label, number, expected in (
            ("test_signup", 1, "mtdb_kept_test_signup_1"),
            ("tests/test_users.py::TestX::test_signup[pg-15]", 12, "mtdb_kept_tests_test_users_py_testx_test_signup_pg_15_12"),
            ("", 3, "mtdb_kept_3"),
            ("名前", 4, "mtdb_kept_4"),
            ("x" * 80, 123, "mtdb_kept_" + "x" * 49 + "_123"),
        ):
            name = kept_name(label, number)
            self.assertEqual(name, expected)
            self.assertLessEqual(len(name.encode()), 63)
            self.assertEqual(parse_name(name), ("kept", "", 0, None))

    def test_next_number_counts_only_this_labels_kept_names(self) -> None:
        self.assertEqual(next_kept_number("test_a", []), 1)
        self.assertEqual(next_kept_number("test_a", ["mtdb_kept_test_a_2", "mtdb_kept_test_a_10", "mtdb_kept_test_a_x_50", "mtdb_kept_test_ab_70", "postgres"]), 11)
        self.assertEqual(next_kept_number("", ["mtdb_kept_4", "mtdb_kept_test_5"]), 5)

    def test_no_clone_template_schema_or_temp_name_is_kept_and_no_kept_name_is_anything_else(self) -> None:
        rng = random.Random(11)
        owner = owner_part("host", 4321)
        labels = ["kept", "kept_x", "KEPT", "tpl", "tpl_users", "tmp", "keptx", "mtdb_kept", "test_kept_1"]
        labels += ["".join(rng.choice("kept_tpl0123456789abcdef") for _ in range(rng.randint(0, 40))) for _ in range(3000)]
        for count, label in enumerate(labels, 1):
            others = (
                clone_name(label, FP, owner=owner, suffix=unique_part(count, "123456")),
                clone_name(label, FP, owner=owner, suffix=unique_part(count, "123456")) + "_2",  # Django's parallel worker copy
                schema_name(label, owner=owner, suffix=unique_part(count, "abcdef")),
                template_name(label, FP),
                temp_build_name(FP, owner=owner, suffix="abcdef"),
            )
            for name in others:
                parsed = parse_name(name)
                self.assertIsNotNone(parsed, name)
                self.assertNotEqual(parsed.kind, "kept", name)  # type: ignore[union-attr]
            self.assertEqual(parse_name(kept_name(label, count)).kind, "kept", label)  # type: ignore[union-attr]
        self.assertEqual(clone_name("kept_x", FP, owner=owner, suffix="1ab"), f"mtdb_c_kept_x_01234567_{owner}_1ab")

    def test_names_that_only_look_kept_are_not_ours(self) -> None:
        for name in ("mtdb_kept_", "mtdb_kept_x", "mtdb_kept_x_", "mtdb_kept_X_1", "mtdb_kept__1", "mtdb_kept_a__b_1", "mtdb_kept_1x"):
            self.assertIsNone(parse_name(name), name)


class TemplateSourceTest(unittest.TestCase):
    def test_label_else_common_directory_else_nothing(self) -> None:
        for label, directories, expected in (
            ("users", ["/p/a"], "label:users"),
            ("  ", ["/p/a/migrations", "/p/a"], "dir:/p/a"),
            (None, ["/p/a/migrations", "/p/a/seeds"], "dir:/p/a"),
            (None, ["/p/a/migrations"], "dir:/p/a/migrations"),
            (None, [], ""),
        ):
            self.assertEqual(template_source(label, directories), expected)

    def test_groups_by_source_else_by_name(self) -> None:
        fp = "a" * 24
        self.assertEqual(template_group(f"mtdb_tpl_{fp}", "dir:/p/one"), "source dir:/p/one")
        self.assertNotEqual(template_group(f"mtdb_tpl_{fp}", "dir:/p/one"), template_group(f"mtdb_tpl_{fp}", "dir:/p/two"))
        self.assertEqual(template_group(f"mtdb_tpl_{fp}", ""), "name mtdb_tpl")
        self.assertEqual(template_group(f"mtdb_tpl_users_{fp}", ""), "name mtdb_tpl_users")


load_tests = doctests(_naming)


if __name__ == "__main__":
    unittest.main()
