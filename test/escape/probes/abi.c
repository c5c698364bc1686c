/* Host fact probe: does this host run a foreign syscall ABI at all? It calls getpid() through the
 * foreign entry directly in this process (no fork), so whatever stops the call (the kernel's own
 * refusal, a missing entry point, a seccomp filter) is exactly what the caller sees:
 *   abi int80   getpid through int 0x80, the i386 entry (i386 nr 20)
 *   abi x32     getpid through the x32 numbering (0x40000000 | 39)
 * Convention of probe.h: ESCAPED when the call returned our pid, BLOCKED when it returned an error,
 * exit 128+N when a signal ended it (a kernel without the i386 entry raises SIGSEGV). Run directly
 * on the host it decides which expectations of the foreign-ABI rows and tests apply (host.ts);
 * the helper test also runs it inside the sandbox. */
#include "probe.h"
#include <sys/syscall.h>

static long int80_getpid(void) {
  long r;
  __asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory", "r8", "r9", "r10", "r11");
  return r;
}

int main(int argc, char **argv) {
  if (argc < 2) probe_error("usage: abi int80|x32");
  setvbuf(stdout, NULL, _IOLBF, 0);
  long r;
  if (!strcmp(argv[1], "int80")) r = int80_getpid();
  else if (!strcmp(argv[1], "x32")) {
    r = syscall(0x40000000L | SYS_getpid);
    if (r < 0) r = -errno;
  }
  else probe_error("unknown mode %s", argv[1]);
  if (r == getpid()) escaped("%s getpid() returned our pid %ld", argv[1], r);
  if (r < 0 && r > -4096) { note("%s getpid(): %s", argv[1], strerror((int)-r)); blocked(); }
  probe_error("%s getpid() returned %ld, not our pid %d", argv[1], r, getpid());
}
