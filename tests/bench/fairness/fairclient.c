/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fairclient.c - one tenant of the fairness benchmark against a real
 * vgpud: a client process that launches the calibrated spin kernel through
 * the CUDA Driver API and writes one trace line per completed kernel.
 *
 * A backlogged tenant keeps --depth kernels outstanding (an event recorded
 * after each launch; it waits on the oldest, then refills), a periodic one
 * launches one kernel every --period-ns and waits for it; an item's submit
 * time is when its launch was issued.  The completion
 * time is CLOCK_MONOTONIC when the wait on that kernel's event returned,
 * a clock every process shares; it is observed while blocked on exactly
 * that kernel, so it lags the true completion by one reply.  The trace
 * line is "tenant,0,submit,end-cost,end,kernel" relative to --start, with
 * cost the kernel's standalone duration measured alone (--cost-ns): ground
 * truth is completed items times standalone duration, independent of
 * vgpud's own accounting.  The sixth field is how long the kernel itself
 * ran by %globaltimer (read back at the end), engine time without the
 * per-launch overhead; the seventh and eighth are when it started and
 * ended, %globaltimer moved onto CLOCK_MONOTONIC by an offset measured at
 * start-up (to within half a round trip, printed with --calibrate).  Items
 * completing after --until are not written.
 * With --calibrate it prints the mean spacing of completions, back to back
 * (the standalone cost of one item), and the p50/p99 of submit-to-end.
 * With --copy-bytes N the items are host-to-device copies of N bytes from
 * pinned memory instead of kernels (no kernel timestamps then; the trace's
 * sixth to eighth fields are 0).
 */
#include <cuda.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

extern const char spin_ptx[];

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void sleep_until(uint64_t t)
{
    struct timespec ts = { .tv_sec = t / 1000000000ull,
                           .tv_nsec = t % 1000000000ull };

    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL)) {
    }
}

static void ck(CUresult r, const char *what)
{
    const char *s = NULL;

    if (r == CUDA_SUCCESS) {
        return;
    }
    cuGetErrorName(r, &s);
    fprintf(stderr, "fairclient: %s failed: %s (%d)\n", what, s ? s : "?",
            (int)r);
    exit(1);
}

#define CK(call) ck((call), #call)

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/*
 * The offset from %globaltimer to CLOCK_MONOTONIC: a zero-length spin
 * records its start between two host readings; of several tries the one
 * with the shortest round trip bounds the offset best.  @err gets half
 * that round trip.  The probes run as two threads, a launch shape of their
 * own: vgpud predicts a kernel's cost per function and shape, and the
 * measured kernels must not start out predicted as short as the probes.
 */
static int64_t clock_offset(CUfunction fn, CUstream st, CUdeviceptr slot,
                            uint64_t *err)
{
    uint64_t zero = 0, rtt_best = UINT64_MAX, kt[2];
    int64_t off = 0;
    void *args[2] = { &zero, &slot };

    for (int k = 0; k < 16; k++) {
        uint64_t t0 = now_ns(), t1;

        CK(cuLaunchKernel(fn, 1, 1, 1, 2, 1, 1, 0, st, args, NULL));
        CK(cuStreamSynchronize(st));
        t1 = now_ns();
        CK(cuMemcpyDtoH(kt, slot, sizeof(kt)));
        if (t1 - t0 < rtt_best) {
            rtt_best = t1 - t0;
            off = (int64_t)(t0 + (t1 - t0) / 2) - (int64_t)kt[0];
        }
    }
    *err = rtt_best / 2;
    return off;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "tenant", required_argument, NULL, 'i' },
        { "kernel-ns", required_argument, NULL, 'k' },
        { "cost-ns", required_argument, NULL, 'c' },
        { "depth", required_argument, NULL, 'd' },
        { "period-ns", required_argument, NULL, 'p' },
        { "start", required_argument, NULL, 's' },
        { "until", required_argument, NULL, 'u' },
        { "begin", required_argument, NULL, 'b' },
        { "out", required_argument, NULL, 'o' },
        { "calibrate", no_argument, NULL, 'C' },
        { "copy-bytes", required_argument, NULL, 'B' },
        { NULL, 0, NULL, 0 },
    };
    int tenant = 0, depth = 4, calibrate = 0, c;
    uint64_t kns = 1000000, cost = 0, period = 0, start = 0, until = 0;
    uint64_t copy = 0;          /* bytes per item: copies, not kernels */
    void *hbuf = NULL;
    CUdeviceptr dbuf = 0;
    uint64_t begin = 0;         /* a tenant that joins late starts here */
    const char *out = NULL;
    CUdevice dev;
    CUcontext ctx;
    CUmodule mod;
    CUfunction fn;
    CUstream st;
    CUevent *ev;
    CUdeviceptr dur;
    uint64_t nmax, *ktime, *rsub, *rend, off_err = 0;
    int64_t off;
    uint64_t *sub, *lat, first_end = 0, last_end = 0, n = 0, nlat = 0;
    size_t latcap = 1 << 16;
    FILE *f = NULL;
    void *args[2];
    CUdeviceptr slot;

    /* The shared clock, for a driver that sets --start and --until. */
    if (argc == 2 && !strcmp(argv[1], "--now")) {
        printf("%" PRIu64 "\n", now_ns());
        return 0;
    }
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'i': tenant = atoi(optarg); break;
        case 'k': kns = strtoull(optarg, NULL, 0); break;
        case 'c': cost = strtoull(optarg, NULL, 0); break;
        case 'd': depth = atoi(optarg); break;
        case 'p': period = strtoull(optarg, NULL, 0); break;
        case 's': start = strtoull(optarg, NULL, 0); break;
        case 'u': until = strtoull(optarg, NULL, 0); break;
        case 'b': begin = strtoull(optarg, NULL, 0); break;
        case 'o': out = optarg; break;
        case 'C': calibrate = 1; break;
        case 'B': copy = strtoull(optarg, NULL, 0); break;
        default:
            fprintf(stderr, "usage: fairclient --kernel-ns N [--cost-ns N] "
                    "[--depth D | --period-ns P] --start NS --until NS "
                    "[--begin NS] [--tenant I] [--out CSV] [--calibrate] "
                    "[--copy-bytes N]\n");
            return 2;
        }
    }
    if (depth < 1 || depth > 4096 || !until) {
        fprintf(stderr, "fairclient: need --until and 1 <= --depth <= 4096\n");
        return 2;
    }
    if (period) {
        depth = 1;
    }
    if (!cost) {
        cost = kns;
    }
    CK(cuInit(0));
    CK(cuDeviceGet(&dev, 0));
    CK(cuCtxCreate(&ctx, NULL, 0, dev));
    CK(cuModuleLoadData(&mod, spin_ptx));
    CK(cuModuleGetFunction(&fn, mod, "spin"));
    CK(cuStreamCreate(&st, CU_STREAM_NON_BLOCKING));
    ev = calloc(depth, sizeof(*ev));
    sub = calloc(depth, sizeof(*sub));
    lat = malloc(latcap * sizeof(*lat));
    if (!ev || !sub || !lat) {
        return 1;
    }
    for (int k = 0; k < depth; k++) {
        CK(cuEventCreate(&ev[k], CU_EVENT_DISABLE_TIMING));
    }
    if (out && !(f = fopen(out, "w"))) {
        perror(out);
        return 1;
    }
    /* One start/end slot per completed item, read back once at the end. */
    /* a copy may take as little as 10 us */
    nmax = (until > start ? until - start : 0) / (copy ? 10000 : kns ? kns : 1) +
           1024;
    nmax = nmax > (4u << 20) ? (4u << 20) : nmax;
    ktime = calloc(2 * nmax, sizeof(*ktime));
    rsub = calloc(nmax, sizeof(*rsub));
    rend = calloc(nmax, sizeof(*rend));
    if (!ktime || !rsub || !rend) {
        return 1;
    }
    CK(cuMemAlloc(&dur, 2 * nmax * sizeof(uint64_t)));
    if (copy) {
        CK(cuMemAllocHost(&hbuf, copy));
        CK(cuMemAlloc(&dbuf, copy));
        memset(hbuf, 0x5a, copy);
    }
    /* Warm-up outside the measured interval: first launch, module ready. */
    slot = 0;
    args[0] = &kns;
    args[1] = &slot;
    CK(cuLaunchKernel(fn, 1, 1, 1, 1, 1, 1, 0, st, args, NULL));
    CK(cuStreamSynchronize(st));
    off = clock_offset(fn, st, dur, &off_err);

    if (begin < start) {
        begin = start;
    }
    sleep_until(begin);
    for (uint64_t head = 0, tail = 0, k = 0;; ) {
        /* Refill to the depth (periodic: one, at its release time). */
        while (head - tail < (uint64_t)depth) {
            uint64_t t = now_ns();

            if (t >= until) {
                break;
            }
            if (period) {
                uint64_t rel = begin + k * period;

                /*
                 * Submit time is when the launch is issued, after the
                 * wake-up: how late this process wakes on shared CPUs is
                 * not the latency of the GPU path under test.
                 */
                if (rel > t) {
                    sleep_until(rel);
                    t = now_ns();
                }
                k++;
            }
            slot = dur + (head % nmax) * 2 * sizeof(uint64_t);
            if (copy) {
                CK(cuMemcpyHtoDAsync(dbuf, hbuf, copy, st));
            } else {
                CK(cuLaunchKernel(fn, 1, 1, 1, 1, 1, 1, 0, st, args, NULL));
            }
            CK(cuEventRecord(ev[head % depth], st));
            sub[head % depth] = t;
            head++;
        }
        if (head == tail) {
            break;
        }
        CK(cuEventSynchronize(ev[tail % depth]));
        {
            uint64_t e = now_ns(), s = sub[tail % depth];

            tail++;
            if (e >= until) {
                break;
            }
            if (!n) {
                first_end = e;
            }
            last_end = e;
            n++;
            if (nlat == latcap) {
                latcap *= 2;
                lat = realloc(lat, latcap * sizeof(*lat));
                if (!lat) {
                    return 1;
                }
            }
            lat[nlat++] = e - s;
            if (n <= nmax) {
                rsub[n - 1] = s - start;
                rend[n - 1] = e - start;
            }
        }
    }
    if (f) {
        uint64_t m = n < nmax ? n : nmax;

        /* Item i went to slot i: items complete in stream order. */
        CK(cuStreamSynchronize(st));
        CK(cuMemcpyDtoH(ktime, dur, 2 * m * sizeof(uint64_t)));
        for (uint64_t i = 0; i < m; i++) {
            uint64_t b = rend[i] > cost ? rend[i] - cost : 0;
            uint64_t k0 = copy ? 0 : ktime[2 * i];
            uint64_t k1 = copy ? 0 : ktime[2 * i + 1];
            int64_t h0 = copy ? 0 : (int64_t)k0 + off - (int64_t)start;
            int64_t h1 = copy ? 0 : (int64_t)k1 + off - (int64_t)start;

            fprintf(f, "%d,0,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
                    ",%" PRIu64 ",%" PRIu64 "\n", tenant, rsub[i], b,
                    rend[i], k1 - k0, (uint64_t)(h0 > 0 ? h0 : 0),
                    (uint64_t)(h1 > 0 ? h1 : 0));
        }
        fclose(f);
    }
    if (calibrate) {
        qsort(lat, nlat, sizeof(*lat), cmp_u64);
        printf("%" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
               "\n",
               n > 1 ? (last_end - first_end) / (n - 1) : 0, n,
               nlat ? lat[nlat / 2] : 0,
               nlat ? lat[(size_t)(nlat * 0.99) < nlat ?
                          (size_t)(nlat * 0.99) : nlat - 1] : 0, off_err);
    }
    return 0;
}
