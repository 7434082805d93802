/* SPDX-License-Identifier: MIT */
/*
 * tap.h - minimal TAP producer shared by the C test programs.
 *
 * Each TEST() is one behaviour; it fails on the first failed CHECK and the
 * runner prints "ok N - name" or "not ok N - name" with the failing
 * expression.  tests/run.sh counts these lines.
 */
#ifndef VGPU_TESTS_TAP_H
#define VGPU_TESTS_TAP_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tap_test {
    const char *name;
    void (*fn)(int *failed);
};

#define TEST(name) static void name(int *tap_failed_)

#define CHECK(cond)                                                         \
    do {                                                                    \
        if (!(cond)) {                                                      \
            printf("# %s:%d: check failed: %s\n", __FILE__, __LINE__,       \
                   #cond);                                                  \
            *tap_failed_ = 1;                                               \
            return;                                                         \
        }                                                                   \
    } while (0)

#define CHECK_EQ(a, b)                                                      \
    do {                                                                    \
        long long a_ = (long long)(a), b_ = (long long)(b);                 \
        if (a_ != b_) {                                                     \
            printf("# %s:%d: %s == %lld, expected %s == %lld\n", __FILE__,  \
                   __LINE__, #a, a_, #b, b_);                               \
            *tap_failed_ = 1;                                               \
            return;                                                         \
        }                                                                   \
    } while (0)

#define TAP_ENTRY(fn) { #fn, fn }

/*
 * Runs @tests in order, calling @after (when not NULL) after each one, so
 * state a failed test left behind cannot leak into the next; returns the
 * process exit status.
 */
static inline int tap_run_each(const struct tap_test *tests, size_t n,
                               void (*after)(void))
{
    int bad = 0;

    printf("1..%zu\n", n);
    for (size_t i = 0; i < n; i++) {
        int failed = 0;

        fflush(stdout);
        tests[i].fn(&failed);
        if (after) {
            after();
        }
        printf("%sok %zu - %s\n", failed ? "not " : "", i + 1, tests[i].name);
        bad |= failed;
    }
    return bad ? 1 : 0;
}

/* Runs @tests in order; returns the process exit status. */
static inline int tap_run(const struct tap_test *tests, size_t n)
{
    return tap_run_each(tests, n, NULL);
}

#define TAP_MAIN(...)                                                       \
    int main(void)                                                          \
    {                                                                       \
        static const struct tap_test t_[] = { __VA_ARGS__ };                \
        return tap_run(t_, sizeof(t_) / sizeof(t_[0]));                     \
    }

#endif /* VGPU_TESTS_TAP_H */
