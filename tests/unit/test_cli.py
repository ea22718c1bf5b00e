"""_cli: the parser (every command, one flag name per idea, usage errors), main's error line, _age, and
commands whose I/O is mocked (status, drop, run, up, psql): no Docker, no server."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import unittest
from typing import Any, Sequence
from unittest import mock

from minitestdb import _cli
from minitestdb._container import parse_inspect
from minitestdb._endpoint import Endpoint
from minitestdb._errors import ConfigurationError, MiniTestDBError
from minitestdb._server import DEFAULT_STARTUP_TIMEOUT

NOW = 1_800_000_000.0


def subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert len(actions) == 1
    return dict(actions[0].choices)


def flags(parser: argparse.ArgumentParser) -> set[str]:
    return {option for action in parser._actions for option in action.option_strings}


def after_dashes(args: Sequence[str]) -> list[str]:
    """REMAINDER keeps a leading ``--`` (the commands drop it), whatever argparse version does."""
    args = list(args)
    return args[1:] if args and args[0] == "--" else args


class Captured:
    def __init__(self) -> None:
        self.stdout = io.StringIO()
        self.stderr = io.StringIO()


@contextlib.contextmanager
def captured() -> Any:
    out = Captured()
    with contextlib.redirect_stdout(out.stdout), contextlib.redirect_stderr(out.stderr):
        yield out


class ParserTest(unittest.TestCase):
    def parse(self, argv: list[str]) -> argparse.Namespace:
        return _cli.build_parser().parse_args(argv)

    def test_every_command_parses(self) -> None:
        # argv -> (the command function, the attributes it reads)
        cases: list[tuple[list[str], Any, dict[str, Any]]] = [
            (["up"], _cli.cmd_up, {"name": "default", "image": None, "port": None, "format": "url", "timeout": DEFAULT_STARTUP_TIMEOUT, "debug": False}),
            (
                ["--debug", "up", "--name", "ci", "--image", "postgres:16", "--port", "6543", "--format", "json", "--timeout", "2.5"],
                _cli.cmd_up, {"name": "ci", "image": "postgres:16", "port": 6543, "format": "json", "timeout": 2.5, "debug": True},
            ),
            (["up", "--format", "env", "--port", "65535"], _cli.cmd_up, {"format": "env", "port": 65535}),
            (["down"], _cli.cmd_down, {"name": "default", "all": False}),
            (["down", "--name", "ci"], _cli.cmd_down, {"name": "ci", "all": False}),
            (["down", "--all"], _cli.cmd_down, {"name": "default", "all": True}),
            (["status"], _cli.cmd_status, {"json": False}),
            (["status", "--json"], _cli.cmd_status, {"json": True}),
            (["url"], _cli.cmd_url, {"name": "default"}),
            (["url", "--name", "ci"], _cli.cmd_url, {"name": "ci"}),
            (["logs"], _cli.cmd_logs, {"name": "default", "tail": 100}),
            (["logs", "--name", "ci", "--tail", "7"], _cli.cmd_logs, {"name": "ci", "tail": 7}),
            (["psql"], _cli.cmd_psql, {"name": "default", "psql_args": []}),
            (["template", "--sql", "m"], _cli.cmd_template, {"sql": ["m"], "seed": None, "label": None, "server": "default"}),
            (
                ["template", "--sql", "a", "b", "--sql", "c", "--seed", "s1", "--seed", "s2", "s3", "--label", "users", "--server", "ci"],
                _cli.cmd_template, {"sql": ["a", "b", "c"], "seed": ["s1", "s2", "s3"], "label": "users", "server": "ci"},
            ),
            (["clone", "--sql", "m", "--label", "x"], _cli.cmd_clone, {"sql": ["m"], "label": "x", "server": "default"}),
            (["run"], _cli.cmd_run, {"sql": None, "seed": None, "keep": False, "server": "default", "command": []}),
            (["drop", "mtdb_x"], _cli.cmd_drop, {"database": "mtdb_x", "server": "default"}),
            (["drop", "postgresql://u:pw@h/mtdb_x", "--server", "ci"], _cli.cmd_drop, {"database": "postgresql://u:pw@h/mtdb_x", "server": "ci"}),
            (["prune"], _cli.cmd_prune, {"keep": 2}),
            (["prune", "--keep", "0"], _cli.cmd_prune, {"keep": 0}),
            (["_watchdog", "--pid", "42"], _cli.cmd_watchdog, {"pid": 42, "start_time": None, "docker": None}),
            (["_watchdog", "--pid", "42", "--start-time", "9876", "--docker", "podman"], _cli.cmd_watchdog, {"pid": 42, "start_time": "9876", "docker": "podman"}),
            (["doctor"], _cli.cmd_doctor, {"image": None}),
            (["doctor", "--image", "postgres:15"], _cli.cmd_doctor, {"image": "postgres:15"}),
        ]
        for argv, func, expected in cases:
            with self.subTest(argv=argv):
                args = self.parse(argv)
                self.assertIs(args.func, func)
                self.assertEqual({key: getattr(args, key) for key in expected}, expected)
        self.assertEqual({argv[0] for argv, _, _ in cases if not argv[0].startswith("-")} | {"up"}, set(subparsers(_cli.build_parser())))

    def test_remainders_keep_their_own_options(self) -> None:
        cases = [
            (["psql", "--name", "ci", "--", "-c", "select 1"], "psql_args", ["-c", "select 1"]),
            (["psql", "--", "--help"], "psql_args", ["--help"]),
            (["run", "--", "python", "-m", "unittest"], "command", ["python", "-m", "unittest"]),
            (["run", "--sql", "m", "--keep", "--label", "l", "--", "pytest", "-x", "--name", "y"], "command", ["pytest", "-x", "--name", "y"]),
        ]
        for argv, attribute, expected in cases:
            with self.subTest(argv=argv):
                self.assertEqual(after_dashes(getattr(self.parse(argv), attribute)), expected)
        args = self.parse(["run", "--sql", "m", "--keep", "--", "pytest"])
        self.assertEqual((args.sql, args.keep), (["m"], True))

    def test_one_flag_name_per_idea(self) -> None:
        commands = subparsers(_cli.build_parser())
        by_name = {"up", "down", "url", "logs", "psql"}
        by_server = {"template", "clone", "run", "drop"}
        self.assertEqual({name for name, p in commands.items() if "--name" in flags(p)}, by_name)
        self.assertEqual({name for name, p in commands.items() if "--server" in flags(p)}, by_server)
        self.assertEqual({name for name, p in commands.items() if "--image" in flags(p)}, {"up", "doctor"})
        self.assertEqual({name for name, p in commands.items() if "--sql" in flags(p)}, {"template", "clone", "run"})
        self.assertEqual({name for name, p in commands.items() if "--label" in flags(p)}, {"template", "clone", "run"})
        self.assertEqual({name for name, p in commands.items() if "--keep" in flags(p)}, {"run", "prune"})
        everything = set().union(*(flags(p) for p in commands.values()))
        for synonym in ("--server-name", "--container", "--db", "--database", "--migrations", "--tag", "--keep-clone"):
            self.assertNotIn(synonym, everything)

    def test_usage_errors_exit_2(self) -> None:
        cases = [
            [],
            ["nope"],
            ["up", "--port", "0"],
            ["up", "--port", "65536"],
            ["up", "--port", "x"],
            ["up", "--format", "xml"],
            ["up", "--timeout", "soon"],
            ["up", "--server", "x"],
            ["down", "--all", "--name", "x"],
            ["status", "--bogus"],
            ["logs", "--tail", "many"],
            ["template"],
            ["clone", "--label", "x"],
            ["template", "--sql"],
            ["template", "--sql", "m", "--name", "x"],
            ["drop"],
            ["prune", "--keep", "two"],
            ["_watchdog"],
            ["_watchdog", "--pid", "x"],
        ]
        for argv in cases:
            with self.subTest(argv=argv), captured() as out, self.assertRaises(SystemExit) as ctx:
                _cli.main(argv)
            self.assertEqual(ctx.exception.code, 2)
            self.assertIn("usage: minitestdb", out.stderr.getvalue())
            self.assertEqual(out.stdout.getvalue(), "")

    def test_port_messages(self) -> None:
        for argv, message in ((["up", "--port", "0"], "0 is not a TCP port (1-65535)"), (["up", "--port", "x"], "'x' is not a port number")):
            with self.subTest(argv=argv), captured() as out, self.assertRaises(SystemExit):
                _cli.main(argv)
            self.assertIn(message, out.stderr.getvalue())


class MainTest(unittest.TestCase):
    def run_main(self, argv: list[str], command: str, **mock_kwargs: Any) -> tuple[int, Captured, mock.Mock]:
        with mock.patch.object(_cli, command, **mock_kwargs) as func, captured() as out:
            code = _cli.main(argv)
        return code, out, func

    def test_an_error_is_one_redacted_line_and_exit_1(self) -> None:
        error = MiniTestDBError("It broke at postgresql://u:hunter2-cli@h/d; fix it.", detail="docker said:\nPGPASSWORD=hunter2-cli")
        code, out, func = self.run_main(["status"], "cmd_status", side_effect=error)
        self.assertEqual(code, 1)
        self.assertEqual(out.stderr.getvalue(), "minitestdb: It broke at postgresql://u:***@h/d; fix it.\n")
        self.assertEqual(out.stdout.getvalue(), "")
        self.assertIs(func.call_args.args[0].func, func)

    def test_a_message_is_redacted_again_when_said(self) -> None:
        error = MiniTestDBError("safe")
        error.message = "leaked postgresql://u:late-pw@h/d"  # set after construction: _say still masks it
        code, out, _ = self.run_main(["url"], "cmd_url", side_effect=error)
        self.assertEqual(code, 1)
        self.assertEqual(out.stderr.getvalue(), "minitestdb: leaked postgresql://u:***@h/d\n")

    def test_debug_adds_the_detail_and_the_traceback(self) -> None:
        error = ConfigurationError("Bad input; fix it.", detail="line one\nPGPASSWORD=hunter2-debug")
        with mock.patch.object(_cli, "cmd_status", side_effect=error), captured() as out, self.assertRaises(ConfigurationError) as ctx:
            _cli.main(["--debug", "status"])
        self.assertIs(ctx.exception, error)
        self.assertEqual(out.stderr.getvalue(), "minitestdb: Bad input; fix it.\nBad input; fix it.\nline one\nPGPASSWORD=***\n")

    def test_exit_codes(self) -> None:
        for result, expected in ((0, 0), (1, 1), (127, 127), (True, 1)):
            with self.subTest(result=result):
                code, _, _ = self.run_main(["status"], "cmd_status", return_value=result)
                self.assertEqual(code, expected)

    def test_ctrl_c_is_130(self) -> None:
        code, out, _ = self.run_main(["status"], "cmd_status", side_effect=KeyboardInterrupt)
        self.assertEqual((code, out.stderr.getvalue()), (130, "minitestdb: interrupted\n"))

    def test_a_bug_is_not_hidden(self) -> None:
        with mock.patch.object(_cli, "cmd_status", side_effect=ValueError("bug")), captured(), self.assertRaises(ValueError):
            _cli.main(["status"])


class AgeTest(unittest.TestCase):
    def test_table(self) -> None:
        cases = [
            (None, "?"),
            (NOW, "0s"),
            (NOW + 30, "0s"),  # a clock ahead of ours
            (NOW - 1, "1s"),
            (NOW - 59, "59s"),
            (NOW - 60, "1m"),
            (NOW - 119, "1m"),
            (NOW - 3599, "59m"),
            (NOW - 3600, "1h"),
            (NOW - 86399, "23h"),
            (NOW - 86400, "1d"),
            (NOW - 10 * 86400 - 5, "10d"),
            (NOW - 0.9, "0s"),
        ]
        with mock.patch.object(_cli, "time") as clock:
            clock.time.return_value = NOW
            for created, expected in cases:
                with self.subTest(created=created):
                    self.assertEqual(_cli._age(created), expected)


def info(name: str, *, server: str, status: str, port: int | None, image: str, created: float, shared: bool) -> Any:
    ports = {"5432/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}]} if port else {}
    labels = {"minitestdb": "1", "minitestdb.name": server, "minitestdb.created": str(int(created)), "minitestdb.shared": "1" if shared else "0"}
    return parse_inspect({
        "Id": name[-1] * 64, "Name": "/" + name, "State": {"Status": status, "Running": status == "running"},
        "Config": {"Image": image, "Labels": labels}, "NetworkSettings": {"Ports": ports},
    })


class StatusTest(unittest.TestCase):
    def status(self, argv: list[str], servers: list[Any]) -> Captured:
        with mock.patch.object(_cli, "find_servers", return_value=servers) as find, mock.patch.object(_cli, "time") as clock, captured() as out:
            clock.time.return_value = NOW
            self.assertEqual(_cli.main(argv), 0)
        find.assert_called_once_with()
        return out

    SERVERS = (
        ("minitestdb-default", "default", "running", 32770, "postgres:18", NOW - 7200, True),
        ("minitestdb-p4242-abcd", "minitestdb-p4242-abcd", "exited", None, "postgres:16-alpine", NOW - 5, False),
    )

    def servers(self) -> list[Any]:
        return [info(n, server=s, status=st, port=p, image=i, created=c, shared=sh) for n, s, st, p, i, c, sh in self.SERVERS]

    def test_table(self) -> None:
        out = self.status(["status"], self.servers())
        self.assertEqual(
            out.stdout.getvalue().splitlines(),
            [
                "NAME                   STATE    PORT   IMAGE               AGE  CONTAINER",
                "default                running  32770  postgres:18         2h   minitestdb-default",
                "minitestdb-p4242-abcd  exited   -      postgres:16-alpine  5s   minitestdb-p4242-abcd",
            ],
        )
        self.assertEqual(out.stderr.getvalue(), "")

    def test_json(self) -> None:
        out = self.status(["status", "--json"], self.servers())
        self.assertEqual(
            json.loads(out.stdout.getvalue()),
            [
                {"name": "default", "container": "minitestdb-default", "state": "running", "port": 32770, "image": "postgres:18", "age": "2h", "shared": True, "id": "t" * 12},
                {"name": "minitestdb-p4242-abcd", "container": "minitestdb-p4242-abcd", "state": "exited", "port": None, "image": "postgres:16-alpine", "age": "5s",
                 "shared": False, "id": "d" * 12},
            ],
        )

    def test_none(self) -> None:
        out = self.status(["status"], [])
        self.assertEqual((out.stdout.getvalue(), out.stderr.getvalue()), ("", "minitestdb: no minitestdb containers\n"))
        self.assertEqual(json.loads(self.status(["status", "--json"], []).stdout.getvalue()), [])


class DropTest(unittest.TestCase):
    CLONE = "mtdb_test_users_01234567_1a2b3f_1c0ffee"

    def test_only_minitestdb_clones_are_dropped(self) -> None:
        for target in ("postgres", "myapp", "mtdb_tpl_" + "0" * 24, "test_1a2b3f_1c0ffee", "postgresql://u:drop-pw-1@h:5/postgres"):
            with self.subTest(target=target), mock.patch("minitestdb._templates.drop_database") as drop, \
                    mock.patch.object(_cli, "server_from_env") as from_env, captured() as out:
                self.assertEqual(_cli.main(["drop", target]), 1)
            drop.assert_not_called()
            from_env.assert_not_called()
            line = out.stderr.getvalue()
            self.assertIn("minitestdb drops only its own clones", line)
            self.assertEqual(line.count("\n"), 1)
            self.assertNotIn("drop-pw-1", line)

    def test_by_url_connects_to_the_maintenance_database(self) -> None:
        url = f"postgresql://app:drop-pw-2@db.internal:6543/{self.CLONE}?options=-c%20search_path%3Dx"
        with mock.patch("minitestdb._templates.drop_database") as drop, mock.patch.object(_cli, "server_from_env") as from_env, captured() as out:
            self.assertEqual(_cli.main(["drop", url]), 0)
        from_env.assert_not_called()
        drop.assert_called_once_with(Endpoint(host="db.internal", port=6543, user="app", password="drop-pw-2", dbname="postgres"), self.CLONE)
        self.assertEqual(out.stderr.getvalue(), f"minitestdb: dropped {self.CLONE}\n")

    def test_by_name_uses_the_named_server(self) -> None:
        endpoint = Endpoint(host="127.0.0.1", port=5999, user="postgres", password="drop-pw-3", dbname="postgres")
        with mock.patch("minitestdb._templates.drop_database") as drop, mock.patch.object(_cli, "server_from_env") as from_env, captured():
            from_env.return_value.endpoint = endpoint
            self.assertEqual(_cli.main(["drop", self.CLONE, "--server", "ci"]), 0)
        self.assertEqual(from_env.call_args.kwargs["name"], "ci")
        drop.assert_called_once_with(endpoint, self.CLONE)


class RunTest(unittest.TestCase):
    def test_no_command_is_an_error_before_any_server(self) -> None:
        for argv in (["run"], ["run", "--"], ["run", "--sql", "m", "--"]):
            with self.subTest(argv=argv), mock.patch.object(_cli, "server_from_env") as from_env, captured() as out:
                self.assertEqual(_cli.main(argv), 1)
            from_env.assert_not_called()
            self.assertIn("run needs a command after --", out.stderr.getvalue())


class UpTest(unittest.TestCase):
    def up(self, fmt: str) -> Captured:
        endpoint = Endpoint(host="127.0.0.1", port=5999, user="postgres", password="up pw'1", dbname="postgres")
        server = mock.Mock(url=endpoint.url, redacted_url=endpoint.redacted_url, host="127.0.0.1", port=5999, user="postgres", dbname="postgres",
                           container_id="c" * 64, container_name="minitestdb-ci", image="postgres:18")
        server.name = "ci"
        server.diagnostics.to_dict.return_value = {"reused": True}
        with mock.patch.object(_cli, "up", return_value=server) as up, captured() as out:
            self.assertEqual(_cli.main(["up", "--name", "ci", "--format", fmt]), 0)
        self.assertEqual(up.call_args.args, ("ci",))
        self.assertEqual({k: v for k, v in up.call_args.kwargs.items() if k != "progress"}, {"image": None, "port": None, "timeout": DEFAULT_STARTUP_TIMEOUT})
        self.assertIs(up.call_args.kwargs["progress"], _cli._say)
        self.assertRegex(out.stderr.getvalue(), r"^minitestdb: server 'ci' is ready at postgresql://postgres:\*\*\*@127\.0\.0\.1:5999/postgres \(\d+\.\d\d s\)\n$")
        return out

    def test_formats(self) -> None:
        self.assertEqual(self.up("url").stdout.getvalue(), "postgresql://postgres:up%20pw%271@127.0.0.1:5999/postgres\n")
        self.assertEqual(self.up("env").stdout.getvalue(), "export TEST_DATABASE_URL=postgresql://postgres:up%20pw%271@127.0.0.1:5999/postgres\n")
        data = json.loads(self.up("json").stdout.getvalue())
        self.assertEqual(
            data,
            {"name": "ci", "url": "postgresql://postgres:up%20pw%271@127.0.0.1:5999/postgres", "host": "127.0.0.1", "port": 5999, "user": "postgres",
             "dbname": "postgres", "container_id": "c" * 64, "container_name": "minitestdb-ci", "image": "postgres:18", "diagnostics": {"reused": True}},
        )


class PsqlTest(unittest.TestCase):
    def test_host_psql_gets_the_arguments_and_the_password_through_the_environment(self) -> None:
        endpoint = Endpoint(host="127.0.0.1", port=5999, user="postgres", password="psql-cli-pw", dbname="postgres")
        server = mock.Mock(endpoint=endpoint, container_id="cid")
        server.docker.binary = "docker"
        with mock.patch.object(_cli, "attach", return_value=server) as attach, mock.patch.object(_cli.shutil, "which", return_value="/usr/bin/psql"), \
                mock.patch.object(_cli.subprocess, "call", return_value=3) as call, mock.patch.dict(_cli.os.environ, {"PGSERVICE": "prod"}), captured():
            self.assertEqual(_cli.main(["psql", "--name", "ci", "--", "-c", "select 1"]), 3)
        attach.assert_called_once_with("ci")
        self.assertEqual(call.call_args.args[0], ["/usr/bin/psql", "-c", "select 1"])
        env = call.call_args.kwargs["env"]
        self.assertEqual((env["PGPASSWORD"], env["PGPORT"]), ("psql-cli-pw", "5999"))
        self.assertNotIn("PGSERVICE", env)


if __name__ == "__main__":
    unittest.main()
