"""_engine: which host servers are published on and dialled, for every engine address, MINITESTDB_HOST, ssh and contexts (pure)."""

from __future__ import annotations

import json
import unittest

from minitestdb import _engine
from minitestdb._engine import LOCAL_ENGINE, context_endpoint, current_context_name, decide_engine, engine_variable, needs_context
from minitestdb._errors import ConfigurationError
from tests.unit.support import doctests

load_tests = doctests(_engine)


def decided(address: str, override: str = "") -> tuple[str, str, str]:
    engine = decide_engine(address, source="DOCKER_HOST", host_override=override)
    return engine.kind, engine.publish("5432"), engine.dial("0.0.0.0")


LOCAL = ("local", "127.0.0.1::5432", "127.0.0.1")


class DecisionTableTest(unittest.TestCase):
    def test_local_engines_publish_and_dial_loopback(self) -> None:
        for address in (
            "",
            "   ",
            "unix:///var/run/docker.sock",
            "unix:///run/user/1000/docker.sock",
            "/var/run/docker.sock",
            "npipe:////./pipe/docker_engine",
            "tcp://127.0.0.1:2375",
            "tcp://127.0.0.2:2375",
            "tcp://localhost:2375",
            "TCP://LOCALHOST:2375",
            "tcp://[::1]:2375",
            "tcp://0.0.0.0:2375",
            "tcp://:2375",
            "tcp://localhost",
            "127.0.0.1:2375",
            "localhost:2376",
            "https://127.0.0.1:2376",
        ):
            with self.subTest(address=address):
                self.assertEqual(decided(address), LOCAL)

    def test_remote_tcp_engines_publish_on_all_addresses_and_dial_the_host(self) -> None:
        cases = {
            "tcp://10.200.7.2:2375": ("remote", "0.0.0.0::5432", "10.200.7.2"),
            "tcp://docker:2375": ("remote", "0.0.0.0::5432", "docker"),  # GitLab's docker:dind service
            "tcp://build-host.example.com:2376": ("remote", "0.0.0.0::5432", "build-host.example.com"),
            "tcp://build-host": ("remote", "0.0.0.0::5432", "build-host"),
            "docker:2375": ("remote", "0.0.0.0::5432", "docker"),  # the docker CLI reads a bare HOST:PORT as tcp
            "https://192.168.56.10:2376": ("remote", "0.0.0.0::5432", "192.168.56.10"),
            "tcp://[fd00::2]:2375": ("remote", "[::]::5432", "fd00::2"),
        }
        for address, expected in cases.items():
            with self.subTest(address=address):
                self.assertEqual(decided(address), expected)

    def test_a_fixed_port_keeps_the_address(self) -> None:
        remote = decide_engine("tcp://10.200.7.2:2375", source="DOCKER_HOST")
        self.assertEqual(remote.publish("5432", 6543), "0.0.0.0:6543:5432")
        self.assertEqual(LOCAL_ENGINE.publish("5432", 6543), "127.0.0.1:6543:5432")

    def test_where_the_address_came_from_is_kept(self) -> None:
        engine = decide_engine("tcp://docker:2375", source="docker context 'ci'")
        self.assertEqual((engine.address, engine.source), ("tcp://docker:2375", "docker context 'ci'"))
        self.assertEqual(decide_engine("", source="DOCKER_HOST").source, "default")
        self.assertEqual(decide_engine("", source="DOCKER_HOST"), LOCAL_ENGINE)


class OverrideTest(unittest.TestCase):
    def test_minitestdb_host_replaces_the_host_to_dial(self) -> None:
        self.assertEqual(decided("tcp://10.0.0.5:2375", "203.0.113.9"), ("remote", "0.0.0.0::5432", "203.0.113.9"))
        self.assertEqual(decided("tcp://docker:2375", " nat-gw.example "), ("remote", "0.0.0.0::5432", "nat-gw.example"))
        self.assertEqual(decided("tcp://10.0.0.5:2375", "[fd00::9]"), ("remote", "[::]::5432", "fd00::9"))

    def test_it_never_widens_what_a_local_engine_publishes(self) -> None:
        for address in ("", "unix:///var/run/docker.sock", "tcp://127.0.0.1:2375"):
            with self.subTest(address=address):
                engine = decide_engine(address, source="DOCKER_HOST", host_override="host.docker.internal")
                self.assertEqual((engine.kind, engine.publish_ip), ("local", "127.0.0.1"))
                self.assertEqual((engine.dial("127.0.0.1"), engine.dial("::")), ("host.docker.internal", "host.docker.internal"))
                self.assertTrue(engine.override)

    def test_blank_is_no_override(self) -> None:
        self.assertEqual(decided("tcp://10.0.0.5:2375", "  "), ("remote", "0.0.0.0::5432", "10.0.0.5"))
        self.assertFalse(decide_engine("tcp://10.0.0.5:2375", source="DOCKER_HOST", host_override="").override)

    def test_a_url_or_a_port_is_refused_in_one_sentence(self) -> None:
        for value in ("tcp://h:1", "h:5432", "user@h", "h/x", "a b"):
            with self.subTest(value=value), self.assertRaises(ConfigurationError) as caught:
                decide_engine("tcp://10.0.0.5:2375", source="DOCKER_HOST", host_override=value)
            message = str(caught.exception)
            self.assertIn("MINITESTDB_HOST=", message)
            self.assertIn("give only the host", message)
            self.assertEqual(message.count(". "), 0, message)


class SshTest(unittest.TestCase):
    def test_ssh_without_a_host_to_dial_fails_saying_what_to_do(self) -> None:
        for address, host in (("ssh://me@build-host", "build-host"), ("ssh://build-host:2222", "build-host"), ("SSH://me@10.0.0.5", "10.0.0.5")):
            with self.subTest(address=address), self.assertRaises(ConfigurationError) as caught:
                decide_engine(address, source="DOCKER_HOST")
            message = str(caught.exception)
            self.assertTrue(message.startswith(f"DOCKER_HOST is an ssh:// engine ({host})"), message)
            self.assertIn(f"set MINITESTDB_HOST to an address of {host}", message)
            self.assertTrue(message.endswith("."), message)
            self.assertEqual(message.count(". "), 0, message)  # one sentence

    def test_ssh_with_a_host_to_dial_is_remote(self) -> None:
        self.assertEqual(decided("ssh://me@build-host", "build-host"), ("remote", "0.0.0.0::5432", "build-host"))
        self.assertEqual(decided("ssh://me@build-host:2222", "10.0.0.5"), ("remote", "0.0.0.0::5432", "10.0.0.5"))

    def test_the_error_names_the_context_it_came_from(self) -> None:
        with self.assertRaises(ConfigurationError) as caught:
            decide_engine("ssh://me@vm", source="docker context 'vm'")
        self.assertTrue(str(caught.exception).startswith("docker context 'vm' is an ssh:// engine (vm)"))


class NotAnEngineTest(unittest.TestCase):
    def test_addresses_the_docker_cli_would_not_take(self) -> None:
        for address in ("fd://", "ftp://h", "tcp://h:port"):
            with self.subTest(address=address), self.assertRaises(ConfigurationError) as caught:
                decide_engine(address, source="DOCKER_HOST")
            self.assertIn(f"DOCKER_HOST={address!r}", str(caught.exception))


class ReachTest(unittest.TestCase):
    REMOTE = decide_engine("tcp://10.200.7.2:2375", source="DOCKER_HOST")

    def test_local_dials_loopback_whatever_the_binding(self) -> None:
        self.assertEqual([LOCAL_ENGINE.dial(ip) for ip in ("127.0.0.1", "0.0.0.0", "", "::", "::1")], ["127.0.0.1"] * 3 + ["::1"] * 2)
        self.assertTrue(all(LOCAL_ENGINE.reaches(ip) for ip in ("127.0.0.1", "0.0.0.0", "", "::")))

    def test_remote_dials_the_engine_and_cannot_reach_its_loopback(self) -> None:
        self.assertEqual({self.REMOTE.dial(ip) for ip in ("0.0.0.0", "", "::", "10.200.7.2")}, {"10.200.7.2"})
        self.assertEqual([self.REMOTE.reaches(ip) for ip in ("0.0.0.0", "", "::", "10.200.7.2")], [True] * 4)
        self.assertEqual([self.REMOTE.reaches(ip) for ip in ("127.0.0.1", "::1", "localhost")], [False] * 3)


class DescribeTest(unittest.TestCase):
    def test_local(self) -> None:
        self.assertEqual(LOCAL_ENGINE.describe(), "local (the default socket): servers are published on 127.0.0.1 only")
        engine = decide_engine("unix:///run/docker.sock", source="DOCKER_HOST", host_override="h")
        self.assertEqual(engine.describe(), "local (DOCKER_HOST=unix:///run/docker.sock): servers are published on 127.0.0.1 only, reached at h (MINITESTDB_HOST)")

    def test_remote_states_the_non_loopback_publish_and_the_host(self) -> None:
        text = decide_engine("tcp://docker:2375", source="docker context 'ci'").describe()
        self.assertEqual(
            text,
            "remote (docker context 'ci': tcp://docker:2375): servers are published on a non-loopback address of the engine "
            "(0.0.0.0: all its addresses) and reached at docker, each with its own random password",
        )


class ContextTest(unittest.TestCase):
    def test_which_variable_names_the_engine(self) -> None:
        self.assertEqual([engine_variable(b) for b in ("docker", "/usr/bin/docker", "podman", "/opt/bin/podman-remote")], ["DOCKER_HOST", "DOCKER_HOST", "CONTAINER_HOST", "CONTAINER_HOST"])

    def test_a_context_is_asked_only_when_one_is_in_use(self) -> None:
        cases = [
            ({}, "", False),
            ({}, "default", False),
            ({}, "build-host", True),
            ({"DOCKER_CONTEXT": "ci"}, "", True),
            ({"DOCKER_CONTEXT": "default"}, "ci", False),  # DOCKER_CONTEXT wins over the config
            ({"DOCKER_HOST": "tcp://h:2375", "DOCKER_CONTEXT": "ci"}, "ci", False),  # DOCKER_HOST wins over any context
            ({"DOCKER_HOST": " "}, "ci", True),
        ]
        for environ, current, expected in cases:
            with self.subTest(environ=environ, current=current):
                self.assertEqual(needs_context(environ, "docker", current), expected)
        self.assertFalse(needs_context({"DOCKER_CONTEXT": "ci"}, "podman", "ci"))

    def test_the_config_current_context(self) -> None:
        self.assertEqual(current_context_name(json.dumps({"auths": {}, "currentContext": " vm "})), "vm")
        for text in ("", "{}", "[]", "null", '{"currentContext": 3}', "{not json"):
            with self.subTest(text=text):
                self.assertEqual(current_context_name(text), "")

    def test_context_inspect_output(self) -> None:
        captured = [{
            "Name": "build-host", "Metadata": {},
            "Endpoints": {"docker": {"Host": "tcp://10.200.7.2:2375", "SkipTLSVerify": False}},
            "TLSMaterial": {}, "Storage": {"MetadataPath": "/root/.docker/contexts/meta/x", "TLSPath": "/root/.docker/contexts/tls/x"},
        }]
        name, host = context_endpoint(json.dumps(captured))
        self.assertEqual((name, host), ("build-host", "tcp://10.200.7.2:2375"))
        self.assertEqual(decided(host), ("remote", "0.0.0.0::5432", "10.200.7.2"))
        default = '[{"Name": "default", "Endpoints": {"docker": {"Host": "unix:///var/run/docker.sock"}}}]'
        self.assertEqual(decided(context_endpoint(default)[1]), LOCAL)
        for text in ("", "[]", "{}", "[1]", '[{"Endpoints": null}]'):
            with self.subTest(text=text):
                self.assertEqual(context_endpoint(text), ("", ""))


if __name__ == "__main__":
    unittest.main()
