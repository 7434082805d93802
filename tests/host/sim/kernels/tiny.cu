// SPDX-License-Identifier: GPL-2.0-or-later
// tiny.cu - one kernel, packaged as fatbins (PTX only, SASS only) for the sim's fatbin tests.
extern "C" __global__ void scale(float *x, float f, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) x[i] *= f;
}
