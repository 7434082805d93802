// SPDX-License-Identifier: GPL-2.0-or-later
// spin_kernel.cu - the calibrated kernel of the fairness benchmark: one
// thread spins on %globaltimer for @ns nanoseconds, so a "kernel of length
// d" costs d of engine time on the sim backend and on a GPU alike.  When
// @out is set it stores how long it ran by %globaltimer, which the
// benchmark reports as a second ground truth (engine time actually spent,
// without the per-launch overhead around the kernel).

extern "C" __global__ void spin(unsigned long long ns, unsigned long long *out)
{
    unsigned long long t0, t;

    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t0));
    do {
        asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    } while (t - t0 < ns);
    if (out)
        *out = t - t0;
}
