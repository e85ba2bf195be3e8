"""The lock files against their inputs, offline: every pin of requirements*.txt is in its lock at the same
version, every locked package has hashes, the dev lock agrees with the runtime lock, and what installs
(make, the package) installs from the locks with --require-hashes. `make lock-check` (CI) goes further:
it resolves again and compares the whole files."""

from __future__ import annotations

import re
from pathlib import Path

from infra import package

ROOT = Path(__file__).resolve().parents[2]
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;#\\]+)")


def _name(raw: str) -> str:
    return re.sub(r"[-_.]+", "-", raw).lower()


def _inputs(path: Path) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.startswith("-r "):
            pins.update(_inputs(path.parent / line.removeprefix("-r ").strip()))
        elif match := _PIN.match(line):
            pins[_name(match[1])] = match[2]
    return pins


def _lock(path: Path) -> dict[str, tuple[str, int, list[str]]]:
    """name -> (version, number of hashes, what the lock says it is there for)."""
    entries: dict[str, tuple[str, int, list[str]]] = {}
    current = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if match := _PIN.match(line):
            current = _name(match[1])
            entries[current] = (match[2], 0, [])
        elif current and line.strip().startswith("--hash=sha256:"):
            version, hashes, via = entries[current]
            entries[current] = (version, hashes + 1, via)
        elif current and line.startswith("    #") and "via" not in line:
            entries[current][2].append(line.strip("# ").removeprefix("via ").strip())
        elif current and line.startswith("    # via "):
            entries[current][2].append(line.removeprefix("    # via ").strip())
    return entries


RUNTIME_LOCK = _lock(ROOT / "requirements.lock")
DEV_LOCK = _lock(ROOT / "requirements-dev.lock")


def test_every_input_pin_is_locked_at_its_version() -> None:
    for inputs, lock in (("requirements.txt", RUNTIME_LOCK), ("requirements-dev.txt", DEV_LOCK)):
        for name, version in _inputs(ROOT / inputs).items():
            assert name in lock, f"{name} of {inputs} is not in its lock: run `make lock`"
            assert lock[name][0] == version, f"{name}: {version} in {inputs}, {lock[name][0]} locked"


def test_nothing_is_locked_for_an_input_that_is_gone() -> None:
    for inputs, lock in (("requirements.txt", RUNTIME_LOCK), ("requirements-dev.txt", DEV_LOCK)):
        pinned = _inputs(ROOT / inputs)
        for name, (_, _, via) in lock.items():
            if via and all(reason.startswith("-r requirements") for reason in via):
                assert name in pinned, f"{name} is locked for {inputs}, which no longer names it"


def test_every_locked_package_has_hashes() -> None:
    for lock in (RUNTIME_LOCK, DEV_LOCK):
        assert lock
        assert [name for name, (_, hashes, _) in lock.items() if hashes == 0] == []


def test_the_dev_lock_runs_what_the_zip_ships() -> None:
    for name, (version, _, _) in RUNTIME_LOCK.items():
        assert DEV_LOCK.get(name, ("missing",))[0] == version, name


def test_the_locks_are_universal_and_written_by_make_lock() -> None:
    # Universal: hashes of every platform's wheels (x86_64 and aarch64), for 3.11 and up; the header
    # tells a reader how to write them again.
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "--universal" in makefile and "--generate-hashes" in makefile
    for name in ("requirements.lock", "requirements-dev.lock"):
        assert "make lock" in (ROOT / name).read_text(encoding="utf-8").splitlines()[1]
    # numpy's files: Linux wheels of both architectures for every Python version it supports.
    assert RUNTIME_LOCK["numpy"][1] > 20


def test_installs_come_from_the_locks_with_hashes() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "--require-hashes -r requirements-dev.lock" in makefile
    assert package.LOCK_FILE == ROOT / "requirements.lock"
    assert "--require-hashes" in Path(package.__file__).read_text(encoding="utf-8")
