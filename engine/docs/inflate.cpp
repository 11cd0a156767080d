#include "engine/docs/inflate.h"

#include <zlib.h>

#include <algorithm>

namespace hearth::docs {

Inflated inflate_into(std::string_view in, bool raw, size_t limit, std::string* out) {
    z_stream zs{};
    if ((raw ? inflateInit2(&zs, -MAX_WBITS) : inflateInit(&zs)) != Z_OK) return Inflated::Damaged;
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs.avail_in = uInt(std::min<size_t>(in.size(), 0xFFFFFFFFu));
    char buf[16384];
    Inflated end = Inflated::Damaged;
    for (;;) {
        zs.next_out = reinterpret_cast<Bytef*>(buf);
        zs.avail_out = sizeof buf;
        const int rc = inflate(&zs, Z_NO_FLUSH);
        out->append(buf, sizeof buf - zs.avail_out);
        if (out->size() > limit) { end = Inflated::TooLarge; break; }
        if (rc == Z_STREAM_END) { end = Inflated::Complete; break; }
        if (rc == Z_BUF_ERROR || (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0)) { end = Inflated::Truncated; break; }
        if (rc != Z_OK) { end = Inflated::Damaged; break; }
    }
    inflateEnd(&zs);
    return end;
}

}  // namespace hearth::docs
