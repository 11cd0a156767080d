// Reading members of a zip archive held in memory: what Word (.docx), PowerPoint (.pptx),
// OpenDocument (.odt) and EPUB files are. The central directory at the end is read and every
// offset, size and name checked against the bytes; members are stored or deflated (zlib), and one
// is refused when it would unpack to more than the caller allows. Zip64, encryption and other
// methods are refused by name.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/util/status.h"

namespace hearth::docs {

class ZipArchive {
public:
    struct Entry {
        std::string name;
        uint16_t method = 0;  // 0 stored, 8 deflated
        uint32_t compressed = 0, size = 0;
        uint32_t local_offset = 0;
        bool encrypted = false;
    };

    // `bytes` must outlive the archive. `what` names the file in messages.
    static Result<ZipArchive> open(std::string_view bytes, const std::string& what);

    const std::vector<Entry>& entries() const { return entries_; }
    const Entry* find(std::string_view name) const;
    // The member's bytes; refused when it would be larger than `max_bytes`.
    Result<std::string> read(const Entry& e, size_t max_bytes) const;

private:
    std::string_view bytes_;
    std::string what_;
    std::vector<Entry> entries_;
};

}  // namespace hearth::docs
