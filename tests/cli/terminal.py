"""`jobstream` run as a real subprocess in a pseudo-terminal, as a person would see it.

The child's stdin, stdout and stderr are the pty's slave (so rich sees a terminal and draws
its live bar); the test reads the master. ``text`` is the output with the terminal's escape
sequences removed, for assertions on what was drawn.
"""

import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from dataclasses import dataclass, field

COLUMNS, LINES = 160, 40
ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\x1b[()][A-Z0-9]")


def client_env(columns: int = COLUMNS) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBSTREAM_")}
    return {**env, "TERM": "xterm", "COLUMNS": str(columns), "LINES": str(LINES)}


@dataclass
class Terminal:
    process: subprocess.Popen
    master: int
    raw: bytearray = field(default_factory=bytearray)

    @property
    def text(self) -> str:
        return ESCAPES.sub("", self.raw.decode(errors="replace"))

    def read_until(self, needle: str, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while needle not in self.text:
            assert time.monotonic() < deadline, f"{needle!r} never shown:\n{self.text}"
            if not self._read(0.1) and self.process.poll() is not None:
                raise AssertionError(f"exited before {needle!r}:\n{self.text}")
        return self.text

    def interrupt(self) -> None:
        self.process.send_signal(signal.SIGINT)

    def finish(self, timeout: float = 30) -> int:
        """Read to the end of the output; the exit code."""
        deadline = time.monotonic() + timeout
        while self._read(0.1) or self.process.poll() is None:
            assert time.monotonic() < deadline, f"still running:\n{self.text}"
        os.close(self.master)
        return self.process.wait()

    def _read(self, wait: float) -> bool:
        """Whether anything was read; False at the end of the output too."""
        ready, _, _ = select.select([self.master], [], [], wait)
        if not ready:
            return False
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # EIO: the child closed the terminal
            return False
        self.raw += chunk
        return bool(chunk)


def _as_a_foreground_job() -> None:
    """Ctrl-C and Ctrl-\\ as a shell gives them to the command it runs in a terminal. A suite
    started in the background by a script (``dev.py test &``) has both ignored, and an
    ignored signal is inherited: the CLI would never see the Ctrl-C the test sends."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)


def open_terminal(*args: str, columns: int = COLUMNS) -> Terminal:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", LINES, columns, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-m", "jobstream", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=client_env(columns),
        start_new_session=True,
        preexec_fn=_as_a_foreground_job,
    )
    os.close(slave)
    return Terminal(process, master)


def run_in_terminal(*args: str, timeout: float = 30, columns: int = COLUMNS) -> tuple[int, str]:
    terminal = open_terminal(*args, columns=columns)
    code = terminal.finish(timeout)
    return code, terminal.text


def run_for_script(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    """As a script runs it: stdout and stderr are pipes, not a terminal."""
    return subprocess.run(
        [sys.executable, "-m", "jobstream", *args],
        capture_output=True,
        text=True,
        env=client_env(),
        timeout=timeout,
    )
