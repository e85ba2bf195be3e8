"""The stages of .chalice/config.json and the environment each gives its functions. Imports nothing of
the app: a command may read a stage's settings before anything reads the app's own."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def stage_environment(stage: str) -> dict[str, str]:
    """The environment .chalice/config.json gives every function of a stage."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
    return {
        **config.get("environment_variables", {}),
        **config["stages"][stage].get("environment_variables", {}),
    }


def stages() -> list[str]:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
    return sorted(config["stages"])
