"""`make lock`: resolve the direct requirements (requirements*.in) into lock files
(requirements*.txt) that pin every package, transitive ones too, with the hashes of its files.

The locks are what `make install`, CI and Azure's remote build install (`--require-hashes`), so
every deploy gets the same packages. uv resolves them for Python 3.11 on any platform and keeps the
versions the current lock has unless an input asks for others, so a relock after adding one
dependency moves nothing else. Each lock records the digest of the inputs it was made from
(`# inputs sha256: ...`); tests/unit/infra/test_lock.py fails when an input changed since.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# lock file -> its input. The dev input includes the runtime input and is constrained by the
# runtime lock (`-c requirements.txt`), so the two locks agree on every runtime package.
LOCKS = {"requirements.txt": "requirements.in", "requirements-dev.txt": "requirements-dev.in"}
STAMP = "# inputs sha256: "
PYTHON_VERSION = "3.11"
_INCLUDE = re.compile(r"^\s*(?:-r|--requirement)\s+(\S+)", re.MULTILINE)


def input_files(requirements_in: str, root: Path = ROOT) -> list[str]:
    """The input and every file it includes (`-r`), in order; constraints (`-c`) are locks, not inputs."""
    files = [requirements_in]
    for included in _INCLUDE.findall((root / requirements_in).read_text(encoding="utf-8")):
        files += [name for name in input_files(included, root) if name not in files]
    return files


def inputs_digest(requirements_in: str, root: Path = ROOT) -> str:
    digest = hashlib.sha256()
    for name in input_files(requirements_in, root):
        digest.update(name.encode() + b"\0" + (root / name).read_bytes() + b"\0")
    return digest.hexdigest()


def recorded_digest(lock_text: str) -> str | None:
    for line in lock_text.splitlines():
        if line.startswith(STAMP):
            return line.removeprefix(STAMP).split()[0]
    return None


def relock(lock: str, root: Path = ROOT) -> None:
    requirements_in = LOCKS[lock]
    subprocess.run(  # noqa: S603 - fixed argv, no shell
        [
            *(sys.executable, "-m", "uv", "pip", "compile", "--quiet", "--generate-hashes"),
            *("--universal", "--python-version", PYTHON_VERSION),
            *("--custom-compile-command", "make lock"),
            *(requirements_in, "--output-file", lock),
        ],
        cwd=root,
        check=True,
    )
    path = root / lock
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith(STAMP)]
    # After uv's two-line header: which inputs, in which state, this lock was made from.
    lines.insert(
        2, f"{STAMP}{inputs_digest(requirements_in, root)} ({', '.join(input_files(requirements_in, root))})"
    )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    for lock in LOCKS:  # the runtime lock first: the dev lock is constrained by it
        relock(lock)
        print(f"{lock} locked from {LOCKS[lock]}")


if __name__ == "__main__":
    main()
