"""_watchdog: which containers are removed for a dead owner, prune's rules, the watch loop, the launch, a vendored copy.

The fake docker CLI has no scenario answering ``ps``, so the rules run against
DockerCLI methods mocked with unittest.mock; the fake (daemon-down) shows the
exact ``ps`` filters and that an unreachable engine is an error.
"""

from __future__ import annotations

import os
import sys
import unittest
from unittest import mock

import minitestdb
from minitestdb import _watchdog
from minitestdb._container import ContainerInfo, parse_inspect
from minitestdb._docker import DockerCLI
from minitestdb._errors import DockerCommandError, DockerDaemonError, DockerTimeoutError, MiniTestDBError, NoSuchContainerError
from minitestdb._owner import hostname
from minitestdb._watchdog import ensure_watchdog, prune_containers, remove_orphans, watch
from tests.unit.fakes import FakeDockerMixin
from tests.unit.support import absolute_imports

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = hostname()


def container(name: str, *, pid: str | None = "111", host: str | None = HERE, shared: str = "0", created: str = "100") -> ContainerInfo:
    labels = {"minitestdb": "1", "minitestdb.shared": shared, "minitestdb.created": created, "minitestdb.name": name}
    if pid is not None:
        labels["minitestdb.owner-pid"] = pid
    if host is not None:
        labels["minitestdb.owner-host"] = host
    return parse_inspect({"Id": f"id-{name}", "Name": f"/{name}", "State": {"Running": True}, "Config": {"Labels": labels}})


class RemoveOrphansTest(FakeDockerMixin):
    def test_removes_every_private_container_of_the_owner_and_skips_failures(self) -> None:
        docker = mock.Mock(spec=DockerCLI)
        docker.ps.return_value = ["a", "b", "c"]
        docker.rm.side_effect = [None, NoSuchContainerError("gone"), None]
        self.assertEqual(remove_orphans(docker, 4242, "ci-host"), ["a", "c"])
        docker.ps.assert_called_once_with(["minitestdb=1", "minitestdb.owner-pid=4242", "minitestdb.owner-host=ci-host", "minitestdb.shared=0"])
        self.assertEqual(docker.rm.call_args_list, [mock.call("a"), mock.call("b"), mock.call("c")])
        docker.stop.assert_not_called()  # killed and removed in one call, as Server.close() does

    def test_the_host_defaults_to_this_one(self) -> None:
        docker = mock.Mock(spec=DockerCLI)
        docker.ps.return_value = []
        self.assertEqual(remove_orphans(docker, 7), [])
        docker.ps.assert_called_once_with(["minitestdb=1", "minitestdb.owner-pid=7", f"minitestdb.owner-host={HERE}", "minitestdb.shared=0"])
        docker.rm.assert_not_called()

    def test_exact_ps_argv_and_an_unreachable_engine_is_an_error(self) -> None:
        self.use_fake_docker("daemon-down")
        with self.assertRaises(DockerDaemonError):
            remove_orphans(DockerCLI(), 42, "h")
        self.assertEqual(
            self.fake_calls(),
            [["ps", "--no-trunc", "--quiet", "--all", "--filter", "label=minitestdb=1", "--filter", "label=minitestdb.owner-pid=42",
              "--filter", "label=minitestdb.owner-host=h", "--filter", "label=minitestdb.shared=0"]],
        )


class PruneContainersTest(FakeDockerMixin):
    def prune(self, infos: list[ContainerInfo], *, alive: set[int], rm_errors: dict[str, BaseException] | None = None) -> tuple[list[str], mock.Mock, mock.Mock]:
        errors = rm_errors or {}

        def rm(container_id: str) -> None:
            if container_id in errors:
                raise errors[container_id]

        with mock.patch.object(DockerCLI, "ps", return_value=[i.id for i in infos]) as ps, \
                mock.patch.object(DockerCLI, "inspect_many", return_value=infos), \
                mock.patch.object(DockerCLI, "rm", side_effect=rm) as removed, \
                mock.patch.object(_watchdog, "owner_alive", side_effect=lambda pid: pid in alive) as owner_alive:
            result = prune_containers(docker="docker")
        ps.assert_called_once_with(["minitestdb=1"])
        self.owner_alive = owner_alive
        return result, removed, owner_alive

    def test_only_private_containers_of_dead_owners_on_this_host_go(self) -> None:
        infos = [
            container("dead-owner", pid="111"),
            container("live-owner", pid="222"),
            container("shared-dead-owner", pid="111", shared="1"),
            container("other-host", pid="111", host="elsewhere"),
            container("no-host-label", pid="111", host=None),
            container("no-pid-label", pid=None),
            container("pid-not-a-number", pid="abc"),
            container("negative-pid", pid="-5"),
            container("no-owner-process", pid="0"),
        ]
        result, removed, owner_alive = self.prune(infos, alive={222, 0})
        self.assertEqual(result, ["dead-owner"])
        removed.assert_called_once_with("id-dead-owner")
        self.assertEqual(sorted(c.args for c in owner_alive.call_args_list), [(0,), (111,), (222,)])

    def test_oldest_first_and_a_vanished_container_is_skipped(self) -> None:
        infos = [container("c", created="300"), container("b", created="100"), container("a", created="100"), container("gone", created="200")]
        result, removed, _ = self.prune(infos, alive=set(), rm_errors={"id-gone": NoSuchContainerError("No such container")})
        self.assertEqual(result, ["a", "b", "c"])
        self.assertEqual([c.args[0] for c in removed.call_args_list], ["id-a", "id-b", "id-gone", "id-c"])

    def test_other_removal_errors_propagate(self) -> None:
        with self.assertRaises(DockerCommandError):
            self.prune([container("x")], alive=set(), rm_errors={"id-x": DockerCommandError("rm failed")})

    def test_nothing_to_prune(self) -> None:
        result, removed, _ = self.prune([], alive=set())
        self.assertEqual(result, [])
        removed.assert_not_called()

    def test_no_engine_is_an_error(self) -> None:
        self.use_fake_docker("daemon-down")
        with self.assertRaises(DockerDaemonError):
            prune_containers()
        self.assertEqual([argv[0] for argv in self.fake_calls()], ["ps"])


class WatchTest(unittest.TestCase):
    def watch(self, alive: list[bool], removals: list[object], *, engine_wait: float = 120.0) -> tuple[int, mock.Mock, mock.Mock]:
        with mock.patch.object(_watchdog, "owner_alive", side_effect=alive) as owner_alive, \
                mock.patch.object(_watchdog, "remove_orphans", side_effect=removals) as remove, \
                mock.patch.object(_watchdog, "ENGINE_WAIT_SECONDS", engine_wait), \
                mock.patch.object(_watchdog.time, "sleep") as sleep:
            code = watch(4242, "777", "/usr/bin/docker")
        for call in owner_alive.call_args_list:
            self.assertEqual(call.args, (4242, "777"))
        self.sleep = sleep
        return code, remove, owner_alive

    def test_waits_for_the_owner_then_looks_twice(self) -> None:
        code, remove, owner_alive = self.watch([True, True, False], [["a"], []])
        self.assertEqual(code, 0)
        self.assertEqual(owner_alive.call_count, 3)
        self.assertEqual(remove.call_count, 2)
        docker, pid = remove.call_args.args
        self.assertEqual((docker.binary, pid), ("/usr/bin/docker", 4242))

    def test_an_engine_that_comes_back_is_waited_for(self) -> None:
        code, remove, _ = self.watch([False], [DockerDaemonError("down"), DockerTimeoutError("slow"), [], []])
        self.assertEqual((code, remove.call_count), (0, 4))

    def test_an_engine_that_stays_away_gives_up(self) -> None:
        code, remove, _ = self.watch([False], [DockerDaemonError("down")] * 5, engine_wait=-1.0)
        self.assertEqual((code, remove.call_count), (1, 1))

    def test_other_errors_count_as_a_pass(self) -> None:
        code, remove, _ = self.watch([False], [DockerCommandError("odd"), MiniTestDBError("odd")])
        self.assertEqual((code, remove.call_count), (0, 2))


class EnsureWatchdogTest(unittest.TestCase):
    def setUp(self) -> None:
        for name in ("_started", "_launchers"):
            patcher = mock.patch.object(_watchdog, name, [])
            patcher.start()
            self.addCleanup(patcher.stop)

    def test_launched_once_detached_with_the_owner_and_its_start_time(self) -> None:
        env = {"PYTHONPATH": os.pathsep.join(["/existing", "/other"])}
        with mock.patch.dict(os.environ, env), mock.patch.object(_watchdog, "process_start_time", return_value="987654"), \
                mock.patch.object(_watchdog.subprocess, "Popen") as popen:
            ensure_watchdog("podman")
            ensure_watchdog("podman")
        popen.assert_called_once()
        argv = popen.call_args.args[0]
        self.assertEqual(argv, [sys.executable, "-m", "minitestdb", "_watchdog", "--pid", str(os.getpid()), "--docker", "podman", "--start-time", "987654"])
        kwargs = popen.call_args.kwargs
        self.assertTrue(kwargs["start_new_session"])
        self.assertEqual(kwargs["env"]["PYTHONPATH"], os.pathsep.join([ROOT, "/existing", "/other"]))
        self.assertEqual(_watchdog._launchers, [popen.return_value])

    def test_without_a_start_time_or_pythonpath(self) -> None:
        with mock.patch.dict(os.environ), mock.patch.object(_watchdog, "process_start_time", return_value=None), \
                mock.patch.object(_watchdog.subprocess, "Popen") as popen:
            os.environ.pop("PYTHONPATH", None)
            ensure_watchdog("docker")
        self.assertEqual(popen.call_args.args[0][-2:], ["--docker", "docker"])
        self.assertEqual(popen.call_args.kwargs["env"]["PYTHONPATH"], ROOT)

    def test_a_failed_launch_is_retried_next_time(self) -> None:
        with mock.patch.object(_watchdog.subprocess, "Popen", side_effect=[OSError("fork failed"), mock.Mock()]) as popen:
            ensure_watchdog("docker")
            self.assertEqual((_watchdog._started, _watchdog._launchers), ([], []))
            ensure_watchdog("docker")
        self.assertEqual(popen.call_count, 2)
        self.assertEqual(_watchdog._started, [True])


class VendoredCopyTest(unittest.TestCase):
    """A copy vendored as ``myproj._vendor.minitestdb`` still launches its own watchdog."""

    def test_package_root_goes_up_one_level_per_dotted_part(self) -> None:
        # (__package__, __file__) -> the directory to put on sys.path
        cases = [
            ("minitestdb", os.path.join(os.sep, "src", "minitestdb", "_watchdog.py"), os.path.join(os.sep, "src")),
            ("myproj._vendor.minitestdb", os.path.join(os.sep, "src", "myproj", "_vendor", "minitestdb", "_watchdog.py"), os.path.join(os.sep, "src")),
            ("a.minitestdb", os.path.join(os.sep, "x", "y", "a", "minitestdb", "_watchdog.py"), os.path.join(os.sep, "x", "y")),
            ("", os.path.join(os.sep, "src", "minitestdb", "_watchdog.py"), os.path.join(os.sep, "src")),
        ]
        for package, file, expected in cases:
            with self.subTest(package=package), mock.patch.object(_watchdog, "__package__", package), mock.patch.object(_watchdog, "__file__", file):
                self.assertEqual(_watchdog._package_root(), expected)

    def test_this_checkout(self) -> None:
        self.assertEqual(_watchdog._package_root(), ROOT)
        self.assertEqual(os.path.dirname(minitestdb.__file__), os.path.join(ROOT, "minitestdb"))

    def test_the_package_imports_itself_relatively(self) -> None:
        self.assertEqual(absolute_imports(os.path.join(ROOT, "minitestdb")), [])


if __name__ == "__main__":
    unittest.main()
