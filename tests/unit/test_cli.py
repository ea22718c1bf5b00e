"""_cli: the parser (every command, one flag name per idea, usage errors), main's error line, the pure rules
(server choice, hints as invoked, drop commands, exports, psql's arguments), and commands whose I/O is
mocked (status, drop, run, up, url, psql, doctor with the fake docker): no Docker, no server."""

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
from minitestdb._env import read_env
from minitestdb._errors import ConfigurationError, MiniTestDBError
from minitestdb._server import DEFAULT_STARTUP_TIMEOUT
from tests.unit.fakes import FakeDockerMixin
from tests.unit.support import doctests

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
        return _cli.parse_args(_cli.build_parser(), argv)

    def test_every_command_parses(self) -> None:
        # argv -> (the command function, the attributes it reads)
        cases: list[tuple[list[str], Any, dict[str, Any]]] = [
            (["up"], _cli.cmd_up, {"server": None, "image": None, "port": None, "format": "url", "timeout": DEFAULT_STARTUP_TIMEOUT, "debug": False,
                                   "password": None, "setting": []}),
            (
                ["--debug", "up", "--name", "ci", "--image", "postgres:16", "--port", "6543", "--format", "json", "--timeout", "2.5"],
                _cli.cmd_up, {"server": "ci", "image": "postgres:16", "port": 6543, "format": "json", "timeout": 2.5, "debug": True},
            ),
            (["up", "--format", "env", "--port", "65535"], _cli.cmd_up, {"format": "env", "port": 65535}),
            (["up", "--server", "ci", "--json", "--debug"], _cli.cmd_up, {"server": "ci", "format": "json", "debug": True}),
            (
                ["up", "--password", "pw x", "--setting", "max_connections=200", "--setting", "max_prepared_transactions=10", "--setting", "search_path=a,b"],
                _cli.cmd_up, {"password": "pw x", "setting": [("max_connections", "200"), ("max_prepared_transactions", "10"), ("search_path", "a,b")]},
            ),
            (["down"], _cli.cmd_down, {"server": None, "all": False}),
            (["down", "--name", "ci"], _cli.cmd_down, {"server": "ci", "all": False}),
            (["down", "--server", "ci", "--debug"], _cli.cmd_down, {"server": "ci", "all": False, "debug": True}),
            (["down", "--all"], _cli.cmd_down, {"server": None, "all": True}),
            (["status"], _cli.cmd_status, {"format": "table"}),
            (["status", "--json"], _cli.cmd_status, {"format": "json"}),
            (["status", "--format", "json"], _cli.cmd_status, {"format": "json"}),
            (["url"], _cli.cmd_url, {"server": None, "format": "url"}),
            (["url", "--name", "ci", "--format", "env"], _cli.cmd_url, {"server": "ci", "format": "env"}),
            (["url", "--server", "ci", "--json"], _cli.cmd_url, {"server": "ci", "format": "json"}),
            (["logs"], _cli.cmd_logs, {"server": None, "tail": 100}),
            (["logs", "--name", "ci", "--tail", "7"], _cli.cmd_logs, {"server": "ci", "tail": 7}),
            (["logs", "--server", "ci"], _cli.cmd_logs, {"server": "ci"}),
            (["psql"], _cli.cmd_psql, {"server": None, "psql_args": [], "debug": False}),
            (["template", "--sql", "m"], _cli.cmd_template, {"sql": ["m"], "seed": None, "label": None, "template_label": None, "server": None}),
            (
                ["template", "--sql", "a", "b", "--sql", "c", "--seed", "s1", "--seed", "s2", "s3", "--label", "users", "--server", "ci"],
                _cli.cmd_template, {"sql": ["a", "b", "c"], "seed": ["s1", "s2", "s3"], "label": "users", "server": "ci"},
            ),
            (["clone", "--sql", "m", "--label", "x"], _cli.cmd_clone, {"sql": ["m"], "label": "x", "template_label": None, "server": None}),
            (["clone", "--sql", "m", "--template-label", "t", "--debug"], _cli.cmd_clone, {"label": None, "template_label": "t", "debug": True}),
            (["run"], _cli.cmd_run, {"sql": None, "seed": None, "keep": False, "private": False, "server": None, "command": []}),
            (["run", "--private", "--label", "x", "--", "true"], _cli.cmd_run, {"private": True, "label": "x", "template_label": None}),
            (["run", "--server", "ci", "--keep"], _cli.cmd_run, {"server": "ci", "keep": True, "private": False}),
            (["drop", "mtdb_x"], _cli.cmd_drop, {"database": "mtdb_x", "server": None}),
            (["drop", "postgresql://u:pw@h/mtdb_x", "--server", "ci"], _cli.cmd_drop, {"database": "postgresql://u:pw@h/mtdb_x", "server": "ci"}),
            (["prune"], _cli.cmd_prune, {"keep": 2}),
            (["prune", "--keep", "0", "--debug"], _cli.cmd_prune, {"keep": 0, "debug": True}),
            (["prune", "--kept"], _cli.cmd_prune, {"keep": 2, "kept": True}),
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

    def test_psql_arguments_with_or_without_dashes(self) -> None:
        # argv -> (--server, --debug, psql's arguments in their order)
        cases = [
            (["psql", "-c", "select 1"], (None, False, ["-c", "select 1"])),
            (["psql", "--server", "x", "-d", "somedb", "-c", "select 1"], ("x", False, ["-d", "somedb", "-c", "select 1"])),
            (["psql", "-d", "somedb", "--name", "x", "-At", "--debug", "-c", "select 1"], ("x", True, ["-d", "somedb", "-At", "-c", "select 1"])),
            (["--debug", "psql", "--server=x", "--", "--server", "y", "--debug"], ("x", True, ["--server", "y", "--debug"])),
            (["psql", "-v", "ON_ERROR_STOP=1", "-f", "-"], (None, False, ["-v", "ON_ERROR_STOP=1", "-f", "-"])),
            (["psql"], (None, False, [])),
        ]
        for argv, expected in cases:
            with self.subTest(argv=argv):
                args = self.parse(argv)
                self.assertEqual((args.server, args.debug, args.psql_args), expected)
                self.assertIs(args.func, _cli.cmd_psql)

    def test_split_psql_args(self) -> None:
        self.assertEqual(_cli.split_psql_args(["--server"]), (["--server"], []))
        self.assertEqual(_cli.split_psql_args(["-h"]), (["-h"], []))
        self.assertEqual(_cli.split_psql_args(["--", "-h"]), ([], ["-h"]))
        self.assertEqual(_cli.split_psql_args(["-c", "--", "x"]), ([], ["-c", "x"]))

    def test_one_flag_name_per_idea(self) -> None:
        commands = subparsers(_cli.build_parser())
        names_a_server = {"up", "down", "url", "logs", "psql", "template", "clone", "run", "drop"}
        self.assertEqual({name for name, p in commands.items() if "--server" in flags(p)}, names_a_server)
        self.assertEqual({name for name, p in commands.items() if "--name" in flags(p)}, {"up", "down", "url", "logs", "psql"})
        self.assertEqual({name for name, p in commands.items() if "--image" in flags(p)}, {"up", "doctor"})
        self.assertEqual({name for name, p in commands.items() if "--sql" in flags(p)}, {"template", "clone", "run"})
        self.assertEqual({name for name, p in commands.items() if "--label" in flags(p)}, {"template", "clone", "run"})
        self.assertEqual({name for name, p in commands.items() if "--template-label" in flags(p)}, {"clone", "run"})
        self.assertEqual({name for name, p in commands.items() if "--keep" in flags(p)}, {"run", "prune"})
        self.assertEqual({name for name, p in commands.items() if "--format" in flags(p)}, {"up", "url", "status"})
        self.assertEqual({name for name, p in commands.items() if "--json" in flags(p)}, {"up", "url", "status"})
        self.assertEqual({name for name, p in commands.items() if "--debug" in flags(p)}, set(commands) - {"_watchdog"})
        everything = set().union(*(flags(p) for p in commands.values()))
        for synonym in ("--server-name", "--container", "--db", "--database", "--migrations", "--tag", "--keep-clone", "--output"):
            self.assertNotIn(synonym, everything)

    def test_version(self) -> None:
        import minitestdb

        with captured() as out, self.assertRaises(SystemExit) as ctx:
            _cli.main(["--version"])
        self.assertEqual((ctx.exception.code, out.stdout.getvalue()), (0, f"minitestdb {minitestdb.__version__}\n"))

    def test_usage_errors_exit_2(self) -> None:
        cases = [
            [],
            ["nope"],
            ["up", "--port", "0"],
            ["up", "--port", "65536"],
            ["up", "--port", "x"],
            ["up", "--format", "xml"],
            ["up", "--timeout", "soon"],
            ["up", "--setting", "max_connections"],
            ["up", "--setting", "=1"],
            ["up", "--setting", "bad name=1"],
            ["down", "--all", "--name", "x"],
            ["down", "--all", "--server", "x"],
            ["status", "--bogus"],
            ["status", "--format", "url"],
            ["logs", "--tail", "many"],
            ["template"],
            ["clone", "--label", "x"],
            ["template", "--sql"],
            ["template", "--sql", "m", "--name", "x"],
            ["template", "--sql", "m", "--template-label", "x"],
            ["run", "--private", "--server", "x", "--", "true"],
            ["run", "--private", "--keep", "--", "true"],
            ["drop"],
            ["prune", "--keep", "two"],
            ["_watchdog"],
            ["_watchdog", "--pid", "x"],
            ["psql", "--server"],
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


@contextlib.contextmanager
def environment(**values: str) -> Any:
    """os.environ without minitestdb's server variables, plus *values*."""
    with mock.patch.dict(_cli.os.environ):
        for key in ("TEST_DATABASE_URL", "MINITESTDB_SERVER"):
            _cli.os.environ.pop(key, None)
        _cli.os.environ.update(values)
        yield


ENDPOINT = Endpoint(host="127.0.0.1", port=5999, user="postgres", password="cli-unit-pw", dbname="postgres")


def fake_server(endpoint: Endpoint = ENDPOINT) -> mock.Mock:
    server = mock.Mock(endpoint=endpoint, url=endpoint.url, redacted_url=endpoint.redacted_url, env=endpoint.env, container_id="cid")
    server.docker.binary = "docker"
    # run hands its command the clone's environment (migration_env of its endpoint).
    server.template.return_value.clone.return_value.endpoint = endpoint
    return server


class ServerChoiceTest(unittest.TestCase):
    def test_table(self) -> None:
        url = "postgresql://u:choice-pw@h:1/d"
        # (--server, TEST_DATABASE_URL, MINITESTDB_SERVER) -> choice
        cases = [
            (None, "", "", ("shared", "default")),
            (None, "", "ci", ("shared", "ci")),
            ("x", "", "ci", ("shared", "x")),
            (None, url, "ci", ("url", url)),
            ("x", url, "ci", ("shared", "x")),
            ("", url, "", ("url", url)),
        ]
        for explicit, test_url, variable, expected in cases:
            with self.subTest(explicit=explicit, url=bool(test_url), variable=variable):
                env = read_env({"TEST_DATABASE_URL": test_url, "MINITESTDB_SERVER": variable})
                self.assertEqual(_cli.server_choice(explicit, env), expected)


class MinitestdbServerTest(unittest.TestCase):
    """MINITESTDB_SERVER names the server of every command that takes --server, as --server does."""

    def test_every_command(self) -> None:
        server = fake_server()
        template = server.template.return_value
        template.name, template.built, template.build_seconds = "mtdb_tpl_x", True, 0.1
        clone = template.keep_clone.return_value = template.clone.return_value
        clone.name, clone.url, clone.env = "mtdb_run_x", ENDPOINT.url, ENDPOINT.env
        info = mock.Mock(id="c" * 64)
        docker = mock.Mock(**{"inspect.return_value": info, "logs.return_value": "log"})
        cases: list[tuple[list[str], str]] = [
            (["up"], "up"), (["down"], "down"), (["url"], "attach"), (["logs"], "DockerCLI"), (["psql", "-c", "select 1"], "attach"),
            (["template", "--sql", "m"], "up"), (["clone", "--sql", "m"], "up"), (["drop", "mtdb_x_01234567_1a2b3f_1c0ffee"], "up"),
            (["run", "--", "true"], "up"),
        ]
        for argv, called in cases:
            for variable, flag, expected in (("envserver", [], "envserver"), ("envserver", ["--server", "flagged"], "flagged"), ("", [], "default")):
                with self.subTest(argv=argv, variable=variable, flag=flag), environment(MINITESTDB_SERVER=variable), \
                        mock.patch.object(_cli, "up", return_value=server) as up, mock.patch.object(_cli, "attach", return_value=server) as attach, \
                        mock.patch.object(_cli, "down", return_value=[]) as down, mock.patch.object(_cli, "DockerCLI", return_value=docker), \
                        mock.patch.object(_cli, "_database_exists", return_value=True), mock.patch("minitestdb._templates.drop_database"), \
                        mock.patch.object(_cli.subprocess, "Popen") as popen, captured():
                    popen.return_value.wait.return_value = 0
                    self.assertEqual(_cli.main([argv[0], *flag, *argv[1:]]), 0)
                    if called == "DockerCLI":
                        docker.inspect.assert_called_with(f"minitestdb-{expected}")
                    else:
                        mocks = {"up": up, "attach": attach, "down": down}
                        self.assertEqual(mocks[called].call_args.args[0], expected)
                        self.assertEqual([name for name, m in mocks.items() if m.called], [called])


class HintTest(unittest.TestCase):
    def test_invoked_program(self) -> None:
        cases = [
            ("/usr/local/bin/minitestdb", "minitestdb"),
            ("minitestdb", "minitestdb"),
            ("C:\\Python\\Scripts\\minitestdb.exe".replace("\\", "/"), "minitestdb"),
            ("/venv/bin/minitestdb-script.py", "minitestdb"),
            ("/src/minitestdb/__main__.py", "python -m minitestdb"),
            ("-m", "python -m minitestdb"),
            ("", "python -m minitestdb"),
            ("/usr/bin/python3", "python -m minitestdb"),
            ("/venv/bin/minitestdb-extra", "python -m minitestdb"),
        ]
        for argv0, expected in cases:
            with self.subTest(argv0=argv0):
                self.assertEqual(_cli.invoked_program(argv0), expected)

    def test_library_hints_are_shown_as_invoked(self) -> None:
        message = "No minitestdb server named 'x' exists: start it with `python -m minitestdb up --server x`."
        self.assertEqual(_cli.as_invoked(message, "minitestdb"), "No minitestdb server named 'x' exists: start it with `minitestdb up --server x`.")
        self.assertEqual(_cli.as_invoked(message, "python -m minitestdb"), message)
        self.assertEqual(_cli.as_invoked("python -m minitestdb up", "minitestdb"), "python -m minitestdb up")  # only hints in backticks

    def test_said_as_invoked(self) -> None:
        error = MiniTestDBError("The server is gone: start it with `python -m minitestdb up --server x`.")
        for argv0, expected in (("/usr/bin/minitestdb", "`minitestdb up --server x`"), ("/src/minitestdb/__main__.py", "`python -m minitestdb up --server x`")):
            with self.subTest(argv0=argv0), mock.patch.object(_cli.sys, "argv", [argv0]), mock.patch.object(_cli, "cmd_url", side_effect=error), captured() as out:
                self.assertEqual(_cli.main(["url"]), 1)
            self.assertEqual(out.stderr.getvalue(), f"minitestdb: The server is gone: start it with {expected}.\n")

    def test_drop_command(self) -> None:
        cases = [
            ("minitestdb", "mtdb_a", "default", "`minitestdb drop --server default mtdb_a`"),
            ("minitestdb", "mtdb_a", "ci", "`minitestdb drop --server ci mtdb_a`"),
            ("python -m minitestdb", "mtdb_a", "ci", "`python -m minitestdb drop --server ci mtdb_a`"),
            ("minitestdb", "mtdb_a", None, "`minitestdb drop mtdb_a` with the same TEST_DATABASE_URL set"),
        ]
        for program, database, server, expected in cases:
            with self.subTest(server=server, program=program):
                self.assertEqual(_cli.drop_command(program, database, server=server), expected)

    def test_logs_hint(self) -> None:
        docker = mock.Mock(**{"inspect.return_value": None})
        with environment(), mock.patch.object(_cli, "DockerCLI", return_value=docker), mock.patch.object(_cli.sys, "argv", ["/bin/minitestdb"]), captured() as out:
            self.assertEqual(_cli.main(["logs", "--name", "ci"]), 1)
        self.assertEqual(out.stderr.getvalue(), "minitestdb: No minitestdb server named 'ci' exists: start it with `minitestdb up --server ci`.\n")


class DropTest(unittest.TestCase):
    CLONE = "mtdb_test_users_01234567_1a2b3f_1c0ffee"

    def test_what_may_be_dropped(self) -> None:
        for name in (self.CLONE, "mtdb_tmp_" + "ab" * 8 + "_1a2b3f_c0ffee", "mtdb_kept_test_login_fails_1", "mtdb_kept_x"):
            with self.subTest(name=name):
                self.assertTrue(_cli.droppable(name))
        for name in ("postgres", "myapp", "mtdb_tpl_" + "0" * 24, "test_1a2b3f_1c0ffee", "mtdb_kep_x", "kept_mtdb_kept_x"):
            with self.subTest(name=name):
                self.assertFalse(_cli.droppable(name))

    def test_only_minitestdb_clones_are_dropped(self) -> None:
        for target in ("postgres", "myapp", "mtdb_tpl_" + "0" * 24, "test_1a2b3f_1c0ffee", "postgresql://u:drop-pw-1@h:5/postgres"):
            with self.subTest(target=target), mock.patch("minitestdb._templates.drop_database") as drop, \
                    mock.patch.object(_cli, "up") as up, captured() as out:
                self.assertEqual(_cli.main(["drop", target]), 1)
            drop.assert_not_called()
            up.assert_not_called()
            line = out.stderr.getvalue()
            self.assertIn("minitestdb drops only its own clones and kept databases", line)
            self.assertEqual(line.count("\n"), 1)
            self.assertNotIn("drop-pw-1", line)

    def test_by_url_connects_to_the_maintenance_database(self) -> None:
        url = f"postgresql://app:drop-pw-2@db.internal:6543/{self.CLONE}?options=-c%20search_path%3Dx"
        admin = Endpoint(host="db.internal", port=6543, user="app", password="drop-pw-2", dbname="postgres")
        with mock.patch("minitestdb._templates.drop_database") as drop, mock.patch.object(_cli, "_database_exists", return_value=True) as exists, \
                mock.patch.object(_cli, "up") as up, captured() as out:
            self.assertEqual(_cli.main(["drop", url]), 0)
        up.assert_not_called()
        exists.assert_called_once_with(admin, self.CLONE)
        drop.assert_called_once_with(admin, self.CLONE)
        self.assertEqual(out.stderr.getvalue(), f"minitestdb: dropped {self.CLONE}\n")

    def test_by_name_uses_the_named_server_and_kept_databases_too(self) -> None:
        for name in (self.CLONE, "mtdb_kept_test_login_1"):
            with self.subTest(name=name), environment(TEST_DATABASE_URL="postgresql://u:ignored-pw@h:1/d"), mock.patch("minitestdb._templates.drop_database") as drop, \
                    mock.patch.object(_cli, "_database_exists", return_value=True), mock.patch.object(_cli, "up", return_value=fake_server()) as up, captured():
                self.assertEqual(_cli.main(["drop", name, "--server", "ci"]), 0)
            self.assertEqual(up.call_args.args[0], "ci")
            drop.assert_called_once_with(ENDPOINT, name)

    def test_by_name_on_test_database_url(self) -> None:
        url = "postgresql://app:drop-pw-4@db.internal:6543/app"
        with environment(TEST_DATABASE_URL=url), mock.patch("minitestdb._templates.drop_database") as drop, \
                mock.patch.object(_cli, "_database_exists", return_value=True), mock.patch.object(_cli.Server, "from_url", return_value=fake_server()) as from_url, \
                mock.patch.object(_cli, "up") as up, captured():
            self.assertEqual(_cli.main(["drop", self.CLONE]), 0)
        from_url.assert_called_once_with(url)
        up.assert_not_called()
        drop.assert_called_once_with(ENDPOINT, self.CLONE)

    def test_a_database_that_does_not_exist_is_an_error(self) -> None:
        for argv, where in (
            (["drop", self.CLONE, "--server", "ci"], "the server 'ci'"),
            (["drop", f"postgresql://app:drop-pw-5@db.internal:6543/{self.CLONE}"], "db.internal:6543"),
        ):
            with self.subTest(argv=argv), mock.patch("minitestdb._templates.drop_database") as drop, mock.patch.object(_cli, "_database_exists", return_value=False), \
                    mock.patch.object(_cli, "up", return_value=fake_server()), captured() as out:
                self.assertEqual(_cli.main(argv), 1)
            drop.assert_not_called()
            self.assertEqual(
                out.stderr.getvalue(),
                f"minitestdb: There is no database {self.CLONE} on {where}, so nothing was dropped: check the name and the server (--server, TEST_DATABASE_URL).\n",
            )


class LabelTest(unittest.TestCase):
    """--label means what name= means in the API: the template's for `template`, the clone's for `clone` and `run`."""

    def run_command(self, argv: list[str]) -> mock.Mock:
        server = fake_server()
        template = server.template.return_value
        template.name, template.built, template.build_seconds = "mtdb_tpl_x", False, 0.0
        for clone in (template.keep_clone.return_value, template.clone.return_value):
            clone.name, clone.url, clone.env = "mtdb_x", ENDPOINT.url, ENDPOINT.env
        with environment(), mock.patch.object(_cli, "up", return_value=server), mock.patch.object(_cli.subprocess, "Popen") as popen, captured():
            popen.return_value.wait.return_value = 0
            self.assertEqual(_cli.main(argv), 0)
        return server

    def test_table(self) -> None:
        # argv -> (the template's name=, the clone's name=; None: no clone)
        cases: list[tuple[list[str], str | None, str | None, str]] = [
            (["template", "--sql", "m", "--label", "users"], "users", None, ""),
            (["template", "--sql", "m"], None, None, ""),
            (["clone", "--sql", "m", "--label", "mine"], None, "mine", "keep_clone"),
            (["clone", "--sql", "m"], None, None, "keep_clone"),
            (["clone", "--sql", "m", "--label", "mine", "--template-label", "users"], "users", "mine", "keep_clone"),
            (["run", "--label", "mine", "--", "true"], None, "mine", "clone"),
            (["run", "--", "true"], None, "run", "clone"),
            (["run", "--template-label", "users", "--", "true"], "users", "run", "clone"),
        ]
        for argv, template_name, clone_name, method in cases:
            with self.subTest(argv=argv):
                server = self.run_command(argv)
                self.assertEqual(server.template.call_args.kwargs["name"], template_name)
                if method:
                    getattr(server.template.return_value, method).assert_called_once_with(clone_name)


class RunTest(unittest.TestCase):
    def test_no_command_is_an_error_before_any_server(self) -> None:
        for argv in (["run"], ["run", "--"], ["run", "--sql", "m", "--"]):
            with self.subTest(argv=argv), mock.patch.object(_cli, "up") as up, mock.patch.object(_cli, "start") as start, captured() as out:
                self.assertEqual(_cli.main(argv), 1)
            up.assert_not_called()
            start.assert_not_called()
            self.assertIn("run needs a command after --", out.stderr.getvalue())

    def run_cli(self, argv: list[str], *, wait: Any = 0, **env: str) -> tuple[int, Captured, mock.Mock, mock.Mock, mock.Mock]:
        server = fake_server()
        template = server.template.return_value
        template.name, template.built, template.build_seconds = "mtdb_tpl_x", False, 0.0
        database = template.clone.return_value
        database.name, database.url, database.env, database.endpoint = "mtdb_run_x", ENDPOINT.url, ENDPOINT.env, ENDPOINT
        with environment(**env), mock.patch.object(_cli, "up", return_value=server) as up, mock.patch.object(_cli, "start", return_value=server) as start, \
                mock.patch.object(_cli.Server, "from_url", return_value=server), mock.patch.object(_cli.subprocess, "Popen") as popen, captured() as out:
            popen.return_value.wait.side_effect = [wait, 0] if isinstance(wait, BaseException) else [wait]
            code = _cli.main(argv)
        self.popen = popen
        return code, out, database, up, start

    def test_sigterm_exits_143_and_ctrl_c_130_both_cleaning_up(self) -> None:
        for exc, expected in ((_cli.Terminated(), 143), (KeyboardInterrupt(), 130)):
            with self.subTest(exc=type(exc).__name__):
                code, out, database, _, _ = self.run_cli(["run", "--", "sleep", "60"], wait=exc)
                self.assertEqual(code, expected)
                database.drop.assert_called_once_with()
                self.assertTrue(out.stderr.getvalue().endswith("minitestdb: interrupted\n"))
        self.assertEqual((_cli.interrupted_exit_code(_cli.Terminated()), _cli.interrupted_exit_code(KeyboardInterrupt())), (143, 130))

    def test_sigterm_before_the_command_exits_143(self) -> None:
        with mock.patch.object(_cli, "cmd_status", side_effect=_cli.Terminated), captured() as out:
            self.assertEqual(_cli.main(["status"]), 143)
        self.assertEqual(out.stderr.getvalue(), "minitestdb: interrupted\n")

    def test_the_sigterm_handler_is_restored(self) -> None:
        before = _cli.signal.getsignal(_cli.signal.SIGTERM)
        seen = []
        with mock.patch.object(_cli, "cmd_status", side_effect=lambda args: seen.append(_cli.signal.getsignal(_cli.signal.SIGTERM)) or 0), captured():
            _cli.main(["status"])
        self.assertEqual(seen, [_cli._raise_terminated])
        self.assertEqual(_cli.signal.getsignal(_cli.signal.SIGTERM), before)

    def test_private_starts_and_removes_its_own_server(self) -> None:
        for wait, expected in ((3, 3), (_cli.Terminated(), 143)):
            with self.subTest(wait=wait):
                code, _, _, up, start = self.run_cli(["run", "--private", "--", "true"], wait=wait, TEST_DATABASE_URL="postgresql://u:p@h:1/d")
                self.assertEqual(code, expected)
                up.assert_not_called()
                start.assert_called_once()
                start.return_value.close.assert_called_once_with()

    def test_the_command_gets_the_database_and_none_of_the_callers_redirecting_variables(self) -> None:
        self.run_cli(["run", "--", "true"], PGSERVICE="production", PGOPTIONS="-c x=1", PGHOSTADDR="10.0.0.9", PGSSLMODE="require", HOME="/home/me")
        env = self.popen.call_args.kwargs["env"]
        self.assertEqual({key: env.get(key) for key in ("PGSERVICE", "PGOPTIONS", "PGHOSTADDR")}, {"PGSERVICE": None, "PGOPTIONS": None, "PGHOSTADDR": None})
        self.assertEqual((env["HOME"], env["PGSSLMODE"], env["PGPORT"]), ("/home/me", "require", str(ENDPOINT.port)))
        self.assertEqual((env["TEST_DATABASE_URL"], env["DATABASE_URL"]), (ENDPOINT.url, ENDPOINT.url))

    def test_keep_names_the_server_in_the_drop_command(self) -> None:
        cases = [
            ([], {}, "`minitestdb drop --server default mtdb_run_x`"),
            (["--server", "ci"], {}, "`minitestdb drop --server ci mtdb_run_x`"),
            ([], {"MINITESTDB_SERVER": "ci"}, "`minitestdb drop --server ci mtdb_run_x`"),
            ([], {"TEST_DATABASE_URL": "postgresql://u:keep-pw@h:1/d"}, "`minitestdb drop mtdb_run_x` with the same TEST_DATABASE_URL set"),
        ]
        for flag, env, expected in cases:
            with self.subTest(flag=flag, env=env), mock.patch.object(_cli.sys, "argv", ["/usr/bin/minitestdb"]):
                code, out, database, _, _ = self.run_cli(["run", "--keep", *flag, "--", "true"], **env)
            self.assertEqual(code, 0)
            database.keep.assert_called_once_with()
            database.drop.assert_not_called()
            self.assertIn(f"minitestdb: kept mtdb_run_x; drop it with {expected}\n", out.stderr.getvalue())
            self.assertNotIn("keep-pw", out.stderr.getvalue())


class UpTest(unittest.TestCase):
    URL = "postgresql://postgres:up%20pw%271@127.0.0.1:5999/postgres"

    def up(self, argv: list[str]) -> tuple[Captured, mock.Mock]:
        endpoint = Endpoint(host="127.0.0.1", port=5999, user="postgres", password="up pw'1", dbname="postgres")
        server = mock.Mock(url=endpoint.url, redacted_url=endpoint.redacted_url, env=endpoint.env, host="127.0.0.1", port=5999, user="postgres", dbname="postgres",
                           container_id="c" * 64, container_name="minitestdb-ci", image="postgres:18")
        server.name = "ci"
        server.diagnostics.to_dict.return_value = {"reused": True}
        with environment(), mock.patch.object(_cli, "up", return_value=server) as up, captured() as out:
            self.assertEqual(_cli.main(["up", "--name", "ci", *argv]), 0)
        self.assertEqual(up.call_args.args, ("ci",))
        self.assertRegex(out.stderr.getvalue(), r"^minitestdb: server 'ci' is ready at postgresql://postgres:\*\*\*@127\.0\.0\.1:5999/postgres \(\d+\.\d\d s\)\n$")
        return out, up

    def test_formats(self) -> None:
        self.assertEqual(self.up(["--format", "url"])[0].stdout.getvalue(), self.URL + "\n")
        self.assertEqual(
            self.up(["--format", "env"])[0].stdout.getvalue().splitlines(),
            [
                f"export TEST_DATABASE_URL={self.URL}",  # percent-encoded: nothing to quote
                f"export DATABASE_URL={self.URL}",
                "export PGHOST=127.0.0.1",
                "export PGPORT=5999",
                "export PGUSER=postgres",
                "export PGPASSWORD='up pw'\"'\"'1'",
                "export PGDATABASE=postgres",
            ],
        )
        expected = {"name": "ci", "url": self.URL, "host": "127.0.0.1", "port": 5999, "user": "postgres",
                    "dbname": "postgres", "container_id": "c" * 64, "container_name": "minitestdb-ci", "image": "postgres:18", "diagnostics": {"reused": True}}
        self.assertEqual(json.loads(self.up(["--format", "json"])[0].stdout.getvalue()), expected)
        self.assertEqual(json.loads(self.up(["--json"])[0].stdout.getvalue()), expected)

    def test_options_reach_up(self) -> None:
        _, up = self.up([])
        self.assertEqual(up.call_args.kwargs, {"image": None, "port": None, "timeout": DEFAULT_STARTUP_TIMEOUT, "password": None, "settings": None, "progress": None})
        _, up = self.up(["--password", "fixed-pw", "--setting", "max_connections=200", "--setting", "max_prepared_transactions=10", "--image", "postgres:16"])
        self.assertEqual(
            up.call_args.kwargs,
            {"image": "postgres:16", "port": None, "timeout": DEFAULT_STARTUP_TIMEOUT, "password": "fixed-pw",
             "settings": {"max_connections": "200", "max_prepared_transactions": "10"}, "progress": None},
        )

    def test_env_exports_are_shell_quoted(self) -> None:
        lines = _cli.env_exports("postgresql://u:p%20w@h:1/d", {"PGOPTIONS": "-c search_path=s", "PGPASSWORD": "p w", "ZZ": "z", "DATABASE_URL": "x"})
        self.assertEqual(lines, ["export TEST_DATABASE_URL=postgresql://u:p%20w@h:1/d", "export DATABASE_URL=x", "export PGPASSWORD='p w'",
                                 "export PGOPTIONS='-c search_path=s'", "export ZZ=z"])


class ProgressTest(unittest.TestCase):
    def test_progress_only_on_a_terminal(self) -> None:
        tty = mock.Mock()
        tty.isatty.return_value = True
        broken = mock.Mock()
        broken.isatty.side_effect = ValueError("closed")
        for stream, expected in ((io.StringIO(), None), (broken, None), (tty, _cli._say)):
            with self.subTest(stream=stream), mock.patch.object(_cli.sys, "stderr", stream):
                self.assertEqual(_cli._progress(), expected)

    def test_the_commands_that_wait_pass_it_on(self) -> None:
        server = fake_server()
        server.name = "ci"
        server.diagnostics.to_dict.return_value = {}
        tty = io.StringIO()
        tty.isatty = lambda: True  # type: ignore[method-assign]
        with environment(), mock.patch.object(_cli, "up", return_value=server) as up, captured(), mock.patch.object(_cli.sys, "stderr", tty):
            _cli.main(["up"])
        self.assertIs(up.call_args.kwargs["progress"], _cli._say)


class PsqlTest(unittest.TestCase):
    def psql(self, argv: list[str], **env: str) -> tuple[mock.Mock, mock.Mock, mock.Mock]:
        endpoint = Endpoint(host="127.0.0.1", port=5999, user="postgres", password="psql-cli-pw", dbname="postgres")
        server = fake_server(endpoint)
        with environment(**env), mock.patch.object(_cli, "attach", return_value=server) as attach, mock.patch.object(_cli.Server, "from_url", return_value=server) as from_url, \
                mock.patch.object(_cli.shutil, "which", return_value="/usr/bin/psql"), mock.patch.object(_cli.subprocess, "Popen") as call, \
                mock.patch.dict(_cli.os.environ, {"PGSERVICE": "prod"}), captured():
            handlers = []
            call.return_value.wait.side_effect = lambda: handlers.append(_cli.signal.getsignal(_cli.signal.SIGINT)) or 3
            before = _cli.signal.getsignal(_cli.signal.SIGINT)
            self.assertEqual(_cli.main(argv), 3)
        # Ctrl-C is psql's (it cancels a query) while it runs, ours again afterwards.
        self.assertEqual(handlers, [_cli.signal.SIG_IGN])
        self.assertEqual(_cli.signal.getsignal(_cli.signal.SIGINT), before)
        return attach, from_url, call

    def test_host_psql_gets_the_arguments_and_the_password_through_the_environment(self) -> None:
        for argv in (["psql", "--name", "ci", "--", "-c", "select 1"], ["psql", "--server", "ci", "-c", "select 1"], ["psql", "-c", "select 1", "--server", "ci"]):
            with self.subTest(argv=argv):
                attach, _, call = self.psql(argv)
                attach.assert_called_once_with("ci")
                self.assertEqual(call.call_args.args[0], ["/usr/bin/psql", "-c", "select 1"])
                env = call.call_args.kwargs["env"]
                self.assertEqual((env["PGPASSWORD"], env["PGPORT"]), ("psql-cli-pw", "5999"))
                self.assertNotIn("PGSERVICE", env)

    def test_test_database_url_unless_a_server_is_named(self) -> None:
        url = "postgresql://u:psql-url-pw@h:1/d"
        attach, from_url, _ = self.psql(["psql", "-d", "other", "-c", "select 1"], TEST_DATABASE_URL=url)
        from_url.assert_called_once_with(url)
        attach.assert_not_called()
        attach, from_url, _ = self.psql(["psql", "--server", "ci", "-c", "select 1"], TEST_DATABASE_URL=url)
        attach.assert_called_once_with("ci")
        from_url.assert_not_called()


class UrlTest(unittest.TestCase):
    def test_test_database_url_unless_a_server_is_named(self) -> None:
        url = "postgresql://u:url-cmd-pw@h:1/d"
        shared = fake_server()
        given = fake_server(Endpoint.from_url(url))
        for argv, env, expected in (
            (["url"], {"TEST_DATABASE_URL": url}, url),
            (["url", "--server", "ci"], {"TEST_DATABASE_URL": url}, ENDPOINT.url),
            (["url"], {}, ENDPOINT.url),
        ):
            with self.subTest(argv=argv, env=env), environment(**env), mock.patch.object(_cli, "attach", return_value=shared), \
                    mock.patch.object(_cli.Server, "from_url", return_value=given), captured() as out:
                self.assertEqual(_cli.main(argv), 0)
            self.assertEqual(out.stdout.getvalue(), expected + "\n")


class DoctorTest(FakeDockerMixin):
    def test_an_unreachable_engine_is_never_ok(self) -> None:
        self.use_fake_docker("daemon-down")
        with captured() as out:
            self.assertEqual(_cli.main(["doctor", "--image", "postgres:17"]), 1)
        lines = out.stdout.getvalue().splitlines()
        status = {line.split(":", 1)[0].split(None, 1)[1]: line.split(None, 1)[0] for line in lines}
        self.assertEqual(
            status,
            {"docker CLI": "ok", "Docker engine": "problem", "engine kind": "ok", "socket permission": "skipped", "image": "skipped", "host psql": "ok", "pg8000": "ok"},
        )
        self.assertIn("skipped  socket permission: the engine did not answer, so its socket could not be tried", lines)

    def test_permission_denied_is_a_problem(self) -> None:
        self.use_fake_docker("permission")
        with captured() as out:
            self.assertEqual(_cli.main(["doctor"]), 1)
        self.assertIn("problem  socket permission: denied -> add your user to the 'docker' group", out.stdout.getvalue())

    def test_no_docker_cli_skips_what_needs_it(self) -> None:
        with mock.patch.dict(_cli.os.environ, {"MINITESTDB_DOCKER": "/nonexistent/docker"}), captured() as out:
            self.assertEqual(_cli.main(["doctor"]), 1)
        starts = [line.split(":", 1)[0] for line in out.stdout.getvalue().splitlines()[:5]]
        self.assertEqual(starts, ["problem  docker CLI", "skipped  Docker engine", "ok       engine kind", "skipped  socket permission", "skipped  image"])

    def engine_line(self, **environ: str) -> str:
        from minitestdb import _server

        self.use_fake_docker("daemon-down")
        cleared = dict.fromkeys(("DOCKER_HOST", "DOCKER_CONTEXT", "CONTAINER_HOST", "MINITESTDB_HOST"), "")
        with mock.patch.dict(_cli.os.environ, {**cleared, "DOCKER_CONFIG": "/nonexistent", **environ}), mock.patch.dict(_server._ENGINES, clear=True), captured() as out:
            _cli.main(["doctor"])
        return next(line for line in out.stdout.getvalue().splitlines() if "engine kind:" in line)

    def test_the_engine_kind_and_where_servers_are_reached(self) -> None:
        self.assertEqual(self.engine_line(), "ok       engine kind: local (the default socket): servers are published on 127.0.0.1 only")
        self.assertEqual(
            self.engine_line(DOCKER_HOST="tcp://10.200.7.2:2375"),
            "ok       engine kind: remote (DOCKER_HOST=tcp://10.200.7.2:2375): servers are published on a non-loopback address of the engine "
            "(0.0.0.0: all its addresses) and reached at 10.200.7.2, each with its own random password",
        )
        self.assertIn("reached at nat.example (MINITESTDB_HOST)", self.engine_line(DOCKER_HOST="tcp://10.0.0.5:2375", MINITESTDB_HOST="nat.example"))

    def test_an_ssh_engine_without_a_host_is_a_problem_saying_what_to_do(self) -> None:
        line = self.engine_line(DOCKER_HOST="ssh://me@build-host")
        self.assertTrue(line.startswith("problem  engine kind: DOCKER_HOST is an ssh:// engine (build-host)"), line)
        self.assertIn("set MINITESTDB_HOST to an address of build-host", line)


load_tests = doctests(_cli)

if __name__ == "__main__":
    unittest.main()
