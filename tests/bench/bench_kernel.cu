// SPDX-License-Identifier: GPL-2.0-or-later
// bench_kernel.cu - the empty kernel whose launches the launch-rate
// benchmark counts.

extern "C" __global__ void empty(void)
{
}
