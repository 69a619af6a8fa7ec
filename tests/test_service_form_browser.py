"""The case worker's form in a real headless Chromium (driven by Playwright): choose the kind of applicant, fill in
facts, watch the calculation sheet follow, see a mistake at its field, save the facts as a YAML file — offline."""

from __future__ import annotations

import importlib.util
import os
import socket
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parent.parent

# The one way the project finds Chromium (scripts/screenshot.py), as the review page's browser test does.
_spec = importlib.util.spec_from_file_location("screenshot", ROOT / "scripts" / "screenshot.py")
screenshot = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(screenshot)

CHROMIUM = screenshot.find_chromium()
if CHROMIUM is None and os.environ.get("CI"):  # .ci/run installs Chromium: in CI a missing browser is a failure
    raise RuntimeError("CI needs Chromium for the browser checks; .ci/run installs it (apt-get install chromium)")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install -y "
                                                         "chromium); the form check needs a real browser")


@pytest.fixture(scope="module")
def base_url():
    """The service on a free loopback port, in this process (uvicorn, as `policy serve` runs it)."""
    import uvicorn

    from engine.service.app import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(ROOT / "policies"), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        # Debian's Chromium, not a downloaded build: nothing is fetched.
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture()
def page(browser, base_url):
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    outside: list[str] = []

    def only_the_service(route):
        if urlparse(route.request.url).netloc == urlparse(base_url).netloc:
            route.continue_()
        else:  # the page must work offline: anything else is recorded and refused
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_the_service)
    page.outside = outside
    page.goto(f"{base_url}/policies/lishui-2021-67/form")
    yield page
    assert outside == [], f"the form asked the network for {outside}"
    context.close()


def field(page, name):
    return page.locator(f'.fact[data-name="{name}"]')


def test_choosing_the_kind_first_shows_its_facts_with_labels_and_units(page):
    assert page.locator("h1").inner_text().startswith("丽政办发〔2021〕67号")
    assert page.locator("#facts").is_hidden()
    assert "选择申请人类别后显示计算单" in page.locator("#status").inner_text()
    page.select_option("#recipient", "seller")
    turnover = field(page, "cbec_turnover")
    assert turnover.is_visible()
    assert "年度跨境电商交易额" in turnover.inner_text() and "元" in turnover.inner_text()
    assert field(page, "annual_enrolment").is_hidden()  # a school's fact
    options = page.locator('select[name="registered_cbec"] option').all_inner_texts()
    assert options == ["未知", "是", "否"]
    page.select_option("#recipient", "school")
    assert field(page, "annual_enrolment").is_visible() and field(page, "cbec_turnover").is_hidden()


def test_the_sheet_follows_what_is_typed(page):
    page.select_option("#recipient", "seller")
    page.select_option("#area", "莲都区")
    page.fill("#date", "2024-12-20")
    page.fill('input[name="claim_year"]', "2024")  # the fund year claimed for: without it 2.2 waits for it
    page.select_option('select[name="registered_cbec"]', "true")
    page.select_option('select[name="first_time_cbec"]', "false")
    page.fill('input[name="cbec_turnover"]', "620万元")
    page.fill('input[name="platform_fees"]', "368000.50")
    page.fill('input[name="digital_promotion"]', "212000")
    page.check("#granted-known")
    page.fill('input[name="granted-2.2"]', "5万元")
    # The sheet updates 200 ms after typing stops; on a slow machine a sheet for the facts typed so far (2.2
    # eligible, no earlier grant yet) can show first, so wait for the sheet of every fact typed.
    capped = "封顶：290,000.25元 → 250,000.00元（25万元）"
    try:
        page.wait_for_function(
            "(text) => document.getElementById('sheet').textContent.includes(text)"
            " && document.getElementById('status').dataset.state === 'ok'",
            arg=capped,
        )
    except Exception:  # show what the sheet said instead of a bare timeout
        raise AssertionError(page.locator("#sheet").inner_text()) from None
    assert "[符合] 2.2" in page.locator("#sheet").inner_text()
    # Below the threshold, 2.2 no longer pays, and the sheet says why.
    page.fill('input[name="cbec_turnover"]', "400万元")
    page.wait_for_function("document.getElementById('sheet').textContent.includes('[不符合] 2.2')")


def test_a_mistake_is_shown_at_its_field_with_the_engines_words(page):
    page.select_option("#recipient", "seller")
    page.fill('input[name="cbec_turnover"]', "很多")
    page.wait_for_function("document.getElementById('status').dataset.state === 'problems'")
    assert "cbec_turnover" in page.locator("#problems").inner_text()
    assert "bad" in page.locator('input[name="cbec_turnover"]').get_attribute("class")
    page.fill('input[name="cbec_turnover"]', "500万元")
    page.wait_for_function("document.getElementById('status').dataset.state === 'ok'")
    assert page.locator("#problems").is_hidden()


def test_the_facts_are_saved_as_a_facts_file_the_cli_reads(page, tmp_path):
    from engine import evaluate, load_applicant, load_policy

    page.select_option("#recipient", "seller")
    page.select_option("#area", "莲都区")
    page.fill("#date", "2024-12-20")
    page.fill("#applicant", "丽水示例跨境电商有限公司")
    page.select_option('select[name="registered_cbec"]', "true")
    page.fill('input[name="cbec_turnover"]', "620万元")
    page.fill('input[name="platform_fees"]', "30万元")
    with page.expect_download() as caught:
        page.click("#save")
    saved = tmp_path / "saved.yaml"
    caught.value.save_as(saved)
    text = saved.read_text(encoding="utf-8")
    assert caught.value.suggested_filename == "lishui-2021-67.facts.yaml"
    assert text.startswith("# yaml-language-server: $schema=/policies/lishui-2021-67/facts-schema\n")  # never from Host
    policy = load_policy(str(ROOT / "policies" / "lishui-2021-67.yaml"))
    applicant = load_applicant(policy, str(saved))
    assert applicant.recipients == ("seller",) and applicant.area == "莲都区"
    assert str(applicant.values["cbec_turnover"]) == "6200000"
    assert evaluate(policy, applicant).clauses  # it evaluates
