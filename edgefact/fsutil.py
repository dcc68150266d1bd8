"""File output: atomic (an artifact is either complete or absent, never half-written), one writer
per output directory (:func:`directory_lock`), and file-system faults as one clear line
(:func:`ensure_dir`, :func:`describe_os_error`)."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

from edgefact.errors import EdgefactError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    The file gets the usual permissions (0666 less the umask), not mkstemp's private 0600.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Text version of :func:`atomic_write_bytes` (UTF-8)."""
    return atomic_write_bytes(path, text.encode("utf-8"))


@contextlib.contextmanager
def atomic_output_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path to write to; on success it is renamed to ``path``.

    For tools that write files themselves (converters, linkers). On an exception the temporary
    file is removed and ``path`` is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


@contextlib.contextmanager
def atomic_output_dir(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary directory; on success it replaces ``path`` as a whole."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    os.chmod(tmp, 0o777 & ~_umask())
    try:
        yield tmp
        if path.exists():
            old = path.with_name(f".{path.name}.old.{os.getpid()}")
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


# -- one writer per output directory -----------------------------------------------------------

LOCK_NAME = ".edgefact.lock"
#: seconds a build waits for another one writing into the same directory (env EDGEFACT_LOCK_WAIT)
DEFAULT_LOCK_WAIT_S = 10.0


def lock_wait_s() -> float:
    """The wait for a busy output directory: ``EDGEFACT_LOCK_WAIT`` seconds, else 10."""
    text = os.environ.get("EDGEFACT_LOCK_WAIT", "")
    if not text:
        return DEFAULT_LOCK_WAIT_S
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not (value >= 0 and value != float("inf")):
        raise EdgefactError(f"EDGEFACT_LOCK_WAIT={text!r}: give the seconds to wait for a busy output "
                            "directory (a finite number >= 0)")
    return value


def _holder(owner: Path) -> str:
    try:
        info = json.loads(owner.read_text())
        return (f"pid {info.get('pid')}, started {info.get('started')}: "
                f"{' '.join(str(a) for a in info.get('argv', []))}")
    except (OSError, ValueError, AttributeError):
        return "unknown process"


@contextlib.contextmanager
def directory_lock(path: str | os.PathLike[str], wait_s: float | None = None,
                   what: str = "edgefact build") -> Iterator[Path]:
    """Hold ``path``'s lock (``path/.edgefact.lock``, an OS file lock via ``filelock``, released
    when the process dies) for the block: one writer per output directory. Another holder makes
    this wait ``wait_s`` seconds (default :func:`lock_wait_s`), then fail with an error naming
    the directory and the other process."""
    from filelock import FileLock, Timeout

    path = Path(path)
    ensure_dir(path, "output directory")
    lock = FileLock(str(path / LOCK_NAME))
    owner = path / f"{LOCK_NAME}.owner"
    wait = lock_wait_s() if wait_s is None else wait_s
    try:
        lock.acquire(timeout=wait)
    except Timeout:
        raise EdgefactError(f"{path}: another {what} is writing into this directory ({_holder(owner)}); waited "
                            f"{wait:g} s (EDGEFACT_LOCK_WAIT). Let it finish, or give another --out") from None
    except OSError as exc:
        raise EdgefactError(describe_os_error(exc, path, "cannot lock the output directory")) from None
    try:
        with contextlib.suppress(OSError):
            owner.write_text(json.dumps({"pid": os.getpid(), "argv": sys.argv,
                                         "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}))
        yield path
    finally:
        with contextlib.suppress(OSError):
            owner.unlink()
        lock.release()


# -- file-system faults as one line ------------------------------------------------------------

_ERRNO_TEXT = {
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.ENOTDIR: "a part of the path is a file, not a directory",
    errno.EEXIST: "it exists and is not a directory",
    errno.EISDIR: "it is a directory",
    errno.ENAMETOOLONG: "the name is too long",
    errno.ENOENT: "no such file or directory",
}


def describe_os_error(exc: OSError, path: str | os.PathLike[str] | None = None, doing: str = "cannot write") -> str:
    """One line naming the path and the problem of an ``OSError`` (for the CLI, no traceback)."""
    where = exc.filename if exc.filename else path
    problem = _ERRNO_TEXT.get(exc.errno or 0, exc.strerror or str(exc))
    fix = {errno.ENOSPC: "; free some space or give another --out", errno.EDQUOT: "; free some space",
           errno.EROFS: "; give a writable --out", errno.EACCES: "; give a writable --out",
           errno.ENOTDIR: "; give a directory path", errno.EEXIST: "; give a directory path"}.get(exc.errno or 0, "")
    return f"{where}: {doing}: {problem}{fix}" if where else f"{doing}: {problem}{fix}"


def ensure_dir(path: str | os.PathLike[str], what: str = "output directory") -> Path:
    """Create ``path`` (and its parents) as a writable directory, or raise one clear
    ``EdgefactError``: a file in its place or above it, read-only, no permission, full disk."""
    path = check_output_dir(path, what)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EdgefactError(describe_os_error(exc, path, f"cannot create the {what}")) from None
    probe = path / f".edgefact-write-test.{os.getpid()}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise EdgefactError(describe_os_error(exc, path, f"cannot write into the {what}")) from None
    return path


@contextlib.contextmanager
def os_errors_as_one_line(path: str | os.PathLike[str] | None = None, doing: str = "cannot write") -> Iterator[None]:
    """Turn an ``OSError`` raised by the block into an ``EdgefactError`` of one line."""
    try:
        yield
    except OSError as exc:
        raise EdgefactError(describe_os_error(exc, path, doing)) from exc


def write_files_atomically(dest: str | os.PathLike[str], files: Mapping[str, bytes | str]) -> list[Path]:
    """Write several files into ``dest`` so that either all of them are the new ones or none is.

    They are written into a temporary folder beside them (``dest/.name.XXXX``) and renamed into
    place only once every one is complete: a full disk or an interrupt while writing leaves the
    old files (or none), never a mix. Renames within one directory do not fail for lack of space.
    """
    dest = ensure_dir(dest, "output directory")
    tmp = Path(tempfile.mkdtemp(prefix=".partial.", dir=dest))
    try:
        staged: list[tuple[Path, Path]] = []
        for name, data in files.items():
            p = tmp / name
            p.parent.mkdir(parents=True, exist_ok=True)
            with open(p, "wb") as f:
                f.write(data.encode("utf-8") if isinstance(data, str) else data)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(p, 0o666 & ~_umask())
            staged.append((p, dest / name))
        for src, dst in staged:
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dst)
        return [dst for _, dst in staged]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


#: errno values of file-system faults a user causes (the CLI prints them as one line)
FS_FAULT_ERRNOS = frozenset(_ERRNO_TEXT) - {errno.ENOENT}


def check_output_dir(path: str | os.PathLike[str], what: str = "output directory") -> Path:
    """Check, without creating or writing anything, that ``path`` can become a writable
    directory: it (or its nearest existing parent) is a directory, writable, on a writable file
    system. One ``EdgefactError`` naming the path and the problem otherwise."""
    path = Path(path)
    for p in (path, *path.parents):
        if not (p.exists() or p.is_symlink()):
            continue
        if not p.is_dir():
            where = "it is a file" if p == path else f"{p} is a file"
            raise EdgefactError(f"{path}: cannot use as the {what}: {where}, not a directory; give a directory path")
        if not os.access(p, os.W_OK | os.X_OK):
            try:
                read_only = bool(os.statvfs(p).f_flag & os.ST_RDONLY)
            except OSError:
                read_only = False
            problem = "the file system is read-only" if read_only else f"{p} is not writable (permission denied)"
            raise EdgefactError(f"{path}: cannot write the {what}: {problem}; give a writable --out")
        return path
    return path
