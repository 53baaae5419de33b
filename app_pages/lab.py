"""Lab: recorded real QEMU migrations next to the engine's predictions, with the error table."""

from __future__ import annotations

import streamlit as st

from app_pages._common import not_available

st.title("Lab")
st.caption("Real QEMU migrations recorded on this kind of machine (`miglab lab`), each laid "
           "beside what the engine predicts for the same scenario.")
not_available("sim.lab.corpus", "The recorded lab corpus")
