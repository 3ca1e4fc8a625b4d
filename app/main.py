"""The only Streamlit entry point: `streamlit run app/main.py` (scripts/run does it for you)."""

import ipaddress
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # streamlit puts only app/ on sys.path
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from app.components import read_only_notice  # noqa: E402
from app.i18n import language_selector, t  # noqa: E402
from app.resources import get_project  # noqa: E402
from japagen_core.errors import JapagenError  # noqa: E402


def _loopback(address: str | None) -> bool:
    """Whether the server listens on this machine only. An empty address means every interface."""
    if not address:
        return False
    if address.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip().strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


st.set_page_config(page_title="japagen", page_icon="🗾", layout="wide")
language_selector()  # first: every text below is in the chosen language

# The 127.0.0.1 bind in .streamlit/config.toml only counts when streamlit starts in the project folder:
# started elsewhere, the server listens on every interface. Show no data then unless asked to.
address = st.get_option("server.address")
if not _loopback(address) and os.environ.get("JAPAGEN_ALLOW_REMOTE") != "1":
    st.error(
        t(
            "japagen shows its data only to this machine, but this server listens on {address}. "
            "Start it with scripts/run, or with --server.address 127.0.0.1; to serve other machines on purpose, "
            "set JAPAGEN_ALLOW_REMOTE=1.",
            address=repr(address or "every network interface"),
        ),
        icon=":material/lock:",
    )
    st.stop()

project = get_project()
try:
    opens_on_overview = project.has_data()
except JapagenError:  # an unreadable store: Home says what is wrong
    opens_on_overview = False
pages = {
    t("Results"): [
        st.Page("../pages/overview.py", title=t("Overview"), icon=":material/dashboard:", default=opens_on_overview),
        st.Page("../pages/results.py", title=t("Results"), icon=":material/leaderboard:"),
        st.Page("../pages/showcase.py", title=t("Example cards"), icon=":material/style:"),
    ],
    t("Data"): [
        st.Page("../pages/home.py", title=t("Home"), icon=":material/home:", default=not opens_on_overview),
        st.Page("../pages/browse.py", title=t("Browse"), icon=":material/table_rows:"),
        st.Page("../pages/import_data.py", title=t("Import data"), icon=":material/upload_file:"),
        st.Page("../pages/tasks.py", title=t("Tasks"), icon=":material/category:"),
    ],
    t("Make data"): [
        st.Page("../pages/generate.py", title=t("Generate"), icon=":material/auto_awesome:"),
        st.Page("../pages/teachers.py", title=t("Teachers"), icon=":material/school:"),
        st.Page("../pages/annotate.py", title=t("Annotate"), icon=":material/label:"),
        st.Page("../pages/word_lists.py", title=t("Word lists"), icon=":material/list_alt:"),
    ],
    t("Check and train"): [
        st.Page("../pages/analysis.py", title=t("Analysis"), icon=":material/analytics:"),
        st.Page("../pages/review.py", title=t("Review"), icon=":material/rate_review:"),
        st.Page("../pages/train.py", title=t("Train"), icon=":material/model_training:"),
        st.Page("../pages/jobs.py", title=t("Jobs"), icon=":material/monitoring:"),
    ],
}
navigation = st.navigation(pages, expanded=True)  # every page in view, grouped by what it is for
read_only_notice(project)
st.sidebar.caption(t("Data: `{home}`", home=project.settings.home))
navigation.run()
