"""A normal install (`pip install .`, not `-e`) runs: the wheel carries templates/ and migrations/, and the
installed package finds them (and its instance folder) without the checkout.

The wheel is built the way a packager would: an sdist from a copy of the sources (MANIFEST.in decides what is
in it), then a wheel from that sdist. It is installed with --no-deps into a fresh venv that sees the dev venv's
dependencies (but not its editable reportkit) through a .pth file, and run from a folder outside the checkout.
"""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

from alembic.script import ScriptDirectory

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("reportkit", "templates", "migrations", "setup.cfg", "setup.py", "pyproject.toml", "README.md",
           "MANIFEST.in")

# Run inside the installed venv: what the installed package finds, one page served, and the database's revision.
PROBE = """
import json, os, sqlite3, sys
import reportkit
from reportkit import create_app
instance = os.environ.pop("REPORTKIT_INSTANCE_PATH")
default = create_app({"SECRET_KEY": "probe", "SQLALCHEMY_DATABASE_URI": "sqlite://"}).instance_path
os.environ["REPORTKIT_INSTANCE_PATH"] = instance
app = create_app()
client = app.test_client()
login, css = client.get("/auth/login"), client.get("/static/app.css")
with sqlite3.connect(os.path.join(instance, "reportkit.db")) as con:
    revision = [r[0] for r in con.execute("select version_num from alembic_version")]
    users = con.execute("select count(*) from user").fetchone()[0]
print(json.dumps({"package": reportkit.__file__, "templates": str(reportkit.TEMPLATES),
                  "migrations": str(reportkit.MIGRATIONS), "instance": app.instance_path, "default": default,
                  "login": login.status_code, "page": login.get_data(as_text=True), "css": css.status_code,
                  "revision": revision, "users": users}))
"""


def _run(args, **kw):
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, **kw)
    assert done.returncode == 0, f"{args}\n{done.stdout}\n{done.stderr}"
    return done


def _dependencies_only(target: Path) -> Path:
    """A folder of links to the dev venv's installed packages, minus reportkit itself (its editable finder and
    dist-info would let the fresh venv import the checkout, or make pip think reportkit is installed)."""
    target.mkdir()
    for item in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if "reportkit" not in item.name.lower() and not item.name.startswith("__editable__"):
            (target / item.name).symlink_to(item)
    return target


def test_wheel_installs_migrates_and_serves_without_the_checkout(tmp_path):
    src = tmp_path / "src"
    for name in SOURCES:
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy2
        copy(ROOT / name, src / name, **({"ignore": shutil.ignore_patterns("__pycache__")} if copy is shutil.copytree
                                         else {}))
    dist = tmp_path / "dist"
    _run([sys.executable, "-c", f"from setuptools import build_meta; build_meta.build_sdist({str(dist)!r})"],
         cwd=src)
    (sdist,) = dist.glob("reportkit-*.tar.gz")
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(dist),
          str(sdist)], cwd=tmp_path)
    (wheel,) = dist.glob("reportkit-*.whl")

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    (site / "dev-dependencies.pth").write_text(f"{_dependencies_only(tmp_path / 'deps')}\n")
    _run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], cwd=tmp_path)

    work = tmp_path / "elsewhere"  # not the checkout: nothing may be found relative to the current folder
    work.mkdir()
    instance = tmp_path / "instance"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REPORTKIT_", "PYTHON", "FLASK_"))}
    env["REPORTKIT_INSTANCE_PATH"] = str(instance)
    _run([str(env_dir / "bin" / "reportkit"), "db", "upgrade"], cwd=work, env=env)
    found = json.loads(_run([str(python), "-c", PROBE], cwd=work, env=env).stdout)

    installed = str(env_dir)
    for key in ("package", "templates", "migrations"):
        assert found[key].startswith(installed), (key, found[key])
    assert Path(found["instance"]) == instance
    assert Path(found["default"]) == env_dir / "var" / "reportkit-instance"  # Flask's default for an install
    assert found["login"] == 200 and 'name="password"' in found["page"] and "</html>" in found["page"]
    assert found["css"] == 200
    heads = ScriptDirectory(str(ROOT / "migrations")).get_heads()
    assert found["revision"] == heads and found["users"] == 0  # every migration shipped and ran
