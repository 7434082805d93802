// SPDX-License-Identifier: MIT
// matrixMul_kernel.cu - C = A * B for square row-major float matrices,
// tiled through shared memory.

#define TILE 16

// One block computes one TILE x TILE tile of C.  Each step loads one tile of
// A and one of B into shared memory, and the barriers keep a tile from being
// overwritten while another thread of the block still reads it.  n must be a
// multiple of TILE (the host checks).
extern "C" __global__ void matrixMul(const float *A, const float *B, float *C,
                                     int n)
{
    __shared__ float As[TILE][TILE];
    __shared__ float Bs[TILE][TILE];
    int tx = threadIdx.x, ty = threadIdx.y;
    int row = blockIdx.y * TILE + ty;
    int col = blockIdx.x * TILE + tx;
    float acc = 0.0f;

    for (int t = 0; t < n; t += TILE) {
        As[ty][tx] = A[row * n + t + tx];
        Bs[ty][tx] = B[(t + ty) * n + col];
        __syncthreads();
        for (int k = 0; k < TILE; k++)
            acc += As[ty][k] * Bs[k][tx];
        __syncthreads();
    }
    C[row * n + col] = acc;
}
