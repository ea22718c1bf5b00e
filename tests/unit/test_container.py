"""Names, labels, `docker create` argv and `docker inspect` parsing: pure, exact fixtures."""

from __future__ import annotations

import json
import os
import unittest

from minitestdb._container import (
    ContainerSpec,
    create_argv,
    data_volume,
    owner_labels,
    parse_inspect,
    private_container_name,
    shared_container_name,
    validate_server_name,
)
from minitestdb._errors import ConfigurationError

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


def fixture(name: str) -> object:
    with open(os.path.join(FIXTURES, name)) as fh:
        return json.load(fh)


class CreateArgvTest(unittest.TestCase):
    def spec(self, **kwargs: object) -> ContainerSpec:
        base: dict[str, object] = {
            "image": "postgres:18",
            "name": "minitestdb-default",
            "labels": {"minitestdb": "1", "minitestdb.name": "default"},
            "tmpfs": "/var/lib/postgresql",
            "settings": {"fsync": "off", "max_wal_size": "256MB"},
        }
        base.update(kwargs)
        return ContainerSpec(**base)  # type: ignore[arg-type]

    def test_exact_argv(self) -> None:
        self.assertEqual(
            create_argv(self.spec()),
            [
                "create", "--name", "minitestdb-default",
                "--label", "minitestdb=1", "--label", "minitestdb.name=default",
                "--publish", "127.0.0.1::5432",
                "--stop-signal", "SIGINT",
                "--env", "POSTGRES_PASSWORD",
                "--env", "POSTGRES_USER=postgres",
                "--env", "POSTGRES_DB=postgres",
                "--env", "POSTGRES_INITDB_ARGS=--no-sync",
                "--tmpfs", "/var/lib/postgresql:rw",
                "postgres:18",
                "postgres", "-c", "fsync=off", "-c", "max_wal_size=256MB",
            ],
        )

    def test_publishes_on_loopback_only(self) -> None:
        for port in (None, 6543):
            argv = create_argv(self.spec(host_port=port))
            published = argv[argv.index("--publish") + 1]
            self.assertTrue(published.startswith("127.0.0.1:"), published)
            self.assertEqual(published, "127.0.0.1:6543:5432" if port else "127.0.0.1::5432")
            self.assertNotIn("0.0.0.0", " ".join(argv))

    def test_password_is_never_in_argv(self) -> None:
        argv = create_argv(self.spec(env={"EXTRA": "1"}))
        self.assertIn("POSTGRES_PASSWORD", argv)
        self.assertFalse([a for a in argv if a.startswith("POSTGRES_PASSWORD=")])

    def test_slow_mode_has_no_tmpfs_settings_or_initdb_args(self) -> None:
        argv = create_argv(self.spec(tmpfs=None, settings={}, initdb_args=""))
        self.assertNotIn("--tmpfs", argv)
        self.assertEqual(argv[-1], "postgres:18")
        self.assertFalse([a for a in argv if a.startswith("POSTGRES_INITDB_ARGS")])


class DataVolumeTest(unittest.TestCase):
    def test_reads_the_test_image(self) -> None:
        image = fixture("image_inspect_pg15.json")
        assert isinstance(image, list)
        self.assertEqual(data_volume(image[0]), "/var/lib/postgresql/data")

    def test_postgres_18_moved_the_volume(self) -> None:
        # The official postgres:18 image: VOLUME /var/lib/postgresql, PGDATA below it.
        image = {"Config": {"Env": ["PGDATA=/var/lib/postgresql/18/docker"], "Volumes": {"/var/lib/postgresql": {}}}}
        self.assertEqual(data_volume(image), "/var/lib/postgresql")

    def test_longest_volume_holding_pgdata_wins(self) -> None:
        image = {"Config": {"Env": ["PGDATA=/data/pg"], "Volumes": {"/data": {}, "/data/pg": {}, "/other": {}}}}
        self.assertEqual(data_volume(image), "/data/pg")

    def test_no_volume_falls_back_to_pgdata_then_none(self) -> None:
        self.assertEqual(data_volume({"Config": {"Env": ["PGDATA=/pg"], "Volumes": None}}), "/pg")
        self.assertIsNone(data_volume({"Config": {}}))


class InspectTest(unittest.TestCase):
    def test_real_inspect_json(self) -> None:
        data = fixture("inspect_running.json")
        assert isinstance(data, list)
        info = parse_inspect(data[0])
        self.assertEqual(info.name, "mt-fixture")
        self.assertEqual((info.host, info.port), ("127.0.0.1", 32770))
        self.assertTrue(info.running)
        self.assertEqual(info.status, "running")
        self.assertEqual(info.image, "minitestdb/postgres-test:15")
        self.assertEqual(info.password, "fixture-password-not-secret")
        self.assertEqual((info.user, info.dbname, info.server_name), ("postgres", "postgres", "minitestdb-default"))
        self.assertTrue(info.shared)
        self.assertEqual(info.created, 1795000000.0)
        self.assertEqual(len(info.id), 64)

    def test_prefers_the_loopback_binding(self) -> None:
        ports = {"5432/tcp": [{"HostIp": "0.0.0.0", "HostPort": "1111"}, {"HostIp": "127.0.0.1", "HostPort": "2222"}]}
        info = parse_inspect({"NetworkSettings": {"Ports": ports}})
        self.assertEqual((info.host, info.port), ("127.0.0.1", 2222))

    def test_wildcard_and_ipv6_bindings(self) -> None:
        info = parse_inspect({"NetworkSettings": {"Ports": {"5432/tcp": [{"HostIp": "::", "HostPort": "3333"}]}}})
        self.assertEqual((info.host, info.port), ("::1", 3333))
        info = parse_inspect({"NetworkSettings": {"Ports": {"5432/tcp": [{"HostIp": "", "HostPort": "4444"}]}}})
        self.assertEqual((info.host, info.port), ("127.0.0.1", 4444))

    def test_not_published_or_stopped(self) -> None:
        info = parse_inspect({"State": {"Status": "exited", "Running": False, "ExitCode": 1}, "NetworkSettings": {"Ports": {}}})
        self.assertEqual((info.host, info.port, info.running, info.exit_code), (None, None, False, 1))
        info = parse_inspect({"NetworkSettings": {"Ports": {"5432/tcp": None}}})
        self.assertIsNone(info.port)


class NamesTest(unittest.TestCase):
    def test_shared_and_private_names(self) -> None:
        self.assertEqual(shared_container_name("default"), "minitestdb-default")
        self.assertEqual(private_container_name(1234, "abcd"), "minitestdb-p1234-abcd")

    def test_bad_names_are_refused(self) -> None:
        for bad in ("", "-x", "a b", "x/y", "é", "a" * 64, "a;rm -rf"):
            with self.subTest(bad=bad), self.assertRaises(ConfigurationError):
                validate_server_name(bad)
        self.assertEqual(validate_server_name("ci_1.x-y"), "ci_1.x-y")

    def test_owner_labels(self) -> None:
        labels = owner_labels(name="default", shared=True, user="u", dbname="d", pid=42, host="h", now=100.7)
        self.assertEqual(
            labels,
            {
                "minitestdb": "1", "minitestdb.name": "default", "minitestdb.shared": "1", "minitestdb.owner-pid": "42",
                "minitestdb.owner-host": "h", "minitestdb.created": "100", "minitestdb.user": "u", "minitestdb.dbname": "d",
            },
        )


if __name__ == "__main__":
    unittest.main()
