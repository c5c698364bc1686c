#!/usr/bin/python3
"""Host-side harness helper (never runs inside a sandbox): runs CMD with a fresh pseudo-terminal
as its controlling terminal and stdio, relays the output, and afterwards reports whether anything
was injected into that terminal's input queue (what a shell reading the terminal would execute).

usage: pty-run.py CMD [ARGS...]; the exit status is CMD's (128+N when killed by signal N);
the last line on stderr is "PTY-INPUT: <repr of injected bytes>" or "PTY-INPUT: none"."""
import fcntl
import os
import select
import subprocess
import sys
import termios
import time
import tty


def main() -> int:
    master, slave = os.openpty()
    tty.setraw(slave)  # injected bytes become readable at once, and are not echoed
    slave_name = os.ttyname(slave)

    def child_setup() -> None:
        os.setsid()
        fd = os.open(slave_name, os.O_RDWR)  # becomes the controlling terminal
        fcntl.ioctl(fd, termios.TIOCSCTTY, 0)
        os.close(fd)

    # close_fds=False: fds the caller handed us on purpose (3, 4, ...) reach CMD; ours are
    # non-inheritable (PEP 446) and stay behind.
    proc = subprocess.Popen(sys.argv[1:], stdin=slave, stdout=slave, stderr=slave,
                            preexec_fn=child_setup, close_fds=False)
    out = bytearray()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.05)
        if ready:
            try:
                out += os.read(master, 65536)
            except OSError:
                break
        elif proc.poll() is not None:
            break
    if proc.poll() is None:
        proc.kill()
    code = proc.wait()
    sys.stdout.write(out.decode(errors="replace").replace("\r\n", "\n"))
    sys.stdout.flush()
    os.set_blocking(slave, False)
    injected = b""
    try:
        injected = os.read(slave, 65536)
    except BlockingIOError:
        pass
    sys.stderr.write("PTY-INPUT: " + (repr(injected) if injected else "none") + "\n")
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main())
