"""The review page as a browser shows it: headless Chromium loads it offline and we read what a reviewer sees."""

from __future__ import annotations

import importlib.util
import os
import re
import struct
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LISHUI = ROOT / "policies" / "lishui-2021-67.yaml"

# The screenshot script holds the one Chromium command line (offline flags, fresh profile); test that one.
_spec = importlib.util.spec_from_file_location("screenshot", ROOT / "scripts" / "screenshot.py")
screenshot = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(screenshot)

CHROMIUM = screenshot.find_chromium()
if CHROMIUM is None and os.environ.get("CI"):  # .ci/run installs Chromium: in CI a missing browser is a failure
    raise RuntimeError("CI needs Chromium for the browser checks; .ci/run installs it (apt-get install chromium)")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install -y "
                                                         "chromium); the browser check needs a real browser")


class _VisibleText(HTMLParser):
    """The text a reader sees: everything outside <style>, <script>, <head>."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "script", "title"):
            self.skip += 1

    def handle_endtag(self, tag):
        if tag in ("style", "script", "title"):
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    return screenshot.render_page(LISHUI, tmp_path_factory.mktemp("review"))


@pytest.fixture(scope="module")
def dom(page) -> str:
    run = screenshot.chromium(CHROMIUM, page, "--dump-dom")
    assert run.returncode == 0, run.stderr
    return run.stdout


@pytest.fixture(scope="module")
def seen(dom) -> str:
    parser = _VisibleText()
    parser.feed(dom)
    return "".join(parser.parts)


def test_the_browser_shows_the_header_and_every_article(seen):
    assert "丽政办发〔2021〕67号" in seen
    assert "丽水市人民政府办公室关于促进跨境电子商务发展的实施意见" in seen
    for article in ("第一条", "第二条", "第三条", "第四条", "第五条", "第六条", "第七条", "第八条", "第九条", "第十条"):
        assert article in seen, article
    assert "2022-02-01 至 2027-01-31" in seen


def test_the_browser_shows_rules_in_officers_numbers(seen):
    assert "50%" in seen and "10万元" in seen and "2亿元" in seen
    assert "年度跨境电商交易额 ≥ 500万元" in seen


def test_the_browser_shows_readings_and_parameter_history(seen, dom):
    assert "首次开展跨境电商、当年交易额又达500万元以上的企业" in seen  # Q1's question
    assert "参数及其历史" in seen
    table = dom.split('id="parameters"')[1].split("</table>")[0]
    assert "<table" in table and "年交易额500万元以上企业补助比例" in table
    assert table.count("<tr>") >= 1 + 20  # a header row and a row per dated value


def test_the_page_loads_nothing_from_the_network(dom, page):
    for text in (page.read_text(encoding="utf-8"), dom):
        assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", text, flags=re.I)
        assert not re.search(r"@import|url\(\s*['\"]?\s*(?:https?:)?//", text, flags=re.I)


def test_the_page_renders_to_a_screenshot(page, tmp_path):
    png = tmp_path / "review.png"
    run = screenshot.chromium(CHROMIUM, page, f"--screenshot={png}", window="1280,2000")
    assert run.returncode == 0 and png.exists(), run.stderr
    header = png.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", header[16:24]) == (1280, 2000)
    assert png.stat().st_size > 50_000  # a blank or error page compresses to a few kilobytes
