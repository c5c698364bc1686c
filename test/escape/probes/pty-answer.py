#!/usr/bin/python3
"""Host-side harness helper: runs CMD on a fresh pseudo-terminal (stdin, stdout and stderr, as an
operator's terminal), answers ANSWER once the output contains PROMPT, and prints everything the
terminal received, hex-encoded, on one line (so escape sequences reach the test intact). Exits
with CMD's status (128+N for signal N); bounded to 30 s.

usage: pty-answer.py PROMPT ANSWER CMD [ARGS...]"""
import os
import pty
import select
import sys
import time


def main() -> int:
    prompt, answer, cmd = sys.argv[1].encode(), sys.argv[2].encode(), sys.argv[3:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(cmd[0], cmd)
    out = b""
    answered = False
    status = None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                break
            out += chunk
            if not answered and prompt in out:
                os.write(fd, answer + b"\n")
                answered = True
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = st
            break
    if status is None:
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
        _, status = os.waitpid(pid, 0)
    print(out.hex())
    return os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)


if __name__ == "__main__":
    sys.exit(main())
