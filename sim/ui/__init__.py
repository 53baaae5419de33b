"""The dashboard's model: scenario dicts in, widget values out, and back again.

The dashboard is a clerk at a counter: the operator fills in a paper form (text boxes that
accept ``128MiB/s`` or ``300ms``, check boxes, drop-downs), and the clerk copies it, field by
field, into the scenario file format that the rest of miglab reads. This package is that
clerk; it knows no physics and no Streamlit, so all of it is tested without a browser. The
pages in ``app_pages/`` only lay out widgets and call in here::

    >>> from sim import ui
    >>> from sim.qemu import profile
    >>> fields = ui.form_fields(profile("8.2"))
    >>> values = ui.initial_values(fields, ui.default_scenario())
    >>> new, problems = ui.apply_form(ui.default_scenario(), fields,
    ...                               {**values, "parameters.max-bandwidth": "1GiB/s"})
    >>> new["parameters"]["max-bandwidth"], problems
    (1073741824, [])
    >>> ui.decode_scenario(ui.encode_scenario(new)) == new
    True

One concept per module:

- :mod:`~sim.ui.draft`: the scenario being edited: the opening one, workload templates,
  dotted-path changes, the structure check, its JSON/YAML.
- :mod:`~sim.ui.form`: :class:`FormField`, :func:`form_fields`, :func:`initial_values`,
  :func:`apply_form`, :func:`parse_param_text`.
- :mod:`~sim.ui.controls`: what the field table does not cover: postcopy-after, a policy's
  options, and the notes under the verdict.
- :mod:`~sim.ui.presets`: the host-profile and policy pickers.
- :mod:`~sim.ui.formatting`: numbers for people, and widget text that reads back exactly.
- :mod:`~sim.ui.link`: the ``?s=`` URL token.
- :mod:`~sim.ui.uploads`: scenario files, dirty-rate measurements, drain inventories.
- :mod:`~sim.ui.tradeoffs`: sweep axes and points, the Trade-offs table.
- :mod:`~sim.ui.compare`: Compare rows as changes, the side-by-side table.
- :mod:`~sim.ui.results`: the verdict row, the actions table, export downloads.
- :mod:`~sim.ui._shared`: dotted paths, table cells and widget kinds the modules share.
"""

from __future__ import annotations

from sim.ui.compare import BEST, apply_editor_delta, compare_table, variant_changes
from sim.ui.controls import (
    POSTCOPY_AFTER,
    POSTCOPY_AFTER_HELP,
    OptionField,
    bandwidth_hint,
    policy_option_fields,
    policy_option_text,
    policy_setup_notes,
    postcopy_after_text,
    postcopy_note,
    postcopy_started,
    set_policy_option,
    set_postcopy_after,
)
from sim.ui.draft import (
    WORKLOAD_TEMPLATES,
    WorkloadMode,
    apply_changes,
    check_structure,
    classes_text,
    default_scenario,
    dump_scenario,
    parse_classes_text,
    replace_workload,
    scenario_json,
    workload_mode,
)
from sim.ui.form import (
    FORM_PATHS,
    GROUPS,
    FormField,
    WidgetKind,
    apply_form,
    form_fields,
    initial_values,
    parse_param_text,
    problems_by_field,
)
from sim.ui.formatting import (
    describe_changes,
    format_setting,
    human_ms,
    human_rate,
    human_size,
    readable_frame,
    setting_name,
)
from sim.ui.link import MAX_TOKEN_CHARS, decode_scenario, encode_scenario
from sim.ui.presets import (
    CUSTOM,
    PresetKind,
    apply_preset,
    form_view,
    preset_choices,
    preset_description,
    preset_of,
)
from sim.ui.results import (
    Download,
    Metric,
    actions_frame,
    export_downloads,
    export_file_name,
    result_metrics,
)
from sim.ui.tradeoffs import (
    MAX_SWEEP_POINTS,
    NOT_CONVERGED,
    REFUSED,
    SWEEP_AXES,
    axis_values,
    sweep_points,
    sweep_view,
)
from sim.ui.uploads import (
    MAX_UPLOAD_BYTES,
    inventory_mapping,
    parse_dirty_measurement,
    parse_inventory_upload,
    parse_upload,
)

__all__ = [
    "BEST",
    "CUSTOM",
    "FORM_PATHS",
    "GROUPS",
    "MAX_SWEEP_POINTS",
    "MAX_TOKEN_CHARS",
    "MAX_UPLOAD_BYTES",
    "NOT_CONVERGED",
    "POSTCOPY_AFTER",
    "POSTCOPY_AFTER_HELP",
    "REFUSED",
    "SWEEP_AXES",
    "WORKLOAD_TEMPLATES",
    "Download",
    "FormField",
    "Metric",
    "OptionField",
    "PresetKind",
    "WidgetKind",
    "WorkloadMode",
    "actions_frame",
    "apply_changes",
    "apply_editor_delta",
    "apply_form",
    "apply_preset",
    "axis_values",
    "bandwidth_hint",
    "check_structure",
    "classes_text",
    "compare_table",
    "decode_scenario",
    "default_scenario",
    "describe_changes",
    "dump_scenario",
    "encode_scenario",
    "export_downloads",
    "export_file_name",
    "form_fields",
    "form_view",
    "format_setting",
    "human_ms",
    "human_rate",
    "human_size",
    "initial_values",
    "inventory_mapping",
    "parse_classes_text",
    "parse_dirty_measurement",
    "parse_inventory_upload",
    "parse_param_text",
    "parse_upload",
    "policy_option_fields",
    "policy_option_text",
    "policy_setup_notes",
    "postcopy_after_text",
    "postcopy_note",
    "postcopy_started",
    "preset_choices",
    "preset_description",
    "preset_of",
    "problems_by_field",
    "readable_frame",
    "replace_workload",
    "result_metrics",
    "scenario_json",
    "set_policy_option",
    "set_postcopy_after",
    "setting_name",
    "sweep_points",
    "sweep_view",
    "variant_changes",
    "workload_mode",
]
