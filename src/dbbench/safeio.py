"""The files dbbench reads and writes: regular files only, read within a limit, written whole.

Reading (``read_bytes``, ``read_text``): a path must name a regular file (a symbolic link to
one is followed, as any program reading a file does) of at most ``limit`` bytes.  A FIFO, a
device (``/dev/zero``, a terminal), a socket or a directory is refused before it is opened,
and again after (``fstat`` of what was opened: the path may have changed in between); the
open never blocks (``O_NONBLOCK``) and reads at most ``limit + 1`` bytes, so a file that
grows as it is read is refused too, not read until memory runs out.

Writing (``write_text``): the target must be absent or a regular file, in a directory that
exists.  A device (``/dev/null``), a FIFO, a socket, a directory or a symbolic link at the
target is refused, never replaced nor written through: the text goes to a temporary file
beside the target, is flushed to disk, and only then takes the target's name (a hard link
where the target is absent, which cannot replace anything that appeared meanwhile; a
rename over a regular file, checked again just before).  A reader, or a crash, sees the
old file or the new one, never half of one.  No directory is created.

Every refusal and failure is one ``FileProblem`` naming the path and what is wrong.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Sequence
from pathlib import Path

from dbbench import interruption
from dbbench.errors import DbbenchError
from dbbench.parsing import shown

MiB = 1024 * 1024

#: the most dbbench reads from a settings file (``--config``, ``dbbench.toml``, a variant's)
SETTINGS_LIMIT = 1 * MiB
#: ... from an option file (``~/.my.cnf``)
OPTION_FILE_LIMIT = 1 * MiB
#: ... from a TLS certificate, key or CA file (a system's CA bundle is some 200 KiB)
TLS_FILE_LIMIT = 4 * MiB
#: ... from a result file or saved run (a large sweep with histograms is a few MiB)
RESULT_LIMIT = 64 * MiB

_READ_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_CHUNK = 1 * MiB


class FileProblem(DbbenchError):
    """A file dbbench will not, or could not, read or write: the one line ``PATH: reason``
    (``LABEL = 'PATH': reason``, the shape of every bad value's message, where the path
    came with a label, such as ``--output``).
    Callers with an error class of their own (a bad settings file is exit 2) wrap
    ``reason`` in it; one that escapes is an error of its own (exit 1)."""

    def __init__(
        self,
        path: os.PathLike[str] | str,
        reason: str,
        label: str | None = None,
        missing: bool = False,
    ) -> None:
        self.path = os.fspath(path)
        self.reason = reason
        self.label = label
        #: nothing is there (a caller may say so its own way: "configuration file not found")
        self.missing = missing
        where = f"{label} = {shown(self.path)}" if label else self.path
        super().__init__(f"{where}: {reason}")

    def __reduce__(self) -> tuple:
        return (type(self), (self.path, self.reason, self.label, self.missing))


def kind(mode: int) -> str:
    """What a file of ``mode`` is, as a message says it ("a character device")."""
    for test, name in (
        (stat.S_ISREG, "a regular file"),
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def size_text(size: int) -> str:
    """``1536`` -> ``1.5 KiB``, ``1048576`` -> ``1 MiB``: a size as a message says it."""
    if size < 1024:
        return f"{size} bytes"
    units = ["KiB", "MiB", "GiB", "TiB"]
    value = size / 1024
    while value >= 1024 and len(units) > 1:
        value /= 1024
        units.pop(0)
    return f"{value:.1f}".removesuffix(".0") + f" {units[0]}"


def _os_reason(exc: OSError | ValueError) -> str:
    if isinstance(exc, ValueError):  # a NUL byte in the path
        return "not a valid path"
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, NotADirectoryError):
        return "no such file (a part of its path is not a directory)"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return exc.strerror or str(exc)


def _read_failure(name: str, exc: OSError | ValueError) -> FileProblem:
    reason = _os_reason(exc)
    if isinstance(exc, FileNotFoundError | NotADirectoryError):
        return FileProblem(name, reason, missing=True)
    if isinstance(exc, ValueError):
        return FileProblem(name, reason)
    return FileProblem(name, f"cannot read it ({reason})")


def _check_regular(path: str, mode: int, verb: str) -> None:
    if not stat.S_ISREG(mode):
        raise FileProblem(
            path, f"is {kind(mode)}, not a regular file; dbbench {verb} only regular files"
        )


def _check_size(path: str, size: int, limit: int, what: str, grew: bool = False) -> None:
    if size > limit:
        shown = (
            f"more than {size_text(limit)} (it grew as it was read)" if grew else size_text(size)
        )
        raise FileProblem(path, f"is {shown}; dbbench reads at most {size_text(limit)} from {what}")


def read_bytes(path: os.PathLike[str] | str, *, limit: int, what: str = "a file") -> bytes:
    """All of the regular file at ``path``, at most ``limit`` bytes; else ``FileProblem``.
    ``what`` names the kind of file for the size message ("a settings file")."""
    name = os.fspath(path)
    try:
        _check_regular(name, os.stat(name).st_mode, "reads")  # before open: no device opened
        fd = os.open(name, _READ_FLAGS)
    except (OSError, ValueError) as exc:
        raise _read_failure(name, exc) from None
    try:
        opened = os.fstat(fd)
        _check_regular(name, opened.st_mode, "reads")  # what was opened, not what was stat'ed
        _check_size(name, opened.st_size, limit, what)
        chunks: list[bytes] = []
        total = 0
        while total <= limit:
            chunk = os.read(fd, min(_CHUNK, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except OSError as exc:
        raise _read_failure(name, exc) from None
    finally:
        os.close(fd)
    _check_size(name, total, limit, what, grew=True)  # grew, or its size said 0 (/proc)
    return b"".join(chunks)


def read_text(path: os.PathLike[str] | str, *, limit: int, what: str = "a file") -> str:
    """``read_bytes`` decoded as UTF-8; text that is not UTF-8 is a ``FileProblem`` too."""
    data = read_bytes(path, limit=limit, what=what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FileProblem(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def _directory(path: Path) -> Path:
    return path.parent if str(path.parent) else Path(".")


def check_target(
    path: os.PathLike[str] | str,
    label: str | None = None,
    inputs: Sequence[os.PathLike[str] | str] = (),
) -> None:
    """Refuse, with a ``FileProblem``, a target ``write_text`` would refuse: anything but a
    regular file there, or no directory to put it in; also one of ``inputs``, the files
    the command reads (its settings file, say), which a result must not replace.  For a
    command to check its output before it measures anything (``write_text`` checks
    again)."""
    target = Path(path)
    name = os.fspath(path)
    if not name:
        raise FileProblem(name, "an empty path names no file", label)
    if name == "-":  # many tools' standard output; a file named '-' would surprise
        raise FileProblem(
            name,
            "dbbench writes no file named '-', nor standard output this way: to print the "
            "result document, give --json (--format json); to write a file of that name, "
            "give ./-",
            label,
        )
    directory = _directory(target)
    try:
        mode = os.stat(directory).st_mode
    except FileNotFoundError:
        raise FileProblem(
            name, f"no such directory {directory} (dbbench creates no directory for it)", label
        ) from None
    except OSError as exc:
        raise FileProblem(
            name, f"cannot use the directory {directory} ({_os_reason(exc)})", label
        ) from None
    if not stat.S_ISDIR(mode):
        raise FileProblem(name, f"{directory} is not a directory", label)
    try:
        _check_regular(name, os.lstat(name).st_mode, "writes")
    except FileNotFoundError:
        pass
    except FileProblem as exc:
        raise FileProblem(name, exc.reason, label) from None
    except OSError as exc:
        raise FileProblem(name, _os_reason(exc), label) from None
    if not os.access(directory, os.W_OK):  # a read-only file system says so for root too
        problem = "read-only file system" if _read_only(directory) else "not writable"
        raise FileProblem(name, f"cannot write in the directory {directory} ({problem})", label)
    for read in inputs:
        if _same_file(name, read):
            raise FileProblem(name, f"is {os.fspath(read)}, a file this command reads", label)


def _same_file(a: os.PathLike[str] | str, b: os.PathLike[str] | str) -> bool:
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):  # either absent (or unnamable): not the same file
        return False


def _read_only(directory: Path) -> bool:
    with contextlib.suppress(OSError):
        return bool(os.statvfs(directory).f_flag & os.ST_RDONLY)
    return False


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(
    path: os.PathLike[str] | str, text: str, *, what: str = "the file", label: str | None = None
) -> None:
    """Write ``text`` (UTF-8) to ``path`` whole, or leave what was there untouched and raise
    a ``FileProblem``: ``PATH: cannot write WHAT (reason)``, or a refusal (``check_target``)."""
    target = Path(path)
    name = os.fspath(path)
    check_target(target, label)
    directory = _directory(target)
    # a stop signal waits for the end: no temporary left between its making and its try
    with interruption.held():
        try:
            fd, temporary = tempfile.mkstemp(
                prefix=f".{target.name}.", suffix=".tmp", dir=directory
            )
        except OSError as exc:
            raise _write_failure(name, what, exc, directory, label) from None
        try:
            try:
                os.chmod(temporary, 0o666 & ~_umask())  # as open() would have made it
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(text)
                    handle.flush()
                    os.fsync(handle.fileno())
                _install(temporary, name, label)
                _sync_directory(directory)
            except OSError as exc:
                raise _write_failure(name, what, exc, directory, label) from None
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise


def _install(temporary: str, name: str, label: str | None) -> None:
    """Give the written temporary file the target's name, replacing nothing but a regular file."""
    try:
        os.link(temporary, name)  # fails, replacing nothing, if anything is there by now
    except FileExistsError:
        pass
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
            raise
        # no hard links on this file system: check, then rename (a narrow window remains)
        with contextlib.suppress(FileNotFoundError):
            _refuse_unless_regular(name, label)
        os.replace(temporary, name)
        return
    else:
        os.unlink(temporary)
        return
    _refuse_unless_regular(name, label)  # something is there: only a regular file is replaced
    os.replace(temporary, name)


def _refuse_unless_regular(name: str, label: str | None) -> None:
    try:
        _check_regular(name, os.lstat(name).st_mode, "writes")
    except FileProblem as exc:
        raise FileProblem(name, exc.reason, label) from None


def _sync_directory(directory: Path) -> None:
    """The rename on disk too, where the file system allows a directory's fsync."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_failure(
    name: str, what: str, exc: OSError, directory: Path, label: str | None
) -> FileProblem:
    if isinstance(exc, FileNotFoundError | NotADirectoryError) and not directory.is_dir():
        reason = f"the directory {directory} no longer exists"
    else:
        reason = exc.strerror or str(exc)
    return FileProblem(name, f"cannot write {what} ({reason})", label)


__all__ = [
    "OPTION_FILE_LIMIT",
    "RESULT_LIMIT",
    "SETTINGS_LIMIT",
    "TLS_FILE_LIMIT",
    "FileProblem",
    "check_target",
    "kind",
    "read_bytes",
    "read_text",
    "size_text",
    "write_text",
]
