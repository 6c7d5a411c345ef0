"""A flooded class poll, for real: one `streamlit run app.py` told that a proxy of the operator's stands in front
(NTE_TRUSTED_PROXY=1), and light websocket clients (benchmarks/streamlit_client.py) that send the X-Real-IP header
that proxy would add. 600 fake students from one address join a room and guess: the first 60 (the per-address limit)
get in, the other 540 are refused and the teacher's page counts them; 25 unknown codes from that address are cut
off after 20; meanwhile a real class of 30, each phone on its own address, still joins and guesses, and the teacher
reads all of their guesses (the 60 fakes that got in are the teacher's to see, and to escape by moving the room)."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest

from benchmarks.streamlit_client import StreamlitClient, run_coroutine
from core.serving.rooms import ALPHABET
from deploy.replicas import free_port, start_replica, stop, wait_healthy
from ui import state

PAGE = "class_poll"
FAKES = 600
CLASS = 30
LIMIT = 60  # ui.settings.Limits.poll_students_per_client, the default
WRONG_CODES = 20  # ui.settings.Limits.poll_wrong_codes_per_minute, the default
FLOODER = "203.0.113.66"
CONCURRENCY = 20
TIMEOUT = 300.0


@pytest.fixture(scope="module")
def server():
    run_dir = Path(tempfile.mkdtemp(prefix="nte-flood-"))
    port = free_port()
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", NTE_TRUSTED_PROXY="1")
    for name in ("NTE_REDIS_URL", "NTE_POLL_STUDENTS_PER_CLIENT", "NTE_POLL_WRONG_CODES_PER_MINUTE"):
        env.pop(name, None)
    proc = start_replica(port, run_dir, env)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop([proc])
        shutil.rmtree(run_dir, ignore_errors=True)


def alerts(client: StreamlitClient) -> str:
    return " ".join(a.body for a in client.elements("alert"))


async def guess_as(url: str, address: str, code: str, guess: str) -> str:
    """One phone: open the room link, type a guess, press Submit; returns the alerts it then shows."""
    async with StreamlitClient(url, timeout=TIMEOUT, headers={"X-Real-IP": address}) as phone:
        await phone.open(PAGE, f"room={code}")
        phone.widget(state.POLL_GUESS).value = guess
        await phone.click(state.POLL_SUBMIT)
        return alerts(phone)


async def look_up(url: str, address: str, code: str) -> str:
    async with StreamlitClient(url, timeout=TIMEOUT, headers={"X-Real-IP": address}) as phone:
        await phone.open(PAGE, f"room={code}")
        return alerts(phone)


async def bounded(jobs, limit: int = CONCURRENCY) -> list:
    gate = asyncio.Semaphore(limit)

    async def one(job):
        async with gate:
            return await job

    return await asyncio.gather(*(one(job) for job in jobs))


def test_a_flood_from_one_address_is_refused_and_the_real_class_still_plays(server):
    async def scenario():
        async with StreamlitClient(server, timeout=TIMEOUT, headers={"X-Real-IP": "198.51.100.1"}) as teacher:
            await teacher.open(PAGE)
            await teacher.click(state.POLL_START)
            code = next(
                m.group(1) for b in teacher.elements("markdown") if (m := re.search(r"Room code: `(\w+)`", b.body))
            )
            flood = await bounded(guess_as(server, FLOODER, code, f"spam{i}") for i in range(FAKES))
            wrong = [c * 6 for c in ALPHABET if c * 6 != code][:25]
            lookups = [await look_up(server, FLOODER, c) for c in wrong]
            real = await bounded(guess_as(server, f"198.51.100.{10 + i}", code, "Paris") for i in range(CLASS))
            fragment = next(iter(teacher.auto_reruns))
            await teacher.auto_rerun(fragment)
            return flood, lookups, real, teacher.metric("Guesses in"), alerts(teacher)

    flood, lookups, real, count, teacher_alerts = run_coroutine(scenario())
    admitted = [a for a in flood if "Your guess is in" in a]
    refused = [a for a in flood if "students from your network address have already joined" in a]
    assert (len(admitted), len(refused)) == (LIMIT, FAKES - LIMIT)
    assert all("No open room" in a for a in lookups[:WRONG_CODES])
    assert all("Too many unknown room codes" in a for a in lookups[WRONG_CODES:])
    assert all("Your guess is in: Paris" in a for a in real), [a for a in real if "Paris" not in a][:3]
    assert count == f"{LIMIT + CLASS:,}"
    assert f"{FAKES - LIMIT:,} would-be students were refused" in teacher_alerts
