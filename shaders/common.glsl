// Shared by every Hearth compute shader: the GLSL version, optional subgroup extensions and
// workgroup-wide reductions that work for ANY subgroup size (8 on lavapipe, 32 on NVIDIA, 64 on AMD):
// with USE_SUBGROUP each subgroup reduces with subgroupAdd/Max and one value per subgroup goes
// through shared memory; without it (devices or test masks without subgroup arithmetic) a plain
// shared-memory tree does the whole job. Include after defining WG (the local size).
#extension GL_EXT_control_flow_attributes : enable
#ifdef USE_SUBGROUP
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif

layout(local_size_x = WG, local_size_y = 1, local_size_z = 1) in;

shared float red_buf[WG];

// Workgroup index over a 2-D grid (x, y): the host splits large counts over y because
// maxComputeWorkGroupCount[0] may be only 65535.
uint linear_group() { return gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x; }

float wg_sum(float v) {
    const uint tid = gl_LocalInvocationIndex;
#ifdef USE_SUBGROUP
    float s = subgroupAdd(v);
    barrier();  // red_buf may still be read by a previous reduction
    if (subgroupElect()) red_buf[gl_SubgroupID] = s;
    barrier();
    float total = 0.0;
    for (uint i = 0; i < gl_NumSubgroups; ++i) total += red_buf[i];
    return total;
#else
    barrier();
    red_buf[tid] = v;
    barrier();
    for (uint s = WG / 2; s > 0; s >>= 1) {
        if (tid < s) red_buf[tid] += red_buf[tid + s];
        barrier();
    }
    return red_buf[0];
#endif
}

float wg_max(float v) {
    const uint tid = gl_LocalInvocationIndex;
#ifdef USE_SUBGROUP
    float s = subgroupMax(v);
    barrier();
    if (subgroupElect()) red_buf[gl_SubgroupID] = s;
    barrier();
    float total = red_buf[0];
    for (uint i = 1; i < gl_NumSubgroups; ++i) total = max(total, red_buf[i]);
    return total;
#else
    barrier();
    red_buf[tid] = v;
    barrier();
    for (uint s = WG / 2; s > 0; s >>= 1) {
        if (tid < s) red_buf[tid] = max(red_buf[tid], red_buf[tid + s]);
        barrier();
    }
    return red_buf[0];
#endif
}
