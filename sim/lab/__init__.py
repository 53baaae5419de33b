"""The lab: real QEMU migrations that check miglab's predictions.

If the engine is the flight simulator, the lab is the test flight: a tiny guest that
dirties memory at a set rate (:mod:`sim.lab.guest`), a source and a destination QEMU on
this machine (:mod:`sim.lab.qemu_proc`, :mod:`sim.lab.qmp`), a runner that migrates one
scenario and records it in the engine's Result shape (:mod:`sim.lab.runner`), a JSON-lines
corpus of runs (:mod:`sim.lab.corpus`), and the comparison and host calibration against the
engine (:mod:`sim.lab.compare`, :mod:`sim.lab.calibrate`).

Usage::

    miglab lab run scenario.yaml --out data/lab/mine.jsonl
    miglab lab calibrate data/lab --out data/hosts/lab-tcg.yaml
    miglab lab compare data/lab
"""
