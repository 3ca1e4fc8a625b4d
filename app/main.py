"""The only Streamlit entry point: `streamlit run app/main.py` (scripts/run does it for you)."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # streamlit puts only app/ on sys.path
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from app.resources import get_project  # noqa: E402

st.set_page_config(page_title="japagen", page_icon="🗾", layout="wide")

pages = [
    st.Page("../pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("../pages/browse.py", title="Browse", icon=":material/table_rows:"),
    st.Page("../pages/import_data.py", title="Import data", icon=":material/upload_file:"),
    st.Page("../pages/generate.py", title="Generate", icon=":material/auto_awesome:"),
    st.Page("../pages/teachers.py", title="Teachers", icon=":material/school:"),
    st.Page("../pages/annotate.py", title="Annotate", icon=":material/label:"),
    st.Page("../pages/analysis.py", title="Analysis", icon=":material/analytics:"),
    st.Page("../pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("../pages/results.py", title="Results", icon=":material/leaderboard:"),
    st.Page("../pages/review.py", title="Review", icon=":material/rate_review:"),
    st.Page("../pages/word_lists.py", title="Word lists", icon=":material/list_alt:"),
    st.Page("../pages/jobs.py", title="Jobs", icon=":material/monitoring:"),
    st.Page("../pages/tasks.py", title="Tasks", icon=":material/category:"),
]
navigation = st.navigation(pages)
st.sidebar.caption(f"Data: `{get_project().settings.home}`")
navigation.run()
