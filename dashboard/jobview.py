"""A live view of the newest job of one kind: found on disk, so it survives a browser refresh."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from dashboard import state
from dashboard.ui import plain
from engine.jobs import store as jobs
from engine.jobs.requests import Request
from engine.jobs.store import Job, JobStatus

MINE = "jobs.mine"  # ids of the jobs this browser session started


def start(request: Request) -> Job:
    """Submit a typed request as a job; its title is what every session sees, so it never carries file names."""
    job = jobs.submit_request(state.settings(), request)
    st.session_state[MINE] = {*st.session_state.get(MINE, ()), job.id}
    st.query_params["job"] = job.id  # so this browser tab still knows the job as its own after a refresh
    st.toast(f"Started: {job.title}", icon=":material/rocket_launch:")
    return job


def progress(job: Job, describe: Callable[[dict], str], key: str, cancel_label: str = "Cancel", scope: str = "fragment") -> None:
    """A running job's progress bar (``describe`` turns its latest progress event into the caption) and its
    cancel button: the one job widget of every page and the sidebar."""
    p = job.progress or {}
    frac = (p.get("done", 0) / p["total"]) if p.get("total") else 0.0
    st.progress(min(1.0, max(0.0, frac)), text=describe(p))
    if st.button(cancel_label, key=f"{key}-cancel-{job.id}", icon=":material/stop:"):
        jobs.cancel_job(state.settings(), job.id)
        st.rerun(scope=scope)


def show_latest(
    kind: str, dataset: str | None = None, on_result: Callable[[dict], None] | None = None, key: str = "", private: bool = False, invalidates: tuple = ()
) -> None:
    """Render the newest job of ``kind`` (on ``dataset``): a live progress bar while it runs, then its outcome.

    ``private``: the result and error (which may name the user's files) are shown only in the session that
    started the job; other sessions see its title and status.
    ``invalidates``: cached reads (``st.cache_data`` functions) the job changes; cleared when it finishes, so the
    page shows the new data at once rather than after their TTL.
    """

    @st.fragment(run_every=1.5)
    def _live() -> None:
        job = jobs.latest_job(state.settings(), kind, dataset)
        if job is None:
            return
        if not job.status.finished:
            progress(job, lambda p: f"{job.title}: {p.get('message') or job.status} " + (f"({p.get('done')}/{p.get('total')})" if p.get("total") else ""), key)
            st.session_state[f"{key}.was_running"] = job.id
            return
        if st.session_state.get(f"{key}.was_running") == job.id:
            st.session_state.pop(f"{key}.was_running")
            for cached in invalidates:
                cached.clear()
            st.rerun()  # refresh the whole page once so it shows what the job changed
        mine = not private or job.id in st.session_state.get(MINE, set()) or st.query_params.get("job") == job.id
        if job.status == JobStatus.SUCCEEDED:
            st.caption(f":green[:material/check_circle:] {job.title} finished in {job.seconds:.0f} s.")
            if on_result and job.result and mine:
                on_result(job.result)
        elif job.status == JobStatus.FAILED:  # a past job's outcome, not an error of this page
            st.warning(f"The last run of “{job.title}” failed" + (f": {plain(job.error)}" if mine else "."), icon=":material/error:")
        else:
            st.caption(f"{job.title} was cancelled.")

    _live()
