"""QEMU's migration contract: parameters, capabilities, releases, checks and a QMP monitor.

Everything here mirrors QEMU's own code (``migration/options.c``, ``qapi/migration.json``,
the QAPI input visitor) so that miglab accepts exactly what QEMU accepts and refuses the
rest with QEMU's words.

    >>> from sim.qemu import QmpMonitor
    >>> QmpMonitor("7.2").execute({"execute": "query-version"})["return"]["qemu"]["major"]
    7
"""

from sim.qemu.catalog import CAPABILITIES, PARAMETERS, Capability, Parameter
from sim.qemu.checks import CheckOutcome, check_capabilities, check_parameters
from sim.qemu.host import HostSupport
from sim.qemu.monitor import QmpMonitor
from sim.qemu.qapi import visit_set_capabilities, visit_set_parameters
from sim.qemu.versions import DEFAULT_VERSION, VERSIONS, VersionProfile, profile

__all__ = [
    "CAPABILITIES",
    "DEFAULT_VERSION",
    "PARAMETERS",
    "VERSIONS",
    "Capability",
    "CheckOutcome",
    "HostSupport",
    "Parameter",
    "QmpMonitor",
    "VersionProfile",
    "check_capabilities",
    "check_parameters",
    "profile",
    "visit_set_capabilities",
    "visit_set_parameters",
]
