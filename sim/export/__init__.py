"""Exports: one scenario's migration settings in the words each management layer speaks.

An export is a phrasebook entry: the scenario says what QEMU should do in QMP's own terms
(``downtime-limit: 300`` ms, ``max-bandwidth`` in bytes/s), and each target has its own
vocabulary and units — virsh wants MiB/s, Nova a downtime of at least 100 ms that it ramps
up in steps, Proxmox seconds, KubeVirt quantities such as ``64Mi``. Some phrases do not
translate at all (KubeVirt has no downtime knob, Proxmox always turns XBZRLE on), so every
export carries its *gaps*: what the target cannot express and the closest value it uses.
An export never writes a value the target would refuse.

    >>> from sim.scenario import load_scenario
    >>> sc = load_scenario("data/examples/web-8g.yaml")
    >>> out = export(sc, "virsh")
    >>> "--bandwidth 128" in out.text
    True
    >>> [g.setting for g in export(sc, "kubevirt").gaps]    # doctest: +SKIP
    ['parameters.downtime-limit', 'capabilities.multifd']

Each target is a module of this package (:mod:`~sim.export.qmp`, :mod:`~sim.export.hmp`,
:mod:`~sim.export.virsh`, :mod:`~sim.export.kubevirt`, :mod:`~sim.export.nova`,
:mod:`~sim.export.proxmox`, :mod:`~sim.export.ovirt`; what they share is in
:mod:`~sim.export._base`) with one renderer ``(scenario, options) -> Export``, registered in
:data:`EXPORTERS`; :data:`FORMATS` lists their names. A recommendation from
:mod:`sim.recommend` is a scenario too, so it exports the same way.
"""

from __future__ import annotations

from typing import Final

from sim._exceptions import ExportError
from sim.export._base import Export, ExportOptions, Gap, Renderer, k8s_quantity
from sim.export.hmp import hmp_value, render_hmp
from sim.export.kubevirt import render_kubevirt
from sim.export.nova import render_nova
from sim.export.ovirt import render_ovirt
from sim.export.proxmox import render_proxmox
from sim.export.qmp import render_qmp
from sim.export.virsh import render_virsh
from sim.scenario import Scenario

__all__ = [
    "EXPORTERS",
    "FORMATS",
    "Export",
    "ExportError",
    "ExportOptions",
    "Gap",
    "export",
    "hmp_value",
    "k8s_quantity",
]


# ------------------------------------------------------------------------- registry

EXPORTERS: Final[dict[str, Renderer]] = {
    "qmp": render_qmp,
    "hmp": render_hmp,
    "virsh": render_virsh,
    "kubevirt": render_kubevirt,
    "nova": render_nova,
    "proxmox": render_proxmox,
    "ovirt": render_ovirt,
}
"""Every export target: name → renderer ``(scenario, options) -> Export``."""

FORMATS: Final = tuple(EXPORTERS)
"""The export target names, in the order the report shows them."""


def export(scenario: Scenario, fmt: str, options: ExportOptions | None = None) -> Export:
    """Render ``scenario`` for target ``fmt``.

    Args:
        scenario: a validated scenario (or a recommendation's scenario).
        fmt: one of :data:`FORMATS`.
        options: host, domain and URI names; defaults are placeholders.

    Returns:
        The :class:`Export` with its files and gaps.

    Raises:
        ExportError: ``fmt`` is not a known target.
    """
    renderer = EXPORTERS.get(fmt)
    if renderer is None:
        raise ExportError(f"unknown export format {fmt!r}; expected one of "
                          + ", ".join(FORMATS))
    return renderer(scenario, options or ExportOptions())
