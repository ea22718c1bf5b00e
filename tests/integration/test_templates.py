"""Templates and clones against a real server: build once, clone fast, leave nothing."""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import textwrap
import time
import unittest
import uuid
from contextlib import redirect_stderr
from unittest import mock

import minitestdb
from minitestdb._errors import MigrationError
from minitestdb._migrations import SchemaScript
from minitestdb._naming import parse_name
from minitestdb._templates import build_template, keep_database, prune_databases
from tests.integration.support import database_names, dead_pid, run_workers, start_module_server, temp_dir, write_sql

SERVER: minitestdb.Server  # this module's private server, from setUpModule


def setUpModule() -> None:
    global SERVER
    SERVER = start_module_server()


def tearDownModule() -> None:
    SERVER.close()


def databases() -> set[str]:
    return database_names(SERVER)


SCHEMA = {
    "001_users.sql": """
        create table users (id serial primary key, email text not null unique);
        create index users_lower_email on users (lower(email));
    """,
    "002_posts.sql": """
        create table posts (id serial primary key, user_id int references users, body text);
        insert into users (email) values ('a@example.com'), ('ü@example.com');
    """,
}


class TemplateBuildTest(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = temp_dir(self, "minitestdb-tpl-")
        self.migrations = os.path.join(self.tmp, "migrations")
        # A marker makes this test's fingerprint its own.
        self.files = dict(SCHEMA, **{"000_marker.sql": f"-- {uuid.uuid4()}\nselect 1;\n"})

    def test_identical_inputs_build_once_across_8_processes(self) -> None:
        path = write_sql(self.migrations, self.files)
        before = databases()
        script = textwrap.dedent(f"""
            import json, os, minitestdb
            server = minitestdb.Server.from_url(os.environ["SERVER_URL"])
            tpl = server.template(sql={path!r}, name="race", pool=0)
            print(json.dumps({{"name": tpl.name, "built": tpl.built}}))
        """)
        results = run_workers(script, 8, SERVER_URL=SERVER.url)
        names = {r["name"] for r in results}
        self.assertEqual(len(names), 1, names)
        self.assertEqual(sum(1 for r in results if r["built"]), 1, results)
        after = databases()
        self.assertEqual(after - before, names)
        self.assertFalse([d for d in after if d.startswith("mtdb_tmp_")])

    def test_changed_file_gives_a_new_template_and_same_inputs_the_same(self) -> None:
        path = write_sql(self.migrations, self.files)
        first = SERVER.template(sql=path, pool=0)
        self.assertTrue(first.built)
        again = SERVER.template(sql=os.path.join(path, "*.sql"), pool=0)
        self.assertEqual(again.name, first.name)
        self.assertFalse(again.built)
        with open(os.path.join(path, "002_posts.sql"), "a") as fh:
            fh.write("alter table posts add column title text;\n")
        changed = SERVER.template(sql=path, pool=0)
        self.assertNotEqual(changed.name, first.name)
        self.assertTrue(changed.built)
        with changed.clone() as db, db.connect() as conn:
            self.assertIn(("title",), conn.query("select column_name from information_schema.columns where table_name = 'posts'").rows)

    def test_broken_migration_names_file_and_line_leaves_nothing_then_builds_after_fix(self) -> None:
        files = dict(self.files, **{"003_broken.sql": "create table ok_table (id int);\n\ninsert into no_such_table values (1);\n"})
        path = write_sql(self.migrations, files)
        before = databases()
        with self.assertRaises(minitestdb.MigrationError) as ctx:
            SERVER.template(sql=path, pool=0)
        err = ctx.exception
        self.assertIn("003_broken.sql:3", str(err))
        self.assertIn('relation "no_such_table" does not exist', str(err))
        self.assertEqual(err.line, 3)
        self.assertTrue(err.file.endswith("003_broken.sql"))
        self.assertNotIn("\n", str(err))
        self.assertEqual(databases(), before, "a failed build leaves no database")
        with open(os.path.join(path, "003_broken.sql"), "w") as fh:
            fh.write("create table ok_table (id int);\n\ninsert into ok_table values (1);\n")
        fixed = SERVER.template(sql=path, pool=0)
        self.assertTrue(fixed.built)

    def test_container_psql_when_the_host_has_none(self) -> None:
        files = dict(self.files, **{"003_broken.sql": "select 1;\nselect * from nowhere;\n"})
        path = write_sql(self.migrations, files)
        with mock.patch("shutil.which", lambda name: None):
            with self.assertRaises(minitestdb.MigrationError) as ctx:
                SERVER.template(sql=path, pool=0)
            self.assertIn("003_broken.sql:2", str(ctx.exception))
            os.remove(os.path.join(path, "003_broken.sql"))
            tpl = SERVER.template(sql=path, pool=0)
        with tpl.clone() as db, db.connect() as conn:
            self.assertEqual(conn.query("select count(*) from users").rows, [("2",)])

    def test_seed_and_list_order(self) -> None:
        path = write_sql(self.migrations, self.files)
        seed = os.path.join(self.tmp, "seed.sql")
        with open(seed, "w") as fh:
            fh.write("insert into users (email) values ('seeded@example.com');\n")
        tpl = SERVER.template(sql=[os.path.join(path, "001_users.sql"), os.path.join(path, "002_posts.sql")], seed=seed, pool=0)
        with tpl.clone() as db, db.connect() as conn:
            self.assertEqual(conn.query("select count(*) from users").rows, [("3",)])


class CloneTest(unittest.TestCase):
    tmp: str
    migrations: str  # SCHEMA's files, in tmp
    template: minitestdb.Template

    @classmethod
    def setUpClass(cls) -> None:
        cls.tmp = tempfile.mkdtemp(prefix="minitestdb-clone-")
        cls.migrations = write_sql(os.path.join(cls.tmp, "migrations"), SCHEMA)
        cls.template = SERVER.template(sql=cls.migrations, name="clones", pool=0)

    @classmethod
    def tearDownClass(cls) -> None:
        shutil.rmtree(cls.tmp, True)

    def test_200_clones_and_drops_leave_the_database_list_as_it_was(self) -> None:
        before = databases()
        for i in range(200):
            db = self.template.clone(f"loop {i}")
            if i % 50 == 0:
                with db.connect() as conn:
                    self.assertEqual(conn.query("select count(*) from users").rows, [("2",)])
            db.drop()
        self.assertEqual(databases(), before)

    def test_drop_without_waiting_is_done_by_the_worker(self) -> None:
        before = databases()
        template = SERVER.template(sql=self.migrations, name="clones", pool=0)
        made = [template.clone(f"async {i}") for i in range(20)]
        began = time.monotonic()
        for db in made:
            db.drop(wait=False)
        self.assertLess(time.monotonic() - began, 0.5, "queueing a drop does not wait for it")
        template.flush()
        self.assertEqual(databases(), before)
        # Queued drops still pending at close() are done by close().
        for db in [template.clone("late") for _ in range(5)]:
            db.drop(wait=False)
        template.close()
        self.assertEqual(databases(), before)

    def test_clones_are_isolated(self) -> None:
        with self.template.clone("a") as a, self.template.clone("b") as b:
            self.assertNotEqual(a.name, b.name)
            with a.connect() as conn:
                conn.query("insert into users (email) values ('only-in-a@example.com')")
            with b.connect() as conn:
                self.assertEqual(conn.query("select count(*) from users").rows, [("2",)])

    def test_clone_names_never_collide_across_8_processes(self) -> None:
        script = textwrap.dedent("""
            import json, os, minitestdb
            server = minitestdb.Server.from_url(os.environ["SERVER_URL"])
            tpl = server.template(sql=os.environ["MIGRATIONS"], name="clones", pool=0)
            made = [tpl.clone("same label") for _ in range(5)]
            names = [d.name for d in made] + [tpl._new_clone_name("same label") for _ in range(2000)]
            for d in made:
                d.drop()
            print(json.dumps({"names": names}))
        """)
        results = run_workers(script, 8, SERVER_URL=SERVER.url, MIGRATIONS=self.migrations)
        names = [n for r in results for n in r["names"]]  # type: ignore[union-attr]
        self.assertEqual(len(names), 8 * 2005)
        self.assertEqual(len(set(names)), len(names))
        self.assertTrue(all(len(n.encode()) <= 63 for n in names))

    def test_hostile_labels_on_a_real_server(self) -> None:
        labels = ['a"b', "it's; drop database postgres; --", "Ünïcode 名前", " ", "x" * 200, "\\0\n\t"]
        for label in labels:
            with self.subTest(label=label[:20]):
                with self.template.clone(label) as db, db.connect() as conn:
                    self.assertEqual(conn.query("select current_database()").rows, [(db.name,)])
                with self.template.schema(label) as schema, schema.connect() as conn:
                    self.assertEqual(conn.query("select current_schema()").rows, [(schema.schema,)])
        with SERVER.connect() as conn:
            self.assertEqual(conn.query("select count(*) from pg_database where datname = 'postgres'").rows, [("1",)])

    def test_a_leaked_connection_does_not_break_the_next_test(self) -> None:
        db = self.template.clone("leaky")
        leaked = db.connect()
        leaked.query("begin; insert into users (email) values ('leak@example.com')")
        began = time.monotonic()
        db.drop()
        self.assertLess(time.monotonic() - began, 2.0, "drop must not wait for the leaked session")
        began = time.monotonic()
        with self.template.clone("next") as nxt, nxt.connect() as conn:
            self.assertEqual(conn.query("select count(*) from users").rows, [("2",)])
        self.assertLess(time.monotonic() - began, 2.0)
        with self.assertRaises(minitestdb.MiniTestDBError):
            leaked.query("select 1")
        leaked.close()

    def test_template_refuses_connections(self) -> None:
        with self.assertRaises(minitestdb.ServerError) as ctx, SERVER.connect(self.template.name):
            pass
        self.assertIn(ctx.exception.sqlstate, ("55000", "3D000"))

    def test_pool_serves_ready_clones_and_drops_the_rest(self) -> None:
        before = databases()
        pooled = SERVER.template(sql=self.migrations, name="clones", pool=3)
        deadline = time.monotonic() + 10
        while len(databases() - before) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        began = time.monotonic()
        db = pooled.clone()
        self.assertLess(time.monotonic() - began, 0.01, "a pooled clone is handed over, not created")
        with db.connect() as conn:
            self.assertEqual(conn.query("select count(*) from users").rows, [("2",)])
        db.drop()
        pooled.close()
        self.assertEqual(databases(), before)

    def test_a_process_that_exits_leaves_no_pooled_or_queued_clones(self) -> None:
        before = databases()
        script = textwrap.dedent("""
            import json, os, time, minitestdb
            server = minitestdb.Server.from_url(os.environ["SERVER_URL"])
            tpl = server.template(sql=os.environ["MIGRATIONS"], name="clones", pool=3)
            deadline = time.monotonic() + 10
            while tpl._workers["clone"].ready.qsize() < 3 and time.monotonic() < deadline:
                time.sleep(0.02)
            used = tpl.clone("used")
            used.drop(wait=False)
            forgotten = tpl.clone("forgotten")  # never dropped by the test
            print(json.dumps({"ready": tpl._workers["clone"].ready.qsize()}))
        """)
        results = run_workers(script, 1, SERVER_URL=SERVER.url, MIGRATIONS=self.migrations)
        self.assertGreaterEqual(results[0]["ready"], 1)  # type: ignore[operator]
        self.assertEqual(databases(), before)

    def test_reset_returns_to_the_cloned_state(self) -> None:
        with self.template.clone("reset") as db:
            with db.connect() as conn:
                conn.query("delete from posts; delete from users")
            name = db.name
            db.reset()
            self.assertEqual(db.name, name)
            with db.connect() as conn:
                self.assertEqual(conn.query("select count(*) from users").rows, [("2",)])

    def test_schema_mode(self) -> None:
        with self.template.schema("schema test") as db:
            self.assertTrue(db.name.startswith("test_schema_test_"))
            self.assertIn("search_path", db.url)
            with db.connect() as conn:
                self.assertEqual(conn.query("select count(*) from users").rows, [("2",)])
                self.assertEqual(conn.query("select current_schema()").rows, [(db.schema,)])
            db.reset()
            with db.connect() as conn:
                self.assertEqual(conn.query("select count(*) from users").rows, [("2",)])
        with SERVER.connect() as conn:
            self.assertEqual(conn.query(f"select count(*) from pg_namespace where nspname = '{db.schema}'").rows, [("0",)])

    def test_schema_mode_keeps_replays_ready_and_makes_no_clone(self) -> None:
        template = SERVER.template(sql=self.migrations, name="clones", pool=2)  # found: a Template of its own, with a pool
        before = databases()
        first = template.schema("first")  # migrated, then captured
        worker = template._workers["schema"]
        deadline = time.monotonic() + 30
        while worker.ready.qsize() < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        ready = list(worker.ready.queue)
        self.assertEqual(len(ready), 2)
        second = template.schema("second")
        self.assertIn(second.schema, ready)  # handed over, made while the first test ran
        with second.connect() as conn:
            self.assertEqual(conn.query("select count(*) from users").rows, [("2",)])
            self.assertEqual(conn.query("select current_schema()").rows, [(second.schema,)])
        first.drop(wait=False)
        second.drop(wait=False)
        template.flush()
        template.close()  # the pool's unused schemas go too
        self.assertEqual(databases(), before)  # the schema mode made no clone
        with SERVER.connect() as conn:
            left = conn.query("select nspname from pg_namespace where nspname like 'test\\_%'").rows
        self.assertEqual([name for (name,) in left if name in {first.schema, second.schema, *ready}], [])

    def test_prune_drops_only_what_dead_owners_left_unused(self) -> None:
        gone = dead_pid()
        orphan = self.template._new_clone_name("orphan", pid=gone)
        busy_orphan = self.template._new_clone_name("busy", pid=gone)
        with SERVER.connect() as conn:
            for name in (orphan, busy_orphan):
                conn.query(f'create database "{name}" template "{self.template.name}"')
        mine = self.template.clone("mine")
        busy = SERVER.connect(busy_orphan)
        try:
            dropped = SERVER.prune()
            self.assertIn(orphan, dropped)
            self.assertNotIn(busy_orphan, dropped)
            self.assertNotIn(mine.name, dropped)
            self.assertNotIn(self.template.name, dropped)
            names = databases()
            self.assertNotIn(orphan, names)
            self.assertIn(busy_orphan, names)
            self.assertIn(mine.name, names)
        finally:
            busy.close()
            mine.drop()
        self.assertIn(busy_orphan, SERVER.prune())


def kept_databases() -> list[tuple[str, str]]:
    """The kept databases on SERVER, with their comments, oldest first."""
    with SERVER.connect() as conn:
        rows = conn.query("select datname, coalesce(shobj_description(oid, 'pg_database'), '') from pg_database order by oid").rows
    return [(name or "", comment or "") for name, comment in rows if parse_name(name or "") is not None and parse_name(name or "").kind == "kept"]  # type: ignore[union-attr]


class KeepTest(unittest.TestCase):
    """A failed test's clone, kept: renamed with its data, its sessions ended, commented, bounded, pruned only on request."""

    template: minitestdb.Template

    @classmethod
    def setUpClass(cls) -> None:
        tmp = tempfile.mkdtemp(prefix="minitestdb-keep-")
        cls.addClassCleanup(shutil.rmtree, tmp, True)
        cls.template = SERVER.template(sql=write_sql(os.path.join(tmp, "migrations"), SCHEMA), name="keep", pool=0)

    def setUp(self) -> None:
        self.addCleanup(prune_databases, SERVER.endpoint, kept=True)

    def test_kept_with_its_data_though_the_test_left_a_session_open(self) -> None:
        database = self.template.clone("test_signup")
        leaked = database.connect()
        leaked.query("insert into users (email) values ('left@example.com')")
        kept = keep_database(database, label="test_signup[pg]", test="tests/test_users.py::test_signup[pg]", bound=10)
        self.assertRegex(kept.name, r"^mtdb_kept_test_signup_pg_[0-9]+$")
        self.assertEqual(kept.redacted_url, f"postgresql://{SERVER.user}:***@{SERVER.host}:{SERVER.port}/{kept.name}")
        names = databases()
        self.assertIn(kept.name, names)
        with self.assertRaises(minitestdb.MiniTestDBError):
            leaked.query("select 1")  # its session was ended for the rename
        leaked.close()
        with database.connect() as conn:  # the Database now points at the kept name
            self.assertEqual(conn.query("select count(*) from users where email = 'left@example.com'").rows, [("1",)])
        (comment,) = [c for name, c in kept_databases() if name == kept.name]
        self.assertRegex(comment, r"^minitestdb kept at=[0-9.]+ test=tests/test_users.py::test_signup\[pg\]$")
        # The next failure of the same test takes the next number.
        again = keep_database(self.template.clone("x"), label="test_signup[pg]", test="t", bound=10)
        self.assertEqual(int(again.name.rsplit("_", 1)[1]), int(kept.name.rsplit("_", 1)[1]) + 1)
        # A plain prune leaves kept databases; kept=True removes them.
        self.assertFalse({kept.name, again.name} & set(SERVER.prune()))
        self.assertEqual(sorted(prune_databases(SERVER.endpoint, kept=True)), sorted([kept.name, again.name]))
        self.assertFalse({kept.name, again.name} & databases())

    def test_thirty_kept_databases_leave_at_most_the_bound_the_newest(self) -> None:
        names = []
        for i in range(30):
            kept = keep_database(self.template.clone(f"t{i}"), label=f"test_{i}", test=f"t.py::test_{i}", bound=10)
            names.append(kept.name)
            self.assertLessEqual(len(kept_databases()), 10)
            if i >= 10:
                self.assertEqual(kept.dropped, (names[i - 10],))
        self.assertEqual(sorted(name for name, _ in kept_databases()), sorted(names[20:]))


class ProgressTest(unittest.TestCase):
    def test_a_real_psql_tells_each_file_in_order_and_builds_the_same_template(self) -> None:
        tmp = temp_dir(self, "minitestdb-progress-")
        path = write_sql(os.path.join(tmp, "migrations"), dict(SCHEMA, **{"000_marker.sql": f"-- {uuid.uuid4()}\nset search_path = public;\n"}))
        messages: list[str] = []
        with mock.patch("os.getcwd", return_value=tmp):
            tpl = build_template(SERVER.endpoint, container=SERVER.container_id, docker_binary=SERVER.docker.binary, sql=path, pool=0, progress=messages.append)
        self.assertTrue(tpl.built)
        self.assertEqual(messages, ["applying migrations/000_marker.sql", "applying migrations/001_users.sql", "applying migrations/002_posts.sql"])
        self.assertEqual(SERVER.template(sql=path, pool=0).name, tpl.name)  # the same inputs: found, not rebuilt
        with tpl.clone() as db, db.connect() as conn:
            self.assertEqual(conn.query("select count(*) from users").rows, [("2",)])


class PruneSourcesTest(unittest.TestCase):
    def test_unrelated_unlabelled_templates_do_not_drop_a_third_projects(self) -> None:
        tmp = temp_dir(self, "minitestdb-projects-")

        def build(project: str, version: int) -> str:
            path = write_sql(os.path.join(tmp, project, "migrations"), {"001.sql": f"-- {project} v{version} {uuid.uuid4()}\ncreate table t (id int);\n"})
            return SERVER.template(sql=path, pool=0).name

        third = build("third", 1)
        one = [build("one", 1), build("one", 2)]
        two = [build("two", 1), build("two", 2)]
        one.append(build("one", 3))  # newer by its build time, or (the same second) by its creation order
        dropped = SERVER.prune(keep_templates=2)
        self.assertEqual([name for name in dropped if name.startswith("mtdb_tpl_")], [one[0]])
        names = databases()
        self.assertIn(third, names)
        self.assertTrue(set(two) | set(one[1:]) <= names)
        with SERVER.connect() as conn:
            (comment,) = conn.query(f"select shobj_description(oid, 'pg_database') from pg_database where datname = '{third}'").rows[0]
        self.assertEqual(comment.split(" source=", 1)[1], f"dir:{os.path.join(tmp, 'third', 'migrations')}")


if __name__ == "__main__":
    unittest.main()


REPLAY_SCHEMA = {
    "001_accounts.sql": """
        create type plan as enum ('free', 'paid');
        create sequence invoice_numbers start 1000 increment 10;
        create table accounts (id serial primary key, email text not null unique, plan plan not null default 'free', created date default current_date);
        create table orders (
            id bigint generated always as identity primary key,
            account_id int not null references accounts on delete cascade,
            invoice int not null default nextval('invoice_numbers'),
            total numeric(10, 2) check (total >= 0),
            unique (account_id, invoice)
        );
        create index orders_total on orders (total desc) where total > 0;
        comment on table orders is 'one row per order';
        create view paid_accounts as select a.email, count(o.id) as orders from accounts a left join orders o on o.account_id = a.id where a.plan = 'paid' group by a.email;
        create function touch() returns trigger language plpgsql as $$ begin new.total := coalesce(new.total, 0); return new; end $$;
        create trigger orders_touch before insert on orders for each row execute function touch();
        create function account_count() returns bigint language sql stable as 'select count(*) from accounts';
    """,
    "002_seed.sql": """
        insert into accounts (email, plan) values ('a@example.com', 'paid'), ('b@example.com', 'free'), ('it''s ü', 'paid');
        insert into orders (account_id, total) values (1, 10.5), (1, null), (3, 7);
        select setval('invoice_numbers', 5000);
        select nextval('invoice_numbers');
    """,
}

# What a schema holds, with its own name written S: equal for a replayed and a migrated schema.
SNAPSHOT = {
    "columns": "select table_name, column_name, data_type, coalesce(column_default, ''), is_nullable, coalesce(is_identity, '') "
    "from information_schema.columns where table_schema = {s} order by 1, 2",
    "indexes": "select tablename, indexname, indexdef from pg_indexes where schemaname = {s} order by 1, 2",
    "constraints": "select conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid) from pg_constraint where connamespace = {s}::regnamespace order by 1, 2",
    "sequences": "select sequencename, data_type::text, start_value, increment_by, last_value from pg_sequences where schemaname = {s} order by 1",
    "owned": "select pg_get_serial_sequence({s} || '.accounts', 'id'), pg_get_serial_sequence({s} || '.orders', 'id')",
    "views": "select viewname, definition from pg_views where schemaname = {s} order by 1",
    "functions": "select proname, pg_get_functiondef(oid) from pg_proc where pronamespace = {s}::regnamespace order by 1",
    "triggers": "select tgname, pg_get_triggerdef(oid) from pg_trigger where not tgisinternal and tgrelid in (select oid from pg_class where relnamespace = {s}::regnamespace) order by 1",
    "types": "select t.typname, array_to_string(array(select enumlabel from pg_enum where enumtypid = t.oid order by enumsortorder), ',') "
    "from pg_type t where t.typnamespace = {s}::regnamespace and t.typtype = 'e'",
    "comments": "select c.relname, coalesce(obj_description(c.oid, 'pg_class'), '') from pg_class c where c.relnamespace = {s}::regnamespace order by 1",
    "rows": "select (select json_agg(a order by a.id)::text from accounts a), (select json_agg(o order by o.id)::text from orders o), "
    "(select json_agg(p order by p.email)::text from paid_accounts p), account_count()",
}


def snapshot(db: minitestdb.Database) -> dict[str, list[tuple[str | None, ...]]]:
    assert db.schema
    with db.connect() as conn:
        out = {key: conn.query(sql.format(s=f"'{db.schema}'")).rows for key, sql in SNAPSHOT.items()}
    return {key: [tuple(None if v is None else v.replace(db.schema, "S") for v in row) for row in rows] for key, rows in out.items()}


class SchemaReplayTest(unittest.TestCase):
    """The schema mode migrates the first schema, captures it with pg_dump and replays that into the next ones."""

    def setUp(self) -> None:
        tmp = temp_dir(self, "minitestdb-replay-")
        files = dict(REPLAY_SCHEMA, **{"000_marker.sql": f"-- {uuid.uuid4()}\nselect 1;\n"})
        self.template = SERVER.template(sql=write_sql(os.path.join(tmp, "migrations"), files), name="replay", pool=0)

    def test_a_replayed_schema_equals_a_migrated_one(self) -> None:
        with self.template.schema("migrated") as migrated:
            self.assertIsInstance(self.template._schema_script, SchemaScript, "the first schema is captured")
            with mock.patch("minitestdb._templates._migrate", side_effect=AssertionError("migrated again")), self.template.schema("replayed") as replayed:
                expected, got = snapshot(migrated), snapshot(replayed)
                self.assertEqual(expected["rows"][0][3], "3")
                self.assertEqual({row[0]: row[-1] for row in expected["sequences"]}, {"accounts_id_seq": "3", "invoice_numbers": "5010", "orders_id_seq": "3"})
                for key in SNAPSHOT:
                    self.assertEqual(got[key], expected[key], key)
                # Isolated, and the sequences go on from the same values.
                with replayed.connect() as conn:
                    conn.query("delete from orders; insert into orders (account_id) values (2)")
                    self.assertEqual(conn.query("select invoice, total from orders").rows, [("5020", "0.00")])
                    self.assertEqual(conn.query("select nextval('accounts_id_seq')").rows, [("4",)])
                with migrated.connect() as conn:
                    self.assertEqual(conn.query("select count(*) from orders").rows, [("3",)])
                    self.assertEqual(conn.query("select nextval('accounts_id_seq')").rows, [("4",)])
                replayed.reset()
                self.assertEqual(snapshot(replayed), expected)
        with SERVER.connect() as conn:
            self.assertEqual(conn.query(f"select count(*) from pg_namespace where nspname in ('{migrated.schema}', '{replayed.schema}')").rows, [("0",)])
            # The replay's SET lines do not outlive it on the admin connection.
            self.assertEqual(self.template._admin.query("show search_path"), conn.query("show search_path").rows)

    def test_without_pg_dump_every_schema_is_migrated_and_that_is_said_once(self) -> None:
        err = io.StringIO()
        no_dump = mock.patch("minitestdb._templates.dump_schema", side_effect=MigrationError("no pg_dump here"))
        with no_dump, redirect_stderr(err), self.template.schema("one") as one, self.template.schema("two") as two:
            self.assertEqual(snapshot(one), snapshot(two))
        self.assertIs(self.template._schema_script, False)
        self.assertEqual(err.getvalue().count("re-runs the migrations"), 1, err.getvalue())
        self.assertIn("no pg_dump here", err.getvalue())

    def test_a_failing_replay_falls_back_to_the_migrations(self) -> None:
        with self.template.schema("first"):
            pass
        self.template._schema_script = SchemaScript(("CREATE SCHEMA ", "; SELECT no_such_function();"))
        with redirect_stderr(io.StringIO()) as err, self.template.schema("second") as second, second.connect() as conn:
            self.assertEqual(conn.query("select count(*) from accounts").rows, [("3",)])
        self.assertIn("replaying the captured schema failed", err.getvalue())
        self.assertIs(self.template._schema_script, False)
