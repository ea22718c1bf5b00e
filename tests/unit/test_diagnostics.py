"""_diagnostics: event times and durations (clock mocked), JSON-able output, every string redacted."""

from __future__ import annotations

import json
import unittest
from unittest import mock

from minitestdb import _diagnostics
from minitestdb._diagnostics import EVENTS, Diagnostics
from minitestdb._redact import register_secret

SECRET = "diagnostics-secret-7781"


class DurationsTest(unittest.TestCase):
    def marked(self, monotonic: list[float], events: list[str], wall: list[float] | None = None) -> Diagnostics:
        """A Diagnostics made when the monotonic clock reads monotonic[0], then marked with *events* at the rest."""
        clock = mock.Mock()
        clock.monotonic.side_effect = monotonic
        clock.time.side_effect = wall or [1000.0 + i for i in range(len(events))]
        with mock.patch.object(_diagnostics, "time", clock):
            diagnostics = Diagnostics()
            for event in events:
                diagnostics.mark(event)
        self.assertEqual(clock.monotonic.call_count, len(monotonic))
        return diagnostics

    def test_the_full_lifecycle(self) -> None:
        d = self.marked([100.0, 100.5, 100.91, 101.5, 103.0], ["created", "started", "ready", "closed"], wall=[1000.0, 1000.4, 1001.0, 1002.5])
        self.assertEqual(d.durations, {"created->started": 0.41, "started->ready": 0.59, "ready->closed": 1.5, "total_to_ready": 1.5})
        self.assertEqual(d.timestamps, {"created": 1000.0, "started": 1000.4, "ready": 1001.0, "closed": 1002.5})
        self.assertEqual(list(d.durations), ["created->started", "started->ready", "ready->closed", "total_to_ready"])

    def test_pairs_follow_the_lifecycle_order_not_the_marking_order(self) -> None:
        d = self.marked([10.0, 13.0, 11.0, 12.0], ["ready", "created", "started"])
        self.assertEqual(d.durations, {"created->started": 1.0, "started->ready": 1.0, "total_to_ready": 3.0})
        self.assertEqual(EVENTS, ("image", "snapshot", "created", "started", "port", "ready", "closed"))

    def test_partial_lifecycles(self) -> None:
        # (monotonic clock, events) -> durations
        cases = [
            ([5.0], [], {}),
            ([5.0, 5.25], ["ready"], {"total_to_ready": 0.25}),  # Server.from_url: only "ready"
            ([5.0, 6.0, 6.5], ["started", "ready"], {"started->ready": 0.5, "total_to_ready": 1.5}),  # a stopped shared server restarted
            ([5.0, 6.0, 7.0], ["created", "closed"], {"created->closed": 1.0}),  # failed before ready: no total
            ([5.0, 6.0], ["ready-ish"], {}),  # not a lifecycle event: a timestamp, no duration
        ]
        for monotonic, events, expected in cases:
            with self.subTest(events=events):
                d = self.marked(monotonic, events)
                self.assertEqual(d.durations, expected)
                self.assertEqual(sorted(d.timestamps), sorted(events))

    def test_marking_again_moves_the_event(self) -> None:
        d = self.marked([0.0, 1.0, 2.0, 4.0], ["created", "ready", "ready"])
        self.assertEqual(d.durations, {"created->ready": 3.0, "total_to_ready": 4.0})

    def test_the_real_clock_gives_non_negative_durations(self) -> None:
        d = Diagnostics()
        for event in EVENTS:
            d.mark(event)
        self.assertEqual(
            list(d.durations),
            ["image->snapshot", "snapshot->created", "created->started", "started->port", "port->ready", "ready->closed", "total_to_ready"],
        )
        self.assertTrue(all(value >= 0 for value in d.durations.values()))
        self.assertLessEqual(d.timestamps["created"], d.timestamps["closed"])


class ToDictTest(unittest.TestCase):
    def test_json_able_with_every_public_field(self) -> None:
        d = Diagnostics(container_id="c" * 64, container_name="minitestdb-default", image="postgres:18", host="127.0.0.1", port=5999, reused=True)
        d.readiness_method, d.readiness_attempts = "wire", 3
        d.note_cleanup_error("stop: timed out")
        d.mark("ready")
        data = d.to_dict()
        self.assertEqual(json.loads(json.dumps(data)), data)
        self.assertEqual(
            sorted(data),
            sorted([
                "container_id", "container_name", "image", "snapshot", "host", "port", "reused", "readiness_method", "readiness_attempts",
                "last_readiness_error", "log_tail", "cleanup_errors", "timestamps", "durations",
            ]),
        )
        self.assertEqual((data["port"], data["reused"], data["readiness_attempts"], data["cleanup_errors"]), (5999, True, 3, ["stop: timed out"]))
        self.assertEqual(list(data["timestamps"]), ["ready"])
        self.assertEqual(list(data["durations"]), ["total_to_ready"])

    def test_defaults(self) -> None:
        data = Diagnostics().to_dict()
        self.assertEqual(
            data,
            {
                "container_id": "", "container_name": "", "image": "", "snapshot": "", "host": "", "port": None, "reused": False, "readiness_method": "",
                "readiness_attempts": 0, "last_readiness_error": "", "log_tail": "", "cleanup_errors": [], "timestamps": {}, "durations": {},
            },
        )

    def test_the_dict_is_a_copy(self) -> None:
        d = Diagnostics()
        data = d.to_dict()
        data["cleanup_errors"].append("x")
        data["timestamps"]["closed"] = 1.0
        self.assertEqual((d.cleanup_errors, d.timestamps), ([], {}))

    def test_repr_is_the_dict(self) -> None:
        d = Diagnostics(image="postgres:18")
        self.assertTrue(repr(d).startswith("Diagnostics({"))
        self.assertIn("'image': 'postgres:18'", repr(d))


class RedactionTest(unittest.TestCase):
    def test_notes_and_log_tail_are_redacted(self) -> None:
        register_secret(SECRET)
        d = Diagnostics()
        d.note_readiness_error(ConnectionError(f"password authentication failed: {SECRET}"))
        d.note_cleanup_error(f"rm: postgresql://u:{SECRET}@h/d")
        d.note_cleanup_error("stop: PGPASSWORD=unregistered-pw")
        d.set_log_tail(f"LOG: ready\nFATAL: password={SECRET}\n")
        self.assertEqual(d.last_readiness_error, "password authentication failed: ***")
        self.assertEqual(d.cleanup_errors, ["rm: postgresql://u:***@h/d", "stop: PGPASSWORD=***"])
        self.assertEqual(d.log_tail, "LOG: ready\nFATAL: password=***\n")
        for text in (repr(d), json.dumps(d.to_dict())):
            self.assertNotIn(SECRET, text)
            self.assertNotIn("unregistered-pw", text)

    def test_the_last_readiness_error_replaces_the_previous(self) -> None:
        d = Diagnostics()
        d.note_readiness_error("first")
        d.note_readiness_error(TimeoutError("second"))
        self.assertEqual(d.last_readiness_error, "second")


if __name__ == "__main__":
    unittest.main()
