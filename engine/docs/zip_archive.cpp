#include "engine/docs/zip_archive.h"

#include <algorithm>

#include "engine/docs/inflate.h"

namespace hearth::docs {

namespace {

uint16_t u16(std::string_view b, size_t at) { return uint16_t(uint8_t(b[at]) | uint8_t(b[at + 1]) << 8); }
uint32_t u32(std::string_view b, size_t at) { return uint32_t(u16(b, at)) | uint32_t(u16(b, at + 2)) << 16; }

}  // namespace

Result<ZipArchive> ZipArchive::open(std::string_view b, const std::string& what) {
    ZipArchive z;
    z.bytes_ = b;
    z.what_ = what;
    const auto damaged = [&](const std::string& why) { return make_error(what + " is damaged or cut short (" + why + ")"); };
    // The end-of-central-directory record: the last "PK\5\6" within its 22 bytes plus a comment of up to 64 KiB.
    if (b.size() < 22) return damaged("too short for a zip archive");
    size_t eocd = std::string_view::npos;
    const size_t lowest = b.size() > 22 + 65535 ? b.size() - 22 - 65535 : 0;
    for (size_t at = b.size() - 22 + 1; at-- > lowest;) {
        if (b.compare(at, 4, "PK\x05\x06") == 0) { eocd = at; break; }
    }
    if (eocd == std::string_view::npos) return damaged("no zip directory at its end");
    const uint16_t count = u16(b, eocd + 10);
    const uint32_t dir_size = u32(b, eocd + 12), dir_off = u32(b, eocd + 16);
    if (count == 0xFFFF || dir_off == 0xFFFFFFFFu) return make_error(what + " is a Zip64 archive, which Hearth does not read");
    if (uint64_t(dir_off) + dir_size > eocd) return damaged("its zip directory lies outside the file");
    size_t at = dir_off;
    for (uint16_t i = 0; i < count; ++i) {
        if (at + 46 > eocd || b.compare(at, 4, "PK\x01\x02") != 0) return damaged("a bad zip directory entry");
        Entry e;
        e.encrypted = (u16(b, at + 8) & 1) != 0;
        e.method = u16(b, at + 10);
        e.compressed = u32(b, at + 20);
        e.size = u32(b, at + 24);
        const size_t name_len = u16(b, at + 28), extra_len = u16(b, at + 30), comment_len = u16(b, at + 32);
        e.local_offset = u32(b, at + 42);
        if (at + 46 + name_len + extra_len + comment_len > eocd) return damaged("a zip directory entry runs past the directory");
        e.name = std::string(b.substr(at + 46, name_len));
        at += 46 + name_len + extra_len + comment_len;
        z.entries_.push_back(std::move(e));
    }
    return z;
}

const ZipArchive::Entry* ZipArchive::find(std::string_view name) const {
    for (const Entry& e : entries_)
        if (e.name == name) return &e;
    return nullptr;
}

Result<std::string> ZipArchive::read(const Entry& e, size_t max_bytes) const {
    const std::string member = what_ + ": " + e.name;
    if (e.encrypted) return make_error(what_ + " is password-protected, which Hearth cannot read");
    const std::string_view b = bytes_;
    if (uint64_t(e.local_offset) + 30 > b.size() || b.compare(e.local_offset, 4, "PK\x03\x04") != 0)
        return make_error(member + " is damaged (its local header is missing)");
    const size_t data = size_t(e.local_offset) + 30 + u16(b, e.local_offset + 26) + u16(b, e.local_offset + 28);
    if (uint64_t(data) + e.compressed > b.size()) return make_error(member + " is cut short");
    const std::string_view raw = b.substr(data, e.compressed);
    if (e.size > max_bytes) return make_error(member + " unpacks to " + std::to_string(e.size >> 20) + " MB, more than Hearth reads");
    if (e.method == 0) return std::string(raw);
    if (e.method != 8) return make_error(member + " is packed with method " + std::to_string(e.method) + ", which Hearth does not read");
    std::string out;
    out.reserve(std::min<size_t>(e.size, max_bytes));
    switch (inflate_into(raw, true, max_bytes, &out)) {
        case Inflated::Complete: break;
        case Inflated::TooLarge: return make_error(member + " unpacks to more than Hearth reads");
        default: return make_error(member + " is damaged (its compressed data does not unpack)");
    }
    return out;
}

}  // namespace hearth::docs
