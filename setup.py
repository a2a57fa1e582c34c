"""Build step for a normal (not editable) install; everything else is in setup.cfg.

The project keeps `templates/` and `migrations/` at the top of the checkout. A wheel carries them inside the
package (`reportkit/templates/`, `reportkit/migrations/`), where `reportkit.TEMPLATES` and
`reportkit.MIGRATIONS` look first; a checkout (and `pip install -e .`) uses the top-level folders. A new file or
folder under either is shipped without editing this file.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
SHIPPED = ("templates", "migrations")  # top-level folders copied into the package when it is built


class BuildWithTemplates(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the checkout's folders in place
        for name in SHIPPED:
            for source in sorted((HERE / name).rglob("*")):
                if source.is_file() and "__pycache__" not in source.parts and source.suffix != ".pyc":
                    target = Path(self.build_lib, "reportkit", source.relative_to(HERE))
                    self.mkpath(str(target.parent))
                    self.copy_file(str(source), str(target))


setup(cmdclass={"build_py": BuildWithTemplates})
