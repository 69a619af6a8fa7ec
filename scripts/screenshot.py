"""Render a policy's review page and photograph it in headless Chromium (stdlib only), to look at before merging."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 120  # seconds; a cold Chromium start in a container can take a while

# Everything that would make Chromium reach the network or keep state between runs is switched off,
# so a page that loads here loads offline, and a test run cannot depend on a previous one.
QUIET_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--hide-scrollbars")


def find_chromium() -> str | None:
    """The Chromium binary: /usr/bin/chromium (Debian) or whatever `chromium` is on PATH."""
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    return shutil.which("chromium") or shutil.which("chromium-browser")


def chromium(binary: str, page: Path, *action: str, window: str = "1280,2000") -> subprocess.CompletedProcess:
    """Run Chromium once on `page` with `action` (--dump-dom, --screenshot=…) and a fresh profile."""
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        command = [binary, *QUIET_FLAGS, f"--user-data-dir={profile}", f"--window-size={window}", *action,
                   page.resolve().as_uri()]
        return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, check=False)


def render_page(policy: Path, out_dir: Path, lang: str | None = None) -> Path:
    """The review page of `policy` as HTML in `out_dir`, made by the project's own CLI."""
    page = out_dir / (policy.stem + ".review.html")
    command = [sys.executable, str(ROOT / "cli.py"), "render", str(policy), "--format", "html", "-o", str(page),
               "--force"]
    if lang:
        command += ["--lang", lang]
    run = subprocess.run(command, cwd=ROOT, timeout=TIMEOUT, capture_output=True, text=True, check=False)
    if run.returncode != 0:
        raise RuntimeError(f"policy render failed ({run.returncode}):\n{run.stderr}")
    return page


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("policy", nargs="?", default=str(ROOT / "policies" / "lishui-2021-67.yaml"))
    parser.add_argument("-o", "--out", default=None, help="PNG to write (default: in a new temporary folder)")
    parser.add_argument("--lang", choices=["zh", "en"], default=None)
    parser.add_argument("--window", default="1280,2000", help="width,height in CSS pixels (try 420,2000 for phones)")
    args = parser.parse_args(argv)

    binary = find_chromium()
    if binary is None:
        print("chromium not found: install it (Debian: apt-get install -y chromium)", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="policy-review-"))
    page = render_page(Path(args.policy).resolve(), work, args.lang)
    png = Path(args.out).resolve() if args.out else work / (page.stem + ".png")

    shot = chromium(binary, page, f"--screenshot={png}", window=args.window)
    if shot.returncode != 0 or not png.exists():
        print(f"chromium failed ({shot.returncode}):\n{shot.stderr}", file=sys.stderr)
        return 1
    dom = chromium(binary, page, "--dump-dom", window=args.window)
    if dom.returncode != 0:
        print(f"chromium --dump-dom failed ({dom.returncode}):\n{dom.stderr}", file=sys.stderr)
        return 1
    dom_file = work / (page.stem + ".dom.html")
    dom_file.write_text(dom.stdout, encoding="utf-8")
    print(f"page: {page}")
    print(f"dom:  {dom_file} ({len(dom.stdout)} characters)")
    print(f"png:  {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
