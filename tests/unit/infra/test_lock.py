"""Reproducible builds: the lock files pin every package with hashes, were made from the current
direct requirements (`make lock`), and are what `make install` and Azure's remote build install."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from devstack.lock import LOCKS, STAMP, input_files, inputs_digest, recorded_digest
from tests.unit.infra.bicep_tree import REPO_ROOT

RELOCK = "the lock is stale: run `make lock` (README: Adding a dependency)"


def _logical_lines(text: str) -> list[str]:
    """Lines with their backslash continuations joined, comments and blanks dropped."""
    joined = re.sub(r"\\\n", " ", text)
    return [
        line.strip() for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]


def _locked(lock: str) -> dict[str, tuple[Requirement, list[str]]]:
    """name -> (requirement, its hashes) for every package line of a lock file."""
    packages = {}
    for line in _logical_lines((REPO_ROOT / lock).read_text(encoding="utf-8")):
        spec, *hashes = re.split(r"\s+--hash=", line)
        requirement = Requirement(spec)
        packages[canonicalize_name(requirement.name)] = (requirement, hashes)
    return packages


def _direct(requirements_in: str) -> list[Requirement]:
    """The direct requirements of an input and of the inputs it includes (`-r`)."""
    return [
        Requirement(line)
        for name in input_files(requirements_in)
        for line in _logical_lines((REPO_ROOT / name).read_text(encoding="utf-8"))
        if not line.startswith("-")
    ]


@pytest.mark.parametrize("lock", LOCKS)
def test_the_lock_was_made_from_the_current_inputs(lock: str) -> None:
    recorded = recorded_digest((REPO_ROOT / lock).read_text(encoding="utf-8"))
    assert recorded is not None, f"{lock} has no '{STAMP.strip()}' line: {RELOCK}"
    assert recorded == inputs_digest(LOCKS[lock]), f"{lock}: {RELOCK}"


@pytest.mark.parametrize("lock", LOCKS)
def test_every_package_is_pinned_with_hashes(lock: str) -> None:
    packages = _locked(lock)
    assert packages
    for name, (requirement, hashes) in packages.items():
        [specifier] = requirement.specifier
        assert specifier.operator == "==", name
        assert hashes and all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in hashes), name


@pytest.mark.parametrize("lock", LOCKS)
def test_every_direct_requirement_is_locked_at_a_version_it_allows(lock: str) -> None:
    packages = _locked(lock)
    for requirement in _direct(LOCKS[lock]):
        name = canonicalize_name(requirement.name)
        assert name in packages, f"{requirement} is not in {lock}: {RELOCK}"
        [pin] = packages[name][0].specifier
        assert requirement.specifier.contains(pin.version, prereleases=True), (
            f"{requirement} vs {lock}: {RELOCK}"
        )


def test_the_dev_lock_has_the_runtime_lock_s_versions() -> None:
    runtime, dev = _locked("requirements.txt"), _locked("requirements-dev.txt")
    assert set(runtime) <= set(dev)
    for name, (requirement, hashes) in runtime.items():
        assert str(dev[name][0].specifier) == str(requirement.specifier), f"{name}: {RELOCK}"
        assert set(dev[name][1]) == set(hashes), name


def test_an_edited_input_makes_the_lock_stale(tmp_path: Path) -> None:
    for name in ("requirements.in", "requirements-dev.in"):
        shutil.copy(REPO_ROOT / name, tmp_path / name)
    before = {lock: inputs_digest(source, tmp_path) for lock, source in LOCKS.items()}
    assert before == {lock: inputs_digest(source) for lock, source in LOCKS.items()}
    with (tmp_path / "requirements.in").open("a", encoding="utf-8") as runtime_in:
        runtime_in.write("six==1.17.0\n")
    # The runtime input is part of both locks' inputs (the dev input includes it).
    assert all(inputs_digest(source, tmp_path) != before[lock] for lock, source in LOCKS.items())


def test_install_and_the_remote_build_use_the_locks() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    assert (
        "pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.txt" in makefile
    )
    assert "$(PY) -m devstack.lock" in makefile
    assert "make test" in (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    # Oryx installs requirements.txt at the app root: the lock goes with the package, its inputs do not.
    ignored = (REPO_ROOT / ".funcignore").read_text(encoding="utf-8").split()
    assert "requirements.txt" not in ignored
    assert {"requirements.in", "requirements-dev.in", "requirements-dev.txt"} <= set(ignored)


def test_readme_says_how_to_add_a_dependency() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"^### Adding a dependency\n(.*?)(?=^##)", readme, re.MULTILINE | re.DOTALL)
    assert match, "README.md has no 'Adding a dependency' section"
    assert "make lock" in match.group(1) and "requirements.in" in match.group(1)
