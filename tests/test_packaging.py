"""The installed package: catalogues inside it (bot/locales/), nothing else at the top level.

The wheel is built offline from exactly what the Dockerfile copies into the image, so the
image build is checked too.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.process


def docker_context() -> list[str]:
    """Return the paths the Dockerfile COPYs before it installs the project."""
    paths: list[str] = []
    for line in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines():
        if line.startswith("RUN pip install"):
            break
        if line.startswith("COPY "):
            paths += line.split()[1:-1]
    return paths


_BUILT: list[Path] = []  # the wheel, built once per process


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the wheel from the Docker build context (no network: --no-build-isolation).

    Kept for the session: under xdist the module's fixture can be set up once per test.
    """
    if _BUILT and _BUILT[0].exists():
        return _BUILT[0]
    context = tmp_path_factory.mktemp("context")
    for name in docker_context():
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, context / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, context / name)
    out = tmp_path_factory.mktemp("dist")
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    done = subprocess.run(
        [*pip_wheel, "-q", "--no-cache-dir", "-w", str(out), str(context)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    (built,) = out.glob("liaison_bot-*.whl")
    _BUILT[:] = [built]
    return built


def test_catalogues_are_inside_the_package(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"bot"}, tops  # no top-level `locales` (or anything else) in site-packages
    shipped = sorted(n for n in names if n.endswith(".po"))
    expected = sorted(
        f"bot/locales/{p.relative_to(ROOT / 'locales').as_posix()}"
        for p in (ROOT / "locales").glob("*/LC_MESSAGES/*.po")
    )
    assert shipped == expected and len(expected) >= 3


def test_installed_package_finds_its_catalogues(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    probe = (
        "from bot.i18n import I18n, locales_dir; from zoneinfo import ZoneInfo; "
        "t = I18n(ZoneInfo('Asia/Shanghai')).get('en'); "
        "print(locales_dir()); print(t('help.header') != 'help.header')"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(site)!r}); {probe}"],
        cwd=tmp_path,  # not the checkout: only the installed copy can be found
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    found, translated = done.stdout.splitlines()
    assert Path(found) == site / "bot" / "locales"
    assert translated == "True"
