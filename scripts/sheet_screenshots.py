"""Photograph the calculation sheet where people see it — the form (policy serve), a round's --sheets page and the
first page of `policy evaluate --format pdf` — for the README (docs/img/*.png), in headless Chromium.

    python scripts/sheet_screenshots.py            # writes docs/img/sheet-form.png, sheet-batch.png, sheet-pdf.png

Needs the test extra (Playwright drives Debian's Chromium; nothing is downloaded) and poppler's pdftoppm.
The same applicant, typed into the form and written as a facts file and a round's row, is used by
tests/test_service_form_browser.py to check that the three show the same sheet.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
POLICY = ROOT / "policies" / "lishui-2021-67.yaml"
CODE = "91331100MA2A0B1C2N"  # an invented credit code with a valid check character

# One applicant (invented), as the form's request body, a facts file and a round's row all carry it.
APPLICANT: dict[str, Any] = {
    "applicant": "丽水示例跨境电商有限公司", "recipient": "seller", "area": "莲都区", "date": "2024-12-20",
    "facts": {"claim_year": 2024, "registered_cbec": True, "first_time_cbec": True, "cbec_turnover": "620万元",
              "platform_fees": "368000.50", "digital_promotion": "212000", "has_independent_site": True,
              "site_domain_holding": "60%", "site_costs": "1200000", "site_costs_in_promotion": "0",
              "uses_public_warehouse": True, "warehouse_service_cost": "456789.13"},
    "granted": {"2.2": "5万元"},
}


def _load_screenshot() -> Any:
    spec = importlib.util.spec_from_file_location("screenshot", ROOT / "scripts" / "screenshot.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def find_chromium() -> str | None:
    return _load_screenshot().find_chromium()  # type: ignore[no-any-return]


@contextmanager
def service() -> Iterator[str]:
    """`policy serve` on a free loopback port, in this process (uvicorn), stopped on leaving."""
    import uvicorn

    from engine.service.app import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(ROOT / "policies"), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def fill_form(page: Any, applicant: dict[str, Any]) -> None:
    """Type `applicant` into the open form as a case worker would, and wait for its sheet."""
    page.select_option("#recipient", applicant["recipient"])
    page.fill("#applicant", applicant["applicant"])
    page.select_option("#area", applicant["area"])
    page.fill("#date", applicant["date"])
    for name, value in applicant["facts"].items():
        if isinstance(value, bool):
            page.select_option(f'select[name="{name}"]', "true" if value else "false")
        else:
            page.fill(f'input[name="{name}"]', str(value))
    if applicant.get("granted"):
        page.check("#granted-known")
        for clause, amount in applicant["granted"].items():
            page.fill(f'input[name="granted-{clause}"]', amount)
    # The sheet follows 200 ms after the last change: wait until the one for everything typed is shown.
    page.wait_for_function("document.getElementById('status').dataset.state === 'ok'"
                           " && document.querySelector('#sheet article.sheet') !== null")
    page.wait_for_timeout(400)
    page.wait_for_function("document.getElementById('status').dataset.state === 'ok'")


def write_inputs(folder: Path, applicant: dict[str, Any]) -> tuple[Path, Path]:
    """The applicant as a facts file (for `policy evaluate`) and as a one-row round (for `policy batch`)."""
    facts = folder / "applicant.json"
    facts.write_text(json.dumps(applicant, ensure_ascii=False), encoding="utf-8")
    row = folder / "round.jsonl"
    row.write_text(json.dumps({"credit_code": CODE, **applicant}, ensure_ascii=False) + "\n", encoding="utf-8")
    return facts, row


def policy(*args: str | Path) -> None:
    """Run the project's CLI, failing loudly."""
    run = subprocess.run([sys.executable, str(ROOT / "cli.py"), *map(str, args)], cwd=ROOT, capture_output=True,
                         text=True, timeout=300, check=False)
    if run.returncode != 0:
        raise RuntimeError(f"policy {' '.join(map(str, args))} failed ({run.returncode}):\n{run.stderr}")


def make_surfaces(folder: Path, applicant: dict[str, Any]) -> tuple[Path, Path]:
    """The --sheets page and the PDF of `applicant`, made by the CLI in `folder`."""
    facts, row = write_inputs(folder, applicant)
    policy("batch", POLICY, row, "-o", folder / "results.xlsx", "--sheets", folder / "sheets", "--force")
    pdf = folder / "sheet.pdf"
    policy("evaluate", POLICY, facts, "--format", "pdf", "-o", pdf, "--force")
    return folder / "sheets" / f"{CODE}.html", pdf


def shrink(png: Path) -> None:
    """A small PNG for the repository: 64 colours are plenty for text on white (Pillow, which WeasyPrint brings)."""
    from PIL import Image

    with Image.open(png) as image:
        small = image.convert("RGB").quantize(colors=64)
    small.save(png, optimize=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "img"), help="folder for the PNGs (default docs/img)")
    args = parser.parse_args(argv)
    binary = find_chromium()
    if binary is None or shutil.which("pdftoppm") is None:
        print("needs chromium and pdftoppm (Debian: apt-get install -y chromium poppler-utils)", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="sheet-shots-") as work, service() as base, sync_playwright() as p:
        folder = Path(work)
        page_file, pdf = make_surfaces(folder, APPLICANT)
        browser = p.chromium.launch(executable_path=binary, headless=True, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{base}/policies/lishui-2021-67/form")
        fill_form(page, APPLICANT)
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(out / "sheet-form.png"))
        page.goto(page_file.as_uri())
        page.set_viewport_size({"width": 900, "height": 1100})
        page.screenshot(path=str(out / "sheet-batch.png"))
        browser.close()
        subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", str(pdf),
                        str(out / "sheet-pdf")], check=True, timeout=120)
    for name in ("sheet-form.png", "sheet-batch.png", "sheet-pdf.png"):
        shrink(out / name)
        print(out / name, (out / name).stat().st_size, "bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
