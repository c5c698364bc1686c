/* --await-argv (warm pool, issue 23): the sandbox is built, enforced and reported `ready` with no
 * command; the command and its environment arrive later in the verdict line on the control fd,
 * {"verdict":"go","argv":[...],"env":["K=V",...]}. The monitor parses that line here into one
 * channel message for the workload (MSG_ACK + payload), which unpacks it right before execve.
 * Nothing in the sandbox changes at the claim: the command runs under exactly what `ready`
 * reported. Payload: u16 argc, u16 envc (0xffff: keep --env), then the strings, each
 * NUL-terminated. */
#include "sandbox.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NO_ENV 0xffff

/* One JSON string starting at *pp (just past its opening quote) appended to out as UTF-8 plus a
 * NUL. Returns 0, or -1 with why set: a NUL, a lone surrogate or a bad escape is refused, never
 * passed on altered. */
static int put_string(const char **pp, char *out, size_t cap, size_t *o, const char **why)
{
    const char *p = *pp;
    for (;;) {
        unsigned char ch = (unsigned char)*p++;
        unsigned cp;
        if (ch == 0) {
            *why = "unterminated string";
            return -1;
        }
        if (ch == '"')
            break;
        if (ch < 0x20) {
            *why = "control character in a string";
            return -1;
        }
        if (ch != '\\') {
            if (*o + 1 >= cap)
                goto too_long;
            out[(*o)++] = (char)ch;
            continue;
        }
        switch (*p++) {
        case '"': cp = '"'; break;
        case '\\': cp = '\\'; break;
        case '/': cp = '/'; break;
        case 'b': cp = '\b'; break;
        case 'f': cp = '\f'; break;
        case 'n': cp = '\n'; break;
        case 'r': cp = '\r'; break;
        case 't': cp = '\t'; break;
        case 'u': {
            char hex[5] = {0};
            for (int i = 0; i < 4; i++) {
                if (!p[i] || !strchr("0123456789abcdefABCDEF", p[i])) {
                    *why = "bad \\u escape";
                    return -1;
                }
                hex[i] = p[i];
            }
            p += 4;
            cp = (unsigned)strtoul(hex, NULL, 16);
            if (cp >= 0xd800 && cp <= 0xdbff && p[0] == '\\' && p[1] == 'u') {
                char lo[5] = {0};
                for (int i = 0; i < 4; i++) {
                    if (!p[2 + i] || !strchr("0123456789abcdefABCDEF", p[2 + i])) {
                        *why = "bad \\u escape";
                        return -1;
                    }
                    lo[i] = p[2 + i];
                }
                unsigned l = (unsigned)strtoul(lo, NULL, 16);
                if (l < 0xdc00 || l > 0xdfff) {
                    *why = "lone surrogate";
                    return -1;
                }
                cp = 0x10000 + ((cp - 0xd800) << 10) + (l - 0xdc00);
                p += 6;
            } else if (cp >= 0xd800 && cp <= 0xdfff) {
                *why = "lone surrogate";
                return -1;
            }
            if (cp == 0) {
                *why = "NUL in a string";
                return -1;
            }
            break;
        }
        default:
            *why = "bad escape";
            return -1;
        }
        char u[4];
        int n;
        if (cp < 0x80)
            u[0] = (char)cp, n = 1;
        else if (cp < 0x800)
            u[0] = (char)(0xc0 | cp >> 6), u[1] = (char)(0x80 | (cp & 0x3f)), n = 2;
        else if (cp < 0x10000)
            u[0] = (char)(0xe0 | cp >> 12), u[1] = (char)(0x80 | ((cp >> 6) & 0x3f)), u[2] = (char)(0x80 | (cp & 0x3f)), n = 3;
        else
            u[0] = (char)(0xf0 | cp >> 18), u[1] = (char)(0x80 | ((cp >> 12) & 0x3f)), u[2] = (char)(0x80 | ((cp >> 6) & 0x3f)),
            u[3] = (char)(0x80 | (cp & 0x3f)), n = 4;
        if (*o + (size_t)n + 1 >= cap)
            goto too_long;
        memcpy(out + *o, u, (size_t)n);
        *o += (size_t)n;
    }
    out[(*o)++] = 0;
    *pp = p;
    return 0;
too_long:
    *why = "argv and env too long";
    return -1;
}

static const char *ws(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* The array of strings at *pp (the key's colon next) appended to out; the count, or -1 with why
 * on a bad array. *pp is left past the closing bracket. */
static int put_array(const char **pp, int max, char *out, size_t cap, size_t *o, const char **why)
{
    const char *p = ws(*pp);
    *why = "not an array of strings";
    if (*p++ != ':')
        return -1;
    p = ws(p);
    if (*p++ != '[')
        return -1;
    int n = 0;
    for (;;) {
        p = ws(p);
        if (*p == ']' && n == 0)
            break;
        if (*p++ != '"')
            return -1;
        if (n >= max) {
            *why = "too many entries";
            return -1;
        }
        if (put_string(&p, out, cap, o, why) < 0)
            return -1;
        n++;
        p = ws(p);
        if (*p == ']')
            break;
        if (*p++ != ',') {
            *why = "not an array of strings";
            return -1;
        }
    }
    *pp = p + 1;
    return n;
}

/* The keys come in this order, after "verdict":"go" (whose value cannot hide a key): "argv",
 * then optionally "env", then the end of the object. Parsed in sequence, so text inside a string
 * can never be taken for a key. */
int claim_parse(const char *line, char *out, size_t cap, size_t *len, const char **why)
{
    size_t o = 4;
    const char *p = strstr(line, "\"argv\"");
    if (!p) {
        *why = "no argv (--await-argv needs the command in the go verdict)";
        return -1;
    }
    p += 6;
    int argc = put_array(&p, 255, out, cap, &o, why);
    if (argc <= 0) {
        if (argc == 0)
            *why = "argv is empty";
        return -1;
    }
    int envc = NO_ENV;
    p = ws(p);
    if (*p == ',') {
        p = ws(p + 1);
        if (strncmp(p, "\"env\"", 5)) {
            *why = "unexpected key after argv (only env may follow)";
            return -1;
        }
        p += 5;
        size_t env_at = o;
        envc = put_array(&p, MAX_LIST, out, cap, &o, why);
        if (envc < 0)
            return -1;
        for (size_t q = env_at; q < o; q += strlen(out + q) + 1)
            if (!strchr(out + q, '=') || out[q] == '=') {
                *why = "env entry without NAME=";
                return -1;
            }
        p = ws(p);
    }
    if (*p != '}') {
        *why = "unexpected text after argv/env";
        return -1;
    }
    out[0] = (char)(argc & 0xff), out[1] = (char)(argc >> 8);
    out[2] = (char)(envc & 0xff), out[3] = (char)(envc >> 8);
    *len = o;
    return 0;
}

int claim_unpack(char *buf, size_t len, struct config *c)
{
    if (len < 4 || buf[len - 1] != 0)
        return -1;
    unsigned argc = (unsigned char)buf[0] | (unsigned)(unsigned char)buf[1] << 8;
    unsigned envc = (unsigned char)buf[2] | (unsigned)(unsigned char)buf[3] << 8;
    if (argc == 0 || argc > 255 || (envc != NO_ENV && envc > MAX_LIST))
        return -1;
    char **argv = calloc(argc + 1, sizeof *argv);
    if (!argv)
        return -1;
    size_t q = 4;
    for (unsigned i = 0; i < argc; i++) {
        if (q >= len)
            return -1;
        argv[i] = buf + q;
        q += strlen(buf + q) + 1;
    }
    if (envc != NO_ENV) {
        c->env.n = 0;
        for (unsigned i = 0; i < envc; i++) {
            if (q >= len)
                return -1;
            c->env.v[c->env.n++] = buf + q;
            q += strlen(buf + q) + 1;
        }
    }
    if (q != len)
        return -1;
    c->argv = argv;
    return 0;
}
