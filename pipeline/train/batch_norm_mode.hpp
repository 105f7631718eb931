#pragma once
// How the batch norm layers a training trains behave: as in PyTorch's train() mode, or in inference
// mode with their source's statistics (Keras' advice for fine-tuning on a small dataset).
#include "pipeline/core/vocabulary.hpp"

#include <string>

namespace cvtl {

// train: normalise with each batch's statistics and update the running ones; frozen: normalise with
// the running statistics and keep them (gamma and beta are trained either way; batch_norm2d.hpp).
enum class BatchNormMode { train, frozen };

inline constexpr NameTable<BatchNormMode, 2> kBatchNormModeNames{{
    {BatchNormMode::train, "train"},
    {BatchNormMode::frozen, "frozen"},
}};

inline const char* to_string(BatchNormMode mode) { return name_in(kBatchNormModeNames, mode); }

// Throws cvtl::Error for an unknown name, naming `source` (the file it was read from) when given.
inline BatchNormMode parse_batch_norm_mode(const std::string& text, const std::string& source = "") {
    return value_in(kBatchNormModeNames, text, "{bn}", source);
}

}  // namespace cvtl
