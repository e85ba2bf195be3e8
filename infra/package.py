"""Builds what AWS deploys: build/<stage>/sam.json (Chalice's template with infra.template merged in) and
build/<stage>/deployment.zip (the app and its dependencies for the Lambda runtime below).

Chalice writes the template and zips the app's own code; the dependencies are installed here, as
wheels for Lambda's platform whatever machine builds, because Chalice picks the runtime and the
wheels from the Python it runs under and silently leaves out a dependency it finds no wheel for
(numpy, on the machine's Python 3.11). They come from requirements.lock, every file checked against its
hash. boto3 and botocore come with the runtime and are left out.

Usage: python -m infra.package STAGE [--out build]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra import stages, template

ROOT = Path(__file__).resolve().parent.parent

# Lambda's Python 3.12 runtime runs on Amazon Linux 2023 (glibc 2.34). numpy 2.4 has no wheel for the
# 3.11 runtime's glibc 2.26, and 3.13 would gain nothing here.
RUNTIME = "python3.12"
PYTHON_VERSION = "3.12"
# Graviton: 20 % less per GB-second than x86_64 at the same memory, and every dependency has an aarch64
# wheel (docs/deployment.md: the choice and its figures). Lambda says arm64, wheels say aarch64;
# requirements.lock holds the hashes of the aarch64 wheels too.
ARCHITECTURE = "arm64"
WHEEL_ARCHITECTURE = "aarch64"
GLIBC_MINOR_MAX = 34
# Every manylinux tag the runtime's glibc can load, newest first, plus the legacy alias of 2.17.
PLATFORMS = (
    *(f"manylinux_2_{minor}_{WHEEL_ARCHITECTURE}" for minor in range(GLIBC_MINOR_MAX, 16, -1)),
    f"manylinux2014_{WHEEL_ARCHITECTURE}",
)
# Provided by the runtime: pinned in requirements.txt for local runs and tests, not shipped.
PROVIDED_BY_RUNTIME = ("boto3", "botocore", "s3transfer")
# Parts of dependencies that nothing of ours loads, left out to keep the zip well under the limits.
PRUNED = {
    "pycountry/locales": "translations of country names (7 MiB zipped); schwifty reads only the codes",
    "*/tests": "libraries' own test suites (numpy's are most of them)",
    "*/*/tests": "the same, one level down",
}

# Left as sources, to keep the zip well under the limits: large libraries that no function loads at
# start or on most invocations (fontTools: an agreement's rendering, once per validation; numpy, mostly
# compiled code already: the catalogue; holidays' calendars: one country per date check). PIL is
# compiled: the upload check loads it for every file (pypdf imports it too), and its modules would
# take a few hundred milliseconds to compile on each of that function's cold starts.
NOT_COMPILED = r"/(fontTools|numpy|holidays/countries|holidays/financial)/"

# Lambda's limits for a function's code: 50 MiB zipped when uploaded directly, 250 MiB unzipped.
ZIPPED_LIMIT = 50 * 1024 * 1024
UNZIPPED_LIMIT = 250 * 1024 * 1024

# The runtime's dependencies with the hash of every file (`make lock` writes it from requirements.txt).
LOCK_FILE = ROOT / "requirements.lock"

# What Chalice reads from the project: the app, its library and the config (no requirements: see above).
APP_FILES = ("app.py", "chalicelib", ".chalice/config.json")
# Chalice wants a policy file for the roles it writes (autogen_policy is off); infra.template replaces
# every role's policies with the function's own (chalicelib.permissions), so this one is never deployed.
_PLACEHOLDER_POLICY = {"Version": "2012-10-17", "Statement": []}


@dataclass(frozen=True)
class Built:
    template: Path
    zip: Path
    zipped_bytes: int
    unzipped_bytes: int
    largest: list[tuple[str, int]]  # (top-level entry, unzipped bytes), largest first
    bytecode: bool = False  # compiled for the runtime (see _compile)

    def report(self) -> dict[str, Any]:
        return {
            "runtime": RUNTIME,
            "architecture": ARCHITECTURE,
            "bytecode": self.bytecode,
            "zipped_bytes": self.zipped_bytes,
            "unzipped_bytes": self.unzipped_bytes,
            "largest": [{"entry": name, "unzipped_bytes": size} for name, size in self.largest],
        }


def _stage_app(src: Path) -> None:
    for name in APP_FILES:
        source, target = ROOT / name, src / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, target)
    (src / ".chalice" / "policy.json").write_text(json.dumps(_PLACEHOLDER_POLICY), encoding="utf-8")
    (src / "requirements.txt").write_text("", encoding="utf-8")


def _chalice_package(src: Path, stage: str, merge: Path, out: Path) -> None:
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "eu-west-1")}
    subprocess.run(  # noqa: S603 (our own interpreter and arguments)
        [
            sys.executable,
            "-c",
            "import sys; from chalice.cli import main; sys.exit(main())",
            "package",
            "--stage",
            stage,
            "--merge-template",
            str(merge),
            str(out),
        ],
        cwd=src,
        env=env,
        check=True,
    )


def _install_dependencies(target: Path) -> None:
    platforms = [arg for platform in PLATFORMS for arg in ("--platform", platform)]
    subprocess.run(  # noqa: S603 (our own interpreter and arguments)
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--target",
            str(target),
            "--implementation",
            "cp",
            "--python-version",
            PYTHON_VERSION,
            *platforms,
            "--only-binary=:all:",
            "--no-compile",
            "--require-hashes",
            "-r",
            str(LOCK_FILE),
        ],
        check=True,
    )
    for dist_info in target.glob("*.dist-info"):
        name = dist_info.name.split("-")[0].lower().replace("_", "-")
        if name in PROVIDED_BY_RUNTIME:
            for line in (dist_info / "RECORD").read_text(encoding="utf-8").splitlines():
                path = target / line.split(",")[0]
                if path.is_file():
                    path.unlink()
            shutil.rmtree(dist_info)
    pruned = [path for pattern in PRUNED for path in target.glob(pattern) if path.is_dir()]
    for leftover in (target / "bin", *target.glob("*/__pycache__"), *pruned):
        shutil.rmtree(leftover, ignore_errors=True)
    for name in PROVIDED_BY_RUNTIME:  # directories emptied by the RECORDs above
        shutil.rmtree(target / name, ignore_errors=True)


def runtime_python() -> str | None:
    """An interpreter of the runtime's Python version: on PATH, else one of pyenv's versions (the
    project's machines have them; pyenv's shim alone does not run without a chosen version)."""
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    found = [
        shutil.which(RUNTIME),
        *sorted(str(p) for p in root.glob(f"versions/{PYTHON_VERSION}.*/bin/{RUNTIME}")),
    ]
    for python in (p for p in found if p):
        if subprocess.run([python, "-c", "pass"], capture_output=True, check=False).returncode == 0:  # noqa: S603
            return python
    return None


def _compile(*trees: Path) -> bool:
    """Ship bytecode: Lambda's file system is read-only, so code without it is compiled again on every
    cold start (`import app` 160 ms with bytecode against 520 ms without, on the machine's Python). The
    bytecode is the runtime version's (a .pyc is only read by the Python that wrote it), and
    unchecked-hash: the files never change once deployed, so Python need not compare them to the
    sources. False (and a warning) where no interpreter of that version is found."""
    python = runtime_python()
    if python is None:
        print(f"no {RUNTIME} found: the package ships without bytecode (slower cold starts)", file=sys.stderr)
        return False
    for tree in trees:
        subprocess.run(  # noqa: S603 (our own interpreter and arguments)
            [python, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash",
             "-x", NOT_COMPILED, "-s", str(tree), "-p", "/var/task", str(tree)],
            check=True,
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
    return True


def _zip(trees: tuple[Path, ...], out: Path) -> None:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as final:
        for tree in trees:
            for path in sorted(p for p in tree.rglob("*") if p.is_file()):
                info = zipfile.ZipInfo.from_file(path, path.relative_to(tree).as_posix())
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16  # readable by the runtime's user whatever the umask
                final.writestr(info, path.read_bytes(), compresslevel=9)


def measure(zip_path: Path) -> tuple[int, int, list[tuple[str, int]]]:
    sizes: Counter[str] = Counter()
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            sizes[info.filename.split("/")[0]] += info.file_size
    return zip_path.stat().st_size, sum(sizes.values()), sizes.most_common(10)


def _set_runtime(sam: dict[str, Any]) -> None:
    for resource in sam["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["Runtime"] = RUNTIME
            resource["Properties"]["Architectures"] = [ARCHITECTURE]


def build_template(stage: str, out: Path) -> Path:
    """Chalice's template with ours merged in, at out/sam.json; Chalice's zip of the app's own code
    (no dependencies) at out/staging/chalice/deployment.zip."""
    shutil.rmtree(out, ignore_errors=True)
    src, chalice_out = out / "staging" / "src", out / "staging" / "chalice"
    src.mkdir(parents=True)
    _stage_app(src)
    merge = out / "staging" / "merge.json"
    merge.write_text(json.dumps(template.build_for_stage(stage), indent=2), encoding="utf-8")
    _chalice_package(src, stage, merge, chalice_out)
    sam = json.loads((chalice_out / "sam.json").read_text(encoding="utf-8"))
    _set_runtime(sam)
    template_path = out / "sam.json"
    template_path.write_text(json.dumps(sam, indent=2), encoding="utf-8")
    return template_path


def build(stage: str, out_root: Path) -> Built:
    out = out_root / stage
    template_path = build_template(stage, out)
    staging = out / "staging"
    _install_dependencies(staging / "dependencies")
    with zipfile.ZipFile(staging / "chalice" / "deployment.zip") as app:
        app.extractall(staging / "app")
    trees = (staging / "app", staging / "dependencies")
    compiled = _compile(*trees)
    zip_path = out / "deployment.zip"
    _zip(trees, zip_path)
    shutil.rmtree(staging)
    zipped, unzipped, largest = measure(zip_path)
    built = Built(template_path, zip_path, zipped, unzipped, largest, compiled)
    (out / "package-report.json").write_text(json.dumps(built.report(), indent=2), encoding="utf-8")
    return built


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _mib(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MiB"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("stage", choices=stages.stages())
    parser.add_argument("--out", type=Path, default=ROOT / "build")
    args = parser.parse_args(argv[1:])
    built = build(args.stage, args.out)
    sizes = f"{_mib(built.zipped_bytes)} zipped, {_mib(built.unzipped_bytes)} unzipped"
    print(f"{_shown(built.template)}\n{_shown(built.zip)}: {sizes}")
    for name, size in built.largest:
        print(f"  {_mib(size):>10}  {name}")
    if built.zipped_bytes > ZIPPED_LIMIT or built.unzipped_bytes > UNZIPPED_LIMIT:
        print("over Lambda's limits", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
