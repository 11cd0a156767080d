// PNG files of generated images, through libpng: 8-bit RGB from floats in [0, 1], with tEXt
// chunks for what made the image (prompt, seed, settings). Written to PATH.part and renamed into
// place, so a full disk or a failed write leaves no half file under the name.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "engine/util/status.h"

namespace hearth {

// rgb: height × width × 3 floats (clamped to [0, 1], rounded to 8 bits).
Status write_png_rgb(const std::string& path, int width, int height, const std::vector<float>& rgb,
                     const std::vector<std::pair<std::string, std::string>>& text = {});

// Reads a PNG (any bit depth and colour type) as 8-bit RGB floats in [0, 1] (alpha dropped), up to
// 8192 pixels a side and 16 megapixels: tests and img2img.
struct PngImage {
    int width = 0, height = 0;
    std::vector<float> rgb;
    std::vector<std::pair<std::string, std::string>> text;
};
Result<PngImage> read_png_rgb(const std::string& path);

}  // namespace hearth
