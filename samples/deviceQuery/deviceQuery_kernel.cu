// SPDX-License-Identifier: MIT
// deviceQuery_kernel.cu - reports what a kernel sees of the device, so that
// deviceQuery can check the attributes it printed against a running kernel.

// out[0] = warpSize, out[1] = blockDim.x, out[2] = gridDim.x, and every
// thread sets its own slot out[3 + tid] to its global index.
extern "C" __global__ void reportGeometry(int *out)
{
    int tid = blockIdx.x * blockDim.x + threadIdx.x;

    if (tid == 0) {
        out[0] = warpSize;
        out[1] = blockDim.x;
        out[2] = gridDim.x;
    }
    out[3 + tid] = tid;
}
