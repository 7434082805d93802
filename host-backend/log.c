/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * log.c - levelled stderr logging for vgpud; one line per message, prefixed
 * with the level so journald and humans can filter.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"

int vgpu_log_level = VGPU_LOG_INFO;

/* Serialises rate-limit state; executor threads may log too. */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

#define RL_INTERVAL_NS 5000000000ull
#define RL_BURST 10

static const char *const level_names[] = { "error", "warn", "info", "debug" };

int vgpu_log_parse_level(const char *s)
{
    for (unsigned i = 0; i < sizeof(level_names) / sizeof(level_names[0]);
         i++) {
        if (!strcasecmp(s, level_names[i])) {
            return (int)i;
        }
    }
    return -1;
}

static void vlog(int level, const char *fmt, va_list ap)
{
    char buf[1024];
    int n;

    n = snprintf(buf, sizeof(buf), "vgpud: %s: ", level_names[level]);
    vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
    /* one write per line so concurrent messages do not interleave */
    fprintf(stderr, "%s\n", buf);
}

void vgpu_log(int level, const char *fmt, ...)
{
    va_list ap;

    if (level > vgpu_log_level) {
        return;
    }
    va_start(ap, fmt);
    vlog(level, fmt, ap);
    va_end(ap);
}

void vgpu_log_rl(VgpuRatelimit *rl, int level, const char *fmt, ...)
{
    struct timespec ts;
    uint64_t now;
    unsigned suppressed = 0;
    int print = 0;
    va_list ap;

    if (level > vgpu_log_level) {
        return;
    }
    clock_gettime(CLOCK_MONOTONIC, &ts);
    now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
    pthread_mutex_lock(&log_lock);
    if (now - rl->window_start >= RL_INTERVAL_NS) {
        suppressed = rl->suppressed;
        rl->window_start = now;
        rl->printed = 0;
        rl->suppressed = 0;
    }
    if (rl->printed < RL_BURST) {
        rl->printed++;
        print = 1;
    } else {
        rl->suppressed++;
    }
    pthread_mutex_unlock(&log_lock);
    if (suppressed) {
        vgpu_log(level, "%u similar messages suppressed", suppressed);
    }
    if (print) {
        va_start(ap, fmt);
        vlog(level, fmt, ap);
        va_end(ap);
    }
}
