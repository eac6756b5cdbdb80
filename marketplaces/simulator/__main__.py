"""`python -m marketplaces.simulator [--port 8765]`: serve every platform's simulator on 127.0.0.1 until stopped."""

import argparse
import os
import time

import django


def main() -> None:
    parser = argparse.ArgumentParser(description="Local simulator of the marketplaces' open APIs")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    arguments = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from marketplaces.simulator.server import SimulatorServer

    server = SimulatorServer(arguments.host, arguments.port).start()
    print(f"marketplace simulator on {server.url}: {', '.join(server.platforms)}", flush=True)  # noqa: T201 - a console program
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
