#pragma once
// Which taps to cache for the whole dataset, chosen by evidence: each tap's best linear-probe score
// on a pilot sample (tap_pilot.hpp), what it costs on disk for every image, and an optional disk
// budget. A tap is worth caching when its probe comes within `tolerance` of the best tap's; taps are
// taken best first while they fit.
#include <cstdint>
#include <string>
#include <vector>

namespace cvtl {

struct TapEvidence {
    std::string tap;
    bool scored = false;  // a probe on it finished in the pilot
    double score = 0;     // its best probe's validation accuracy on the fold every probe was trained on
    double cv_score = 0;  // that probe's mean over the folds it reached (information: folds differ)
    double spread = 0;    // and the spread over those folds
    int folds = 0;
    std::string candidate;              // that probe
    std::uint64_t bytes_per_image = 0;  // at the dtype of the planned extraction
    // Filled by choose_taps:
    bool kept = false;
    std::string why;  // one phrase, computed from the numbers
};

struct TapChoice {
    std::vector<TapEvidence> taps;  // ranked: scored before unscored, higher score first, then cheaper
    std::vector<std::string> kept;  // in network order (pool1 before pool5)
    std::uint64_t kept_bytes = 0;   // for `images` images
};

// `images`: the dataset's images (every split: extraction caches them all). `disk_budget` in bytes,
// 0 for none; when no tap within the tolerance fits it, the best-scoring tap that fits is kept.
// Throws cvtl::Error when no tap was scored, or when none fits the budget.
TapChoice choose_taps(std::vector<TapEvidence> evidence, std::int64_t images, double tolerance,
                      std::uint64_t disk_budget);

}  // namespace cvtl
