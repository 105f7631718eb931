#pragma once
#include "pipeline/data/preset.hpp"

#include <opencv2/core.hpp>

#include <nlohmann/json.hpp>

#include <array>
#include <optional>
#include <string>

namespace cvtl {

// How an image becomes the network's input (docs/architecture.md, "Preprocessing presets").
// Input sizes cvtl accepts: large enough for five 2x2 pools, small enough that one image's planes
// (3 x S x S floats) stay far below any int or allocation limit.
inline constexpr int kMinInputSize = 8, kMaxInputSize = 4096;

struct Preprocessing {
    Preset preset = Preset::torchvision;  // the recipe the numbers below started from
    int size = 224;                       // S: the network input is S x S
    bool crop = true;                     // resize the shorter side to round(S*256/224), then center-crop S x S;
                                          // false: resize straight to S x S
    bool rgb = true;                      // channel order fed to the network (false keeps BGR)
    double scale = 1.0 / 255.0;           // applied before mean/std
    std::array<double, 3> mean{};         // in the network's channel order and after scaling
    std::array<double, 3> std{1.0, 1.0, 1.0};

    nlohmann::json to_json() const;
    // Parses and validates a stored record; errors name `source` (the file it came from).
    static Preprocessing from_json(const nlohmann::json& j, const std::string& source);
    // Throws cvtl::Error unless size is in range and scale, mean and std are finite (scale, std > 0).
    void validate() const;
    bool operator==(const Preprocessing& other) const { return to_json() == other.to_json(); }
};

// The named preset at input size `size`, with optional --mean/--std overrides.
Preprocessing make_preprocessing(Preset preset, int size,
                                 const std::optional<std::array<double, 3>>& mean = std::nullopt,
                                 const std::optional<std::array<double, 3>>& std = std::nullopt);

// Writes one preprocessed image as planar float32 [3, S, S] starting at `dst`.
// `bgr8` is an 8-bit BGR image of any size (see read_bgr8).
void preprocess_image(const cv::Mat& bgr8, const Preprocessing& p, float* dst);

}  // namespace cvtl
