"""The class poll page's parts, one module per role: ``teacher`` (the teacher's screen and the projector) and
``student`` (a student's phone), with what both draw in ``shared``. Only app_pages/class_poll.py imports them."""
