"""The class-poll page through app.py (AppTest): a teacher's session starts a room, students' sessions open
?room=CODE and submit, the teacher's view counts them, the reveal reaches the students; bad codes and guesses get a
message; a <script> guess stays text. Also the predict-first page. Every session of one process shares the
in-process room store, as the sessions of one server do."""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from core.poll import GuessError, check_guess
from core.seed_examples import PACKAGE_PROMPTS
from core.serving.rooms import TeacherKey
from tests.app.helpers import ROOT, all_text, assert_clean, open_page, plotly_specs
from tests.app.test_bad_input_sweep import HOSTILE_TEXT, REFUSED
from ui import state
from ui.poll import address_of, host_cookie_value, local_only, parse_host_cookie, shared_store
from views.class_poll import student as student_views
from views.class_poll import teacher as teacher_views
from views.class_poll.teacher import gone_message

PAGE = "app_pages/class_poll.py"
PROMPT_STYLE = "<style>.nte-poll-prompt{font-size:1.6rem;font-weight:600;line-height:1.3}</style>"


def teacher_session() -> tuple[AppTest, TeacherKey]:
    at = open_page(PAGE)
    at.button(key=state.POLL_START).click().run()
    assert_clean(at)
    key = at.session_state[state.POLL_ROOM]
    assert isinstance(key, TeacherKey)
    assert f"Room code: `{key.code}`" in all_text(at)
    assert len(at.get("image")) == 1  # the QR code of the link
    return at, key


def student_session(code: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.query_params["room"] = code
    at.run()
    at.switch_page(PAGE).run()
    assert_clean(at)
    return at


def submit(at: AppTest, guess: str) -> None:
    at.text_input(key=state.POLL_GUESS).input(guess)
    at.button(key=state.POLL_SUBMIT).click().run()
    assert_clean(at)


def class_bars(at: AppTest) -> dict[str, int]:
    """The class's histogram in the page's one chart: each label's first line -> count."""
    (spec,) = plotly_specs(at)
    bars = spec["data"][0]
    return {label.split("<br>")[0]: int(n) for label, n in zip(bars["y"], bars["x"])}


def test_teacher_starts_students_submit_teacher_counts_and_reveals():
    teacher, key = teacher_session()
    assert teacher.metric[0].value == "0"
    one, two = student_session(key.code), student_session(key.code.lower())
    assert "The capital of France is" in all_text(one)
    submit(one, "Paris")
    assert "Your guess is in: Paris" in all_text(one)
    submit(two, "  Paris ")
    submit(two, "Lyon")  # a second guess replaces the first
    teacher.run()
    assert_clean(teacher)
    assert teacher.metric[0].value == "2"
    assert class_bars(teacher) == {"Paris": 1, "Lyon": 1}
    spec = plotly_specs(teacher)[0]
    assert len(spec["data"]) == 1  # before the reveal: no model numbers on the projector
    assert "hidden until you reveal" in str(spec["layout"]["annotations"])

    teacher.button(key=state.POLL_REVEAL).click().run()
    assert_clean(teacher)
    assert "The model's answer: **␣Paris**" in all_text(teacher)
    spec = plotly_specs(teacher)[0]
    assert len(spec["data"]) == 2 and spec["data"][1]["y"][0] == "1. ␣Paris"
    paris = next(label for label in spec["data"][0]["y"] if label.startswith("Paris"))
    assert "→ ␣Paris" in paris and "rank 1" in paris

    one.run()
    assert_clean(one)
    text = all_text(one)
    assert "The model's answer: **␣Paris**" in text
    assert "the model's own answer" in text
    two.run()
    assert "rank " in all_text(two) and "Lyon" in all_text(two)

    teacher.text_area(key=state.POLL_NEXT_PROMPT).input("The package left the").run()
    teacher.button(key=state.POLL_NEXT).click().run()
    assert_clean(teacher)
    assert "Round 2" in all_text(teacher) and teacher.metric[0].value == "0"
    one.run()
    assert "round 2" in all_text(one) and one.text_input(key=state.POLL_GUESS).value == ""

    teacher.button(key=state.POLL_CLOSE).click().run()
    assert_clean(teacher)
    assert teacher.session_state[state.POLL_ROOM] == key  # a warning first
    assert "Closing forgets every guess" in " ".join(w.value for w in teacher.warning)
    teacher.button(key=state.POLL_CLOSE_YES).click().run()
    assert_clean(teacher)
    assert teacher.session_state[state.POLL_ROOM] is None
    one.run()
    assert "closed this room" in all_text(one)


@pytest.mark.parametrize(
    ("code", "message"), [("ZZ", "is not a room code"), ("<script>", "is not a room code"), ("K7MX3P", "No open room")]
)
def test_bad_codes_get_a_message(code, message):
    at = student_session(code)
    errors = " ".join(e.value for e in at.error)
    assert message in errors
    assert "<script>" not in errors  # shown inert (escaped)
    assert at.text_input(key=state.POLL_JOIN_CODE)  # and a box to type the code again


def test_bad_guesses_get_a_message_and_a_script_guess_stays_text():
    teacher, key = teacher_session()
    student = student_session(key.code)
    for bad, message in (("   ", "Type a guess first"), ("x" * 41, "at most 40"), ("a\u200bb", "invisible")):
        submit(student, bad)
        assert message in " ".join(e.value for e in student.error)
    submit(student, "<script>alert(1)</script>")
    success = " ".join(s.value for s in student.success)
    assert "\\<script\\>" in success and "<script>" not in success
    teacher.run()
    assert teacher.metric[0].value == "1"
    labels = list(class_bars(teacher))
    assert labels == ["&lt;script&gt;alert(1)&lt;/script&gt;"]


def test_predict_first_scores_a_guess():
    at = open_page("app_pages/predict_first.py")
    assert "The …" in at.get("html")[0].proto.body
    at.text_input(key=state.PF_GUESS).input("cat")
    at.button(key=state.PF_SUBMIT).click().run()
    assert_clean(at)
    saved = at.session_state[state.PF_SCORES]
    assert saved[0] == "The cat sat on the mat." and len(saved[1]) == 1
    assert saved[1][0].guess_right  # "cat" is the text's next word
    assert "The cat …" in at.get("html")[0].proto.body
    assert len(at.dataframe) == 1
    at.text_input(key=state.PF_GUESS).input("   ").run()
    at.button(key=state.PF_SUBMIT).click().run()
    assert "Type a guess first" in " ".join(e.value for e in at.error)
    assert len(at.session_state[state.PF_SCORES][1]) == 1


@pytest.fixture(scope="module")
def poll_room():
    """One teacher and one student session on one room, shared by the sweep below."""
    teacher, key = teacher_session()
    return teacher, key, student_session(key.code)


def accepted(text: str) -> bool:
    try:
        check_guess(text)
    except GuessError:
        return False
    return True


@pytest.mark.parametrize("text", HOSTILE_TEXT, ids=range(len(HOSTILE_TEXT)))
def test_hostile_guesses(poll_room, text):
    teacher, key, student = poll_room
    submit(student, text)
    if accepted(text):
        assert " ".join(s.value for s in student.success).startswith("Your guess is in:")
    else:
        assert student.error and not student.success
    assert "<script>" not in all_text(student).replace(PROMPT_STYLE, "")  # shown inert (escaped) if at all
    teacher.run()
    assert_clean(teacher)
    assert not any("<script>" in label for label in class_bars(teacher))


@pytest.mark.parametrize("text", HOSTILE_TEXT, ids=range(len(HOSTILE_TEXT)))
def test_hostile_first_prompts(text):
    at = open_page(PAGE)
    at.text_area(key=state.POLL_PROMPT).set_value(text).run()
    at.button(key=state.POLL_START).click().run()
    assert_clean(at)
    key = at.session_state[state.POLL_ROOM] if state.POLL_ROOM in at.session_state else None
    if text in REFUSED:
        assert key is None and at.error
        return
    assert isinstance(key, TeacherKey)
    assert plotly_specs(at)
    at.button(key=state.POLL_CLOSE).click().run()
    assert_clean(at)


@pytest.mark.parametrize("text", HOSTILE_TEXT, ids=range(len(HOSTILE_TEXT)))
def test_hostile_predict_first_texts(text):
    at = open_page("app_pages/predict_first.py")
    at.text_area(key=state.PF_TEXT).set_value(text).run()
    assert_clean(at)
    if len(text.split()) < 2:
        assert at.info or at.error or at.warning


def test_a_host_link_gives_the_room_back_in_a_new_session_and_a_student_link_never_does():
    teacher, key = teacher_session()
    student = student_session(key.code)
    submit(student, "Paris")
    links = [e.value for e in teacher.code]
    assert f"?room={key.code}" in links[0] and key.token not in links[0]  # the student link (and its QR code)
    assert any(link.endswith(f"?room={key.code}&host={key.token}") for link in links[1:])  # the private link
    assert key.token not in " ".join(m.value for m in teacher.markdown)

    again = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)  # the teacher after a reload
    again.query_params["room"] = key.code
    again.query_params["host"] = key.token
    again.run()
    again.switch_page(PAGE).run()
    assert_clean(again)
    assert again.session_state[state.POLL_ROOM] == key
    assert f"You run room {key.code} again" in all_text(again)
    assert "host" not in again.query_params  # the token leaves the address bar
    assert again.metric[0].value == "1"
    again.button(key=state.POLL_REVEAL).click().run()
    assert_clean(again)
    assert "The model's answer: **␣Paris**" in all_text(again)

    forged = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    forged.query_params["room"] = key.code
    forged.query_params["host"] = "x" * 32
    forged.run()
    forged.switch_page(PAGE).run()
    assert_clean(forged)
    assert state.POLL_ROOM not in forged.session_state or forged.session_state[state.POLL_ROOM] is None
    assert "secret part is wrong" in " ".join(e.value for e in forged.error)
    assert not _has_key(forged, state.POLL_REVEAL)
    assert f"Room {key.code}" in all_text(forged)  # the student's view of the room


def _has_key(at: AppTest, key: str) -> bool:
    try:
        at.button(key=key)
    except KeyError:
        return False
    return True


def test_the_room_link_uses_the_operators_public_address(monkeypatch):
    monkeypatch.setenv("NTE_PUBLIC_URL", "http://192.168.1.20:8501/")
    teacher, key = teacher_session()
    assert teacher.code[0].value == f"http://192.168.1.20:8501/class_poll?room={key.code}"
    assert not any("Phones cannot open this link" in w.value for w in teacher.warning)


def test_a_localhost_link_is_flagged():
    teacher, _ = teacher_session()
    assert any("Phones cannot open this link" in w.value for w in teacher.warning)


def test_the_limits_are_stated_on_the_teachers_page(monkeypatch):
    monkeypatch.setenv("NTE_POLL_STUDENTS_PER_CLIENT", "90")
    teacher, _ = teacher_session()
    limits_text = " ".join(c.value for c in teacher.caption if c.value.startswith("Limits:"))
    assert "500 guesses a round" in limits_text and "90 students per network address" in limits_text
    assert "20 unknown codes a minute" in limits_text


def test_a_lost_room_is_not_called_expired():
    assert "restarted without keeping its rooms" in gone_message("K7MX3P", time.time() + 3600)
    assert "has expired" in gone_message("K7MX3P", time.time() - 1)
    assert "has expired" in gone_message("K7MX3P", None)


def test_local_addresses_and_the_host_cookie():
    for url in ("http://localhost:8501/class_poll", "http://127.0.0.1:8501/x", "http://[::1]:8501/", "/class_poll"):
        assert local_only(url), url
    for url in ("http://192.168.1.20:8501/class_poll", "https://nte.school.example/class_poll"):
        assert not local_only(url), url
    key = TeacherKey("K7MX3P", "abcdefghijklmnop_-0123456789ABCD")
    value = host_cookie_value(key, 100.0, now=1000.0)
    assert value == "K7MX3P.abcdefghijklmnop_-0123456789ABCD.1100"
    assert parse_host_cookie(value) == (key, 1100.0)
    for bad in (None, "", "K7MX3P", "K0MX3P.abcdefghijklmnop.1", "K7MX3P.abc'\";x.1", "K7MX3P.abcdefghijklmnop.1;x"):
        assert parse_host_cookie(bad) is None, bad


def test_copies_without_a_shared_store_are_named_as_the_cause(monkeypatch):
    monkeypatch.setenv("NTE_REPLICAS", "2")
    monkeypatch.delenv("NTE_REDIS_URL", raising=False)
    at = open_page(PAGE)
    assert any("2 copies of the app without a shared room store" in e.value for e in at.error)
    student = student_session("K7MX3P")
    assert "No open room" in " ".join(e.value for e in student.error)
    assert any("NTE\\_REDIS\\_URL" in w.value for w in student.warning)  # shown inert: markdown-escaped


def test_the_teacher_locks_removes_a_guess_steps_through_lessons_and_closes_keeping_the_results():
    teacher, key = teacher_session()
    one, two, three = (student_session(key.code) for _ in range(3))
    submit(one, "Paris")
    submit(two, "rude")
    teacher.run()
    assert class_bars(teacher) == {"Paris": 1, "rude": 1}

    teacher.selectbox(key=state.POLL_HIDE_PICK).select("rude").run()
    teacher.button(key=state.POLL_HIDE).click().run()
    assert_clean(teacher)
    assert class_bars(teacher) == {"Paris": 1} and teacher.metric[0].value == "1"

    teacher.button(key=state.POLL_LOCK).click().run()
    assert_clean(teacher)
    assert teacher.button(key=state.POLL_LOCK).disabled
    three.run()
    assert "locked the guesses" in " ".join(i.value for i in three.info)
    assert not _has_key(three, state.POLL_SUBMIT)  # no guess box once locked

    teacher.button(key=state.POLL_REVEAL).click().run()
    two.run()
    (spec,) = plotly_specs(two)
    assert "rude" not in " ".join(spec["data"][0]["y"])  # the removed guess is on no phone's reveal either
    assert "Your guess rude" in all_text(two)  # the student still reads their own guess

    teacher.button(key=state.POLL_LESSON_NEXT).click().run()
    assert_clean(teacher)
    assert "Round 2" in all_text(teacher) and PACKAGE_PROMPTS[0] + " …" in all_text(teacher)
    one.run()  # the student's page follows the new round
    submit(one, "warehouse")
    assert "Your guess is in: warehouse" in all_text(one)

    teacher.button(key=state.POLL_CLOSE).click().run()
    teacher.button(key=state.POLL_CLOSE_YES).click().run()
    assert_clean(teacher)
    code, csv = teacher.session_state[state.POLL_RESULTS]
    assert code == key.code
    assert "1,The capital of France is,Paris,1,␣Paris," in csv and ",warehouse,1," in csv and "rude" not in csv
    assert [b.proto.label for b in teacher.get("download_button")] == [f"Download the results of room {key.code} (CSV)"]


def test_moving_the_room_and_the_poll_only_link():
    teacher, key = teacher_session()
    student = student_session(key.code)
    submit(student, "Paris")
    teacher.toggle(key=state.POLL_ONLY).set_value(True).run()
    assert teacher.code[0].value.endswith(f"?room={key.code}&view=poll")
    teacher.button(key=state.POLL_MOVE).click().run()
    assert_clean(teacher)
    moved = teacher.session_state[state.POLL_ROOM]
    assert moved.code != key.code and f"Room code: `{moved.code}`" in all_text(teacher)
    assert teacher.metric[0].value == "1"  # the round and its guesses moved with the room
    assert f"old code {key.code} no longer works" in " ".join(m.value for m in teacher.success)
    student.run()
    assert "No open room" in " ".join(e.value for e in student.error)

    phone = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    phone.query_params["room"] = moved.code
    phone.query_params["view"] = "poll"
    phone.run()
    phone.switch_page(PAGE).run()
    assert_clean(phone)
    assert any("stSidebar" in body and "display:none" in body for body in (h.proto.body for h in phone.get("html")))


def test_one_address_adds_at_most_its_limit_of_students_and_the_teacher_sees_the_refusals(monkeypatch):
    monkeypatch.setenv("NTE_POLL_STUDENTS_PER_CLIENT", "2")
    monkeypatch.setattr(student_views, "client_address", lambda: "203.0.113.7")  # one school address
    teacher, key = teacher_session()
    students = [student_session(key.code) for _ in range(3)]
    submit(students[0], "Paris")
    submit(students[1], "Lyon")
    submit(students[0], "Nice")  # changing a guess is not a new student
    submit(students[2], "Paris")
    refusal = " ".join(e.value for e in students[2].error)
    assert "2 students from your network address" in refusal and "NTE\\_POLL\\_STUDENTS\\_PER\\_CLIENT" in refusal
    teacher.run()
    assert teacher.metric[0].value == "2"
    assert "1 would-be students were refused" in " ".join(w.value for w in teacher.warning)


def test_unknown_codes_are_limited_per_address(monkeypatch):
    monkeypatch.setenv("NTE_POLL_WRONG_CODES_PER_MINUTE", "2")
    monkeypatch.setattr(student_views, "client_address", lambda: "203.0.113.8")
    already = shared_store().hit("lookup:203.0.113.8", 60.0, count=0)  # a rerun of this test in the same minute
    teacher, key = teacher_session()
    for _ in range(max(0, 2 - already)):
        assert "No open room" in " ".join(e.value for e in student_session("K7MX3P").error)
    late = student_session(key.code)  # even the right code is not looked up now
    assert "Too many unknown room codes" in " ".join(e.value for e in late.error)
    assert not _has_key(late, state.POLL_SUBMIT)


def test_the_client_address_trusts_proxy_headers_only_when_told():
    headers = {"X-Forwarded-For": "6.6.6.6, 198.51.100.4", "X-Real-Ip": "198.51.100.4"}
    assert address_of(headers, "127.0.0.1", trusted=False) == "127.0.0.1"  # a client's own claims are ignored
    assert address_of(headers, "127.0.0.1", trusted=True) == "198.51.100.4"
    assert address_of({"X-Forwarded-For": "6.6.6.6, 198.51.100.4"}, "10.0.0.2", trusted=True) == "198.51.100.4"
    assert address_of({}, "10.0.0.2", trusted=True) == "10.0.0.2"
    assert address_of({}, None, trusted=False) == "local"


def test_the_round_timer_counts_down_on_the_phones_then_locks(monkeypatch):
    monkeypatch.setattr(teacher_views, "ROUND_TIMER_SECONDS", 2)
    teacher, key = teacher_session()
    student = student_session(key.code)
    assert teacher.button(key=state.POLL_TIMER).proto.label == "Lock in 2 s"  # the label says the timer's length
    teacher.button(key=state.POLL_TIMER).click().run()
    assert_clean(teacher)
    assert "Guesses lock in" in " ".join(c.value for c in teacher.caption)
    assert teacher.button(key=state.POLL_TIMER).disabled
    student.run()
    assert "Guesses lock in" in " ".join(c.value for c in student.caption)
    submit(student, "Paris")  # in time
    time.sleep(2.5)  # past the timer (not a timing assertion: only that the round is locked afterwards)
    student.run()
    assert "locked the guesses" in " ".join(i.value for i in student.info)
    teacher.run()
    assert teacher.metric[0].value == "1" and teacher.button(key=state.POLL_LOCK).disabled
