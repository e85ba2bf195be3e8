"""Writes the API's OpenAPI document, as `GET /v1/openapi.json` serves it, without starting the stack:
the document is built from the app's route table and models, so importing the app is enough.

Usage: python -m infra.openapi [--out build/openapi.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "openapi.json")
    args = parser.parse_args(argv)
    from app import app
    from chalicelib.handlers.meta import served_document

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(served_document(app.routes), indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
