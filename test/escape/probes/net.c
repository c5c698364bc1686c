/* Network probes (red-team cases 11.4 #41-#48, docs/peers.md). Targets are loopback servers that the test starts on
 * the host; a server answers with MARKER, so a probe knows it reached the host's and not a
 * private loopback.
 *   net tcp ADDR PORT MARKER     direct TCP connect, ignoring any proxy
 *   net mptcp PORT MARKER        the same with IPPROTO_MPTCP
 *   net udp PORT MARKER          UDP datagram to the host's server, wait for its answer
 *   net raw | packet             SOCK_RAW / AF_PACKET sockets (CAP_NET_RAW)
 *   net netlink                  netlink protocols other than NETLINK_ROUTE
 *   net vsock                    AF_VSOCK stream and datagram sockets
 *   net families                 every address family other than unix/inet/inet6/netlink
 *   net highbits                 socket() with bits above 31 set in the family (32-bit masked compare)
 *   net bind PORT                bind and listen on 127.0.0.1:PORT and [::1]:PORT (a port no policy declared)
 *   net abstract NAME MARKER     connect to the host's abstract unix socket @NAME
 *   net unix PATH MARKER [PATH...]  connect to the host's pathname unix sockets
 * Scenes for the egress attribution test (the verdict is the sandbox's event, not an exit status):
 *   net connect-only PORT        connect to 127.0.0.1:PORT, hold it 1 s
 *   net connect-exec PORT BIN    connect, then exec BIN (an allowed binary) keeping the socket
 *   net connect-fork-exec PORT BIN  connect; the child keeps using the socket, the parent execs BIN */
#include "probe.h"
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/netlink.h>
#include <linux/vm_sockets.h>
#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

static int read_marker(int fd, const char *marker, int ms) {
  char buf[512];
  size_t got = 0;
  long end = now_ms() + ms;
  while (now_ms() < end && got < sizeof buf - 1) {
    struct pollfd p = { fd, POLLIN, 0 };
    if (poll(&p, 1, 100) <= 0) continue;
    ssize_t n = recv(fd, buf + got, sizeof buf - 1 - got, 0);
    if (n <= 0) break;
    got += (size_t)n;
    buf[got] = 0;
    if (strstr(buf, marker)) return 1;
  }
  return 0;
}

static int connect_timeout(int fd, const struct sockaddr *sa, socklen_t len, int ms) {
  int fl = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  int r = connect(fd, sa, len);
  if (r < 0 && errno == EINPROGRESS) {
    struct pollfd p = { fd, POLLOUT, 0 };
    if (poll(&p, 1, ms) <= 0) { errno = ETIMEDOUT; return -1; }
    int err = 0;
    socklen_t el = sizeof err;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
    if (err) { errno = err; return -1; }
    r = 0;
  }
  fcntl(fd, F_SETFL, fl);
  return r;
}

static void mode_tcp(const char *addr, int port, const char *marker, int proto) {
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  socklen_t len;
  int fam;
  if (strchr(addr, ':')) {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    s6->sin6_family = fam = AF_INET6;
    s6->sin6_port = htons((uint16_t)port);
    inet_pton(AF_INET6, addr, &s6->sin6_addr);
    len = sizeof *s6;
  } else {
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    s4->sin_family = fam = AF_INET;
    s4->sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, addr, &s4->sin_addr);
    len = sizeof *s4;
  }
  int fd = socket(fam, SOCK_STREAM, proto);
  if (fd < 0) { note("socket: %s", E); blocked(); }
  if (connect_timeout(fd, (struct sockaddr *)&ss, len, 2000) < 0) { note("connect %s:%d: %s", addr, port, E); blocked(); }
  if (read_marker(fd, marker, 2000)) escaped("direct %s connection to the host's server %s:%d", proto ? "MPTCP" : "TCP", addr, port);
  note("connected to %s:%d but it is not the host's server (no marker)", addr, port);
  blocked();
}

static void mode_udp(int port, const char *marker) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) { note("socket: %s", E); blocked(); }
  struct sockaddr_in s = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
  inet_pton(AF_INET, "127.0.0.1", &s.sin_addr);
  for (int i = 0; i < 3; i++) {
    if (sendto(fd, "ping", 4, 0, (struct sockaddr *)&s, sizeof s) < 0) { note("sendto 127.0.0.1:%d: %s", port, E); blocked(); }
    if (read_marker(fd, marker, 500)) escaped("UDP datagram reached the host's server 127.0.0.1:%d", port);
  }
  note("no answer from the host's UDP server");
  blocked();
}

static void try_socket(int fam, int type, int proto, const char *what, char *got, size_t cap) {
  int fd = socket(fam, type, proto);
  if (fd >= 0) {
    close(fd);
    size_t l = strlen(got);
    snprintf(got + l, cap - l, "%s ", what);
  } else note("%s: %s", what, E);
}

static void mode_raw(void) {
  char got[512] = "";
  try_socket(AF_INET, SOCK_RAW, IPPROTO_ICMP, "AF_INET/SOCK_RAW/ICMP", got, sizeof got);
  try_socket(AF_INET, SOCK_RAW, IPPROTO_RAW, "AF_INET/SOCK_RAW/RAW", got, sizeof got);
  try_socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6, "AF_INET6/SOCK_RAW/ICMPV6", got, sizeof got);
  if (got[0]) escaped("raw sockets: %s", got);
  blocked();
}

static void mode_packet(void) {
  char got[512] = "";
  try_socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL), "AF_PACKET/SOCK_RAW", got, sizeof got);
  try_socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_ALL), "AF_PACKET/SOCK_DGRAM", got, sizeof got);
  if (got[0]) escaped("packet sockets: %s", got);
  blocked();
}

static void mode_netlink(void) {
  struct { int p; const char *n; } ps[] = { { NETLINK_AUDIT, "AUDIT" }, { NETLINK_SOCK_DIAG, "SOCK_DIAG" }, { NETLINK_KOBJECT_UEVENT, "KOBJECT_UEVENT" },
    { NETLINK_NETFILTER, "NETFILTER" }, { NETLINK_XFRM, "XFRM" }, { NETLINK_GENERIC, "GENERIC" }, { NETLINK_CONNECTOR, "CONNECTOR" },
    { NETLINK_FIB_LOOKUP, "FIB_LOOKUP" }, { NETLINK_SELINUX, "SELINUX" }, { NETLINK_NFLOG, "NFLOG" }, { NETLINK_CRYPTO, "CRYPTO" } };
  char got[512] = "";
  for (size_t i = 0; i < sizeof ps / sizeof *ps; i++) try_socket(AF_NETLINK, SOCK_RAW, ps[i].p, ps[i].n, got, sizeof got);
  if (got[0]) escaped("netlink protocols other than ROUTE: %s", got);
  blocked();
}

static void mode_vsock(void) {
  char got[256] = "";
  try_socket(AF_VSOCK, SOCK_STREAM, 0, "AF_VSOCK/STREAM", got, sizeof got);
  try_socket(AF_VSOCK, SOCK_DGRAM, 0, "AF_VSOCK/DGRAM", got, sizeof got);
  try_socket(AF_VSOCK, SOCK_SEQPACKET, 0, "AF_VSOCK/SEQPACKET", got, sizeof got);
  if (got[0]) escaped("vsock sockets (a channel to the hypervisor host): %s", got);
  blocked();
}

static void mode_families(void) {
  char got[1024] = "";
  int types[] = { SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, SOCK_SEQPACKET };
  for (int fam = 0; fam < 46; fam++) {
    if (fam == AF_UNIX || fam == AF_INET || fam == AF_INET6 || fam == AF_NETLINK) continue;
    for (int t = 0; t < 4; t++) {
      int fd = socket(fam, types[t], 0);
      if (fd < 0) continue;
      close(fd);
      size_t l = strlen(got);
      snprintf(got + l, sizeof got - l, "family %d type %d; ", fam, types[t]);
      break;
    }
  }
  if (got[0]) escaped("sockets of other families: %s", got);
  note("no family beyond unix/inet/inet6/netlink opens (AF_BLUETOOTH, AF_CAN, AF_ALG, AF_VSOCK, AF_PACKET, ... tried)");
  blocked();
}

static void mode_highbits(void) {
  char got[256] = "";
  long fams[] = { AF_VSOCK, AF_PACKET, 38 /* AF_ALG */ };
  long types[] = { SOCK_STREAM, SOCK_RAW, SOCK_SEQPACKET };
  for (int i = 0; i < 3; i++) {
    long fd = syscall(SYS_socket, (1L << 32) | fams[i], types[i], 0);
    if (fd >= 0) { close((int)fd); size_t l = strlen(got); snprintf(got + l, sizeof got - l, "family %ld|1<<32 ", fams[i]); }
    else note("socket(%ld|1<<32): %s", fams[i], E);
  }
  if (got[0]) escaped("socket() with high bits in the family got through: %s", got);
  blocked();
}

static void mode_unix(const char *name, const char *marker, int abstract, int extra, char **extras) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0) probe_error("socket(AF_UNIX): %s", E);
  struct sockaddr_un su = { .sun_family = AF_UNIX };
  socklen_t len;
  if (abstract) {
    su.sun_path[0] = 0;
    strncpy(su.sun_path + 1, name, sizeof su.sun_path - 2);
    len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
  } else {
    strncpy(su.sun_path, name, sizeof su.sun_path - 1);
    len = sizeof su;
  }
  if (connect(fd, (struct sockaddr *)&su, len) < 0) note("connect %s%s: %s", abstract ? "@" : "", name, E);
  else if (read_marker(fd, marker, 2000)) escaped("connected to the host's %s unix socket %s%s", abstract ? "abstract" : "pathname", abstract ? "@" : "", name);
  else note("connected to %s but no marker", name);
  close(fd);
  for (int i = 0; i < extra; i++) {
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un s2 = { .sun_family = AF_UNIX };
    strncpy(s2.sun_path, extras[i], sizeof s2.sun_path - 1);
    if (connect(fd, (struct sockaddr *)&s2, sizeof s2) == 0) escaped("connected to the host's socket %s", extras[i]);
    if (errno == EPROTOTYPE) { /* a datagram socket such as /dev/log */
      close(fd);
      fd = socket(AF_UNIX, SOCK_DGRAM, 0);
      if (connect(fd, (struct sockaddr *)&s2, sizeof s2) == 0) escaped("connected to the host's datagram socket %s", extras[i]);
    }
    if (errno != ENOENT) note("connect %s: %s", extras[i], E);
    close(fd);
  }
  blocked();
}

static void mode_bind(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in s = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
  inet_pton(AF_INET, "127.0.0.1", &s.sin_addr);
  if (fd < 0) note("socket: %s", E);
  else if (bind(fd, (struct sockaddr *)&s, sizeof s) < 0) note("bind 127.0.0.1:%d: %s", port, E);
  else if (listen(fd, 1) < 0) note("listen 127.0.0.1:%d: %s", port, E);
  else escaped("listening on 127.0.0.1:%d, a port no policy declared", port);
  int f6 = socket(AF_INET6, SOCK_STREAM, 0);
  struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port) };
  inet_pton(AF_INET6, "::1", &s6.sin6_addr);
  if (f6 < 0) note("socket6: %s", E);
  else if (bind(f6, (struct sockaddr *)&s6, sizeof s6) < 0) note("bind [::1]:%d: %s", port, E);
  else if (listen(f6, 1) < 0) note("listen [::1]:%d: %s", port, E);
  else escaped("listening on [::1]:%d, a port no policy declared", port);
  blocked();
}

static int connect_port(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in s = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
  inet_pton(AF_INET, "127.0.0.1", &s.sin_addr);
  if (fd < 0 || connect(fd, (struct sockaddr *)&s, sizeof s) < 0) probe_error("connect 127.0.0.1:%d: %s", port, E);
  return fd;
}

static void mode_scene(const char *m, int port, const char *bin) {
  int fd = connect_port(port);
  if (!strcmp(m, "connect-only")) { sleep_ms(1000); printf("connected and held\n"); exit(0); }
  if (dup2(fd, 5) < 0) probe_error("dup2: %s", E);
  if (!strcmp(m, "connect-fork-exec")) {
    pid_t c = fork();
    if (c == 0) {
      sleep_ms(1500);
      (void)!write(5, "GET / HTTP/1.0\r\n\r\n", 18);
      _exit(0);
    }
  }
  execl(bin, bin, "1", (char *)NULL);
  probe_error("exec %s: %s", bin, E);
}

int main(int argc, char **argv) {
  if (argc < 2) probe_error("usage: net MODE ...");
  if (!strcmp(argv[1], "connect-only") && argc >= 3) mode_scene(argv[1], atoi(argv[2]), NULL);
  if ((!strcmp(argv[1], "connect-exec") || !strcmp(argv[1], "connect-fork-exec")) && argc >= 4) mode_scene(argv[1], atoi(argv[2]), argv[3]);
  if (!strcmp(argv[1], "bind") && argc >= 3) mode_bind(atoi(argv[2]));
  const char *m = argv[1];
  if (!strcmp(m, "tcp") && argc >= 5) mode_tcp(argv[2], atoi(argv[3]), argv[4], 0);
  if (!strcmp(m, "mptcp") && argc >= 4) mode_tcp("127.0.0.1", atoi(argv[2]), argv[3], IPPROTO_MPTCP);
  if (!strcmp(m, "udp") && argc >= 4) mode_udp(atoi(argv[2]), argv[3]);
  if (!strcmp(m, "raw")) mode_raw();
  if (!strcmp(m, "packet")) mode_packet();
  if (!strcmp(m, "netlink")) mode_netlink();
  if (!strcmp(m, "vsock")) mode_vsock();
  if (!strcmp(m, "families")) mode_families();
  if (!strcmp(m, "highbits")) mode_highbits();
  if (!strcmp(m, "abstract") && argc >= 4) mode_unix(argv[2], argv[3], 1, 0, NULL);
  if (!strcmp(m, "unix") && argc >= 4) mode_unix(argv[2], argv[3], 0, argc - 4, argv + 4);
  probe_error("unknown mode or missing args: %s", m);
}
