"""Hostile and careless input (issue 12): nothing outside the data folders is read, every
input is bounded, and bad input gets a clear refusal, never a hang or a traceback.

Each test quotes an input from the issue. Commands run through typer's runner, or as a
real subprocess with a timeout where the danger is a hang (a FIFO, ``/dev/zero``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sim import MiglabError
from sim._bounded import MAX_DEPTH, load_yaml, loads_json
from sim._exceptions import InputError, ScenarioError
from sim.cli import app
from sim.fleet import FleetError, load_inventory, plan_drain
from sim.imports import ImportError_, import_text
from sim.policies import policy_dirs
from sim.qemu import QmpMonitor
from sim.scenario import load_scenario, parse_scenario_text, read_scenario_file, validate
from sim.sweep import AxisError, SweepError, expand, parse_axis, run_sweep
from sim.ui import decode_scenario, encode_scenario

runner = CliRunner()
SECRET = "db_password: hunter2\nroot: '*:19000:0:99999:7:::'\n"
VM = {"memory": "1GiB"}

# A 9-level "billion laughs": 10^9 values once its aliases are expanded, in a few hundred
# bytes. The 388-byte bomb is of this shape.
BOMB = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi",
                                                              strict=True))


def _problems(source: object) -> list[str]:
    return [f"{p.field}: {p.message} {p.value!r}" for p in validate(source).problems]  # type: ignore[arg-type]


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    """A file outside data/ whose content must never come back."""
    path = tmp_path / "secret.yaml"
    path.write_text(SECRET)
    return path


# ------------------------------------------------------------ 1. files named by input


@pytest.mark.parametrize("name", ["/etc/shadow", "/etc/passwd", "../../../../etc/passwd",
                                  "../policies/../../README.md"])
def test_a_policy_file_outside_data_policies_is_refused_unread(name: str) -> None:
    """``control.policy.file`` cannot name a host file: absolute paths and ``..`` are
    refused with a message that names only the value given."""
    problems = _problems({"vm": VM, "control": {"policy": {"kind": "nova", "file": name}}})
    assert len(problems) == 1
    assert problems[0].startswith("control.policy.file: ")
    assert "outside the data folders" in problems[0]
    assert "root:" not in problems[0]


def test_a_secret_file_is_never_echoed(secret: Path) -> None:
    """The issue's leak: a file with ``db_password: hunter2`` came back as field names."""
    for name in (str(secret), os.path.relpath(secret)):
        text = " ".join(_problems({"vm": VM, "control": {"policy": {"kind": "nova",
                                                                    "file": name}}}))
        assert "hunter2" not in text
        assert "db_password" not in text
        assert "control.policy.file" in text


def test_a_folder_given_explicitly_is_read(tmp_path: Path) -> None:
    """``policy_dirs`` (the CLI's ``--policy-dir``) opens one more shelf, and only that."""
    (tmp_path / "mine.yaml").write_text("kind: nova\nlive_migration_downtime: 300\n")
    raw = {"vm": VM, "control": {"policy": {"kind": "nova", "file": "mine"}}}
    assert "no such file" in _problems(raw)[0]
    with policy_dirs([tmp_path]):
        sc = load_scenario(raw)
    # the options are kept in the scenario: the engine never opens the file again
    assert sc.control.policy is not None
    assert sc.control.policy["live_migration_downtime"] == 300
    assert "file" not in sc.control.policy


def test_a_symlink_out_of_an_allowed_folder_is_refused(tmp_path: Path, secret: Path) -> None:
    """A name that resolves (through a symlink) outside the shelf is not followed."""
    shelf = tmp_path / "shelf"
    shelf.mkdir()
    (shelf / "evil.yaml").symlink_to(secret)
    with policy_dirs([shelf]):
        text = " ".join(_problems({"vm": VM, "control": {"policy": {"kind": "nova",
                                                                    "file": "evil"}}}))
    assert "no such file 'evil'" in text
    assert "hunter2" not in text


def test_the_cli_policy_dir_flag(tmp_path: Path) -> None:
    """``miglab --policy-dir DIR validate`` accepts a policy file from DIR."""
    (tmp_path / "mine.yaml").write_text("kind: proxmox\n")
    scenario = tmp_path / "s.yaml"
    scenario.write_text("vm: {memory: 1GiB}\ncontrol: {policy: {kind: proxmox, file: mine}}\n")
    assert runner.invoke(app, ["validate", str(scenario)]).exit_code == 1
    ok = runner.invoke(app, ["--policy-dir", str(tmp_path), "validate", str(scenario)])
    assert ok.exit_code == 0, ok.output


def test_an_inventory_cannot_name_a_host_file(secret: Path) -> None:
    """The drain inventory's ``policy`` column goes through the same gate."""
    inv = load_inventory({"vms": [{"name": "a", "host": "h1", "memory": "1GiB",
                                   "policy": {"kind": "nova", "file": str(secret)}}]})
    plan = plan_drain(inv)
    problem = plan.problems["a"]
    assert problem.field == "control.policy.file"
    assert "outside the data folders" in problem.message
    assert "hunter2" not in str(plan.vms.to_dict())


def test_a_dashboard_link_never_names_a_file() -> None:
    """A shared ``?s=`` link that names a file is refused before anything is read; a link
    that picks a shipped policy preset by name still works."""
    bad = encode_scenario({"vm": VM, "control": {"policy": {"kind": "nova",
                                                            "file": "/etc/shadow"}}})
    with pytest.raises(ScenarioError, match="names a policy file"):
        decode_scenario(bad)
    good = encode_scenario({"vm": VM, "control": {"policy": {"kind": "nova",
                                                             "file": "nova-default"}}})
    assert load_scenario(decode_scenario(good)).control.policy is not None


# --------------------------------------------------------------- 2. unbounded input


def _miglab(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from sim.cli import main; main()", *args],
                          capture_output=True,
                          text=True, timeout=timeout, check=False)


def test_dev_zero_is_refused_at_one_mib_not_read_forever() -> None:
    """``/dev/zero`` has ``st_size`` 0; the old cap trusted it and grew to 24 GB."""
    with pytest.raises(ScenarioError, match="not a regular file"):
        read_scenario_file("/dev/zero")
    proc = _miglab("validate", "/dev/zero")
    assert proc.returncode == 1
    assert "not a regular file" in proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    """Opening a FIFO for reading blocks until a writer comes; miglab does not wait."""
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    proc = _miglab("validate", str(fifo), timeout=30)
    assert proc.returncode == 1
    assert "not a regular file" in proc.stderr + proc.stdout


def test_a_proc_file_is_refused(tmp_path: Path) -> None:
    """``/proc`` files report size 0 too: refused as not regular (or too large)."""
    with pytest.raises(ScenarioError):
        read_scenario_file("/proc/self/environ")


def test_a_file_over_one_mib_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("name: x\n" + "#" * (1 << 20))
    with pytest.raises(ScenarioError, match="larger than the 1048576 bytes"):
        read_scenario_file(path)


@pytest.mark.parametrize("where", ["name: *i\n", "extra: *i\n",
                                   "workload: {description: *i}\n"])
def test_an_alias_bomb_is_refused_at_once(where: str) -> None:
    """The bomb in ``name``, in an unknown key, or in ``workload.description`` (which
    passed validation and then blew up ``sweep`` and ``export``) is refused while read."""
    text = BOMB + "vm: {memory: 1GiB}\n" + where
    assert len(text.encode()) < 600
    start = time.perf_counter()
    with pytest.raises(ScenarioError, match="more than 200000 values once aliases"):
        parse_scenario_text(text, "bomb.yaml")
    assert time.perf_counter() - start < 5  # a generous bound: it used to run > 60 s


def test_aliases_within_limits_still_work() -> None:
    """YAML anchors are a legitimate way to reuse a value."""
    data = parse_scenario_text("base: &m 2GiB\nvm: {memory: *m}\n", "ok")
    assert data["vm"] == {"memory": "2GiB"}


# ----------------------------------------------------- 3./4. values validate accepted


@pytest.mark.parametrize(("host", "field"), [
    ({"link": 1e-308}, "host.link"),
    ({"channel-rate": 1e-308}, "host.channel-rate"),
    ({"zlib-rate": 1e-308}, "host.zlib-rate"),
    ({"zero-scan-rate": 0}, "host.zero-scan-rate"),
    ({"xbzrle-rate": 0}, "host.xbzrle-rate"),
    ({"zlib-rate": 0}, "host.zlib-rate"),
    ({"zstd-rate": 0}, "host.zstd-rate"),
    ({"setup": 1e308}, "host.setup"),
    ({"stop": "744h"}, "host.stop"),  # 31 days: readable, but over the cap
    ({"link": "1e300Gbit/s"}, "host.link"),
])
def test_rates_and_durations_outside_physical_ranges_are_refused(host: dict[str, object],
                                                                 field: str) -> None:
    """These hung the engine (a rate of 1e-308 B/s) or crashed it (a rate of 0,
    ``setup: 1e308``); they are now refused at validation, naming the field."""
    problems = validate({"vm": VM, "host": host}).problems
    assert [p.field for p in problems] == [field]


def test_an_idle_guest_is_still_a_dirty_rate_of_zero() -> None:
    """0 stays accepted where it means something: a guest that writes nothing."""
    assert validate({"vm": VM, "workload": {"dirty-rate": 0}}).valid


def test_a_one_nanosecond_poller_is_refused() -> None:
    """``poll-s: 1ns`` ran > 300 s; the floor is one 100 ms rate-limit window."""
    rules = [{"when": {"after-s": 5}, "do": {"cancel": True}}]
    problems = validate({"vm": VM, "control": {"policy": {
        "kind": "custom", "poll-s": "1ns", "rules": rules}}}).problems
    assert [p.field for p in problems] == ["control.policy.poll-s"]
    assert "at least 100ms" in problems[0].message


def test_guests_beyond_the_address_space_are_refused() -> None:
    assert [p.field for p in validate({"vm": {"memory": "8P"}}).problems] == ["vm.memory"]


# ------------------------------------------------------------------ 5. no tracebacks


@pytest.mark.parametrize("text", [
    "vm: {memory: 1GiB, vcpus: " + "9" * 5000 + "}\n",          # over 4,300 digits
    "vm: {memory: 1GiB}\nseed: 1e400\n",                         # float overflow
    "vm: " + "[" * 1000 + "]" * 1000 + "\n",                    # deep nesting
    "vm: &a {memory: 1GiB, again: *a}\n",                        # a circular alias
    "vm: {memory: 1GiB}\nname: !!python/object/apply:os.system [ls]\n",
    "vm: {memory: 1GiB}\nname: !!binary aGVsbG8=\n",
    "vm: {memory: 1GiB}\nname: !!int abc\n",
    "vm: {memory: 1GiB}\nwhen: !!timestamp 2020-13-45\n",
    "? [a, b]\n: 1\n",
])
def test_malformed_yaml_is_one_clear_error(text: str) -> None:
    """Each of these raised a Python exception (RecursionError, ValueError, …)."""
    with pytest.raises(ScenarioError, match="not valid YAML or JSON"):
        parse_scenario_text(text, "s.yaml")


def test_huge_integers_in_a_dict_are_problems_not_overflow() -> None:
    """Integers above 1.8e308 come through the API (not YAML, which caps digits)."""
    huge = 10**400
    problems = validate({"vm": {"memory": huge, "vcpus": huge}, "seed": huge,
                         "workload": {"zero-fraction": huge, "dirty-rate": huge,
                                      "dirty-curve": [[huge, 0.5]]},
                         "host": {"link": huge, "migration-cpus": huge}}).problems
    assert {p.field for p in problems} >= {"vm.memory", "vm.vcpus", "seed",
                                           "workload.zero-fraction", "host.link"}


def test_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ScenarioError, match=r"not UTF-8 text \(byte 9 is 0xe9\)"):
        read_scenario_file(path)


def test_invalid_yaml_in_a_policy_file_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("kind: nova\nlive_migration_downtime: [\n")
    with policy_dirs([tmp_path]):
        problems = validate({"vm": VM, "control": {"policy": {"kind": "nova",
                                                              "file": "broken"}}}).problems
    assert [p.field for p in problems] == ["control.policy.file"]
    assert "not valid YAML" in problems[0].message


@pytest.mark.parametrize(("text", "words"), [
    ("vms: [\n", "not valid YAML"),
    ("vms: [{name: a, host: h, memory: 1GiB}]\ndefaults: {host: [1]}\n", "defaults.host"),
    ("vms: [{name: a, host: h, memory: 1GiB}]\nhosts: {h: fast}\n", "hosts.h"),
    ("vms: [{name: a, host: h, memory: 1GiB, overrides: [1]}]\n", "overrides must map"),
    ("vms: [{name: a, host: h, memory: 1GiB}]\ndefaults: [1]\n", "'defaults' must be"),
])
def test_inventories_with_wrong_types_are_fleet_errors(tmp_path: Path, text: str,
                                                       words: str) -> None:
    path = tmp_path / "inv.yaml"
    path.write_text(text)
    with pytest.raises(FleetError, match=words):
        load_inventory(path)


def test_an_inventory_csv_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "inv.csv"
    path.write_bytes(b"name,host,memory\n\xff,h,1GiB\n")
    with pytest.raises(FleetError, match="not UTF-8"):
        load_inventory(path)


def test_invalid_kubevirt_yaml_is_an_import_error() -> None:
    for text in ("apiVersion: v1\nkind: MigrationPolicy\nspec: [\n",
                 "kind: MigrationPolicy\nspec: [1, 2]\n",
                 "kind: KubeVirt\nspec: {configuration: 5}\n"):
        with pytest.raises(ImportError_):
            import_text(text, "kubevirt")


@pytest.mark.parametrize(("spec", "words"), [
    ("host.link=1:1e400:3", "must be finite"),
    ("host.link=1:2:1000000000000", "number of steps must be from 1 to 10000"),
    ("downtime-limit=" + ",".join(["1"] * 10_001), "at most 10000 per axis"),
])
def test_sweep_axes_are_bounded(spec: str, words: str) -> None:
    """``host.link=1:2:1000000000000`` asked numpy for a 7 TiB array."""
    with pytest.raises(AxisError, match=words):
        parse_axis(spec)


def test_a_sweep_grid_is_bounded() -> None:
    axes = [parse_axis(f"workload.{p}=0.01:1:1000") for p in
            ("zero-fraction", "compress-ratio", "delta-ratio")]
    with pytest.raises(AxisError, match="= 1000000000 scenarios; at most 1000000"):
        expand(axes)


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"workers": 10**9}, "workers"),
    ({"scheduler": "garbage://"}, "Dask scheduler address"),
])
def test_sweep_workers_and_scheduler_are_checked(kwargs: dict[str, object],
                                                 words: str) -> None:
    with pytest.raises(SweepError, match=words):
        run_sweep({"vm": VM}, [parse_axis("downtime-limit=100,200")], **kwargs)  # type: ignore[arg-type]


def test_the_cli_refuses_unbounded_workers(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("vm: {memory: 1GiB}\n")
    res = runner.invoke(app, ["sweep", str(path), "--vary", "downtime-limit=100,200",
                              "--workers", "1000000000"])
    assert res.exit_code == 1
    assert "--workers 1000000000: expected a whole number from 1 to 256" in res.output


# ------------------------------------------------------------------- 6. QMP emulator


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_qmp_ids_that_are_not_json_numbers_get_a_parse_error(literal: str) -> None:
    """``"id": NaN`` was echoed back as invalid JSON. Real QEMU 7.2 answers NaN with
    "JSON parse error, stray 'N'" (recorded here with -machine none); miglab answers with
    QEMU's parse-error reply, and every reply is strict JSON."""
    reply = QmpMonitor("7.2").execute_text(
        f'{{"execute": "query-status", "id": {literal}}}')
    assert reply == {"error": {"class": "GenericError",
                               "desc": "JSON parse error, expecting value"}}
    json.dumps(reply, allow_nan=False)


def test_qmp_duplicate_keys_get_qemus_error() -> None:
    """Real QEMU 7.2 answers ``{"execute": …, "execute": …}`` with "JSON parse error,
    duplicate key" (qobject/json-parser.c; recorded with -machine none)."""
    reply = QmpMonitor("7.2").execute_text(
        '{"execute": "query-status", "execute": "query-status"}')
    assert reply["error"]["desc"] == "JSON parse error, duplicate key"


def test_deep_qmp_nesting_does_not_end_the_session() -> None:
    """1,000-deep nesting killed the session; now it is one error, and the next command
    is answered."""
    text = '{"execute": "query-status", "id": ' + "[" * 1000 + "]" * 1000 + "}\n" \
        + '{"execute": "query-status", "id": 2}\n'
    res = runner.invoke(app, ["qmp", "-"], input=text)
    assert res.exit_code == 0, res.output
    first, second = (json.loads(line) for line in res.output.splitlines())
    assert "error" in first
    assert second["id"] == 2
    assert "return" in second


def test_jsonl_whose_first_line_starts_with_a_bracket() -> None:
    """A first line ``[...]`` made the rest of a JSON-lines input fail."""
    text = '["not a command"]\n{"execute": "query-status", "id": 7}\n'
    res = runner.invoke(app, ["qmp", "-"], input=text)
    assert res.exit_code == 0, res.output
    replies = [json.loads(line) for line in res.output.splitlines()]
    assert len(replies) == 2
    assert replies[1]["id"] == 7


@pytest.mark.parametrize("sep", ["\u2028", "\x0b", "\x0c", "\x1c"])
def test_only_a_newline_ends_a_qmp_request(sep: str) -> None:
    """U+2028 and ``\\x0b`` inside a string split one request into two."""
    request = json.dumps({"execute": "query-status", "id": f"a{sep}b"}, ensure_ascii=False)
    res = runner.invoke(app, ["qmp", "-"], input=request + "\n")
    replies = [json.loads(line) for line in res.output.split("\n") if line.strip()]
    assert len(replies) == 1
    assert replies[0]["id"] == f"a{sep}b"


# --------------------------------------------------------- 7. silently mangled input


def test_duplicate_yaml_keys_are_refused() -> None:
    """Last-wins hid typos: ``downtime-limit`` given twice is an error with its line."""
    with pytest.raises(ScenarioError, match=r"duplicate key 'downtime-limit' \(line 4"):
        parse_scenario_text("vm: {memory: 1GiB}\nparameters:\n  downtime-limit: 300\n"
                            "  downtime-limit: 3000\n", "s.yaml")


def test_yaml_numbers_follow_yaml_1_2() -> None:
    """YAML 1.1 read ``1:30`` as 90 (base 60) and ``010`` as 8 (octal)."""
    assert load_yaml("a: 1:30\nb: 010\nc: 0o10\nd: 1e3\ne: 2020-01-01\n", "t") == \
        {"a": "1:30", "b": 10, "c": 8, "d": 1000.0, "e": "2020-01-01"}
    problems = validate({"vm": {"memory": "1GiB", "vcpus": load_yaml("v: 1:30", "t")["v"]}})
    assert [p.field for p in problems.problems] == ["vm.vcpus"]


@pytest.mark.parametrize(("fmt", "text"), [
    ("virsh", "timeout --signal=INT " + "9" * 400 + " virsh migrate --live vm qemu+ssh://b/system"),
    ("qmp", '{"execute": "migrate-set-parameters", "arguments": {"max-bandwidth": "abc"}}'),
    ("kubevirt", "kind: MigrationPolicy\nspec: {completionTimeoutPerGiB: -5}\n"),
])
def test_imports_never_write_what_miglab_would_refuse(fmt: str, text: str) -> None:
    """Imports wrote ``timeout: .inf``, negative budgets or ``"abc"`` and exited 0."""
    try:
        data = import_text(text, fmt, {"vm": VM})
    except ImportError_:
        return  # refused, with a message naming the setting
    assert validate(data).valid, data


def test_messages_read_as_sentences() -> None:
    """Seen in the probe: "whole number of None pages", "1}: unknown QEMU release"."""
    memory = _problems({"vm": {"memory": "1025KiB"}})
    assert memory == ["vm.memory: must be a whole number of 4 KiB pages '1025KiB'"]
    release = _problems({"vm": VM, "qemu": {"a": "1}"}})
    assert release[0].startswith("qemu: unknown QEMU release; expected one of 7.2")


def test_every_refusal_is_a_miglab_error() -> None:
    """The hierarchy callers catch: InputError is a MiglabError and a ValueError."""
    assert issubclass(InputError, MiglabError)
    assert issubclass(InputError, ValueError)
    with pytest.raises(InputError):
        loads_json("[" * (MAX_DEPTH + 1), "t")


@pytest.mark.parametrize("link", ["0Gbit/s", "1e-300Gbit/s", "9000TB/s"])
def test_the_drain_link_flag_has_the_scenario_rate_bounds(link: str) -> None:
    """``--link`` applies the same 1 B/s..1 PB/s range as ``host.link`` in a scenario."""
    fleet = Path(__file__).resolve().parents[1] / "data" / "fleets" / "two-racks.yaml"
    res = runner.invoke(app, ["drain", str(fleet), "--link", link])
    assert res.exit_code == 1
    assert "a link rate must be from 1 byte/s to 1PB/s" in res.output
