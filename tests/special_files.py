"""Special files of a test's own, in its temporary directory (tests run as root): what
dbbench must refuse to read or to write over, and small file systems to fill or make
read-only."""

from __future__ import annotations

import contextlib
import os
import socket
import stat
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


def regular(tmp: Path) -> Path:
    (tmp / "file").write_text("content\n")
    return tmp / "file"


def fifo(tmp: Path) -> Path:
    os.mkfifo(tmp / "fifo")
    return tmp / "fifo"


def zero(tmp: Path) -> Path:
    os.mknod(tmp / "zero", 0o666 | stat.S_IFCHR, os.makedev(1, 5))  # as /dev/zero
    return tmp / "zero"


def null(tmp: Path) -> Path:
    os.mknod(tmp / "null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # as /dev/null
    return tmp / "null"


def block(tmp: Path) -> Path:
    os.mknod(tmp / "loop", 0o660 | stat.S_IFBLK, os.makedev(7, 0))  # as /dev/loop0
    return tmp / "loop"


def socket_node(tmp: Path) -> Path:
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(tmp / "sock"))
    server.close()  # the node stays
    return tmp / "sock"


def link_to(target: Callable[[Path], Path]) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        (tmp / "link").symlink_to(target(tmp))
        return tmp / "link"

    return make


def dangling(tmp: Path) -> Path:
    (tmp / "link").symlink_to(tmp / "nowhere")
    return tmp / "link"


def loop(tmp: Path) -> Path:
    (tmp / "a").symlink_to(tmp / "b")
    (tmp / "b").symlink_to(tmp / "a")
    return tmp / "a"


def directory(tmp: Path) -> Path:
    (tmp / "dir").mkdir()
    return tmp / "dir"


def huge(tmp: Path) -> Path:
    with open(tmp / "huge", "wb") as file:
        file.truncate(10 * 1024**3)  # 10 GiB, sparse: nothing is written
    return tmp / "huge"


def sized(size: int) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        (tmp / "sized").write_bytes(b"x" * size)
        return tmp / "sized"

    return make


@contextlib.contextmanager
def tmpfs(path: Path, options: str) -> Iterator[Path]:
    """A small file system of the test's own at ``path`` (tests run as root); skipped where
    mounting is not allowed."""
    path.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(small: Path) -> None:
    """Fill the file system at ``small`` to the last byte."""
    fd = os.open(small / "filler", os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:
        pass
    finally:
        os.close(fd)


#: (case, make the target, the reason in the one line): where dbbench writes nothing,
#: before or over which it writes nothing, leaving each as it was
REFUSED_TARGETS = [
    ("device node", null, "is a character device, not a regular file; dbbench writes only"),
    ("block device", block, "is a block device, not a regular file"),
    ("FIFO", fifo, "is a FIFO (named pipe), not a regular file"),
    ("socket", socket_node, "is a socket, not a regular file"),
    ("symlink to a regular file", link_to(regular), "is a symbolic link, not a regular file"),
    ("symlink to a device", link_to(null), "is a symbolic link, not a regular file"),
    ("dangling symlink", dangling, "is a symbolic link, not a regular file"),
    ("missing directory", lambda tmp: tmp / "no" / "out.json", "no such directory"),
    ("a file as its directory", lambda tmp: regular(tmp) / "out.json", "is not a directory"),
]
