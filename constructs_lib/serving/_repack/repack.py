"""Repack a trained model for serving: the model's archive (channel ``model``)
extracted into the model directory, and the serving code's archive (channel
``source``) into its ``code/`` folder. SageMaker then uploads the model directory
as this job's ``model.tar.gz``.

Run by the training toolkit of SageMaker's scikit-learn container; standard library
only. Archives are extracted member by member, refusing any path that would leave
the target folder.
"""

from __future__ import annotations

import os
import shutil
import sys
import tarfile
from pathlib import Path


def _extract(archive: Path, target: Path) -> int:
    """Extract ``archive`` (a .tar.gz) into ``target``; returns how many members."""
    root = target.resolve()
    count = 0
    with tarfile.open(archive, mode="r:gz") as tar:
        for member in tar.getmembers():
            destination = (root / member.name).resolve()
            if destination != root and root not in destination.parents:
                raise SystemExit(f"{archive.name}: {member.name!r} leaves the archive's folder")
            if member.issym() or member.islnk():
                raise SystemExit(f"{archive.name}: {member.name!r} is a link; not repacked")
            if member.isdir():
                destination.mkdir(parents=True, exist_ok=True)
            elif member.isfile():
                destination.parent.mkdir(parents=True, exist_ok=True)
                source = tar.extractfile(member)
                assert source is not None
                with source, destination.open("wb") as out:
                    shutil.copyfileobj(source, out)
                count += 1
    return count


def _archives(channel: str) -> list[Path]:
    folder = Path(os.environ[f"SM_CHANNEL_{channel.upper()}"])
    found = sorted(p for p in folder.rglob("*") if p.is_file() and tarfile.is_tarfile(p))
    if len(found) != 1:
        raise SystemExit(f"channel {channel!r}: expected one archive, found {len(found)}")
    return found


def main() -> None:
    model_dir = Path(os.environ.get("SM_MODEL_DIR", "/opt/ml/model"))
    model_dir.mkdir(parents=True, exist_ok=True)
    [model] = _archives("model")
    [source] = _archives("source")
    files = _extract(model, model_dir)
    code = model_dir / "code"
    if code.exists():
        shutil.rmtree(code)  # the serving code replaces what the model carried
    code_files = _extract(source, code)
    print(f"repacked {files} model files and {code_files} code files into {model_dir}")


if __name__ == "__main__":
    main()
    sys.exit(0)
