"""Start-up snapshots on the real engine: a server started from one is like a freshly initialized one; builds, rebuilds, races, failures, prune."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import unittest

import minitestdb
from minitestdb._container import LABEL_SNAPSHOT, LABEL_SNAPSHOT_SOURCE, snapshot_key, snapshot_tag
from minitestdb._docker import DockerCLI
from minitestdb._pgconn import connect
from tests.integration.support import TEST_IMAGE, LeakCheck, minitestdb_cli, python_child, require_docker, root_env

# Facts a test could notice: who and where it is, encoding and locale, roles, databases,
# every setting not at its built-in default, the pg_hba rules, how the password is stored.
FACTS = """
select current_user, current_database(), current_setting('data_directory'), current_setting('server_encoding'),
  (select datcollate || '/' || datctype from pg_database where datname = current_database()),
  current_setting('password_encryption'),
  (select string_agg(datname, ',' order by datname) from pg_database),
  (select string_agg(rolname || ':' || rolsuper::text || ':' || rolcanlogin::text, ',' order by rolname) from pg_roles),
  (select string_agg(name || '=' || setting, ',' order by name) from pg_settings where source not in ('default', 'override', 'session', 'client')),
  (select string_agg(type || ' ' || array_to_string(database, ',') || ' ' || array_to_string(user_name, ',') || ' ' || coalesce(address, '')
     || ' ' || coalesce(auth_method, ''), ';' order by line_number) from pg_hba_file_rules),
  (select case when rolpassword like 'SCRAM-SHA-256$%' then 'scram-sha-256' when rolpassword like 'md5%' then 'md5' else 'other' end
     from pg_authid where rolname = current_user)
"""


def setUpModule() -> None:
    require_docker()


def snapshots_of(source: str) -> list[str]:
    return [ref for _id, ref in DockerCLI().images([LABEL_SNAPSHOT, f"{LABEL_SNAPSHOT_SOURCE}={source}"])]


def build_image(tag: str, dockerfile: str) -> str:
    """Build *tag* from a Dockerfile given on stdin (no context); returns the image id."""
    cli = DockerCLI()
    subprocess.run([cli.binary, "build", "--quiet", "--tag", tag, "-"], input=dockerfile, text=True, capture_output=True, timeout=300, check=True)
    info = cli.image_inspect(tag)
    assert info is not None
    return str(info["Id"])


def remove_images(*images: str) -> None:
    cli = DockerCLI()
    for image in images:
        subprocess.run([cli.binary, "rmi", "--force", image], capture_output=True, timeout=120, check=False)


class SnapshotTest(LeakCheck):
    def test_a_server_started_from_a_snapshot_is_like_a_freshly_initialized_one(self) -> None:
        with minitestdb.start(snapshot=False) as fresh, minitestdb.start(snapshot=True) as snap:
            fresh_info, snap_info = DockerCLI().inspect(fresh.container_id), DockerCLI().inspect(snap.container_id)
            assert fresh_info is not None and snap_info is not None
            self.assertEqual(fresh_info.snapshot, "")
            self.assertRegex(snap_info.snapshot, r"^(localhost/)?minitestdb-snapshot:[0-9a-f]{16}$")  # podman names local images localhost/...
            self.assertEqual((snap.image, snap_info.image), (TEST_IMAGE, TEST_IMAGE))  # the image asked for, as status and reuse see it
            # The snapshot image keeps no password and does not make a container started from it minitestdb's.
            snapshot_config = (DockerCLI().image_inspect(snap_info.snapshot) or {}).get("Config") or {}
            self.assertIn("POSTGRES_PASSWORD=", snapshot_config.get("Env") or [])
            self.assertEqual((snapshot_config.get("Labels") or {}).get("minitestdb"), "")
            with fresh.connect() as a, snap.connect() as b:
                fresh_facts, snap_facts = a.query(FACTS).rows, b.query(FACTS).rows
            self.assertEqual(snap_facts, fresh_facts)
            self.assertIn("UTF8", snap_facts[0])
            self.assertNotEqual(snap.password, fresh.password)  # each server its own random password
            with self.assertRaises(minitestdb.AuthenticationError):
                connect(snap.endpoint.replace(password=fresh.password), timeout=10).close()
        self.assert_no_new_containers()

    def test_a_password_with_quotes_and_a_role_and_database_of_their_own(self) -> None:
        password = "it's \"quoted\" $HOME \\ `x`; --"
        image_id = str((DockerCLI().image_inspect(TEST_IMAGE) or {})["Id"])
        tag = snapshot_tag(snapshot_key(image_id, user="app_owner", dbname="appdb", initdb_args="--no-sync"))
        self.addCleanup(remove_images, tag)
        for _ in range(2):  # the first builds the snapshot for this role, the second starts from it
            with minitestdb.start(user="app_owner", dbname="appdb", password=password) as server:
                self.assertTrue(DockerCLI().image_inspect(tag))
                with server.connect() as conn:
                    self.assertEqual(conn.query("select current_user, current_database()").rows, [("app_owner", "appdb")])
                with self.assertRaises(minitestdb.AuthenticationError):
                    connect(server.endpoint.replace(password="it's"), timeout=10).close()
        self.assert_no_new_containers()

    def test_a_changed_image_gets_a_new_snapshot_and_prune_removes_the_old_one(self) -> None:
        source = "minitestdb-test/snapshot-source:changes"
        self.addCleanup(remove_images, source)
        first = build_image(source, f"FROM {TEST_IMAGE}\nLABEL minitestdb-test.revision=1\n")
        self.addCleanup(remove_images, first)
        with minitestdb.start(image=source) as server, server.connect() as conn:
            conn.query("select 1")
        old = snapshots_of(source)
        self.assertEqual(len(old), 1, old)
        self.addCleanup(remove_images, *old)
        second = build_image(source, f"FROM {TEST_IMAGE}\nLABEL minitestdb-test.revision=2\n")
        self.assertNotEqual(first, second)
        with minitestdb.start(image=source) as server, server.connect() as conn:
            conn.query("select 1")
        both = snapshots_of(source)
        new = [ref for ref in both if ref not in old]
        self.assertEqual(len(new), 1, both)
        self.addCleanup(remove_images, *new)
        pruned = minitestdb_cli("prune")
        self.assertEqual(pruned.returncode, 0, pruned.stderr)
        self.assertIn(old[0], pruned.stdout.split())
        self.assertEqual(snapshots_of(source), new)  # the current image's snapshot stays
        remove_images(source)
        from minitestdb._snapshot import prune_snapshots

        self.assertIn(new[0], prune_snapshots(DockerCLI()))  # its image is gone: so is its snapshot
        self.assertEqual(snapshots_of(source), [])
        self.assert_no_new_containers()

    def test_processes_starting_together_build_one_snapshot(self) -> None:
        source = "minitestdb-test/snapshot-source:race"
        build_image(source, f"FROM {TEST_IMAGE}\nLABEL minitestdb-test.race=1\n")
        self.addCleanup(remove_images, source)
        self.addCleanup(lambda: remove_images(*snapshots_of(source)))
        code = textwrap.dedent(f"""
            import minitestdb
            with minitestdb.start(image={source!r}) as server, server.connect() as conn:
                print(conn.query("select 41 + 1").rows[0][0])
        """)
        children = [subprocess.Popen([sys.executable, "-c", code], env=root_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
        outputs = [child.communicate(timeout=180) for child in children]
        for child, (out, err) in zip(children, outputs):
            self.assertEqual((child.returncode, out.strip()), (0, "42"), err)
            self.assertNotIn("no start-up snapshot", err)
        self.assertEqual(len(snapshots_of(source)), 1)
        self.assertEqual(DockerCLI().images([LABEL_SNAPSHOT], dangling=True), [])  # no untagged copy left by a builder that lost
        self.assert_no_new_containers()

    def test_an_image_that_cannot_be_snapshotted_starts_with_initdb_after_one_line(self) -> None:
        source = "minitestdb-test/snapshot-source:broken"
        # /var/lib/minitestdb is a file: the build's data directory cannot be made there.
        build_image(source, f"FROM {TEST_IMAGE}\nUSER root\nRUN touch /var/lib/minitestdb\n")
        self.addCleanup(remove_images, source)
        code = f"import minitestdb\nwith minitestdb.start(image={source!r}) as s, s.connect() as c:\n    print(c.query('select 1').rows[0][0])\n"
        child = python_child(code, timeout=180)
        self.assertEqual((child.returncode, child.stdout.strip()), (0, "1"), child.stderr)
        lines = [line for line in child.stderr.splitlines() if "snapshot" in line]
        self.assertEqual(len(lines), 1, child.stderr)
        self.assertIn(f"no start-up snapshot of {source}", lines[0])
        self.assertIn("MINITESTDB_SNAPSHOT=0", lines[0])
        self.assertEqual(snapshots_of(source), [])
        self.assert_no_new_containers()

    def test_snapshot_off_through_the_environment(self) -> None:
        code = "import minitestdb, json\nwith minitestdb.start() as s:\n    from minitestdb._docker import DockerCLI\n    print(repr(DockerCLI().inspect(s.container_id).snapshot))\n"
        child = python_child(code, env=root_env(MINITESTDB_SNAPSHOT="0"))
        self.assertEqual((child.returncode, child.stdout.strip()), (0, "''"), child.stderr)


if __name__ == "__main__":
    unittest.main()
