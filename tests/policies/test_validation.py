"""Policy options are checked while the scenario loads; the setup is checked by QEMU."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim import InvalidScenarioError
from sim.engine import simulate
from sim.policies import build_policy, check_policy
from sim.scenario import PRESET_POLICY_KINDS, load_scenario, validate
from tests.policies.conftest import stuck_guest


@pytest.mark.parametrize(("policy", "field", "words"), [
    # an unknown key names the key, its value and what is accepted
    ({"kind": "nova", "live_migration_downtim": 500}, "control.policy.live_migration_downtim",
     "unknown option for policy kind nova; accepted: live_migration_bandwidth"),
    # Nova's own minimum
    ({"kind": "nova", "live_migration_downtime": 50}, "control.policy.live_migration_downtime",
     "expected a whole number from 100"),
    ({"kind": "nova", "live_migration_timeout_action": "pause"},
     "control.policy.live_migration_timeout_action", "expected one of abort, force_complete"),
    ({"kind": "kubevirt", "bandwidthPerMigration": "fast"},
     "control.policy.bandwidthPerMigration", "Kubernetes quantity"),
    ({"kind": "kubevirt", "downtimeTuning": {"initialMs": 150, "step": 3}},
     "control.policy.downtimeTuning", "control.policy.downtimeTuning.step"),
    ({"kind": "ovirt", "schedule": "fastest"}, "control.policy.schedule",
     "expected one of minimal-downtime, suspend-workload, post-copy"),
    ({"kind": "proxmox", "migrate_speed": -1}, "control.policy.migrate_speed",
     "expected a whole number from 0"),
    ({"kind": "custom", "rules": [{"when": {"after": 5}, "do": {"cancel": True}}]},
     "control.policy.rules[0].when.after", "unknown condition; accepted: after-s"),
    ({"kind": "custom", "rules": [{"when": {"after-s": 5}, "do": {"reboot": True}}]},
     "control.policy.rules[0].do.reboot", "unknown action; accepted: set-downtime-limit"),
    ({"kind": "custom", "rules": [{"when": {"after-s": 5},
                                   "do": {"cancel": True, "pause": True}}]},
     "control.policy.rules[0].do", "expected exactly one action"),
    ({"kind": "custom", "rule": []}, "control.policy.rule", "accepted: poll-s, setup, rules"),
    ({"kind": "nova", "file": "no-such-file.yaml"}, "control.policy.file", "no such file"),
])
def test_bad_options_are_reported_with_field_value_and_accepted(policy: dict[str, object],
                                                                field: str, words: str) -> None:
    """Each bad option becomes one problem naming the field, the value and what is accepted."""
    report = validate(stuck_guest(policy))
    assert not report.valid
    problem = next(p for p in report.problems if p.field == field)
    assert words in problem.message
    assert field.split(".")[-1].split("[")[0] in problem.field


def test_defaults_and_example_files_are_valid() -> None:
    """Every shipped policy file and every kind with no options is valid."""
    folder = Path(__file__).resolve().parents[2] / "data" / "policies"
    files = sorted(folder.glob("*.yaml"))
    assert len(files) >= 6
    for path in files:
        assert check_policy({"kind": _kind(path), "file": path.name}) == [], path.name
    for kind in PRESET_POLICY_KINDS:
        assert check_policy({"kind": kind}) == []
    assert build_policy({"kind": "kubevirt"}).options["allowWorkloadDisruption"] is False


def _kind(path: Path) -> str:
    import yaml

    return str(yaml.safe_load(path.read_text())["kind"])


def test_setup_refused_by_qemu_gives_qemu_words() -> None:
    """On 8.2 with multifd, a policy that turns on postcopy gets QEMU's refusal, as the
    management layer would from migrate-set-capabilities."""
    sc = load_scenario(stuck_guest({"kind": "nova", "live_migration_permit_post_copy": True},
                                   qemu="8.2", capabilities={"multifd": True}))
    with pytest.raises(InvalidScenarioError) as err:
        simulate(sc)
    first = err.value.problems[0]
    assert first.source == "qemu"
    assert first.message.startswith("Postcopy is not yet compatible with multifd")
    assert "policy nova set" in first.message


def test_the_same_policy_is_accepted_on_10_1() -> None:
    """10.1 allows multifd with postcopy, so the same setup passes there."""
    sc = load_scenario(stuck_guest({"kind": "nova", "live_migration_permit_post_copy": True},
                                   qemu="10.1", capabilities={"multifd": True}))
    assert simulate(sc).status in ("cancelled", "completed")
