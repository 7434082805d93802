// SPDX-License-Identifier: MIT
// nbody.cu - one all-pairs n-body integration step in f32 with the body
// tile staged through shared memory (rsqrtf, fma contraction).

extern "C" __global__ void nbody_step(const float4 *pos, const float4 *vel,
                                      float4 *npos, float4 *nvel, int n,
                                      float dt, float soft2)
{
    __shared__ float4 tile[128];
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    float4 p = i < n ? pos[i] : make_float4(0, 0, 0, 0);
    float ax = 0, ay = 0, az = 0;

    for (int base = 0; base < n; base += blockDim.x) {
        int j = base + threadIdx.x;
        tile[threadIdx.x] = j < n ? pos[j] : make_float4(0, 0, 0, 0);
        __syncthreads();
        for (int k = 0; k < blockDim.x && base + k < n; k++) {
            float dx = tile[k].x - p.x, dy = tile[k].y - p.y;
            float dz = tile[k].z - p.z;
            float r2 = dx * dx + dy * dy + dz * dz + soft2;
            float inv = rsqrtf(r2);
            float s = tile[k].w * inv * inv * inv;
            ax += dx * s;
            ay += dy * s;
            az += dz * s;
        }
        __syncthreads();
    }
    if (i < n) {
        float4 v = vel[i];
        v.x += ax * dt; v.y += ay * dt; v.z += az * dt;
        nvel[i] = v;
        npos[i] = make_float4(p.x + v.x * dt, p.y + v.y * dt, p.z + v.z * dt,
                              p.w);
    }
}
