"""Scenario: every parameter and capability of the chosen QEMU release, guest, workload, host."""

from __future__ import annotations

from typing import Any

import streamlit as st

from app_pages._common import (
    kept,
    preload_result_code,
    scenario,
    set_scenario,
    show_reply,
    validate_json,
)
from sim import ScenarioError, ui
from sim.qemu import VERSIONS, profile
from sim.qemu.versions import DEFAULT_VERSION
from sim.scenario import preset_names
from sim.units import parse_size

st.title("Scenario")
st.caption("Sizes, rates and durations accept human forms (`128MiB/s`, `10Gbit/s`, `300ms`, "
           "`8GiB`). Every change is checked as QEMU would check it; the link in the address "
           "bar reproduces this scenario.")

sc = scenario()

# ---------------------------------------------------------------- load / save
with st.expander("Load or save a scenario file", expanded=False):
    up = st.file_uploader("Load a scenario (YAML or JSON, ≤ 1 MiB)", type=["yaml", "yml", "json"],
                          key="upload_scenario", max_upload_size=1)
    if up is not None and st.session_state.get("loaded_file") != up.file_id:
        st.session_state["loaded_file"] = up.file_id
        try:
            loaded = ui.check_structure(ui.parse_upload(up.getvalue(), up.name),
                                        up.name)
        except ScenarioError as err:
            st.session_state["load_error"] = str(err)
        else:
            set_scenario(loaded)
            st.session_state["load_ok"] = up.name
            st.rerun()
    if "load_error" in st.session_state:
        st.error(f"Not loaded; the current scenario is unchanged. "
                 f"{st.session_state.pop('load_error')}")
    if "load_ok" in st.session_state:
        st.success(f"Loaded {st.session_state.pop('load_ok')}.")
    c1, c2, c3 = st.columns(3)
    name = str(sc.get("name", "scenario"))
    c1.download_button("Save as YAML", ui.dump_scenario(sc, "yaml"),
                       file_name=f"{name}.yaml", mime="application/yaml", on_click="ignore")
    c2.download_button("Save as JSON", ui.dump_scenario(sc, "json"),
                       file_name=f"{name}.json", mime="application/json", on_click="ignore")
    if c3.button("Reset to the default scenario"):
        set_scenario(ui.default_scenario())
        st.rerun()

# ---------------------------------------------------------------- version and form state
# The scenario dict is the single source of truth: every run writes its values into the
# widgets, and a widget's change callback writes the one changed field back into the dict.
versions = list(VERSIONS)
version = str(sc.get("qemu", DEFAULT_VERSION))
prof = profile(version if version in VERSIONS else DEFAULT_VERSION)
fields = ui.form_fields(prof)
mode = ui.workload_mode(sc)
skip = {"workload.dirty-rate", "workload.working-set", "workload.pattern"} \
    if mode != "rate" else set()
shown = [f for f in fields if f.path not in skip]
by_path = {f.path: f for f in shown}


def changed(path: str) -> None:
    """Write one widget's new value into the scenario dict."""
    value = st.session_state[f"w.{path}"]
    current = scenario()
    if path == "qemu":
        new = {**current, "qemu": value}
    elif path == "name":
        new = {**current, "name": value or "scenario"}
    elif path == "seed":
        text = str(value).strip()
        new = {**current, "seed": int(text) if text.isdigit() else text}
    else:
        new, _ = ui.apply_form(current, [by_path[path]], {path: value})
    st.session_state["scenario"] = new


initial = ui.initial_values(shown, ui.form_view(sc))
for f in shown:
    st.session_state[f"w.{f.path}"] = initial[f.path]
st.session_state["w.qemu"] = prof.name
st.session_state["w.name"] = str(sc.get("name", "scenario"))
st.session_state["w.seed"] = str(sc.get("seed", 1))

_, unit_problems = ui.apply_form(sc, shown, initial)
new = sc
report = validate_json(ui.scenario_json(sc))
problems = unit_problems + report.problems
by_field = ui.problems_by_field(problems)

show_reply(report, unit_problems)
if not problems:
    st.success("QEMU would accept these settings. Open **Simulate** to see the migration.",
               icon=":material/check_circle:")
    for text in report.assumptions:
        st.caption(f"Assumed about the host: {text}")


PRESETS: dict[ui.PresetKind, tuple[str, str, str]] = {
    "hosts": ("host profile", "host.profile",
              "a host profile from data/hosts: its values fill the host fields below, and a "
              "value you type there overrides it. custom: your own values (picking it "
              "keeps the profile's values, written out)"),
    "policies": ("policy preset", "control.policy.file",
                 "a management policy from data/policies. custom: the policy chosen below "
                 "with its product's defaults, or your scenario file's own options (picking "
                 "it keeps the preset's options, written out)"),
}


def preset_picked(kind: ui.PresetKind) -> None:
    """Point the scenario at the picked preset (or write the current one out: custom)."""
    st.session_state["scenario"] = ui.apply_preset(
        scenario(), kind, st.session_state[f"w.preset.{kind}"])


def preset_picker(kind: ui.PresetKind) -> None:
    """A preset drop-down, the picked preset's description and its errors."""
    label, path, help_text = PRESETS[kind]
    st.session_state[f"w.preset.{kind}"] = ui.preset_of(sc, kind)
    st.selectbox(label, ui.preset_choices(kind), key=f"w.preset.{kind}",
                 on_change=preset_picked, args=(kind,), help=help_text)
    picked = st.session_state[f"w.preset.{kind}"]
    if picked != ui.CUSTOM:
        st.caption(ui.preset_description(kind, picked))
    errors_for(path)


def classes_changed() -> None:
    """Write the page-classes box back into the scenario (a line it cannot read: a message)."""
    try:
        classes = ui.parse_classes_text(st.session_state["w.workload.classes"])
    except ScenarioError as err:
        st.session_state["classes_error"] = str(err)
        return
    st.session_state.pop("classes_error", None)
    current = scenario()
    st.session_state["scenario"] = {**current, "workload": {**current.get("workload", {}),
                                                             "classes": classes}}


def errors_for(path: str) -> None:
    """QEMU's (or miglab's) message right under the widget of the field it names."""
    for p in by_field.get(path, []):
        who = "QEMU" if p.source == "qemu" else "miglab"
        st.error(f"{who}: {p.message}",
                 icon=":material/block:" if p.source == "qemu" else ":material/warning:")


def widget(f: ui.FormField) -> None:
    """One form field, followed by its errors."""
    key = f"w.{f.path}"
    common: dict[str, Any] = {"key": key, "help": f.help, "on_change": changed,
                              "args": (f.path,)}
    if f.kind == "bool":
        st.checkbox(f.label, **common)
    elif f.kind == "choice":
        options = list(f.choices)
        if st.session_state[key] not in options:
            options.append(str(st.session_state[key]))
        st.selectbox(f.label, options, **common)
    else:
        st.text_input(f.label, **common)
    errors_for(f.path)


def unread_message(key: str) -> None:
    """Once, the message of a value that could not be read (the scenario kept its own)."""
    problem = st.session_state.pop(key, None)
    if problem is not None:
        st.error(f"Not changed: {problem.value!r}: {problem.message}",
                 icon=":material/warning:")


def postcopy_changed() -> None:
    """Write the postcopy-after box into the scenario (unreadable text: a message)."""
    new_sc, problem = ui.set_postcopy_after(scenario(),
                                            st.session_state["w.postcopy-after"])
    st.session_state["scenario"] = new_sc
    st.session_state["postcopy_after_problem"] = problem


def option_changed(f: ui.OptionField, key: str) -> None:
    """Write one policy option's widget into the scenario."""
    new_sc, problem = ui.set_policy_option(scenario(), f, st.session_state[key])
    st.session_state["scenario"] = new_sc
    st.session_state[f"problem.{f.path}"] = problem


def policy_options() -> None:
    """The chosen policy's options (names, defaults, help from sim.policies.KINDS)."""
    raw = sc.get("control", {}).get("policy") if isinstance(sc.get("control"), dict) else None
    kind = str(raw.get("kind")) if isinstance(raw, dict) else "none"
    fields_ = ui.policy_option_fields(kind)
    if not fields_:
        return
    with st.expander(f"{kind} options ({len(fields_)})", expanded=True,
                     key=f"policy_options_{kind}"):
        for f in fields_:
            key = f"w.policyopt.{kind}.{f.name}"
            st.session_state[key] = ui.policy_option_text(sc, f)
            common: dict[str, Any] = {"key": key, "help": f.help, "on_change": option_changed,
                                      "args": (f, key)}
            if f.kind == "bool":
                st.checkbox(f.name, **common)
            elif f.kind == "choice":
                st.selectbox(f.name, f.choices, **common)
            else:
                st.text_input(f.name, placeholder=f.default_text or "unset", **common)
            unread_message(f"problem.{f.path}")
            errors_for(f.path)


# ---------------------------------------------------------------- the form
top = st.columns([1, 2, 1])
top[0].selectbox("QEMU release", versions, key="w.qemu", on_change=changed, args=("qemu",),
                 help="behaviour and validation profile of this QEMU release")
top[1].text_input("name", key="w.name", on_change=changed, args=("name",),
                  help="a label for this scenario")
top[2].text_input("seed", key="w.seed", on_change=changed, args=("seed",),
                  help="same scenario and seed, same result")
errors_for("qemu")
errors_for("seed")

by_group: dict[str, list[ui.FormField]] = {}
for f in shown:
    by_group.setdefault(f.group, []).append(f)

st.subheader("Guest, workload and host")
g1, g2, g3 = st.columns(3)
with g1:
    st.markdown("**Guest**")
    for f in by_group["guest"]:
        widget(f)
with g2:
    st.markdown("**Workload**")
    presets = preset_names("workloads")
    choices = ["custom", *(f"preset: {n}" for n in presets),
               *(f"template: {n}" for n in ui.WORKLOAD_TEMPLATES)]
    pick = st.selectbox("start from", choices, key="workload_pick",
                        help="a preset (data/workloads) or a template of plain values")
    if pick != "custom" and st.button("Apply workload", key="apply_workload"):
        kind, _sep, label = pick.partition(": ")
        wl: dict[str, Any] = {"preset": label} if kind == "preset" \
            else ui.WORKLOAD_TEMPLATES[label]
        set_scenario(ui.replace_workload(new, wl))
        st.rerun()
    if mode == "preset":
        st.info(f"Workload preset **{new['workload'].get('preset')}**. Pick *custom* "
                "values with a template, or paste a measurement below.")
        errors_for("workload.preset")
    elif mode == "curve":
        curve = new["workload"]["dirty-curve"]
        st.info(f"Measured dirty curve with {len(curve)} points, last: "
                f"{curve[-1][1]:.1%} of RAM after {curve[-1][0]:g} s.")
        errors_for("workload.dirty-curve")
        if st.button("Use a dirty rate instead", key="drop_curve"):
            set_scenario(ui.replace_workload(new, {"dirty-rate": "100MiB/s"}))
            st.rerun()
    elif mode == "classes":
        st.session_state["w.workload.classes"] = ui.classes_text(new["workload"]["classes"])
        st.text_area("page classes", key="w.workload.classes", height=100, max_chars=4000,
                     on_change=classes_changed,
                     help="one class per line: its size and how fast the guest writes in "
                          "it, e.g. `32MiB 90MiB/s`")
        errors_for("workload.classes")
        if "classes_error" in st.session_state:
            st.error(f"Not changed: {st.session_state.pop('classes_error')}",
                     icon=":material/warning:")
        if st.button("Use a dirty rate instead", key="drop_classes"):
            set_scenario(ui.replace_workload(new, {"dirty-rate": "100MiB/s"}))
            st.rerun()
    for f in by_group["workload"]:
        widget(f)
    with st.popover("Paste or upload a dirty-rate measurement"):
        pasted = st.text_area("measurement", key="measure_text", height=120,
                              help="query-dirty-rate JSON, `virsh domstats --dirtyrate` "
                                   "output, or `seconds,fraction` lines")
        mfile = st.file_uploader("or upload (≤ 1 MiB)", type=["json", "csv", "txt"],
                                 key="measure_file", max_upload_size=1)
        if st.button("Use this measurement", key="use_measure"):
            data = mfile.getvalue() if mfile is not None else pasted.encode("utf-8")
            try:
                memory = parse_size(new["vm"]["memory"])
                wl = ui.parse_dirty_measurement(data, memory)
            except (ScenarioError, ValueError, KeyError) as err:
                st.error(f"Not used; the workload is unchanged. {err}")
            else:
                set_scenario(ui.replace_workload(new, wl))
                st.rerun()
with g3:
    st.markdown("**Host and link**")
    preset_picker("hosts")
    for f in by_group["host"]:
        widget(f)
    st.markdown("**Control**")
    preset_picker("policies")
    for f in by_group["control"]:
        widget(f)
    policy_options()
    st.session_state["w.postcopy-after"] = ui.postcopy_after_text(sc)
    st.text_input("postcopy after", key="w.postcopy-after", on_change=postcopy_changed,
                  help=ui.POSTCOPY_AFTER_HELP, placeholder="never")
    unread_message("postcopy_after_problem")
    errors_for(ui.POSTCOPY_AFTER)
    hint = None if problems or report.scenario is None \
        else ui.bandwidth_hint(report.scenario)
    if hint:
        st.info(hint, icon=":material/speed:")

st.subheader(f"QEMU {prof.name} parameters and capabilities")
for group in ui.GROUPS:
    items = by_group.get(group, [])
    if not items:
        continue
    params = [f for f in items if f.path.startswith("parameters.")]
    caps = [f for f in items if f.path.startswith("capabilities.")]
    flagged = any(f.path in by_field for f in items)
    key = f"group_open.{group}"
    if flagged:  # a section with a problem opens; ticking a box never closes its section
        st.session_state[f"keep.{key}"] = True
    with st.expander(f"{group} ({len(params)} parameters, {len(caps)} capabilities)",
                     **kept(key, group == "bandwidth and downtime")):
        cols = st.columns(3)
        for i, f in enumerate(caps + params):
            with cols[i % 3]:
                widget(f)

preload_result_code()
