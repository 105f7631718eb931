#pragma once
// The named preprocessing recipes (preprocess.hpp; docs/architecture.md, "Preprocessing presets").
#include "pipeline/core/vocabulary.hpp"

#include <string>

namespace cvtl {

// torchvision: RGB, shorter side to S*256/224 and a centre crop, ImageNet mean and std on [0, 1];
// caffe: BGR, the same crop, mean subtracted on [0, 255]; raw: RGB stretched to S x S, on [0, 1].
enum class Preset { torchvision, caffe, raw };

inline constexpr NameTable<Preset, 3> kPresetNames{{
    {Preset::torchvision, "torchvision"},
    {Preset::caffe, "caffe"},
    {Preset::raw, "raw"},
}};

inline const char* to_string(Preset preset) { return name_in(kPresetNames, preset); }

// Throws cvtl::Error for an unknown name, naming `source` (the file it was read from) when given.
inline Preset parse_preset(const std::string& text, const std::string& source = "") {
    return value_in(kPresetNames, text, "preprocessing preset", source);
}

}  // namespace cvtl
