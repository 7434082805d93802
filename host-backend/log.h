/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * log.h - vgpud's levelled logging to stderr, with a rate-limited form for
 * messages a client can provoke.
 */
#ifndef VGPU_LOG_H
#define VGPU_LOG_H

#include <stdint.h>

enum {
    VGPU_LOG_ERROR,
    VGPU_LOG_WARN,
    VGPU_LOG_INFO,
    VGPU_LOG_DEBUG,
};

extern int vgpu_log_level;

/*
 * Rate-limit state of one call site: at most @burst messages per
 * @interval_ns; the next message after a quiet period reports how many
 * were suppressed.
 */
typedef struct VgpuRatelimit {
    uint64_t window_start;
    unsigned printed;
    unsigned suppressed;
} VgpuRatelimit;

int vgpu_log_parse_level(const char *s);

/**
 * vgpu_log - print one message to stderr if @level is enabled
 * @level: VGPU_LOG_*
 * @fmt: printf format; no trailing newline needed
 */
void vgpu_log(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/**
 * vgpu_log_rl - like vgpu_log(), but at most a burst per interval per
 * call site (@rl), for errors a client can provoke at will
 */
void vgpu_log_rl(VgpuRatelimit *rl, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define VGPU_LOG_RL(level, ...)                                             \
    do {                                                                    \
        static VgpuRatelimit rl_;                                           \
        if ((level) <= vgpu_log_level) {                                    \
            vgpu_log_rl(&rl_, (level), __VA_ARGS__);                        \
        }                                                                   \
    } while (0)

#define vgpu_error(...) vgpu_log(VGPU_LOG_ERROR, __VA_ARGS__)
#define vgpu_warn(...) vgpu_log(VGPU_LOG_WARN, __VA_ARGS__)
#define vgpu_info(...) vgpu_log(VGPU_LOG_INFO, __VA_ARGS__)
#define vgpu_debug(...)                                                     \
    do {                                                                    \
        if (vgpu_log_level >= VGPU_LOG_DEBUG) {                             \
            vgpu_log(VGPU_LOG_DEBUG, __VA_ARGS__);                          \
        }                                                                   \
    } while (0)

#endif /* VGPU_LOG_H */
