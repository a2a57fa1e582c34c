"""A throwaway PostgreSQL server for the tests: its own data folder, a Unix socket only, no TCP port.

`.ci/run` installs the server (scripts/system-deps.sh --test); a missing server fails the tests that need
it, it does not skip them. Run as root (as CI does), the server runs as the `postgres` user.
"""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path


def _bin(name: str) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    found = found or ([Path(p)] if (p := shutil.which(name)) else [])
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} is missing: run scripts/system-deps.sh --test")
    return str(found[-1])


class Server:
    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="rk-pg-"))
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(self.root, "postgres")
        self.data = self.root / "data"

    def _run(self, *args: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_postgres else []
        subprocess.run([*prefix, *args], check=True, capture_output=True, text=True)

    def start(self) -> "Server":
        self._run(_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
        self._run(_bin("pg_ctl"), "-D", str(self.data), "-w", "-l", str(self.root / "log"), "-o",
                  f"-k {self.root} -c listen_addresses='' -c fsync=off", "start")
        return self

    def stop(self) -> None:
        self._run(_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@/{database}?host={self.root}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(host=str(self.root), user="postgres", dbname="postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)
