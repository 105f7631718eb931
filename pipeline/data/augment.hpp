#pragma once
#include "pipeline/core/hashing.hpp"  // splitmix64, fnv1a64: the seeds of the views
#include <opencv2/core.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace cvtl {

// Augmented views of a training image (docs/architecture.md, "Augmented views"). Every random number
// comes from AugmentRng in a documented order, never from std:: distributions (their output differs
// across standard libraries), so tests/fixtures/make_augment_fixture.py reproduces every draw.

// SplitMix64 (Steele, Lea, Flood 2014). uniform() takes the top 53 bits: a double in [0, 1).
class AugmentRng {
public:
    explicit AugmentRng(std::uint64_t seed) : state_(seed) {}
    std::uint64_t next();
    double uniform();                      // [0, 1)
    double uniform(double lo, double hi);  // lo + (hi - lo) * uniform()
    int index(int n);                      // floor(uniform() * n), clamped to n - 1; n >= 1

private:
    std::uint64_t state_;
};

struct CropRange {
    std::array<double, 2> scale{0.08, 1.0};             // share of the image's area
    std::array<double, 2> ratio{3.0 / 4.0, 4.0 / 3.0};  // width / height
};

// What a SPEC asks for. An operation is on when its parameters are not the identity:
// flip > 0, crop given, rotate > 0, any jitter factor > 0.
struct AugmentSpec {
    double flip = 0;                        // probability of a horizontal flip
    std::optional<CropRange> crop;          // random-resized crop
    double rotate = 0;                      // max degrees: the angle is uniform in [-rotate, rotate]
    std::array<double, 3> jitter{0, 0, 0};  // brightness, contrast, saturation

    bool any() const;
    // The canonical SPEC (shortest round-trip numbers): parse_augment_spec(to_string()) == *this.
    std::string to_string() const;
    bool operator==(const AugmentSpec& other) const;
};

// Parses a SPEC such as "flip=0.5,crop=0.08-1:0.75-1.333,rotate=10,jitter=0.4:0.4:0.4", "default"
// or "none" (grammar, defaults and ranges: docs/architecture.md, "Augmented views"). Throws
// cvtl::Error naming {augment}, the key and the allowed range.
AugmentSpec parse_augment_spec(const std::string& spec);

// The parameters one view draws, in the order they are drawn.
struct AugmentParams {
    cv::Rect crop;         // the region resized back to the input's size
    int crop_attempt = 0;  // 1..10: the attempt that fit; 0: centre-crop fallback or no crop
    bool flip = false;
    double angle = 0;                             // degrees, counter-clockwise
    std::array<double, 3> jitter{1.0, 1.0, 1.0};  // brightness, contrast, saturation factors
};

AugmentParams draw_augment_params(cv::Size image, const AugmentSpec& spec, std::uint64_t seed);

// Applies `params` to an 8-bit BGR image: crop (resized back to the input's size, bilinear), flip,
// rotation (bilinear, reflected border), then brightness, contrast, saturation. Same size and type out.
cv::Mat apply_augment(const cv::Mat& bgr8, const AugmentParams& params);

// apply_augment(bgr8, draw_augment_params(bgr8.size(), spec, seed)). Runs before preprocess_image.
// It always augments: view 0, the plain image, must not come here (use view_image).
cv::Mat augment_view(const cv::Mat& bgr8, const AugmentSpec& spec, std::uint64_t seed);

// The seed of one view of one sample: stable across runs, machines and thread counts.
// splitmix64(splitmix64(splitmix64(extraction_seed) ^ fnv1a64(sample_path)) ^ view).
std::uint64_t view_seed(std::uint64_t extraction_seed, const std::string& sample_path, int view);

// View `view` of a sample: view 0 is `bgr8` itself (shared, not copied), every other view is
// augment_view with view_seed. The one entry point for callers that make views.
cv::Mat view_image(const cv::Mat& bgr8, const AugmentSpec& spec, std::uint64_t extraction_seed,
                   const std::string& sample_path, int view);

}  // namespace cvtl
