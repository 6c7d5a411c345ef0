"""Real browser: a teacher's tab (1280x720) starts a class poll, two students' tabs (390x844, each its own
Streamlit session) open the room link and guess; the teacher's histogram counts both without a reload, the reveal
reaches the students' tabs by itself, and the results download as CSV.

The teacher's and the students' pages rerun a fragment every 2 s, so "a run has ended" says little here: every
check waits for what the page shows (Playwright's expect retries until it holds)."""

from __future__ import annotations

import asyncio
import re
import shutil
import threading
import time
from collections import Counter

import pytest
from playwright.sync_api import expect

from benchmarks.bench_poll import GUESSES, Replicated
from benchmarks.streamlit_client import StreamlitClient
from deploy.replicas import nginx_binary
from tests.browser.helpers import ARTIFACTS, chart, keyed, live, screenshot, wait_for_app, wait_for_run
from tests.browser.test_presenter_browser import MEASURE_JS, MIN_PX
from tests.needs import missing
from ui import state
from ui.poll import HOST_COOKIE

pytestmark = pytest.mark.browser
TEACHER_VIEW = {"width": 1280, "height": 720}
PHONE = {"width": 390, "height": 844}


def open_student(browser, url: str):
    tab = browser.new_page()
    tab.dialogs = []
    tab.on("dialog", lambda d: (tab.dialogs.append(d.message), d.dismiss()))
    tab.set_viewport_size(PHONE)
    tab.goto(url)
    wait_for_app(tab)
    return tab


def guess(tab, text: str) -> None:
    box = keyed(tab, state.POLL_GUESS, "input")
    expect(box).to_be_visible()
    box.fill(text)
    keyed(tab, state.POLL_SUBMIT, "button").click()
    expect(live(tab, '[data-testid="stAlertContentSuccess"]')).to_contain_text(f"Your guess is in: {text}")


def test_class_poll_teacher_and_two_phones(page, browser):
    teacher = page
    teacher.set_viewport_size(TEACHER_VIEW)
    teacher.goto(teacher.app_url + "/class_poll")
    wait_for_run(teacher)
    keyed(teacher, state.POLL_START, "button").click()
    heading = live(teacher, "h2").filter(has_text="Room code")
    expect(heading).to_be_visible()
    code = re.search(r"Room code: ([A-Z0-9]{6})", heading.inner_text()).group(1)
    link = live(teacher, '[data-testid="stCode"]').first.inner_text().strip()
    assert link.endswith(f"/class_poll?room={code}")
    expect(live(teacher, '[data-testid="stImage"] img')).to_be_visible()  # the QR code

    students = [open_student(browser, link) for _ in range(2)]
    try:
        for tab in students:
            expect(live(tab, ".nte-poll-prompt")).to_contain_text("The capital of France is")
            width = tab.evaluate("() => document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"the student's page is {width} px wide on a 390 px phone"
        guess(students[0], "Paris")
        guess(students[1], "<b>Lyon</b>")
        screenshot(students[1], "class_poll_student_guessed")

        # No reload: the teacher's fragment re-reads the room every 2 s.
        expect(live(teacher, '[data-testid="stMetricValue"]')).to_have_text("2")
        bars = chart(teacher, state.POLL_LIVE)
        expect(bars).to_contain_text("Paris")
        expect(bars).to_contain_text("<b>Lyon</b>")  # the label is text, not bold markup
        expect(bars).to_contain_text("hidden until you reveal")
        screenshot(teacher, "class_poll_teacher_live")

        keyed(teacher, state.POLL_REVEAL, "button").click()
        expect(live(teacher, '[data-testid="stAlertContentSuccess"]')).to_contain_text("The model's answer: ␣Paris")
        expect(bars).to_contain_text("1. ␣Paris")
        expect(bars).to_contain_text("rank 1")
        screenshot(teacher, "class_poll_teacher_revealed")
        bars.screenshot(path=str(ARTIFACTS / "class_poll_teacher_chart.png"))

        for tab in students:  # the students' own live check redraws their page
            expect(live(tab, '[data-testid="stAlertContentSuccess"]')).to_contain_text("The model's answer: ␣Paris")
        expect(live(students[0], '[data-testid="stAlertContentInfo"]')).to_contain_text("the model's own answer")
        expect(live(students[1], '[data-testid="stAlertContentInfo"]')).to_contain_text("rank ")
        screenshot(students[0], "class_poll_student_revealed")
        chart(students[0], state.POLL_STUDENT_CHART).screenshot(path=str(ARTIFACTS / "class_poll_student_chart.png"))

        with teacher.expect_download() as download:
            keyed(teacher, state.POLL_CSV, "button").click()
        csv = open(download.value.path(), encoding="utf-8").read()
        assert csv.startswith("round,prompt,guess,students,model_token,probability,rank,model_answer")
        assert "1,The capital of France is,Paris,1,␣Paris," in csv
        assert "<b>Lyon</b>,1," in csv
        assert not teacher.dialogs and not any(tab.dialogs for tab in students)
    finally:
        for tab in students:
            tab.close()
        browser.clear_cookies()  # the teacher's host cookie: the next test starts as a new visitor


def start_room(teacher) -> str:
    teacher.set_viewport_size(TEACHER_VIEW)
    teacher.goto(teacher.app_url + "/class_poll")
    wait_for_run(teacher)
    keyed(teacher, state.POLL_START, "button").click()
    heading = live(teacher, "h2").filter(has_text="Room code")
    expect(heading).to_be_visible()
    return re.search(r"Room code: ([A-Z0-9]{6})", heading.inner_text()).group(1)


def test_the_teacher_reloads_mid_round_and_still_reveals(page, browser):
    """A reload makes a new Streamlit session: this browser's host cookie gives the teacher the room back, with
    its guesses; the token is in no link on the page, the address bar or the student's tab."""
    teacher = page
    browser.clear_cookies()
    code = start_room(teacher)
    link = live(teacher, '[data-testid="stCode"]').first.inner_text().strip()
    student = open_student(browser, link)
    try:
        guess(student, "Paris")
        expect(live(teacher, '[data-testid="stMetricValue"]')).to_have_text("1")
        cookie = next(c for c in browser.cookies() if c["name"] == HOST_COOKIE)
        token = cookie["value"].split(".")[1]
        assert cookie["value"].startswith(code + ".") and len(token) >= 24
        assert token not in link and token not in teacher.url and token not in student.url

        teacher.reload()
        wait_for_app(teacher)
        expect(live(teacher, "h2").filter(has_text="Room code")).to_contain_text(code)
        expect(live(teacher, '[data-testid="stAlertContentInfo"]').first).to_contain_text("Welcome back")
        expect(live(teacher, '[data-testid="stMetricValue"]')).to_have_text("1")
        visible = teacher.locator("body").inner_text()
        assert token not in visible and token not in teacher.url  # the private link stays in its closed popover
        screenshot(teacher, "class_poll_teacher_after_reload")

        keyed(teacher, state.POLL_REVEAL, "button").click()
        expect(live(teacher, '[data-testid="stAlertContentSuccess"]')).to_contain_text("The model's answer: ␣Paris")
        expect(live(student, '[data-testid="stAlertContentSuccess"]')).to_contain_text("The model's answer: ␣Paris")
        assert not teacher.dialogs and not student.dialogs
    finally:
        student.close()
        browser.clear_cookies()


def test_the_projector_view_holds_the_banner_and_the_live_chart_on_one_screen(page, browser):
    """Presenter mode, then the poll's projector view at 1280 x 720: no sidebar, the room code in type of at least
    48 px, the QR code and the live chart inside the first screen, no text under presenter mode's 18 px; a
    poll-only student link opens without the page menu."""
    teacher = page
    browser.clear_cookies()
    teacher.set_viewport_size(TEACHER_VIEW)
    teacher.goto(teacher.app_url + "/class_poll")
    wait_for_run(teacher)
    keyed(teacher, state.PRESENTER, "label").click()
    wait_for_run(teacher)
    keyed(teacher, state.POLL_START, "button").click()
    expect(live(teacher, "h2").filter(has_text="Room code")).to_be_visible()
    keyed(teacher, state.POLL_ONLY, "label").click()
    wait_for_run(teacher)
    keyed(teacher, state.POLL_PROJECTOR, "label").click()
    code_box = live(teacher, ".nte-join-code")
    expect(code_box).to_be_visible()
    code = code_box.inner_text().strip()
    expect(teacher.locator('[data-testid="stSidebar"]')).to_be_hidden()
    link = "http://" + live(teacher, ".nte-join-address").inner_text().strip()
    assert link.endswith(f"/class_poll?room={code}&view=poll")

    student = open_student(browser, link)
    try:
        expect(live(student, ".nte-poll-prompt")).to_contain_text("The capital of France is")
        expect(student.locator('[data-testid="stSidebarNav"]')).to_be_hidden()
        expect(student.locator('[data-testid="stSidebar"]')).to_be_hidden()
        guess(student, "Paris")
        expect(live(teacher, '[data-testid="stMetricValue"]')).to_have_text("1")

        px = teacher.evaluate("() => parseFloat(getComputedStyle(document.querySelector('.nte-join-code')).fontSize)")
        assert px >= 48, f"the room code is {px} px on the projector"
        teacher.screenshot(path=str(ARTIFACTS / "class_poll_projector_first_screen.png"))
        qr = live(teacher, '[data-testid="stImage"] img').bounding_box()
        plot = chart(teacher, state.POLL_LIVE).bounding_box()
        assert qr["y"] + qr["height"] <= TEACHER_VIEW["height"], qr
        assert plot["y"] + 0.6 * plot["height"] <= TEACHER_VIEW["height"], plot  # most of the chart above the fold
        sizes = teacher.evaluate(MEASURE_JS)
        smallest = min([t["px"] for t in sizes["dom"]] + [t["px"] for t in sizes["chart"]])
        assert smallest >= MIN_PX, (sizes["dom"][:3], sizes["chart"][:3])

        keyed(teacher, state.POLL_REVEAL, "button").click()
        expect(chart(teacher, state.POLL_LIVE)).to_contain_text("1. ␣Paris")
        teacher.screenshot(path=str(ARTIFACTS / "class_poll_projector_revealed.png"))
        assert not teacher.dialogs and not student.dialogs
    finally:
        student.close()
        browser.clear_cookies()


@pytest.fixture(scope="module")
def two_replicas():
    """Two replicas behind nginx with a Redis room store (deploy/replicas.py's functions, via the bench's
    Replicated); skipped loudly without nginx or redis-server, except where NTE_REQUIRE_BROWSER=1."""
    if nginx_binary() is None or shutil.which("redis-server") is None:
        missing("the whole-class rehearsal", "nginx and redis-server are needed (make nginx redis)")
    deployment = Replicated()
    try:
        deployment.start()
    except RuntimeError as error:
        deployment.stop()
        pytest.fail(str(error))
    yield deployment
    deployment.stop()


class Class:
    """Thirty phones as light websocket clients, run in their own thread and event loop; the test's main thread
    drives the teacher's Chromium and tells the class when to go on."""

    def __init__(self, url: str, code: str, size: int = 30) -> None:
        self.url, self.code, self.size = url, code, size
        self.half, self.go_on, self.all_in, self.revealed = (threading.Event() for _ in range(4))
        self.sent: Counter = Counter()
        self.confirmed = 0
        self.saw_answer = 0
        self.failures: list[str] = []
        self.last_guess = 0.0
        self.thread = threading.Thread(target=lambda: asyncio.run(self.play()), daemon=True)

    async def guess(self, phone: StreamlitClient, guess: str) -> None:
        phone.widget(state.POLL_GUESS).value = guess
        await phone.click(state.POLL_SUBMIT)
        self.last_guess = time.perf_counter()
        if "Your guess is in" in " ".join(a.body for a in phone.elements("alert")):
            self.confirmed += 1
            self.sent[guess] += 1
        else:
            self.failures.append(f"not confirmed: {phone.errors[:1]}")

    async def until_answer(self, phone: StreamlitClient) -> None:
        deadline = time.perf_counter() + 120
        while time.perf_counter() < deadline:
            if "The model's answer" in " ".join(a.body for a in phone.elements("alert")):
                self.saw_answer += 1
                return
            # The phone's 2 s live check, as its browser timer sends it: the newest fragment first (the client also
            # remembers fragments of earlier runs, which the server no longer answers).
            for fragment in reversed(list(phone.auto_reruns)):
                try:
                    await asyncio.wait_for(phone.auto_rerun(fragment), 30)
                    await phone.settle()
                    break
                except TimeoutError:
                    continue
            await asyncio.sleep(1.0)
        self.failures.append("the reveal never reached a phone")

    async def play(self) -> None:
        phones = [StreamlitClient(self.url, timeout=300) for _ in range(self.size)]
        gate = asyncio.Semaphore(10)

        async def join(phone):
            async with gate:
                await phone.connect()
                await phone.open("class_poll", f"room={self.code}")

        try:
            await asyncio.gather(*(join(p) for p in phones))
            half = self.size // 2
            for i, phone in enumerate(phones[:half]):
                await self.guess(phone, GUESSES[i % len(GUESSES)])
            self.half.set()
            await asyncio.to_thread(self.go_on.wait, 600)
            for i, phone in enumerate(phones[half:], start=half):
                await self.guess(phone, GUESSES[i % len(GUESSES)])
            self.all_in.set()
            await asyncio.to_thread(self.revealed.wait, 600)
            await asyncio.gather(*(self.until_answer(p) for p in phones))
        except Exception as error:  # reported by the test, never lost
            self.failures.append(f"{type(error).__name__}: {error}"[:200])
        finally:
            self.half.set()
            self.all_in.set()
            for phone in phones:
                await phone.close()


def test_a_whole_class_over_two_replicas_with_redis_and_a_teacher_reload(page, two_replicas):
    """One teacher in Chromium and 30 phones joining by the room link through nginx, landing on both replicas:
    the teacher reloads mid-round and keeps the room, all 30 guesses reach the teacher's screen, the reveal reaches
    all 30 phones, and nothing is lost without a message."""
    teacher = page
    teacher.context.clear_cookies()
    teacher.set_viewport_size(TEACHER_VIEW)
    teacher.goto(two_replicas.url + "/class_poll")
    wait_for_run(teacher)
    keyed(teacher, state.POLL_START, "button").click()
    heading = live(teacher, "h2").filter(has_text="Room code")
    expect(heading).to_be_visible()
    code = re.search(r"Room code: ([A-Z0-9]{6})", heading.inner_text()).group(1)
    link = live(teacher, '[data-testid="stCode"]').first.inner_text().strip()
    assert link == f"{two_replicas.url}/class_poll?room={code}"

    phones = Class(two_replicas.url, code)
    phones.thread.start()
    try:
        assert phones.half.wait(600) and not phones.failures, phones.failures
        expect(live(teacher, '[data-testid="stMetricValue"]')).to_have_text(str(phones.size // 2))
        teacher.reload()  # mid-round: a new session, perhaps another replica; the room comes back from Redis
        wait_for_app(teacher)
        expect(live(teacher, "h2").filter(has_text="Room code")).to_contain_text(code)
        phones.go_on.set()
        assert phones.all_in.wait(600) and not phones.failures, phones.failures
        expect(live(teacher, '[data-testid="stMetricValue"]')).to_have_text(str(phones.size), timeout=60_000)
        seen = time.perf_counter() - phones.last_guess
        bars = chart(teacher, state.POLL_LIVE)
        for guess_text in phones.sent:
            expect(bars).to_contain_text(guess_text)
        screenshot(teacher, "class_poll_rehearsal_teacher")

        keyed(teacher, state.POLL_REVEAL, "button").click()
        expect(live(teacher, '[data-testid="stAlertContentSuccess"]')).to_contain_text("The model's answer")
        phones.revealed.set()
        phones.thread.join(600)
    finally:
        phones.go_on.set()
        phones.revealed.set()
        phones.thread.join(60)
        teacher.context.clear_cookies()
    upstreams = two_replicas.upstreams()
    print(f"rehearsal: last guess -> teacher shows {phones.size}: {seen:.1f} s; websockets per replica {upstreams}")
    assert phones.confirmed == phones.size and sum(phones.sent.values()) == phones.size, phones.failures
    assert phones.saw_answer == phones.size, phones.failures
    assert len(upstreams) == 2, upstreams  # the class really was split over both replicas
