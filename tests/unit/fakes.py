"""Helpers to run code against the fake docker CLI in tests/fakes/docker."""

from __future__ import annotations

import json
import os
import tempfile
import unittest
from typing import Iterator
from unittest import mock

FAKE_DOCKER = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fakes", "docker")


class FakeDockerMixin(unittest.TestCase):
    """Points MINITESTDB_DOCKER at the fake for one scenario and reads its call log."""

    def use_fake_docker(self, scenario: str) -> None:
        tmp = tempfile.mkdtemp(prefix="minitestdb-fake-")
        self.fake_log = os.path.join(tmp, "calls.jsonl")
        patcher = mock.patch.dict(
            os.environ,
            {
                "MINITESTDB_DOCKER": FAKE_DOCKER,
                "FAKE_DOCKER_SCENARIO": scenario,
                "FAKE_DOCKER_LOG": self.fake_log,
                "FAKE_DOCKER_STATE": os.path.join(tmp, "state.json"),
                # The fake's engine has no API socket (the CLI is named docker, and the real engine's socket must not answer for it).
                "DOCKER_HOST": "unix:///nonexistent/minitestdb-fake-docker.sock",
                # The fake has no snapshots: its scenarios are the plain start's (the snapshot path is test_snapshot's, on a real engine).
                "MINITESTDB_SNAPSHOT": "0",
            },
        )
        patcher.start()
        self.addCleanup(patcher.stop)
        self.fake_state = os.path.join(tmp, "state.json")

    def fake_calls(self) -> list[list[str]]:
        if not os.path.exists(self.fake_log):
            return []
        with open(self.fake_log) as fh:
            return [json.loads(line) for line in fh if line.strip()]

    def fake_verbs(self) -> Iterator[str]:
        for argv in self.fake_calls():
            yield argv[0] if argv[0] not in ("container", "image") else f"{argv[0]} {argv[1]}"

    def fake_container_exists(self) -> bool:
        if not os.path.exists(self.fake_state):
            return False
        with open(self.fake_state) as fh:
            return bool(json.load(fh).get("exists"))
