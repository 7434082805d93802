// SPDX-License-Identifier: MIT
// hash.cu - integer hashing: murmur3's 32-bit finalizer, a 64-bit
// splitmix step, rotates, byte swaps and a CRC-32 over each thread's bytes.

__device__ unsigned int rotl32(unsigned int x, int r)
{
    return (x << r) | (x >> (32 - r));
}

extern "C" __global__ void hash(const unsigned int *in, unsigned int *out32,
                                unsigned long long *out64, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;

    if (i >= n)
        return;
    unsigned int h = in[i];
    h ^= h >> 16; h *= 0x85ebca6bu; h ^= h >> 13; h *= 0xc2b2ae35u;
    h ^= h >> 16;
    h = rotl32(h, (i & 31) | 1) ^ __byte_perm(h, in[i], 0x4152) ^ __brev(h);
    unsigned int crc = 0xffffffffu;
    for (int b = 0; b < 4; b++) {
        crc ^= (in[i] >> (8 * b)) & 0xff;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
    }
    out32[2 * i] = h + __popc(in[i]) + __clz(in[i] | 1);
    out32[2 * i + 1] = ~crc;
    unsigned long long z = in[i] + 0x9e3779b97f4a7c15ull * (i + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    out64[i] = z + __umul64hi(z, 0xff51afd7ed558ccdull) + (z % 1000003ull) +
               (unsigned long long)((long long)(int)in[i] / 7);
}
