// The end of every matrix-vector shader (mul_mv.comp, mul_mv_q8.comp): the NR x MAXT partial sums of each thread reduced over the
// workgroup in one shared-memory pass (subgroup sums first where available, any subgroup size), then
// y[t][row0 + i] = sum (+ bias). Needs WG, NR, MAXT, common.glsl, yb / bb buffers and pc.{y_off,
// y_stride, b_off, has_bias, nrows, ntok}.
shared float part[NR * MAXT][WG];

void reduce_store(float acc[NR][MAXT], uint row0) {
    const uint tid = gl_LocalInvocationIndex;
#ifdef USE_SUBGROUP
    [[unroll]] for (uint i = 0u; i < NR; ++i) [[unroll]] for (uint t = 0u; t < MAXT; ++t) {
        const float s = subgroupAdd(acc[i][t]);
        if (subgroupElect()) part[i * MAXT + t][gl_SubgroupID] = s;
    }
    const uint nparts = gl_NumSubgroups;
#else
    [[unroll]] for (uint i = 0u; i < NR; ++i) [[unroll]] for (uint t = 0u; t < MAXT; ++t) part[i * MAXT + t][tid] = acc[i][t];
    const uint nparts = WG;
#endif
    barrier();
    if (tid < NR * MAXT) {
        const uint i = tid / MAXT, t = tid % MAXT, r = row0 + i;
        if (r < pc.nrows && t < pc.ntok) {
            float s = 0.0;
            for (uint k = 0u; k < nparts; ++k) s += part[tid][k];
            yb[pc.y_off + t * pc.y_stride + r] = s + (pc.has_bias != 0u ? bb[pc.b_off + r] : 0.0);
        }
    }
}
