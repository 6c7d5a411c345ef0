"""Sharing a generation: its settings and steps in the URL, and the run as a JSON file to download or replay."""

from __future__ import annotations

import streamlit as st

from core.generation import USER, Stepper
from core.generation_record import STEP_SETTINGS, parse_record, record_json, replay
from ui import state
from ui.settings import limits
from ui.share import Shared, share_inputs


def share_settings(chat_choices: tuple[str, str]) -> None:
    """Put the page's inputs in the URL (call before the widgets)."""
    share_inputs(
        [
            Shared(state.GEN_PROMPT, "prompt"),
            Shared(state.GEN_CHAT, "mode", "choice", choices=chat_choices),
            Shared(state.GEN_TEMPERATURE, "t", "float", 0, 3),
            Shared(state.GEN_TOP_K, "top_k", "int", 0, 1_000_000),
            Shared(state.GEN_TOP_P, "top_p", "float", 0, 1),
            Shared(state.GEN_SEED, "seed", "int", 0, 2**31 - 1),
            Shared(state.GEN_MAX_NEW, "max_new", "int", 1, 100_000),
            Shared(state.GEN_STOP_STRINGS, "stops", max_chars=300),
        ],
        "generation",
    )


def _picks(raw: str) -> dict[int, int]:
    picks = {}
    for part in raw.split(","):
        index, _, token = part.partition(":")
        picks[int(index)] = int(token)
    return picks


def replay_from_link(stepper: Stepper) -> None:
    """Once per session: take the link's ``steps`` (with its ``picks``, step:token_id) on a fresh stepper."""
    if st.session_state.get(state.GEN_REPLAYED) or "steps" not in st.query_params:
        return
    st.session_state[state.GEN_REPLAYED] = True
    try:
        asked = int(st.query_params["steps"])
        picks = _picks(st.query_params["picks"]) if st.query_params.get("picks") else {}
    except ValueError:
        st.caption("Ignored the link's 'steps' or 'picks' value (expected a number and step:token pairs).")
        return
    cap = limits().max_link_steps  # opening a link costs at most this many steps (a few seconds)
    count = min(asked, cap)
    if stepper.steps or count <= 0:
        return
    settings = {name: getattr(stepper, name) for name in STEP_SETTINGS}
    replay(
        stepper,
        [
            {"token_id": picks.get(i, -1), "chosen_by": USER if i in picks else "sampled", **settings}
            for i in range(count)
        ],
    )
    if asked > cap:
        st.info(
            f"This link asked for {asked:,} steps; this server replays at most {cap:,}."
            + ("" if stepper.finished else " Press Run to continue.")
        )


def publish_steps(stepper: Stepper) -> None:
    """Write the steps taken and the person's picks to the URL (the link replays them with the same seed)."""
    st.query_params["steps"] = str(len(stepper.steps))
    picks = ",".join(f"{i}:{s.token_id}" for i, s in enumerate(stepper.steps) if s.chosen_by == USER)
    if picks:
        st.query_params["picks"] = picks
    elif "picks" in st.query_params:
        del st.query_params["picks"]


def load_run_file() -> None:
    """Uploader callback: replay a downloaded run record on a fresh stepper (settings restored)."""
    upload = st.session_state.get(state.GEN_RUN_UPLOAD)
    if upload is None:
        return
    try:
        record = parse_record(upload.getvalue())
    except ValueError as error:
        state.set_generation_message(state.Message("error", str(error)))
        return
    st.session_state[state.GEN_PROMPT] = record["prompt"]
    st.session_state[state.PROMPT] = record["prompt"]
    st.session_state.pop(state.GEN_STEPPER, None)
    st.session_state[state.GEN_PENDING_RECORD] = record


def replay_uploaded(stepper: Stepper) -> None:
    """After ``load_run_file``: take the recorded steps on the new stepper and say how it went."""
    record = st.session_state.pop(state.GEN_PENDING_RECORD, None)
    if record is None:
        return
    differences = replay(stepper, record["steps"])
    state.set_generation_message(
        state.Message("success", f"Replayed {len(stepper.steps)} steps from the file.")
        if not differences
        else state.Message(
            "warning",
            f"Replayed {len(stepper.steps)} steps; {differences} came out different (another model or settings?).",
        )
    )


def run_file_controls(stepper: Stepper) -> None:
    """Download this run as JSON, or load one back to replay it."""
    left, right = st.columns(2)
    left.download_button(
        "Download this run (JSON)",
        record_json(stepper),
        "generation_run.json",
        "application/json",
        key=state.GEN_JSON_DOWNLOAD,
    )
    right.file_uploader("Replay a run (JSON)", type=["json"], key=state.GEN_RUN_UPLOAD, on_change=load_run_file)
