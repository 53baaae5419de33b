"""miglab dashboard: `streamlit run app.py`.

The entry file is the router and the shared frame: it restores the scenario from the link
(``?s=…``) or starts from the default, runs the chosen page, and writes the scenario back into
the link so that copying the URL reproduces the view. The scenario dict in
``st.session_state["scenario"]`` (file format, dash names) is the single source of truth
shared by every page.
"""

from __future__ import annotations

import streamlit as st

from sim import ScenarioError, ui

st.set_page_config(page_title="miglab", page_icon="🚚", layout="wide")

if "scenario" not in st.session_state:
    token = st.query_params.get("s")
    scenario = ui.default_scenario()
    if token:
        try:
            scenario = ui.check_structure(ui.decode_scenario(token), "link")
        except ScenarioError as err:
            st.session_state["url_error"] = str(err)
    st.session_state["scenario"] = scenario

PAGES = [
    st.Page("app_pages/scenario.py", title="Scenario", icon=":material/tune:", default=True),
    st.Page("app_pages/simulate.py", title="Simulate", icon=":material/monitoring:",
            url_path="simulate"),
    st.Page("app_pages/compare.py", title="Compare", icon=":material/compare_arrows:",
            url_path="compare"),
    st.Page("app_pages/tradeoffs.py", title="Trade-offs", icon=":material/grid_on:",
            url_path="tradeoffs"),
    st.Page("app_pages/drain.py", title="Drain planner", icon=":material/dns:",
            url_path="drain"),
    st.Page("app_pages/recommend.py", title="Recommend & export", icon=":material/recommend:",
            url_path="recommend"),
    st.Page("app_pages/lab.py", title="Lab", icon=":material/science:", url_path="lab"),
]

page = st.navigation(PAGES)
if "url_error" in st.session_state:
    st.warning(f"The link's scenario was not loaded: {st.session_state.pop('url_error')}. "
               "Showing the default scenario.")
page.run()

token = ui.encode_scenario(st.session_state["scenario"])
if st.query_params.get("s") != token:
    st.query_params["s"] = token
