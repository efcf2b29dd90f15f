"""Ship the top-level templates/ folder inside the package as nndsl/templates.

The templates hold only Jinja, one folder per target: they are data, not Python packages, so
they are copied into the build instead of being listed in pyproject.toml (a new target's
folder is picked up with no edit anywhere).
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPyWithTemplates(build_py):
    """build_py plus a copy of templates/**/*.j2 into <build>/nndsl/templates."""

    def run(self) -> None:
        super().run()
        source = Path(__file__).parent / "templates"
        for template in sorted(source.rglob("*.j2")):
            target = Path(self.build_lib, "nndsl", "templates", template.relative_to(source))
            self.mkpath(str(target.parent))
            self.copy_file(str(template), str(target))


setup(cmdclass={"build_py": BuildPyWithTemplates})
