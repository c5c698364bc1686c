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

/* --await-verdict: the supervisor's go/refuse after it checked the ready event. */
enum { VERDICT_NONE, VERDICT_EARLY, VERDICT_WAIT, VERDICT_GO, VERDICT_REFUSED, VERDICT_DONE };
extern int verdict_state;
extern char verdict_reason[256];
/* --await-argv: the go verdict's argv/env, packed for the workload (claim.c). */
extern char claim_msg[CLAIM_MAX];
extern size_t claim_len;

long long now_ms(void);
void handle_notify(void);
void handle_control(void);
void deny_all_pending(const char *why);
void exec_decided(struct pending *p, int allow, const char *why);

#endif
