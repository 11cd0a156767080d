// Between the simulator's runtime (streams, graphs) and its scheduler (the execution of a launch).
#pragma once

#include <functional>
#include <string>

#include "tests/cuda_sim/cuda_sim.h"

namespace hearth::cuda_sim {

// Runs every block of the launch; "" when it ran to the end, else what went wrong and where.
std::string run_launch(const Launch& l);

// Work on a stream: done now, or appended to the graph the stream is capturing.
void enqueue(cudaStream_t s, std::function<void()> op);

}  // namespace hearth::cuda_sim
