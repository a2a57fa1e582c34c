"""A throwaway S3-protocol server for the tests: moto's standalone server (no S3 server is packaged in Debian
here), run as a real process on a free loopback port and spoken to over HTTP, like MinIO or Garage would be.

    server = Server().start()
    settings = server.settings(server.create_bucket(object_lock=True))   # app config: EVIDENCE_URL, S3_* ...
    env = server.environ(bucket)                                         # the same as REPORTKIT_* variables
    server.stop()

or the fixtures `s3_server` (one per test session) and `s3_settings` (a new bucket per test). The server
keeps everything in memory and is gone when it stops.
"""

import itertools
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

ACCESS_KEY = "rk-test-access"
SECRET_KEY = "rk-test-secret"
REGION = "us-east-1"
_names = itertools.count(1)


class Server:
    def __init__(self):
        self.process: subprocess.Popen | None = None
        self.port = 0

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> "Server":
        env = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
               "AWS_DEFAULT_REGION": REGION, "PYTHONWARNINGS": "ignore"}
        self.process = subprocess.Popen([sys.executable, __file__], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                        text=True, env=env)
        line = self.process.stdout.readline().strip()
        if not line.isdigit():
            self.stop()
            raise RuntimeError("moto's S3 server did not start: pip install 'moto[server]' (the test extras)")
        self.port = int(line)
        deadline = time.monotonic() + timeout
        while True:  # listening already (the port was bound before it was printed); wait for a real answer
            try:
                urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=5).close()
                return self
            except urllib.error.HTTPError:
                return self
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process.stdout.close()
            self.process = None

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name=REGION, aws_access_key_id=ACCESS_KEY,
                            aws_secret_access_key=SECRET_KEY)

    def create_bucket(self, name: str | None = None, object_lock: bool = False) -> str:
        """A new bucket (Object Lock enabled on it when asked: that also turns versioning on, as on AWS)."""
        name = name or f"rk-test-{os.getpid()}-{next(_names)}"
        client = self.client()
        client.create_bucket(Bucket=name, ObjectLockEnabledForBucket=object_lock)
        client.close()
        return name

    def settings(self, bucket: str, prefix: str = "evidence", lock_days: int | None = None) -> dict:
        """App config for a store in `bucket` under `prefix` (pass `lock_days` for Object Lock retention)."""
        found = {"EVIDENCE_URL": f"s3://{bucket}/{prefix}", "S3_ENDPOINT_URL": self.endpoint, "S3_REGION": REGION,
                 "S3_ACCESS_KEY_ID": ACCESS_KEY, "S3_SECRET_ACCESS_KEY": SECRET_KEY}
        if lock_days:
            found["S3_OBJECT_LOCK_DAYS"] = lock_days
        return found

    def environ(self, bucket: str, prefix: str = "evidence", lock_days: int | None = None) -> dict[str, str]:
        """The same settings as REPORTKIT_* environment variables, for server and worker processes."""
        return {f"REPORTKIT_{key}": str(value) for key, value in self.settings(bucket, prefix, lock_days).items()}


@pytest.fixture(scope="session")
def s3_server() -> Iterator[Server]:
    server = Server().start()
    yield server
    server.stop()


@pytest.fixture
def s3_settings(s3_server) -> dict:
    """App config for an evidence store in a new bucket of the session's server (no Object Lock)."""
    return s3_server.settings(s3_server.create_bucket())


def _serve() -> None:
    """Run moto's server on a free loopback port and print the port (it is bound before it is printed)."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    app = DomainDispatcherApplication(create_backend_app)  # what `moto_server` runs, on a port of our choosing
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=MotoRequestHandler)
    print(server.port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    _serve()
