#include "engine/util/png_file.h"

#include <png.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

namespace hearth {

namespace {

// libpng reports errors by longjmp: the handlers keep its message for ours.
struct PngErrors {
    std::string message;
};
void on_error(png_structp png, png_const_charp msg) {
    static_cast<PngErrors*>(png_get_error_ptr(png))->message = msg ? msg : "libpng error";
    png_longjmp(png, 1);
}
void on_warning(png_structp, png_const_charp) {}

// The libpng calls, apart from every C++ object: a longjmp out of libpng must not skip
// destructors or leave locals it may have clobbered, so these take only pointers.
bool encode(FILE* f, PngErrors* errors, int width, int height, const png_byte* bytes, png_text* chunks, int n_chunks) {
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, errors, on_error, on_warning);
    if (!png) return false;
    png_infop info = png_create_info_struct(png);
    if (!info || setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, info ? &info : nullptr);
        return false;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, png_uint_32(width), png_uint_32(height), 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (n_chunks) png_set_text(png, info, chunks, n_chunks);
    png_write_info(png, info);
    for (int y = 0; y < height; ++y) png_write_row(png, bytes + size_t(y) * size_t(width) * 3);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    return true;
}

constexpr png_alloc_size_t kMaxPngChunkBytes = png_alloc_size_t(8) << 20;

// Why the chunks' length fields do not fit in the file, or "" when they do; leaves f at its start.
// libpng allocates what an ancillary chunk (tEXt, zTXt, iCCP…) claims before reading it, whatever
// png_set_chunk_malloc_max says (over it is a benign error, a warning when reading): a 97-byte file
// whose tEXt claimed 1.2 GB took 1.2 GB (found by fuzz_png). Only the 8-byte chunk headers are read.
std::string chunk_lengths_error(FILE* f) {
    if (std::fseek(f, 0, SEEK_END) != 0) return "cannot seek in the file";
    const long size = std::ftell(f);
    long at = 8;  // after the signature
    while (size >= 0 && at + 8 <= size) {
        unsigned char h[8];
        if (std::fseek(f, at, SEEK_SET) != 0 || std::fread(h, 1, 8, f) != 8) break;
        const long len = long((uint32_t(h[0]) << 24) | (uint32_t(h[1]) << 16) | (uint32_t(h[2]) << 8) | uint32_t(h[3]));
        if (len > size - at - 12) {
            std::string type(reinterpret_cast<const char*>(h + 4), 4);
            for (char& c : type)
                if (c < 0x20 || c > 0x7e) c = '?';
            return "its " + type + " chunk at byte " + std::to_string(at) + " claims " + std::to_string(len) +
                   " bytes, more than the " + std::to_string(std::max(size - at - 12, 0L)) + " the file has left";
        }
        if (std::memcmp(h + 4, "IEND", 4) == 0) break;
        at += 12 + len;
    }
    std::rewind(f);
    return "";
}

// Decodes to 8-bit RGB in `pixels` (resized here through the pointer) and the text chunks.
bool decode(FILE* f, PngErrors* errors, int* width, int* height, std::vector<png_byte>* pixels,
            std::vector<std::pair<std::string, std::string>>* text) {
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, errors, on_error, on_warning);
    if (!png) return false;
    png_infop info = png_create_info_struct(png);
    if (!info || setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, info ? &info : nullptr, nullptr);
        return false;
    }
    png_init_io(png, f);
    png_set_user_limits(png, 8192, 8192);  // a hostile header cannot ask for gigabytes
    // Nor a compressed text chunk (zTXt, iTXt, iCCP) that inflates to gigabytes: libpng stops inflating
    // at this bound. Ours carry a prompt and the settings, a few KB. (A chunk's length field beyond it
    // is only a warning to libpng, which then allocates it: chunk_lengths_error checks those first.)
    png_set_chunk_malloc_max(png, kMaxPngChunkBytes);
    png_read_info(png, info);
    const png_byte type = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
    if (depth == 16) png_set_strip_16(png);
    if (type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (type == PNG_COLOR_TYPE_GRAY || type == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
    if (depth < 8 && type == PNG_COLOR_TYPE_GRAY) png_set_expand_gray_1_2_4_to_8(png);
    if (type & PNG_COLOR_MASK_ALPHA) png_set_strip_alpha(png);
    png_read_update_info(png, info);
    *width = int(png_get_image_width(png, info));
    *height = int(png_get_image_height(png, info));
    if (int64_t(*width) * *height > (int64_t(1) << 24)) png_error(png, "larger than 16 megapixels");
    if (png_get_channels(png, info) != 3 || png_get_rowbytes(png, info) != size_t(*width) * 3)
        png_error(png, "unexpected layout after conversion to 8-bit RGB");
    pixels->resize(size_t(*width) * size_t(*height) * 3);
    for (int y = 0; y < *height; ++y) png_read_row(png, pixels->data() + size_t(y) * size_t(*width) * 3, nullptr);
    png_read_end(png, info);
    png_textp texts = nullptr;
    const int n = png_get_text(png, info, &texts, nullptr);
    for (int i = 0; i < n; ++i) text->emplace_back(texts[i].key, std::string(texts[i].text, texts[i].text_length));
    png_destroy_read_struct(&png, &info, nullptr);
    return true;
}

}  // namespace

Status write_png_rgb(const std::string& path, int width, int height, const std::vector<float>& rgb,
                     const std::vector<std::pair<std::string, std::string>>& text) {
    if (width < 1 || height < 1 || rgb.size() != size_t(width) * size_t(height) * 3)
        return make_error(path + ": an image of " + std::to_string(width) + "×" + std::to_string(height) + " needs " +
                          std::to_string(size_t(width) * size_t(height) * 3) + " values, got " + std::to_string(rgb.size()));
    std::vector<png_byte> bytes(rgb.size());
    for (size_t i = 0; i < rgb.size(); ++i) {
        const float v = std::isfinite(rgb[i]) ? std::fmin(std::fmax(rgb[i], 0.0f), 1.0f) : 0.0f;
        bytes[i] = png_byte(std::lround(v * 255.0f));
    }
    std::vector<png_text> chunks(text.size());
    for (size_t i = 0; i < text.size(); ++i) {
        chunks[i].compression = PNG_TEXT_COMPRESSION_NONE;
        chunks[i].key = const_cast<char*>(text[i].first.c_str());
        chunks[i].text = const_cast<char*>(text[i].second.c_str());
        chunks[i].text_length = text[i].second.size();
    }
    const std::string part = path + ".part";
    FILE* f = std::fopen(part.c_str(), "wb");
    if (!f) return make_error(path + ": cannot create the file");
    PngErrors errors;
    const bool encoded = encode(f, &errors, width, height, bytes.data(), chunks.data(), int(chunks.size()));
    const bool flushed = std::fflush(f) == 0 && !std::ferror(f);
    if (std::fclose(f) != 0 || !flushed || !encoded) {
        std::remove(part.c_str());
        return make_error(path + ": writing the PNG failed (" + (encoded ? std::string("is the disk full?") : errors.message) + ")");
    }
    std::error_code ec;
    std::filesystem::rename(part, path, ec);
    if (ec) {
        std::remove(part.c_str());
        return make_error(path + ": " + ec.message());
    }
    return Status();
}

Result<PngImage> read_png_rgb(const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return make_error(path + ": cannot open");
    if (const std::string why = chunk_lengths_error(f); !why.empty()) {
        std::fclose(f);
        return make_error(path + ": not a readable PNG (" + why + ")");
    }
    PngErrors errors;
    PngImage img;
    std::vector<png_byte> pixels;
    const bool ok = decode(f, &errors, &img.width, &img.height, &pixels, &img.text);
    std::fclose(f);
    if (!ok) return make_error(path + ": not a readable PNG (" + (errors.message.empty() ? "out of memory" : errors.message) + ")");
    img.rgb.resize(pixels.size());
    for (size_t i = 0; i < pixels.size(); ++i) img.rgb[i] = float(pixels[i]) / 255.0f;
    return img;
}

}  // namespace hearth
