/* Scene for operator-terminal.test.ts: ask the operator about an exec whose path carries terminal
 * escape sequences (set the window title, clear the screen, colour a fake prompt, an 8-bit C1 CSI
 * as UTF-8, a right-to-left override). The path never exists; what matters is how the operator's
 * terminal shows the question. */
#include <stdio.h>
#include <unistd.h>

int main(void) {
  char *argv[] = { "x", NULL };
  char *envp[] = { NULL };
  execve("/usr/sbin/nologin\x1b]0;NEMOCLAW-INJECTED-TITLE\x07\x1b[2J\x1b[31mFAKE-PROMPT\xc2\x9b?1049h\xe2\x80\xae" "exe.gnp", argv, envp);
  perror("execve");
  return 0;
}
