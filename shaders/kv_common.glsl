// KV cache cell addressing (backend.h contract), within one layer's buffer: cell c lives in block
// c / 32, slot c % 32; a block is laid out [kv_head][slot][dim]. Caches are bound as uint words;
// an F16 cache packs two elements per word (head_dim is even), an F32 cache one. The macros take
// the buffer's array name because GLSL cannot pass buffers to functions.
uint kv_elem(uint c, uint h, uint n_kv_head, uint head_dim) {
    return (((c >> 5) * n_kv_head + h) * 32u + (c & 31u)) * head_dim;
}
#ifdef KV_F16
#define KV_READ(B, e) (unpackHalf2x16(B[(e) >> 1])[(e) & 1u])
#define KV_READ2(B, e) unpackHalf2x16(B[(e) >> 1])
#define KV_WRITE2(B, e, v) B[(e) >> 1] = packHalf2x16(v)
#else
#define KV_READ(B, e) uintBitsToFloat(B[e])
#define KV_READ2(B, e) vec2(uintBitsToFloat(B[e]), uintBitsToFloat(B[(e) + 1u]))
#define KV_WRITE2(B, e, v) { const vec2 kv_w_ = (v); B[e] = floatBitsToUint(kv_w_.x); B[(e) + 1u] = floatBitsToUint(kv_w_.y); }
#endif
