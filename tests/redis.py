"""A throwaway Debian redis-server for the tests: a Unix socket only (owner-only), no port, nothing saved.

`scripts/system-deps.sh --test` installs it; a missing server fails the tests that need it, it does not skip them.
"""

import subprocess
import time
from pathlib import Path


class Server:
    def __init__(self, folder: Path):
        self.folder, self.socket = folder, folder / "redis.sock"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Server":
        self.proc = subprocess.Popen(["redis-server", "--port", "0", "--unixsocket", str(self.socket),
                                      "--unixsocketperm", "700", "--save", "", "--appendonly", "no",
                                      "--dir", str(self.folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while not self.socket.exists():
            assert self.proc.poll() is None and time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=20)

    def jobs_url(self, db: int = 0) -> str:
        """For JOBS_URL (Huey's Redis storage)."""
        return f"unix://{self.socket}?db={db}"

    def limits_url(self, db: int = 1) -> str:
        """For RATELIMIT_STORAGE_URI (Flask-Limiter's `limits`)."""
        return f"redis+unix://{self.socket}?db={db}"
