// Top-k sampling of one row of logits: the host reference of Backend::sample_top_k (backend.h),
// which device backends must match, and the host backends' implementation of it. It lives in
// sampling because it is the Sampler's own steps (top-k, temperature, draw) with the other filters
// off; the backend interface includes this header, so sampling must never include backend headers.
#pragma once

#include <cstdint>

namespace hearth {

// The largest k Backend::sample_top_k takes (a device keeps k candidates per row in fast memory).
constexpr int kMaxDeviceTopK = 64;

// Keeps the k largest of n logits (ties: smaller id first), divides them by temperature and returns
// the first candidate whose cumulative softmax probability exceeds u (k <= 1 or n <= 1: argmax).
int32_t sample_top_k_row(const float* logits, int n, int k, float temperature, double u);

}  // namespace hearth
