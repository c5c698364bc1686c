/* Shared between the monitor loop (monitor.c) and the notification handlers (notify.c). */
#ifndef NEMOCLAW_NOTIFY_H
#define NEMOCLAW_NOTIFY_H

#include "sandbox.h"

#define MAX_PENDING 64

struct pending {
    int used;
    uint64_t notif_id;
    long ask_id;
    pid_t pid;
    long long deadline_ms;
    char path[4096];
};

extern struct pending pend[MAX_PENDING];
extern int notify_fd, control_fd, control_closed;
extern pid_t workload_pid;
extern struct config *C;

long long now_ms(void);
void handle_notify(void);
void handle_control(void);
void deny_all_pending(const char *why);
void exec_decided(struct pending *p, int allow, const char *why);

#endif
