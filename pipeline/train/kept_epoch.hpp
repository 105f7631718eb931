#pragma once
// Which epoch's weights a training run keeps as its model: the best on validation, or the last.
#include "pipeline/core/vocabulary.hpp"

#include <string>

namespace cvtl {

// best: the highest validation accuracy, ties to the lower loss (a noisy choice on a small
// validation split, and an optimistic score for it); last: the final epoch, as PyTorch's and Keras'
// plain loops and fastai keep it. Without a validation split every run keeps the last epoch.
enum class KeptEpoch { best, last };

inline constexpr NameTable<KeptEpoch, 2> kKeptEpochNames{{
    {KeptEpoch::best, "best"},
    {KeptEpoch::last, "last"},
}};

inline const char* to_string(KeptEpoch kept) { return name_in(kKeptEpochNames, kept); }

// Throws cvtl::Error for an unknown name, naming `source` (the file it was read from) when given.
inline KeptEpoch parse_kept_epoch(const std::string& text, const std::string& source = "") {
    return value_in(kKeptEpochNames, text, "{keep-epoch}", source);
}

}  // namespace cvtl
