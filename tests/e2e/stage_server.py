"""The app on Chalice's local server (as `chalice local` and the local stack serve it) behind a stage
prefix, as API Gateway serves a stage: /STAGE/v1/... is the app's /v1/..., and any path outside the
stage is no route. No emulator: for routes that need no AWS (the documentation page).

Usage: python -m tests.e2e.stage_server --port PORT [--stage prod]
Each request is logged to stderr as Python's HTTP server logs it ("GET /prod/v1/docs HTTP/1.1" 200).
"""

from __future__ import annotations

import argparse
import functools
import sys
from typing import Any

from chalice.config import Config
from chalice.local import ChaliceRequestHandler, create_local_server


class StageHandler(ChaliceRequestHandler):
    stage = "prod"

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        prefix = f"/{self.stage}"
        inside = self.path.startswith(prefix + "/")
        # Outside the stage: a path the app has no route for (API Gateway answers it itself).
        self.path = self.path.removeprefix(prefix) if inside else "/outside-the-stage" + self.path
        return True


def serve(port: int, stage: str) -> None:
    from app import app
    from infra.local import gateway

    gateway.install()
    config = Config.create(chalice_stage="dev", app_name="clusterxchange", chalice_app=app)
    server: Any = create_local_server(app, config, "127.0.0.1", port)
    handler = type("Handler", (StageHandler,), {"stage": stage})
    server.server.RequestHandlerClass = functools.partial(handler, app_object=app, config=config)
    print(f"serving http://127.0.0.1:{port}/{stage}/", flush=True)
    server.serve_forever()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--stage", default="prod")
    args = parser.parse_args(argv[1:])
    serve(args.port, args.stage)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
