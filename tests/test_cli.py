"""The ``miglab`` command line: validate a scenario, talk QMP to an emulated QEMU, get help.

The CLI is a thin shell over the library, so these tests check what a shell user sees:
exit codes, QEMU's message on the first line, the JSON shapes, and the replies of
``miglab qmp`` for JSON lines, a JSON array and standard input.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sim.cli import app

runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "examples"

VALID = "vm: {memory: 8GiB}\nworkload: {dirty-rate: 100MiB/s}\nparameters: {downtime-limit: 500}\n"
INVALID = (
    "qemu: '8.2'\n"
    "vm: {memory: 4GiB, vcpus: 0}\n"
    "parameters: {multifd-channels: 0}\n"
    "capabilities: {multifd: true, xbzrle: true}\n"
)


@pytest.fixture
def scenario_file(tmp_path: Path) -> Callable[[str], Path]:
    """Write scenario text to a file and return its path."""
    def write(text: str) -> Path:
        path = tmp_path / "scenario.yaml"
        path.write_text(text)
        return path
    return write


def test_validate_valid_scenario_exits_0(scenario_file: Callable[[str], Path]) -> None:
    """A valid scenario prints 'valid' and exits 0."""
    path = scenario_file(VALID)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == f"{path}: valid"


def test_validate_invalid_prints_qemus_message_first(scenario_file: Callable[[str], Path]) -> None:
    """An invalid scenario exits 1 and its first line is what QEMU would reply."""
    result = runner.invoke(app, ["validate", str(scenario_file(INVALID))])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == "QEMU would reply: Multifd is not compatible with xbzrle"
    assert "3 problem(s)" in lines[1]
    assert "multifd_channels" in lines[3]
    assert "vm.vcpus" in lines[4]


def test_validate_json_report(scenario_file: Callable[[str], Path]) -> None:
    """--json prints {"valid", "errors": [{"field", "value", "message"}]} with QEMU's first."""
    result = runner.invoke(app, ["validate", str(scenario_file(INVALID)), "--json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["valid"] is False
    assert report["errors"][0] == {"field": "capabilities.multifd", "value": True,
                                   "message": "Multifd is not compatible with xbzrle"}
    assert report["errors"][1] == {
        "field": "parameters.multifd-channels", "value": 0,
        "message": "Parameter 'multifd_channels' expects a value between 1 and 255"}
    assert all(set(e) == {"field", "value", "message"} for e in report["errors"])


def test_validate_json_for_a_valid_scenario(scenario_file: Callable[[str], Path]) -> None:
    """A valid scenario's JSON report says valid with no errors, and exits 0."""
    result = runner.invoke(app, ["validate", str(scenario_file(VALID)), "--json"])
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert (report["valid"], report["errors"]) == (True, [])


def test_validate_missing_file_exits_1(tmp_path: Path) -> None:
    """A file that does not exist is a problem, not a traceback."""
    result = runner.invoke(app, ["validate", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 1
    assert "nope.yaml" in result.stdout
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize(("name", "code"), [("web-8g.yaml", 0), ("db-32g-postcopy.yaml", 0),
                                            ("invalid.yaml", 1)])
def test_shipped_examples_validate_as_documented(name: str, code: int) -> None:
    """The example scenarios under data/examples validate (or fail) as their comments say."""
    assert runner.invoke(app, ["validate", str(EXAMPLES / name)]).exit_code == code


# ---------------------------------------------------------------------------- qmp

SESSION = [
    {"execute": "qmp_capabilities"},
    {"execute": "migrate-set-capabilities", "arguments": {"capabilities": [
        {"capability": "multifd", "state": True}, {"capability": "postcopy-ram", "state": True}]}},
    {"execute": "migrate-set-parameters", "arguments": {"multifd-channels": 256}},
    {"execute": "query-version", "id": "v"},
]
REPLIES_72 = [
    {"return": {}},
    {"return": {}},
    {"error": {"class": "GenericError",
               "desc": "Parameter 'multifd-channels' expects uint8_t"}},
    {"return": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": ""}, "id": "v"},
]


def replies(stdout: str) -> list[object]:
    """One JSON reply per output line."""
    return [json.loads(line) for line in stdout.splitlines()]


def test_qmp_json_lines(tmp_path: Path) -> None:
    """A file of JSON lines gets one reply per line, as QEMU 7.2 answers them."""
    path = tmp_path / "cmds.jsonl"
    path.write_text("\n".join(json.dumps(c) for c in SESSION) + "\n\n")
    result = runner.invoke(app, ["qmp", "--qemu", "7.2", str(path)])
    assert result.exit_code == 0
    assert replies(result.stdout) == REPLIES_72


def test_qmp_json_array(tmp_path: Path) -> None:
    """A file holding one JSON array of commands gets the same replies."""
    path = tmp_path / "cmds.json"
    path.write_text(json.dumps(SESSION, indent=2))
    result = runner.invoke(app, ["qmp", "--qemu", "7.2", str(path)])
    assert result.exit_code == 0
    assert replies(result.stdout) == REPLIES_72


def test_qmp_reads_stdin() -> None:
    """'-' reads the commands from standard input."""
    text = "\n".join(json.dumps(c) for c in SESSION)
    result = runner.invoke(app, ["qmp", "--qemu", "7.2", "-"], input=text)
    assert result.exit_code == 0
    assert replies(result.stdout) == REPLIES_72


def test_qmp_release_changes_the_answer() -> None:
    """The same commands under 8.2 refuse postcopy-ram with multifd."""
    text = json.dumps(SESSION[1])
    result = runner.invoke(app, ["qmp", "--qemu", "8.2", "-"], input=text)
    assert replies(result.stdout) == [{"error": {
        "class": "GenericError", "desc": "Postcopy is not yet compatible with multifd"}}]


def test_qmp_bad_json_line_gets_a_reply() -> None:
    """A line that is not JSON gets an error reply and the session goes on."""
    result = runner.invoke(app, ["qmp", "--qemu", "8.2", "-"],
                           input='{"execute": \n{"execute": "query-migrate"}\n')
    assert result.exit_code == 0
    got = replies(result.stdout)
    assert got[0]["error"]["class"] == "GenericError"
    assert got[1] == {"return": {}}


def test_qmp_unknown_release_exits_1() -> None:
    """An unknown --qemu release is one clear message on stderr and exit 1."""
    result = runner.invoke(app, ["qmp", "--qemu", "6.0", "-"], input="")
    assert result.exit_code == 1
    assert "unknown QEMU release" in result.stderr


def test_qmp_example_session() -> None:
    """data/examples/commands.jsonl runs under 8.2 with the documented refusals."""
    result = runner.invoke(app, ["qmp", "--qemu", "8.2", str(EXAMPLES / "commands.jsonl")])
    got = replies(result.stdout)
    assert got[1] == {"error": {"class": "GenericError",
                                "desc": "Multifd is not compatible with xbzrle"}}
    assert got[3] == {"error": {"class": "GenericError",
                                "desc": "Parameter 'multifd-channels' expects uint8_t"}}
    assert got[4]["id"] == 1


# --------------------------------------------------------------------------- help

@pytest.mark.parametrize(
    ("args", "words"),
    [
        pytest.param(["--help"], ["validate", "qmp", "simulate"], id="miglab"),
        pytest.param(["validate", "--help"], ["--json", "scenario file"], id="validate"),
        pytest.param(["qmp", "--help"], ["--qemu", "--incoming", "--no-userfaultfd"], id="qmp"),
        pytest.param(["simulate", "--help"], ["--json", "--timeline", "--seed"], id="simulate"),
        pytest.param(["serve", "--help"], ["--port"], id="serve"),
    ],
)
def test_help_exits_0_and_names_the_options(args: list[str], words: list[str]) -> None:
    """--help works for the app and each subcommand and mentions the key options."""
    result = runner.invoke(app, args, env={"COLUMNS": "200", "NO_COLOR": "1",
                                           "TERM": "dumb"})
    assert result.exit_code == 0
    for word in words:
        assert word in result.stdout


def test_a_directory_or_unwritable_path_gives_a_message_not_a_traceback(tmp_path: Path) -> None:
    """A directory given as the scenario, or as the --timeline file, and a --timeline in a
    directory that does not exist: status 1 and one ``miglab:`` line naming the path."""
    web = str(EXAMPLES / "web-8g.yaml")
    for args in (["validate", str(tmp_path)], ["simulate", str(tmp_path)],
                 ["simulate", web, "--timeline", str(tmp_path)],
                 ["simulate", web, "--timeline", str(tmp_path / "no" / "t.csv")]):
        result = runner.invoke(app, args)
        assert result.exit_code == 1, args
        assert not isinstance(result.exception, OSError), args
        assert str(tmp_path) in result.output, args
        assert "Traceback" not in result.output


def test_seed_out_of_range_is_refused() -> None:
    """The seed a scenario file accepts (0 to 2^32-1) is also what --seed accepts."""
    result = runner.invoke(app, ["simulate", str(EXAMPLES / "web-8g.yaml"), "--seed", "-1"])
    assert result.exit_code == 1
    assert "--seed -1" in result.output


def test_version() -> None:
    """``miglab --version`` prints the installed package's version."""
    from importlib.metadata import version

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"miglab {version('miglab')}"
