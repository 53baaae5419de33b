"""Imports take what QEMU would hold, name what they could not map, and read text given on
the command line; their errors name the flag, the value and what is accepted."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from sim.cli import app
from sim.imports import ImportError_, from_qmp, from_virsh, import_text
from sim.qemu import QmpMonitor
from sim.scenario import DATA_DIR, load_scenario
from sim.units import MiB

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = DATA_DIR / "examples"
runner = CliRunner()


def _qmp(command: str, **arguments: object) -> dict[str, object]:
    return {"execute": command, "arguments": arguments} if arguments else {"execute": command}


def _desc(version: str, *requests: dict[str, object]) -> str:
    """QEMU's reply to the last request after the others, from the emulator."""
    mon = QmpMonitor(version)
    for request in requests[:-1]:
        mon.execute(request)
    return str(mon.execute(requests[-1])["error"]["desc"])


# ------------------------------------------------------------------------- README example


def test_readme_import_example_runs_as_written() -> None:
    """The ``miglab import`` line of the README runs unchanged: the virsh text itself is the
    argument, not a file name."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = re.findall(r"^\$ (miglab import .*)$", readme, flags=re.MULTILINE)
    assert lines, "the README shows a miglab import example"
    for line in lines:
        words = shlex.split(line.split("#")[0])
        assert not any(Path(w).exists() for w in words[2:] if not w.startswith("-")), line
        result = runner.invoke(app, words[1:])
        assert result.exit_code == 0, result.output
        data = yaml.safe_load(result.stdout)
        assert data["parameters"]["max-bandwidth"] == 500 * MiB
        assert data["capabilities"] == {"auto-converge": True}


def test_import_reads_standard_input_and_refuses_text_of_another_format(
        tmp_path: Path) -> None:
    """``-`` reads stdin; a missing file that is not the format's text is an error naming
    the argument and what text of the format starts with; a file still wins."""
    res = runner.invoke(app, ["import", "--from", "virsh", "-"],
                        input="virsh migrate --live --bandwidth 64 vm q\n")
    assert res.exit_code == 0, res.output
    assert yaml.safe_load(res.stdout)["parameters"]["max-bandwidth"] == 64 * MiB
    res = runner.invoke(app, ["import", "--from", "virsh", str(tmp_path / "nope.sh")])
    assert res.exit_code == 1
    assert f"{tmp_path / 'nope.sh'}: no such file" in res.stderr
    assert "'virsh'" in res.stderr
    assert "Traceback" not in res.output
    request = json.dumps(_qmp("migrate-set-parameters", **{"downtime-limit": 800}))
    res = runner.invoke(app, ["import", "--from", "qmp", request])
    assert res.exit_code == 0, res.output
    assert yaml.safe_load(res.stdout)["parameters"] == {"downtime-limit": 800}
    virsh_named = tmp_path / "virsh migrate"  # an existing file is read, even if its name
    virsh_named.write_text("virsh migrate --live --bandwidth 32 vm q\n")  # looks like text
    res = runner.invoke(app, ["import", "--from", "virsh", str(virsh_named)])
    assert yaml.safe_load(res.stdout)["parameters"]["max-bandwidth"] == 32 * MiB


# ------------------------------------------------------------------------- QMP replay


def test_qmp_import_keeps_only_what_qemu_accepted() -> None:
    """A refused second set changes nothing: the accepted 500 ms and 4 channels stay, and
    each refusal is a note carrying QEMU's own reply."""
    first = _qmp("migrate-set-parameters", **{"downtime-limit": 500, "multifd-channels": 4})
    refused = [_qmp("migrate-set-parameters", **{"downtime-limit": 99999999}),
               _qmp("migrate-set-parameters", **{"multifd-channels": 256})]
    log = "\n".join(json.dumps(r) for r in (_qmp("qmp_capabilities"), first, *refused))
    notes: list[str] = []
    data = from_qmp(log, notes=notes)
    assert data["parameters"] == {"downtime-limit": 500, "multifd-channels": 4}
    assert len(notes) == 2
    for request, note in zip(refused, notes, strict=True):
        assert _desc("8.2", first, request) in note
        assert "refused" in note


def test_qmp_import_follows_the_release() -> None:
    """multifd with XBZRLE: refused by 8.2 (nothing imported, a note), accepted by 7.2."""
    caps = _qmp("migrate-set-capabilities", capabilities=[
        {"capability": "multifd", "state": True}, {"capability": "xbzrle", "state": True}])
    notes: list[str] = []
    assert "capabilities" not in from_qmp(json.dumps(caps), qemu="8.2", notes=notes)
    assert notes
    assert _desc("8.2", caps) in notes[0]
    data = import_text(json.dumps(caps), "qmp", {"qemu": "8.2"}, qemu="7.2")
    assert data["capabilities"] == {"multifd": True, "xbzrle": True}
    assert data["qemu"] == "7.2"
    with pytest.raises(ImportError_, match=r"--qemu '6\.0'.*expected one of 7\.2"):
        import_text("{}", "qmp", qemu="6.0")


def test_qmp_import_of_the_example_log_with_a_base() -> None:
    """``miglab import --from qmp data/examples/commands.jsonl --base web-8g.yaml``: the
    refused multifd+XBZRLE and 256 channels are notes, the result is a valid scenario."""
    res = runner.invoke(app, ["import", "--from", "qmp", str(EXAMPLES / "commands.jsonl"),
                              "--base", str(EXAMPLES / "web-8g.yaml")])
    assert res.exit_code == 0, res.output
    sc = load_scenario(yaml.safe_load(res.stdout))
    assert sc.parameters.multifd_channels == 4
    assert sc.parameters.downtime_limit == 500
    assert not sc.capabilities["multifd"]
    assert not sc.capabilities["xbzrle"]
    refusals = [line for line in res.stderr.splitlines() if "refused by QEMU 8.2" in line]
    assert len(refusals) == 2
    assert any("multifd-channels" in line and "uint8_t" in line for line in refusals)


def test_qmp_import_of_a_postcopy_start_qemu_refuses() -> None:
    """migrate-start-postcopy without postcopy-ram is refused, so no postcopy is imported."""
    log = "\n".join(json.dumps(r) for r in (_qmp("migrate", uri="tcp:b:4444"),
                                            _qmp("migrate-start-postcopy")))
    notes: list[str] = []
    assert "control" not in from_qmp(log, notes=notes)
    assert any("migrate-start-postcopy" in n and "refused" in n for n in notes)


# ------------------------------------------------------------------------- virsh


def test_virsh_unmapped_flags_are_notes() -> None:
    """A flag the import does not map is a note naming it; bookkeeping flags are not."""
    notes: list[str] = []
    data = from_virsh("virsh migrate --live --p2p --bogus-flag --tls --bandwidth=200 vm1 "
                      "qemu+ssh://dst/system", notes=notes)
    assert data["parameters"] == {"max-bandwidth": 200 * MiB}
    assert [n.split(":")[0] for n in notes] == ["--bogus-flag", "--tls"]


@pytest.mark.parametrize(("line", "flag", "value", "accepted"), [
    ("virsh migrate --live --bandwidth abc vm q", "--bandwidth", "'abc'", "MiB/s"),
    ("virsh migrate --live --bandwidth -5 vm q", "--bandwidth", "'-5'", "MiB/s"),
    ("virsh migrate --live --auto-converge-initial 2.5 vm q", "--auto-converge-initial",
     "'2.5'", "percentage"),
    ("virsh migrate-setmaxdowntime vm 1s", "downtime", "'1s'", "milliseconds"),
    ("timeout --signal=INT soon virsh migrate --live vm q", "timeout", "'soon'", "duration"),
])
def test_virsh_bad_values_name_flag_value_and_form(line: str, flag: str, value: str,
                                                   accepted: str) -> None:
    """A value virsh would not take is an error naming the flag, the value and the form."""
    with pytest.raises(ImportError_) as err:
        import_text(line, "virsh")
    message = str(err.value)
    assert flag in message
    assert value in message
    assert accepted in message
    assert "invalid literal" not in message


def test_virsh_bad_value_on_the_command_line_is_one_line() -> None:
    """Through the CLI: exit 1 and one ``miglab:`` line, no traceback."""
    res = runner.invoke(app, ["import", "--from", "virsh",
                              "virsh migrate --live --bandwidth abc vm1 qemu+ssh://d/system"])
    assert res.exit_code == 1
    assert res.stderr.startswith("miglab: virsh migrate --bandwidth 'abc'")
    assert "whole number of MiB/s" in res.stderr
    assert "Traceback" not in res.output


def test_virsh_timeout_wrapper_takes_timeout_units() -> None:
    """``timeout 10m virsh migrate …`` is 600 s, as timeout(1) reads it."""
    data = from_virsh("timeout --signal=INT 10m virsh migrate --live vm q")
    assert data["control"] == {"timeout": 600.0}
