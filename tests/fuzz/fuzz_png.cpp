// PNG pictures read back (engine/util/png_file): a picture picked as the start of image-to-image
// or reopened from the gallery. A file that reads must give width × height × 3 values.
#include "engine/util/png_file.h"
#include "tests/fuzz/fuzz_target.h"

using namespace hearth;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string path = fuzz::Scratch::get().write("in.png", std::string_view(reinterpret_cast<const char*>(data), size));
    auto img = read_png_rgb(path);
    if (!img.ok()) return -1;
    if (img->rgb.size() != size_t(img->width) * size_t(img->height) * 3) std::abort();
    return 0;
}

std::vector<std::string> hearth::fuzz::seeds() {
    std::vector<std::string> s;
    int i = 0;
    for (auto [w, h] : {std::pair{1, 1}, {7, 5}, {16, 3}}) {
        std::vector<float> rgb(size_t(w) * size_t(h) * 3);
        for (size_t k = 0; k < rgb.size(); ++k) rgb[k] = float(k % 11) / 10.0f;
        const std::string path = fuzz::Scratch::get().dir() + "/seed-" + std::to_string(i++) + ".png";
        if (!write_png_rgb(path, w, h, rgb, {{"prompt", "一只猫"}}).ok()) std::abort();
        s.push_back(read_file(path));
    }
    return s;
}
