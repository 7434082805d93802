// SPDX-License-Identifier: GPL-2.0-or-later
// spin_kernel.cu - the calibrated kernel of the fairness benchmark: one
// thread spins on %globaltimer for @ns nanoseconds, so a "kernel of length
// d" costs d of engine time on the sim backend and on a GPU alike.  When
// @out is set it stores when it started and when it ended by %globaltimer
// (out[0], out[1]): the benchmark's second ground truth, engine time
// actually spent and when, without the per-launch overhead around it.

extern "C" __global__ void spin(unsigned long long ns, unsigned long long *out)
{
    unsigned long long t0, t;

    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t0));
    do {
        asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    } while (t - t0 < ns);
    if (out) {
        out[0] = t0;
        out[1] = t;
    }
}
