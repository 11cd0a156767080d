// Byte-addressed reads from a storage buffer declared as `uint BUF[]` (BUF defined by the includer).
// Block formats such as Q4_0 (18 bytes) are not 4-byte aligned, so every shader reads them through
// 32-bit words; this needs no 8/16-bit storage feature and so runs on every Vulkan 1.1 device.
uint rd_u8(uint b) { return (BUF[b >> 2] >> ((b & 3u) * 8u)) & 0xffu; }
uint rd_u16(uint b) { return (BUF[b >> 2] >> ((b & 2u) * 8u)) & 0xffffu; }  // b even
uint rd_u32(uint b) {  // any alignment
    const uint s = (b & 3u) * 8u;
    const uint lo = BUF[b >> 2];
    if (s == 0u) return lo;
    return (lo >> s) | (BUF[(b >> 2) + 1u] << (32u - s));
}
float rd_f16(uint b) { return unpackHalf2x16(rd_u16(b)).x; }
float rd_f32(uint b) { return uintBitsToFloat(rd_u32(b)); }
