"""_container: names, labels, the spec and its `docker create` argv, `docker inspect` parsing, reuse, exit reasons: pure, exact fixtures."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import tempfile
import unittest

from minitestdb import _container
from minitestdb._container import (
    DEFAULT_SERVER_SETTINGS,
    ContainerInfo,
    ContainerSpec,
    build_spec,
    check_port_and_timeout,
    check_reusable,
    command_settings,
    create_argv,
    data_volume,
    exit_reason,
    owner_labels,
    parse_inspect,
    private_container_name,
    shared_container_name,
    snapshot_build_spec,
    snapshot_commit_argv,
    snapshot_key,
    snapshot_obstacle,
    snapshot_start_spec,
    snapshot_tag,
    validate_server_name,
)
from minitestdb._engine import LOCAL_ENGINE, decide_engine
from minitestdb._errors import ConfigurationError
from tests.unit.support import doctests

REMOTE = decide_engine("tcp://10.200.7.2:2375", source="DOCKER_HOST")

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

    def test_publishes_where_the_spec_says(self) -> None:
        # publish_ip (from the engine) -> --publish, with a free port and a fixed one
        cases = [
            ("127.0.0.1", "127.0.0.1::5432", "127.0.0.1:6543:5432"),
            ("0.0.0.0", "0.0.0.0::5432", "0.0.0.0:6543:5432"),
            ("::", "[::]::5432", "[::]:6543:5432"),
        ]
        for ip, free, fixed in cases:
            with self.subTest(ip=ip):
                for port, expected in ((None, free), (6543, fixed)):
                    argv = create_argv(self.spec(host_port=port, publish_ip=ip))
                    self.assertEqual(argv[argv.index("--publish") + 1], expected)
                    self.assertEqual(argv.count("--publish"), 1)

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

    def test_each_test_image_layout(self) -> None:
        # `docker image inspect` of the images scripts/build-test-image.sh builds (trimmed):
        # up to 17 PGDATA is the declared volume; from 18 the volume is its grandparent.
        cases = [
            ("image_inspect_pg13.json", "/var/lib/postgresql/data", "/var/lib/postgresql/data"),
            ("image_inspect_pg15.json", "/var/lib/postgresql/data", "/var/lib/postgresql/data"),
            ("image_inspect_pg17.json", "/var/lib/postgresql/data", "/var/lib/postgresql/data"),
            ("image_inspect_pg18.json", "/var/lib/postgresql/18/docker", "/var/lib/postgresql"),
        ]
        for name, pgdata, volume in cases:
            with self.subTest(fixture=name):
                image = fixture(name)
                assert isinstance(image, list)
                config = image[0]["Config"]
                self.assertIn(f"PGDATA={pgdata}", config["Env"])
                self.assertEqual(list(config["Volumes"]), [volume])
                self.assertEqual(data_volume(image[0]), volume)
                # An explicit PGDATA (POSTGRES env of a caller) below the volume keeps the volume.
                self.assertEqual(data_volume(image[0], pgdata), volume)

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

    def test_a_remote_engine_is_dialled_at_its_host(self) -> None:
        data = fixture("inspect_running.json")
        assert isinstance(data, list)
        remote_data = json.loads(json.dumps(data[0]))
        remote_data["NetworkSettings"]["Ports"]["5432/tcp"] = [{"HostIp": "0.0.0.0", "HostPort": "32770"}]
        self.assertEqual(parse_inspect(remote_data).host, "127.0.0.1")  # the local engine's rule: loopback
        info = parse_inspect(remote_data, REMOTE)
        self.assertEqual((info.host, info.port), ("10.200.7.2", 32770))
        self.assertEqual(info.bindings, (("0.0.0.0", 32770),))
        self.assertEqual(info.address(REMOTE), ("10.200.7.2", 32770))
        self.assertEqual(info.address(LOCAL_ENGINE), ("127.0.0.1", 32770))

    def test_a_remote_engine_prefers_a_reachable_binding(self) -> None:
        # bindings -> (host, port) for a client of the remote engine at 10.200.7.2
        cases = [
            ([("0.0.0.0", "1111")], ("10.200.7.2", 1111)),
            ([("", "1111")], ("10.200.7.2", 1111)),  # podman: all addresses
            ([("::", "1111"), ("0.0.0.0", "1111")], ("10.200.7.2", 1111)),
            ([("127.0.0.1", "2222"), ("0.0.0.0", "1111")], ("10.200.7.2", 1111)),
            ([("10.200.7.2", "3333")], ("10.200.7.2", 3333)),
            # Only the engine's own loopback (today's publish, or an older minitestdb): a port, no host.
            ([("127.0.0.1", "2222")], (None, 2222)),
            ([("::1", "2222")], (None, 2222)),
            ([], (None, None)),
        ]
        for bindings, expected in cases:
            with self.subTest(bindings=bindings):
                ports = {"5432/tcp": [{"HostIp": ip, "HostPort": port} for ip, port in bindings]}
                info = parse_inspect({"NetworkSettings": {"Ports": ports}}, REMOTE)
                self.assertEqual((info.host, info.port), expected)

    def test_minitestdb_host_on_a_local_engine_is_the_host_dialled(self) -> None:
        engine = decide_engine("", source="DOCKER_HOST", host_override="gateway.internal")
        ports = {"5432/tcp": [{"HostIp": "127.0.0.1", "HostPort": "2222"}]}
        self.assertEqual(parse_inspect({"NetworkSettings": {"Ports": ports}}, engine).host, "gateway.internal")

    def test_not_published_or_stopped(self) -> None:
        info = parse_inspect({"State": {"Status": "exited", "Running": False, "ExitCode": 1}, "NetworkSettings": {"Ports": {}}})
        self.assertEqual((info.host, info.port, info.running, info.exit_code), (None, None, False, 1))
        info = parse_inspect({"NetworkSettings": {"Ports": {"5432/tcp": None}}})
        self.assertIsNone(info.port)


PG18_IMAGE = {"Config": {"Env": ["PGDATA=/var/lib/postgresql/18/docker"], "Volumes": {"/var/lib/postgresql": {}}}}
FAST = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off", "max_wal_size": "256MB"}


class BuildSpecTest(unittest.TestCase):
    def build(self, image_info: object = PG18_IMAGE, **kwargs: object) -> ContainerSpec:
        base: dict[str, object] = {
            "image": "postgres:18", "image_info": image_info, "name": "minitestdb-default", "labels": {"minitestdb": "1"},
            "user": "postgres", "dbname": "postgres", "port": None, "fast": True,
        }
        base.update(kwargs)
        return build_spec(**base)  # type: ignore[arg-type]

    def test_fast_defaults_on_the_postgres_18_layout(self) -> None:
        spec = self.build()
        self.assertEqual(dict(DEFAULT_SERVER_SETTINGS), FAST)
        self.assertEqual((spec.tmpfs, spec.settings, spec.initdb_args), ("/var/lib/postgresql", FAST, "--no-sync"))
        self.assertEqual(
            create_argv(spec),
            [
                "create", "--name", "minitestdb-default", "--label", "minitestdb=1",
                "--publish", "127.0.0.1::5432", "--stop-signal", "SIGINT",
                "--env", "POSTGRES_PASSWORD", "--env", "POSTGRES_USER=postgres", "--env", "POSTGRES_DB=postgres",
                "--env", "POSTGRES_INITDB_ARGS=--no-sync",
                "--tmpfs", "/var/lib/postgresql:rw",
                "postgres:18",
                "postgres", "-c", "fsync=off", "-c", "full_page_writes=off", "-c", "max_wal_size=256MB", "-c", "synchronous_commit=off",
            ],
        )

    def test_tmpfs_follows_the_images_volume(self) -> None:
        pg15 = fixture("image_inspect_pg15.json")
        assert isinstance(pg15, list)
        pg18 = fixture("image_inspect_pg18.json")
        assert isinstance(pg18, list)
        # image inspect -> the directory on a tmpfs
        cases = [
            (PG18_IMAGE, "/var/lib/postgresql"),
            (pg18[0], "/var/lib/postgresql"),
            (pg15[0], "/var/lib/postgresql/data"),
            ({"Config": {"Env": ["PGDATA=/var/lib/postgresql/data"], "Volumes": {"/var/lib/postgresql/data": {}}}}, "/var/lib/postgresql/data"),
            ({"Config": {"Env": ["PGDATA=/pgdata"], "Volumes": None}}, "/pgdata"),
            ({"Config": {"Volumes": {"/data": {}}}}, "/data"),
            ({"Config": {}}, None),
            ({}, None),
        ]
        for image_info, expected in cases:
            shown = {id(pg15[0]): "image_inspect_pg15.json", id(pg18[0]): "image_inspect_pg18.json"}.get(id(image_info), image_info)
            with self.subTest(image_info=shown):
                self.assertEqual(self.build(image_info).tmpfs, expected)

    def test_publishes_on_loopback_unless_the_engine_is_remote(self) -> None:
        self.assertEqual(self.build().publish_ip, "127.0.0.1")
        self.assertEqual(self.build(engine=LOCAL_ENGINE).publish_ip, "127.0.0.1")
        for address in ("unix:///var/run/docker.sock", "tcp://127.0.0.1:2375", "tcp://localhost:2375"):
            with self.subTest(address=address):
                argv = create_argv(self.build(engine=decide_engine(address, source="DOCKER_HOST", host_override="elsewhere")))
                self.assertEqual(argv[argv.index("--publish") + 1], "127.0.0.1::5432")
        argv = create_argv(self.build(engine=REMOTE, port=6543))
        self.assertEqual(argv[argv.index("--publish") + 1], "0.0.0.0:6543:5432")
        self.assertIn("POSTGRES_PASSWORD", argv)  # the password still goes through the CLI's environment
        self.assertFalse([a for a in argv if a.startswith("POSTGRES_PASSWORD=")])

    def test_slow_mode(self) -> None:
        spec = self.build(fast=False)
        self.assertEqual((spec.tmpfs, spec.settings, spec.initdb_args), (None, {}, ""))
        self.assertEqual(create_argv(spec)[-1], "postgres:18")

    def test_settings_override_one_by_one_and_none_removes(self) -> None:
        cases = [
            ({}, FAST),
            ({"fsync": "on"}, {**FAST, "fsync": "on"}),
            ({"max_wal_size": None}, {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}),
            ({"work_mem": "64MB", "no_such_setting": None}, {**FAST, "work_mem": "64MB"}),
            ({"max_connections": 200}, {**FAST, "max_connections": "200"}),
            (dict.fromkeys(FAST), {}),
        ]
        for settings, expected in cases:
            with self.subTest(settings=settings):
                self.assertEqual(self.build(settings=settings).settings, expected)
        self.assertEqual(self.build(fast=False, settings={"fsync": None, "work_mem": "8MB"}).settings, {"work_mem": "8MB"})
        self.assertEqual(DEFAULT_SERVER_SETTINGS, FAST)  # overriding never changes the defaults

    def test_tmpfs_and_initdb_args_override_fast(self) -> None:
        cases = [
            ({"fast": True, "tmpfs": False}, (None, "--no-sync")),
            ({"fast": False, "tmpfs": True}, ("/var/lib/postgresql", "")),
            ({"fast": True, "initdb_args": ""}, ("/var/lib/postgresql", "")),
            ({"fast": False, "initdb_args": "--data-checksums"}, (None, "--data-checksums")),
        ]
        for kwargs, expected in cases:
            with self.subTest(kwargs=kwargs):
                spec = self.build(**kwargs)
                self.assertEqual((spec.tmpfs, spec.initdb_args), expected)

    def test_everything_else_is_passed_through_and_copied(self) -> None:
        labels, env, extra = {"minitestdb": "1"}, {"TZ": "UTC"}, ["--shm-size", "1g"]
        spec = self.build(image="postgres:16", name="n", labels=labels, user="app", dbname="appdb", port=6543, env=env, extra_args=extra)
        labels["x"], env["y"] = "1", "2"
        extra.append("--privileged")
        self.assertEqual(
            (spec.image, spec.name, spec.labels, spec.user, spec.dbname, spec.host_port, spec.env, spec.extra_args),
            ("postgres:16", "n", {"minitestdb": "1"}, "app", "appdb", 6543, {"TZ": "UTC"}, ("--shm-size", "1g")),
        )


class CheckTest(unittest.TestCase):
    def running(self, **changes: object) -> ContainerInfo:
        data = fixture("inspect_running.json")
        assert isinstance(data, list)
        item = data[0]
        labels = dict(item["Config"]["Labels"])
        for key, value in changes.items():
            if value is None:
                labels.pop(key, None)
            else:
                labels[key] = value
        item["Config"]["Labels"] = labels
        return parse_inspect(item)

    def check(self, info: ContainerInfo, **kwargs: object) -> None:
        base: dict[str, object] = {"name": "default", "image": "minitestdb/postgres-test:15", "explicit_image": True, "port": 32770, "user": "postgres"}
        base.update(kwargs)
        check_reusable(info, **base)  # type: ignore[arg-type]

    def test_the_server_asked_for_is_reused(self) -> None:
        info = self.running()
        for kwargs in ({}, {"port": None}, {"image": "postgres:18", "explicit_image": False}):
            with self.subTest(kwargs=kwargs):
                self.check(info, **kwargs)
        stopped = parse_inspect({"Name": "/minitestdb-default", "State": {"Status": "exited"}, "Config": {"Image": "postgres:18", "Labels": {"minitestdb": "1"}}})
        self.check(stopped, image="postgres:18", port=6543)  # a stopped container publishes no port: not a conflict

    def test_each_refusal(self) -> None:
        info = self.running()
        cases = [
            (self.running(minitestdb=None), {}, "A container named mt-fixture exists but was not made by minitestdb: remove or rename it, or use another server name."),
            (self.running(minitestdb="0"), {}, "A container named mt-fixture exists but was not made by minitestdb: remove or rename it, or use another server name."),
            (
                info, {"image": "postgres:18"},
                "The shared server 'default' runs the image 'minitestdb/postgres-test:15', not 'postgres:18': "
                "run `python -m minitestdb down --server default` first, or use another server name.",
            ),
            (
                info, {"port": 6543},
                "The shared server 'default' listens on port 32770, not 6543: run `python -m minitestdb down --server default` first, or use another server name.",
            ),
            (info, {"user": "app"}, "The shared server 'default' was made for the user 'postgres', not 'app': use another server name."),
            (self.running(**{"minitestdb.user": "app"}), {}, "The shared server 'default' was made for the user 'app', not 'postgres': use another server name."),
            # the first failing rule is the one reported
            (self.running(minitestdb=None), {"image": "postgres:18", "port": 1, "user": "x"}, "A container named mt-fixture exists but was not made by minitestdb"),
            (info, {"image": "postgres:18", "port": 1, "user": "x"}, "The shared server 'default' runs the image"),
        ]
        for container, kwargs, message in cases:
            with self.subTest(kwargs=kwargs, labels=sorted(container.labels)), self.assertRaises(ConfigurationError) as ctx:
                self.check(container, **kwargs)
            self.assertTrue(str(ctx.exception).startswith(message), str(ctx.exception))


    def with_command(self, *command: str) -> ContainerInfo:
        data = fixture("inspect_running.json")
        assert isinstance(data, list)
        data[0]["Config"]["Cmd"] = list(command)
        return parse_inspect(data[0])

    def test_settings_asked_for_must_be_the_ones_it_runs_with(self) -> None:
        info = self.with_command("postgres", "-c", "fsync=off", "-c", "max_connections=200", "-c", "max_prepared_transactions=10")
        self.assertEqual(info.settings, {"fsync": "off", "max_connections": "200", "max_prepared_transactions": "10"})
        # asking nothing, a subset, or the same values: reused
        for settings in (None, {}, {"max_connections": "200"}, {"max_prepared_transactions": "10", "fsync": "off"}, {"work_mem": None}):
            with self.subTest(settings=settings):
                self.check(info, settings=settings)
        down = "run `python -m minitestdb down --server default` first, or use another server name."
        cases = [
            ({"max_connections": "100"}, "max_connections=200, not 100"),
            ({"max_prepared_transactions": "0", "max_connections": "300"}, "max_prepared_transactions=10, not 0; max_connections=200, not 300"),
            ({"work_mem": "64MB"}, "work_mem unset, not 64MB"),
            ({"fsync": None}, "fsync=off, not unset"),
        ]
        for settings, differ in cases:
            with self.subTest(settings=settings), self.assertRaises(ConfigurationError) as ctx:
                self.check(info, settings=settings)
            self.assertEqual(str(ctx.exception), f"The shared server 'default' runs with other settings ({differ}): {down}")
        # a server started without settings (the image's own command) runs with none
        self.assertEqual(self.with_command("postgres").settings, {})
        with self.assertRaises(ConfigurationError):
            self.check(self.with_command(), settings={"max_connections": "200"})

    def test_command_settings(self) -> None:
        self.assertEqual(command_settings(["postgres", "-c", "a=1", "-cb=2", "-c", "c=x=y", "-c", "novalue", "-c"]), {"a": "1", "b": "2", "c": "x=y"})
        self.assertEqual(command_settings([]), {})

    def test_a_password_asked_for_must_be_its_password_and_is_never_shown(self) -> None:
        info = self.running()
        self.assertTrue(info.password)
        self.check(info, password=None)
        self.check(info, password=info.password)
        with self.assertRaises(ConfigurationError) as ctx:
            self.check(info, password="check-other-pw")
        self.assertEqual(
            str(ctx.exception),
            "The shared server 'default' was started with another password: run `python -m minitestdb down --server default` first, or use another server name.",
        )
        self.assertNotIn(info.password, ctx.exception.full_text())


class CheckPortAndTimeoutTest(unittest.TestCase):
    def test_table(self) -> None:
        # (port, timeout) -> None when accepted, else the start of the message
        cases = [
            (None, 60.0, None),
            (1, 0.001, None),
            (65535, 1, None),
            (5432, 1e9, None),
            (0, 60.0, "The port 0 is not a TCP port: use 1-65535, or leave it out for a free one."),
            (-1, 60.0, "The port -1 is not a TCP port"),
            (65536, 60.0, "The port 65536 is not a TCP port"),
            (None, 0, "The startup timeout must be positive, not 0."),
            (None, -1.5, "The startup timeout must be positive, not -1.5."),
            (0, 0, "The port 0 is not a TCP port"),
        ]
        for port, timeout, message in cases:
            with self.subTest(port=port, timeout=timeout):
                if message is None:
                    check_port_and_timeout(port, timeout)
                    continue
                with self.assertRaises(ConfigurationError) as ctx:
                    check_port_and_timeout(port, timeout)
                self.assertTrue(str(ctx.exception).startswith(message), str(ctx.exception))


class ExitReasonTest(unittest.TestCase):
    def test_table(self) -> None:
        long_fatal = "FATAL:  " + "x" * 400
        cases = [
            ("initdb: warning\nFATAL:  data directory has wrong ownership\nbye", "FATAL:  data directory has wrong ownership"),
            (
                "The files belonging to this database system will be owned by user \"postgres\".\n"
                "Error: Database is uninitialized and superuser password is not specified.\n"
                "       You must specify POSTGRES_PASSWORD to a non-empty value for the\n",
                "Error: Database is uninitialized and superuser password is not specified.",
            ),
            ("LOG:  starting\n2026-01-01 00:00:00 UTC [1] PANIC:  could not write to file\nLOG:  aborting", "2026-01-01 00:00:00 UTC [1] PANIC:  could not write to file"),
            ("postgres: error: invalid option -- 'z'\nTry \"postgres --help\"", "postgres: error: invalid option -- 'z'"),
            ("   FATAL:  first  \nFATAL:  second", "FATAL:  first"),
            ("chmod: changing permissions of '/var/lib/postgresql/data': Operation not permitted\nexiting\n\n", "exiting"),
            ("only line", "only line"),
            (long_fatal, long_fatal[:300]),
            ("LOG: ok\n" + "y" * 400, "y" * 300),
            ("", "no output"),
            ("  \n\n \t\n", "no output"),
        ]
        for tail, expected in cases:
            with self.subTest(tail=tail[:40]):
                self.assertEqual(exit_reason(tail), expected)


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


class SnapshotTest(unittest.TestCase):
    IMAGE = {"Id": "sha256:" + "ab" * 32, "Config": {"Env": ["PATH=/usr/bin", "PGDATA=/var/lib/postgresql/data"], "Volumes": {"/var/lib/postgresql/data": {}}}}

    def spec(self, **kw: object) -> ContainerSpec:
        base: dict[str, object] = {
            "image": "postgres:15", "image_info": self.IMAGE, "name": "minitestdb-x", "labels": {"minitestdb": "1"}, "user": "app", "dbname": "appdb", "port": None, "fast": True,
        }
        base.update(kw)
        return build_spec(**base)  # type: ignore[arg-type]

    def test_the_key_changes_with_the_image_role_database_and_initdb_arguments(self) -> None:
        base = {"user": "postgres", "dbname": "postgres", "initdb_args": "--no-sync"}
        key = snapshot_key("sha256:1", **base)
        self.assertRegex(key, r"^[0-9a-f]{16}$")
        self.assertEqual(snapshot_key("sha256:1", **base), key)
        for change in ({"user": "app"}, {"dbname": "app"}, {"initdb_args": ""}):
            self.assertNotEqual(snapshot_key("sha256:1", **{**base, **change}), key, change)
        self.assertNotEqual(snapshot_key("sha256:2", **base), key)
        self.assertEqual(snapshot_tag(key), "minitestdb-snapshot:" + key)  # no registry: never pushed anywhere

    def test_a_server_with_its_own_environment_or_docker_arguments_is_initialized_as_it_asks(self) -> None:
        self.assertEqual(snapshot_obstacle(self.spec(), self.IMAGE), "")
        self.assertNotEqual(snapshot_obstacle(self.spec(env={"TZ": "UTC"}), self.IMAGE), "")
        self.assertNotEqual(snapshot_obstacle(self.spec(extra_args=["-v", "/x:/docker-entrypoint-initdb.d"]), self.IMAGE), "")

    def test_the_build_container_keeps_the_cluster_outside_the_volume_and_publishes_no_fixed_port(self) -> None:
        spec = self.spec(port=5544)
        build = snapshot_build_spec(spec, name="minitestdb-b", labels={"minitestdb": "1"})
        argv = create_argv(build)
        self.assertIn("PGDATA=/var/lib/minitestdb/snapshot", argv)
        self.assertIn("127.0.0.1::5432", argv)
        self.assertIn("POSTGRES_USER=app", argv)
        self.assertIn("POSTGRES_INITDB_ARGS=--no-sync", argv)
        self.assertIn("/var/lib/postgresql/data:rw", argv)  # the declared volume on a tmpfs: no anonymous volume is left
        self.assertEqual(argv[-1], "postgres:15")  # no settings: the entrypoint's own command

    def test_the_start_spec_is_the_same_container_from_the_snapshot_with_the_asked_image_in_a_label(self) -> None:
        spec = self.spec(port=5544, settings={"max_connections": "50"})
        started = snapshot_start_spec(spec, "minitestdb-snapshot:k", "999:998")
        argv = create_argv(started)
        plain = create_argv(spec)
        self.assertIn("minitestdb-snapshot:k", argv)
        self.assertIn("minitestdb.image=postgres:15", argv)
        self.assertIn("/var/lib/postgresql/data:rw,uid=999,gid=998", argv)
        self.assertIn("127.0.0.1:5544:5432", argv)
        self.assertEqual(argv[argv.index("minitestdb-snapshot:k") + 1 :], plain[plain.index("postgres:15") + 1 :])  # the same postgres -c settings
        info = parse_inspect({"Config": {"Image": "minitestdb-snapshot:k", "Labels": {"minitestdb.image": "postgres:15"}}})
        self.assertEqual((info.image, info.snapshot), ("postgres:15", "minitestdb-snapshot:k"))
        self.assertEqual(parse_inspect({"Config": {"Image": "postgres:15"}}).snapshot, "")

    def test_commit_sets_the_start_script_the_owner_the_image_pgdata_and_labels(self) -> None:
        argv = snapshot_commit_argv("c1", owner="70:70", source="postgres:15-alpine", source_id="sha256:ab", pgdata="/var/lib/postgresql/data")
        changes = [argv[i + 1] for i, item in enumerate(argv) if item == "--change"]
        self.assertEqual(argv[0], "commit")
        self.assertEqual(argv[-1], "c1")
        self.assertIn("USER 70:70", changes)
        self.assertIn('ENV PGDATA="/var/lib/postgresql/data"', changes)
        recipe = f'LABEL minitestdb.snapshot="{_container.SNAPSHOT_RECIPE}"'
        for label in (recipe, 'LABEL minitestdb.snapshot.source="postgres:15-alpine"', 'LABEL minitestdb.snapshot.source-id="sha256:ab"'):
            self.assertIn(label, changes)  # one per change: podman takes the rest of a LABEL line as one value
        # The build container's password and the labels that make a container minitestdb's are not kept in the image.
        self.assertIn('ENV POSTGRES_PASSWORD=""', changes)
        for key in ("minitestdb", "minitestdb.name", "minitestdb.owner-pid", "minitestdb.owner-host", "minitestdb.shared", "minitestdb.created"):
            self.assertIn(f'LABEL {key}=""', changes)


@unittest.skipUnless(shutil.which("sh") and shutil.which("sed"), "needs sh and sed")
class SnapshotStartScriptTest(unittest.TestCase):
    """The start script, run by sh with a stand-in `postgres` that records what it is given."""

    def run_script(self, password: str, user: str = "postgres", initialized: bool = False) -> tuple[str, list[str], list[str]]:
        tmp = tempfile.mkdtemp(prefix="minitestdb-snapshot-")
        self.addCleanup(shutil.rmtree, tmp)
        snapshot, pgdata, bin_dir = (os.path.join(tmp, part) for part in ("snapshot", "data/pgdata", "bin"))
        os.makedirs(snapshot)
        os.makedirs(bin_dir)
        with open(os.path.join(snapshot, "PG_VERSION"), "w") as fh:
            fh.write("15\n")
        if initialized:
            os.makedirs(pgdata, mode=0o700)
            with open(os.path.join(pgdata, "PG_VERSION"), "w") as fh:
                fh.write("15\n")
        fake = os.path.join(bin_dir, "postgres")
        with open(fake, "w") as fh:
            fh.write('#!/bin/sh\nprintf "%s\\n" "$@" >> "$FAKE_ARGS"\ncat >> "$FAKE_STDIN"\n')
        os.chmod(fake, stat.S_IRWXU)
        script = _container.SNAPSHOT_START_SCRIPT.replace(_container.SNAPSHOT_DATA, snapshot)
        env = {
            "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""), "PGDATA": pgdata, "POSTGRES_PASSWORD": password, "POSTGRES_USER": user,
            "FAKE_ARGS": os.path.join(tmp, "args"), "FAKE_STDIN": os.path.join(tmp, "stdin"),
        }
        out = subprocess.run(["sh", "-c", script, "sh", "echo", "started"], env=env, capture_output=True, text=True, timeout=30, check=True).stdout

        def read(name: str) -> str:
            path = os.path.join(tmp, name)
            if not os.path.exists(path):
                return ""
            with open(path) as fh:
                return fh.read()

        self.assertTrue(os.path.exists(os.path.join(pgdata, "PG_VERSION")))
        self.assertEqual(stat.S_IMODE(os.stat(pgdata).st_mode), 0o700)
        return read("stdin"), read("args").splitlines(), out.splitlines()

    def test_sets_the_password_in_single_user_mode_then_runs_the_command(self) -> None:
        sql, args, out = self.run_script("pw")
        self.assertEqual(sql, "ALTER ROLE \"postgres\" PASSWORD 'pw';\n\n")
        self.assertEqual(args[:3], ["--single", "-j", "-D"])
        self.assertEqual(args[-1], "template1")
        self.assertEqual(out, ["started"])

    def test_quotes_in_the_password_and_the_role_are_doubled(self) -> None:
        sql, _args, _out = self.run_script("it's \"a\" $HOME \\ `x`\nline2", user='we"ird')
        self.assertEqual(sql, "ALTER ROLE \"we\"\"ird\" PASSWORD 'it''s \"a\" $HOME \\ `x`\nline2';\n\n")

    def test_an_initialized_data_directory_starts_as_it_is(self) -> None:
        sql, args, out = self.run_script("pw", initialized=True)
        self.assertEqual((sql, args, out), ("", [], ["started"]))


load_tests = doctests(_container)


if __name__ == "__main__":
    unittest.main()
