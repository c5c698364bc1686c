/* Namespace probes: is the sandbox's UTS or IPC namespace the host's?
 *   ns hostname HOST_UTS_NS      HOST_UTS_NS is readlink(/proc/self/ns/uts) of the test; in the
 *                                host's namespace, sethostname(<the current name>) proves the
 *                                right to change it without changing it; in a private one the
 *                                probe sets a new name and the test checks the host's is unchanged
 *   ns sysv-shm SHMID MARKER     attach the host's System V shared memory segment SHMID
 *   ns sysv-create MARKER        (host side) create a 0666 segment holding MARKER, print its id
 *   ns posix-shm NAME MARKER     shm_open the host's /dev/shm/NAME
 *   ns env MARKER                the launcher's environment (API keys, tokens) reached the workload,
 *                                or any process it can see (/proc/PID/environ) */
#include "probe.h"
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/utsname.h>
#include <dirent.h>

int main(int argc, char **argv) {
  if (argc < 3) probe_error("usage: ns MODE ...");
  const char *m = argv[1];
  if (!strcmp(m, "hostname")) {
    char ns[128] = "", name[256];
    ssize_t n = readlink("/proc/self/ns/uts", ns, sizeof ns - 1);
    if (n < 0) note("readlink /proc/self/ns/uts: %s", E);
    if (gethostname(name, sizeof name) < 0) probe_error("gethostname: %s", E);
    if (n > 0 && !strcmp(ns, argv[2])) {
      if (sethostname(name, strlen(name)) == 0) escaped("may change the host's hostname (%s, same UTS namespace %s)", name, ns);
      note("sethostname in the host's UTS namespace: %s", E);
      blocked();
    }
    const char *mine = "nemoclaw-escape-probe";
    if (sethostname(mine, strlen(mine)) == 0) note("set hostname to %s inside a private UTS namespace %s", mine, ns);
    else note("sethostname: %s (UTS namespace %s)", E, ns);
    blocked();
  }
  if (!strcmp(m, "sysv-create")) {
    int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0666);
    if (id < 0) probe_error("shmget: %s", E);
    char *p = shmat(id, NULL, 0);
    if (p == (void *)-1) probe_error("shmat: %s", E);
    snprintf(p, 4096, "%s", argv[2]);
    shmdt(p);
    printf("%d\n", id);
    return 0;
  }
  if (!strcmp(m, "sysv-shm") && argc >= 4) {
    int id = atoi(argv[2]);
    char *p = shmat(id, NULL, SHM_RDONLY);
    if (p == (void *)-1) { note("shmat(%d): %s", id, E); blocked(); }
    int hit = strstr(p, argv[3]) != NULL;
    shmdt(p);
    if (hit) escaped("attached the host's System V shared memory segment %d", id);
    note("segment %d is not the host's (no marker)", id);
    blocked();
  }
  if (!strcmp(m, "env")) {
    extern char **environ;
    for (char **e = environ; *e; e++)
      if (strstr(*e, argv[2])) {
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)strcspn(*e, "="), *e);
        escaped("the launcher's secret reached the workload's environment as %s", name);
      }
    note("no environment variable carries the launcher's secret");
    /* Nor may any other process we can see (the sandbox's init, helpers) expose it. */
    DIR *d = opendir("/proc");
    struct dirent *de;
    int looked = 0;
    while (d && (de = readdir(d))) {
      int pid = atoi(de->d_name);
      if (pid <= 0 || pid == getpid()) continue;
      char path[64], buf[16384];
      snprintf(path, sizeof path, "/proc/%d/environ", pid);
      ssize_t n = read_file(path, buf, sizeof buf);
      if (n <= 0) continue;
      looked++;
      for (ssize_t i = 0; i < n; i++) if (!buf[i]) buf[i] = ' ';
      if (strstr(buf, argv[2])) { closedir(d); escaped("the launcher's secret is readable in %s", path); }
    }
    if (d) closedir(d);
    note("%d other readable /proc/*/environ without it", looked);
    blocked();
  }
  if (!strcmp(m, "posix-shm") && argc >= 4) {
    int fd = shm_open(argv[2], O_RDONLY, 0);
    if (fd < 0) { note("shm_open %s: %s", argv[2], E); blocked(); }
    char buf[256];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    if (strstr(buf, argv[3])) escaped("read the host's POSIX shared memory object %s", argv[2]);
    note("%s is not the host's (no marker)", argv[2]);
    blocked();
  }
  probe_error("unknown mode or missing args: %s", m);
}
