"""Build hook only (the project is described in pyproject.toml).

The gettext catalogues live in the repository's top-level `locales/` (where translators and
every feature add their .po files); installed, they belong inside the package as
`bot/locales/`, so the project never puts a generic top-level `locales` into site-packages.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

CATALOGUES = Path(__file__).resolve().parent / "locales"


class BuildPyWithLocales(build_py):
    """build_py that also copies locales/<lang>/LC_MESSAGES/*.po to bot/locales/."""

    def run(self) -> None:
        super().run()
        for po in sorted(CATALOGUES.glob("*/LC_MESSAGES/*.po")):
            target = Path(self.build_lib) / "bot" / "locales" / po.relative_to(CATALOGUES)
            self.mkpath(str(target.parent))
            self.copy_file(str(po), str(target))


setup(cmdclass={"build_py": BuildPyWithLocales})
