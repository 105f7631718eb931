#pragma once
// Data-parallel training's split of a global batch: rank r of N takes the contiguous rows
// [floor(n r / N), floor(n (r + 1) / N)) of the n rows every rank's identical batch stream produced,
// so the union over ranks is exactly the batch one process would train on.
#include "pipeline/dist/communicator.hpp"
#include "pipeline/data/batch.hpp"

#include <cstdint>
#include <utility>
#include <vector>

namespace cvtl {

struct BatchSlice {
    cv::Mat data;  // [rows, sample...]; empty when rows == 0
    std::vector<int> labels;
    std::int64_t first = 0;  // its first row in the global batch
    std::int64_t rows = 0;
    std::int64_t global = 0;  // rows in the global batch
    // The factor that turns the slice's mean-loss gradient into its part of the global mean's.
    double share() const { return global > 0 ? static_cast<double>(rows) / static_cast<double>(global) : 0.0; }
};

std::pair<std::int64_t, std::int64_t> slice_range(std::int64_t n, int rank, int ranks);  // [begin, end)

// This rank's slice of `batch` (the whole batch, sharing its data, in one process).
BatchSlice slice_for(const Batch& batch, const Communicator& comm);

}  // namespace cvtl
