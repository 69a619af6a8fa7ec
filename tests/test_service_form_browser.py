"""The case worker's form in a real headless Chromium (driven by Playwright): choose the kind of applicant, fill in
facts, watch the calculation sheet follow, see a mistake at its field, save the facts as a YAML file — offline."""

from __future__ import annotations

import importlib.util
import os
import re
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
    assert page.locator('[id="clause-2.2"] .outcome').inner_text() == "符合"
    sheet = page.locator("#sheet").inner_text()
    for code in ("platform_fees", "site_costs", "pick:", "period", "$.", "seller"):  # labels and words only
        assert code not in sheet, code
    # Below the threshold, 2.2 no longer pays, and the sheet says why.
    page.fill('input[name="cbec_turnover"]', "400万元")
    page.wait_for_function("document.querySelector('[id=\"clause-2.2\"] .outcome').textContent === '不符合'")


def test_a_mistake_is_shown_at_its_field_with_the_engines_words(page):
    page.select_option("#recipient", "seller")
    page.fill('input[name="cbec_turnover"]', "很多")
    page.wait_for_function("document.getElementById('status').dataset.state === 'problems'")
    said = page.locator("#problems").inner_text()
    assert "“年度跨境电商交易额”" in said and "cbec_turnover" not in said and "$." not in said
    assert "bad" in page.locator('input[name="cbec_turnover"]').get_attribute("class")
    at_field = field(page, "cbec_turnover").locator(".field-error")
    assert "年度跨境电商交易额" in at_field.inner_text() and "很多" in at_field.inner_text()
    page.fill('input[name="cbec_turnover"]', "500万元")
    page.wait_for_function("document.getElementById('status').dataset.state === 'ok'")
    assert page.locator("#problems").is_hidden() and page.locator(".field-error").count() == 0


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


# --- the sheet for people, and the form's fields ----------------------------------------------------------------

_shots_spec = importlib.util.spec_from_file_location("sheet_screenshots", ROOT / "scripts" / "sheet_screenshots.py")
shots = importlib.util.module_from_spec(_shots_spec)
_shots_spec.loader.exec_module(shots)


def sheet_text(page) -> str:
    """The sheet's text as the reader sees it (innerText), without the credit code row (the form has no code
    without a ledger; a round's sheet always has one)."""
    return page.evaluate("""() => {
        const article = document.querySelector('article.sheet').cloneNode(true);
        article.querySelectorAll('[data-row="code"]').forEach((row) => row.remove());
        document.body.appendChild(article);  // innerText needs it laid out
        const text = article.innerText;
        article.remove();
        return text;
    }""")


def pdf_text(pdf) -> str:
    import subprocess

    text = subprocess.run(["pdftotext", "-raw", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    # The page's own marks are left out: its footer (第 1 页，共 4 页) and the lists' numbers and bullets (1. 2. •).
    return "\n".join(line for line in text.splitlines()
                     if not re.fullmatch(r"\s*(?:第 \d+ 页，共 \d+ 页|\d+\.|•)\s*", line))


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_the_form_the_rounds_sheet_and_the_pdf_show_the_same_sheet(page, browser, tmp_path):
    page_file, pdf = shots.make_surfaces(tmp_path, shots.APPLICANT)
    shots.fill_form(page, shots.APPLICANT)
    in_form = sheet_text(page)
    other = browser.new_page()
    other.goto(page_file.as_uri())
    in_round = sheet_text(other)
    assert shots.CODE in other.locator("article.sheet").inner_text()  # the round's sheet has the code row
    other.close()
    assert "已确定部分合计：841,357.83元" in in_form and "独立站企业补助" in in_form
    assert in_form == in_round
    assert flat(pdf_text(pdf)) == flat(in_form)


def test_dates_are_typed_year_month_day_and_a_wrong_one_is_said_at_its_field(page):
    date = page.locator("#date")
    assert date.get_attribute("type") == "text" and "2024-12-20" in date.get_attribute("placeholder")
    page.select_option("#recipient", "seller")
    page.fill("#date", "2024/12/5")  # as a case worker may type it: read as 2024-12-05
    page.wait_for_function("document.querySelector('[data-row=\"date\"] td') !== null"
                           " && document.querySelector('[data-row=\"date\"] td').textContent === '2024-12-05'")
    page.fill("#date", "12/20/2024")  # the browser's American order is not a date here
    page.wait_for_function("document.getElementById('status').dataset.state === 'problems'")
    said = page.locator("#facts-form .field-error").inner_text()
    assert "12/20/2024" in said and "年-月-日" in said
    assert "bad" in date.get_attribute("class")


def test_the_fund_year_field_is_on_the_form(page):
    page.select_option("#recipient", "seller")
    year = field(page, "claim_year")
    assert year.is_visible() and "年度" in year.inner_text()
    assert "claim_year" not in page.locator("#facts").inner_text()  # labels, not the file's names


def test_placeholders_are_not_cut_off_at_1024_px(page):
    page.set_viewport_size({"width": 1024, "height": 800})
    page.select_option("#recipient", "seller")
    page.check("#granted-known")
    cut = page.evaluate("""() => {
        const canvas = document.createElement('canvas').getContext('2d');
        const out = [];
        document.querySelectorAll('input[placeholder]').forEach((input) => {
            if (!input.offsetParent || !input.placeholder) return;  // hidden
            const style = getComputedStyle(input);
            canvas.font = style.font;
            const room = input.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
            const needs = canvas.measureText(input.placeholder).width;
            if (needs > room) out.push(input.placeholder + ' ' + needs.toFixed(0) + ' > ' + room.toFixed(0));
        });
        return out;
    }""")
    assert cut == []


def test_the_print_button_prints_the_sheet_only_on_a4(page, tmp_path):
    import subprocess

    assert page.locator("#print").is_disabled()  # nothing to print yet
    shots.fill_form(page, shots.APPLICANT)
    assert page.locator("#print").is_enabled()
    page.emulate_media(media="print")
    assert page.locator("#facts-form").is_hidden() and page.locator("#print").is_hidden()
    assert page.locator("article.sheet").is_visible()
    pdf = tmp_path / "printed.pdf"
    page.pdf(path=str(pdf), prefer_css_page_size=True)
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "(A4)" in info
    text = flat(pdf_text(pdf))
    assert "保存为事实文件" not in text and "申报事实填写" not in text  # the form is not printed
    for shown in ("250,000.00元（25万元）", "已确定部分合计：841,357.83元", "年交易额500万元以上企业补助", "独立站企业补助"):
        assert shown in text, shown
    # Every line of the sheet is on the pages (Chromium draws the lists' numbers inline, and its footer first).
    text = re.sub(r"第\d+页，共\d+页", "", text)
    missing = [line for line in sheet_text(page).splitlines() if flat(line) and flat(line) not in text]
    assert missing == []
