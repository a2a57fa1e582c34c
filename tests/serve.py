"""Run the app as a real server process for tests that need several: `python -m tests.serve CONFIG_JSON`.

It listens on a free loopback port and prints the port on its first line; the test reads it and later
terminates the process."""

import json
import sys

from werkzeug.serving import make_server

from reportkit import create_app


def main() -> None:
    app = create_app(json.loads(sys.argv[1]))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    print(server.port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
