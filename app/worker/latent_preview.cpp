#include "app/worker/latent_preview.h"

#include <algorithm>
#include <cmath>

namespace hearth::app {

namespace {
// Rows: latent channels 0..3; columns: R, G, B. A least-squares fit of SD 1.x VAE decodes against
// their latents, as image tools publish it; the result is in about [-1, 1].
constexpr float kLatentToRgb[4][3] = {
    {0.298f, 0.207f, 0.208f},
    {0.187f, 0.286f, 0.173f},
    {-0.158f, 0.189f, 0.264f},
    {-0.184f, -0.271f, -0.473f},
};
}  // namespace

QImage latentPreview(const std::vector<float>& latents, int latentWidth, int latentHeight, int scale) {
    const size_t plane = size_t(std::max(latentWidth, 0)) * size_t(std::max(latentHeight, 0));
    if (plane == 0 || scale < 1 || latents.size() != 4 * plane) return {};
    // Mid-run latents are the picture plus noise of scale sigma (Euler's x_t has a spread of about
    // sqrt(1 + sigma^2), over 14 at SD 1.5's first step), which the map would show as saturated
    // blocks: scale them back to the unit spread of finished latents first.
    double sumSquares = 0;
    for (float v : latents)
        if (std::isfinite(v)) sumSquares += double(v) * double(v);
    const double rms = std::sqrt(sumSquares / double(latents.size()));
    const float norm = rms > 1.0 ? float(1.0 / rms) : 1.0f;
    QImage small(latentWidth, latentHeight, QImage::Format_RGB888);
    for (int y = 0; y < latentHeight; ++y) {
        uchar* row = small.scanLine(y);
        for (int x = 0; x < latentWidth; ++x) {
            const size_t at = size_t(y) * size_t(latentWidth) + size_t(x);
            for (int c = 0; c < 3; ++c) {
                float v = 0;
                for (int k = 0; k < 4; ++k) v += latents[size_t(k) * plane + at] * norm * kLatentToRgb[k][c];
                // [-1, 1] → [0, 255]; NaN (a diverged run) shows as black rather than as garbage.
                const float u = std::isfinite(v) ? std::clamp((v + 1.0f) * 0.5f, 0.0f, 1.0f) : 0.0f;
                row[3 * x + c] = uchar(std::lround(u * 255.0f));
            }
        }
    }
    return small.scaled(latentWidth * scale, latentHeight * scale, Qt::IgnoreAspectRatio, Qt::FastTransformation);
}

}  // namespace hearth::app
