import sys; sys.path.insert(0, "/work/main")
from tests.browser.helpers import screenshot, wait_for_app
def test_dbg(page):
    page.goto(page.app_url + "/tokenizer")
    page.wait_for_timeout(15000)
    screenshot(page, "dbg_tokenizer")
    print(page.inner_text("body")[:800])
