"""Your own training code, as SageMaker's framework containers run it ("script
mode"): a ``sourcedir.tar.gz`` whose entry point the container's training toolkit
runs (``sagemaker_program``, ``sagemaker_submit_directory``)."""

from __future__ import annotations

import fnmatch
import functools
import gzip
import hashlib
import io
import logging
import os
import re
import tarfile
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

from aws_cdk import AssetHashType, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from .._shared.typecheck import arguments, check_props
from ._config import S3Location

#: Never packed: caches and metadata whose bytes change without the code changing
#: (compiled files carry their source's mtime), which would retrain on a plain
#: redeploy.
DEFAULT_EXCLUDES = (".git", "__pycache__", "*.pyc", ".ipynb_checkpoints", ".DS_Store", "cdk.out")
#: The file name SageMaker's SDK gives the archive.
ARCHIVE_NAME = "sourcedir.tar.gz"
_CACHE = Path(tempfile.gettempdir()) / "constructs-lib-sourcedir"


@dataclass(frozen=True)
class CodeConfig:
    """Code bound to a job: where the archive is, and what runs."""

    s3_uri: str
    """``s3://<bucket>/<key>`` of the ``sourcedir.tar.gz``."""
    location: S3Location
    """The archive's object (its key in ``key_prefix``)."""
    entry_point: str
    """The script the toolkit runs, relative to the archive's root."""
    container_log_level: int
    """The toolkit's log level (``logging.INFO`` = 20 unless given)."""
    model_dir: bool = True
    """TensorFlow: whether the job passes ``--model_dir`` as the SDK's estimator does."""

    @property
    def file_name(self) -> str | None:
        """The archive's file name (the last part of its key), where known at synth."""
        key = self.location.key_prefix
        return None if Token.is_unresolved(key) else key.rsplit("/", 1)[-1]

    def grant_read(self, grantee: iam.IGrantable) -> None:
        """Let ``grantee`` get exactly the archive (and decrypt it with the bucket's key)."""
        self.location.grant_get(grantee, exact=True)


class TrainingCode(ABC):
    """The code a framework container (``TrainingImage.from_framework``) runs: an
    entry point and the modules, data files and ``requirements.txt`` beside it, as the
    SageMaker Python SDK's ``entry_point`` and ``source_dir`` give it.

    * :meth:`from_directory` — a local directory, packed into a ``sourcedir.tar.gz``
      CDK file asset whose hash depends only on the files' paths and contents;
    * :meth:`from_bucket` — a ``.tar.gz`` already in S3.
    """

    def __init__(self, entry_point: str, container_log_level: int, model_dir: bool) -> None:
        self.entry_point = entry_point
        self.container_log_level = container_log_level
        self.model_dir = model_dir

    @staticmethod
    def from_directory(
        path: str,
        *,
        entry_point: str,
        exclude: Sequence[str] | None = None,
        container_log_level: int = logging.INFO,
        model_dir: bool = True,
    ) -> TrainingCode:
        """The files under ``path``, uploaded with the stack as a file asset. A change
        to a file (or a file added or removed) gives a new asset and a new request, so
        the job is replaced (trained again); a redeploy of the same files is a no-op,
        whatever their modification times, owners or permissions.

        :param path: a directory holding ``entry_point`` (and, for the containers to
            install, a ``requirements.txt``).
        :param entry_point: the script to run, relative to ``path`` (e.g. ``train.py``).
        :param exclude: glob patterns of files or directories to leave out, matched
            against each path relative to ``path`` and against each name; default:
            none. Always left out: ``.git``, ``__pycache__``, ``*.pyc``,
            ``.ipynb_checkpoints``, ``.DS_Store`` and ``cdk.out``.
        :param container_log_level: the training toolkit's log level; default:
            ``logging.INFO``.
        :param model_dir: on a TensorFlow image, pass the script ``--model_dir`` as the
            SDK's ``TensorFlow`` estimator does: ``s3://<output path>/<job name>/model``
            (``/opt/ml/model`` with ``Distribution.mpi``), unless your hyperparameters
            set ``model_dir``; ``False`` leaves it out (the SDK's ``model_dir=False``).
            Other frameworks: ignored. Default: ``True``.
        """
        return _DirectoryCode(
            path, entry_point, tuple(exclude or ()), container_log_level, model_dir
        )

    @staticmethod
    def from_bucket(
        bucket: s3.IBucket,
        key: str,
        *,
        entry_point: str,
        container_log_level: int = logging.INFO,
        model_dir: bool = True,
    ) -> TrainingCode:
        """A ``.tar.gz`` of the code in ``bucket`` (e.g. one a CI pipeline uploads);
        the execution role may read exactly that object.

        :param key: the archive's key, e.g. ``code/sourcedir.tar.gz``.
        :param entry_point: the script to run, relative to the archive's root.
        :param container_log_level: default: ``logging.INFO``.
        :param model_dir: on a TensorFlow image, pass the script ``--model_dir`` as the
            SDK's ``TensorFlow`` estimator does: ``s3://<output path>/<job name>/model``
            (``/opt/ml/model`` with ``Distribution.mpi``), unless your hyperparameters
            set ``model_dir``; ``False`` leaves it out (the SDK's ``model_dir=False``).
            Other frameworks: ignored. Default: ``True``.
        """
        check_props("TrainingCode.from_bucket", TrainingCode.from_bucket, arguments(locals()))
        return _BucketCode(bucket, key, entry_point, container_log_level, model_dir)

    @abstractmethod
    def bind(self, scope: Construct) -> CodeConfig:
        """The code as a job in ``scope`` uses it (creating its asset there if needed)."""

    @property
    def files(self) -> list[str] | None:
        """The archive's files (POSIX paths relative to its root) where they are known
        at synth (a directory), else None."""
        return None

    @property
    def archive(self) -> Path | None:
        """The ``sourcedir.tar.gz`` on this machine, the very file the stack uploads,
        where the code is local (a directory), else None (e.g. for
        ``testing.run_locally``)."""
        return None

    def local_file(self, name: str) -> Path | None:
        """The file ``name`` of the code (a path relative to its root) on this
        machine, where the code is local and has it (after exclusions), else None."""
        return None


#: The entry points the training toolkit runs (its ``process.validate_entry_point``):
#: a relative path of letters, digits and ``. _ + -``, without ``.`` or ``..`` parts.
_ENTRY_POINT = re.compile(r"^[A-Za-z0-9._][A-Za-z0-9._+-]*(/[A-Za-z0-9._+-]+)*$")


class _InvalidCodeError(ValueError):
    """A bad argument of a ``TrainingCode`` factory, reported where a job binds it."""

    def __init__(self, what: str, argument: str, value: Any, rule: str) -> None:
        super().__init__(f"{what}: {argument} {value!r} is invalid: {rule}")

    def at(self, scope: Construct) -> ValueError:
        return ValueError(f"[{scope.node.path}] code: {self}")


def _check_entry_point(entry_point: str, what: str) -> None:
    parts = entry_point.split("/")
    if not _ENTRY_POINT.match(entry_point) or any(part in (".", "..") for part in parts):
        raise _InvalidCodeError(
            what,
            "entry_point",
            entry_point,
            "the training toolkit runs a relative path inside the code, of letters, digits "
            "and . _ + - / (no . or .. parts), e.g. 'train.py' or 'src/train.py'",
        )


class _BucketCode(TrainingCode):
    def __init__(
        self, bucket: s3.IBucket, key: str, entry_point: str, level: int, model_dir: bool
    ) -> None:
        super().__init__(entry_point, level, model_dir)
        self._key = key
        self._location = S3Location(bucket, key)

    def bind(self, scope: Construct) -> CodeConfig:
        what = "TrainingCode.from_bucket"
        try:
            _check_entry_point(self.entry_point, what)
            key = self._key
            if not key or key.startswith(("s3://", "/")):
                raise _InvalidCodeError(
                    what,
                    "key",
                    key,
                    "it is the object's key in the bucket, e.g. 'code/sourcedir.tar.gz' "
                    "(no s3:// and no leading /)",
                )
        except _InvalidCodeError as invalid:
            raise invalid.at(scope) from None
        return CodeConfig(
            self._location.s3_uri,
            self._location,
            self.entry_point,
            self.container_log_level,
            self.model_dir,
        )


@dataclass(frozen=True)
class _Packed:
    files: list[str]
    archive: Path
    digest: str


class _DirectoryCode(TrainingCode):
    def __init__(
        self,
        path: str,
        entry_point: str,
        exclude: tuple[str, ...],
        level: int,
        model_dir: bool,
    ) -> None:
        super().__init__(entry_point, level, model_dir)
        self.path = path
        self.exclude = exclude

    @functools.cached_property
    def packed(self) -> _Packed:
        """The directory packed (once), or :class:`_InvalidCodeError`."""
        what = "TrainingCode.from_directory"
        if not os.path.isdir(self.path):
            raise _InvalidCodeError(what, "path", self.path, "it must be an existing directory")
        _check_entry_point(self.entry_point, what)
        members = list(_members(Path(self.path), DEFAULT_EXCLUDES + self.exclude))
        files = [name for name, source in members if source.is_file()]
        if self.entry_point not in files:
            raise _InvalidCodeError(
                what,
                "entry_point",
                self.entry_point,
                f"it is not a file of {self.path!r} (after exclusions); the directory has "
                f"{_sample(files)}",
            )
        archive, digest = _pack(members)
        return _Packed(files, archive, digest)

    @property
    def files(self) -> list[str]:
        return list(self.packed.files)

    @property
    def archive(self) -> Path:
        return self.packed.archive

    def local_file(self, name: str) -> Path | None:
        return Path(self.path) / name if name in self.packed.files else None

    def bind(self, scope: Construct) -> CodeConfig:
        try:
            packed = self.packed
        except _InvalidCodeError as invalid:
            raise invalid.at(scope) from None
        construct_id = f"Code{packed.digest[:8]}"
        asset = scope.node.try_find_child(construct_id)
        if not isinstance(asset, s3_assets.Asset):
            asset = s3_assets.Asset(
                scope,
                construct_id,
                path=str(packed.archive),
                asset_hash=packed.digest,
                asset_hash_type=AssetHashType.CUSTOM,
            )
        location = S3Location(asset.bucket, asset.s3_object_key, from_asset=True)
        return CodeConfig(
            asset.s3_object_url,
            location,
            self.entry_point,
            self.container_log_level,
            self.model_dir,
        )


def _sample(files: Sequence[str]) -> str:
    shown = ", ".join(files[:10]) or "no files"
    return shown + (f" and {len(files) - 10} more" if len(files) > 10 else "")


def _excluded(relative: PurePosixPath, patterns: Sequence[str]) -> bool:
    text = relative.as_posix()
    return any(
        fnmatch.fnmatchcase(text, pattern)
        or fnmatch.fnmatchcase(text, f"{pattern.rstrip('/')}/*")
        or any(fnmatch.fnmatchcase(part, pattern) for part in relative.parts)
        for pattern in patterns
    )


def _members(root: Path, patterns: Sequence[str]) -> Iterator[tuple[str, Path]]:
    """``(archive name, file or directory)`` of everything to pack, sorted; symbolic
    links are followed (their targets are packed), each directory once."""
    seen: set[str] = set()

    def walk(directory: Path, relative: PurePosixPath) -> Iterator[tuple[str, Path]]:
        real = os.path.realpath(directory)
        if real in seen:
            return
        seen.add(real)
        for entry in sorted(os.listdir(directory)):
            child = relative / entry
            if _excluded(child, patterns):
                continue
            source = directory / entry
            if source.is_dir():
                yield child.as_posix(), source
                yield from walk(source, child)
            elif source.is_file():
                yield child.as_posix(), source

    yield from walk(root, PurePosixPath())


class _Hashing(io.RawIOBase):
    """Writes through to ``target`` and hashes what passes."""

    def __init__(self, target: IO[bytes] | gzip.GzipFile) -> None:
        self.target = target
        self.sha = hashlib.sha256()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data)
        self.sha.update(view)
        self.target.write(view)
        return len(view)


def _pack(members: Sequence[tuple[str, Path]]) -> tuple[Path, str]:
    """The gzipped tar of ``members`` (in the local cache) and the SHA-256 of the tar
    itself, which is the asset's hash: every header is normalized (mtime 0, owner 0,
    mode 644/755), so the hash depends on the paths and contents only, not on the
    files' metadata nor on the compressor."""
    _CACHE.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.NamedTemporaryFile(dir=_CACHE, suffix=".part", delete=False) as part,
        gzip.GzipFile(filename="", mode="wb", fileobj=part, mtime=0) as compressed,
    ):
        hashing = _Hashing(compressed)
        with tarfile.open(fileobj=hashing, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            for name, source in members:
                info = tarfile.TarInfo(name)
                info.mtime = 0
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                if source.is_dir():
                    info.type = tarfile.DIRTYPE
                    info.mode = 0o755
                    tar.addfile(info)
                    continue
                info.mode = 0o644
                info.size = source.stat().st_size
                with source.open("rb") as content:
                    tar.addfile(info, content)
    digest = hashing.sha.hexdigest()
    folder = _CACHE / digest
    folder.mkdir(exist_ok=True)
    archive = folder / ARCHIVE_NAME
    os.replace(part.name, archive)
    return archive, digest


#: The same, under a name for every kind of job (a processing job's code too).
JobCode = TrainingCode
