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


home_page = st.Page(
    "../pages/home.py", title=t("Home"), icon=":material/home:", url_path="start", default=True
)  # served at `/`


def old_home_address() -> None:
    """`/home`, where Home was while the store had data: links saved then lead to Home at `/`."""
    st.switch_page(home_page)


# Every page is always in the navigation and always at the same URL; `/` is Home. A page that needs data
# says so itself (an empty state) rather than disappearing.
pages = {
    t("Results"): [
        st.Page("../pages/overview.py", title=t("Overview"), icon=":material/dashboard:", url_path="overview"),
        st.Page("../pages/results.py", title=t("Results"), icon=":material/leaderboard:", url_path="results"),
        st.Page("../pages/showcase.py", title=t("Example cards"), icon=":material/style:", url_path="showcase"),
    ],
    t("Data"): [
        home_page,
        st.Page("../pages/browse.py", title=t("Browse"), icon=":material/table_rows:", url_path="browse"),
        st.Page(
            "../pages/import_data.py", title=t("Import data"), icon=":material/upload_file:", url_path="import_data"
        ),
        st.Page("../pages/tasks.py", title=t("Tasks"), icon=":material/category:", url_path="tasks"),
    ],
    t("Make data"): [
        st.Page("../pages/generate.py", title=t("Generate"), icon=":material/auto_awesome:", url_path="generate"),
        st.Page("../pages/teachers.py", title=t("Teachers"), icon=":material/school:", url_path="teachers"),
        st.Page("../pages/annotate.py", title=t("Annotate"), icon=":material/label:", url_path="annotate"),
        st.Page("../pages/word_lists.py", title=t("Word lists"), icon=":material/list_alt:", url_path="word_lists"),
    ],
    t("Check and train"): [
        st.Page("../pages/analysis.py", title=t("Analysis"), icon=":material/analytics:", url_path="analysis"),
        st.Page("../pages/review.py", title=t("Review"), icon=":material/rate_review:", url_path="review"),
        st.Page("../pages/train.py", title=t("Train"), icon=":material/model_training:", url_path="train"),
        st.Page("../pages/jobs.py", title=t("Jobs"), icon=":material/monitoring:", url_path="jobs"),
    ],
    "": [st.Page(old_home_address, title=t("Home"), url_path="home", visibility="hidden")],
}
navigation = st.navigation(pages, expanded=True)  # every page in view, grouped by what it is for
read_only_notice(project)
st.sidebar.caption(t("Data: `{home}`", home=project.settings.home))
navigation.run()
