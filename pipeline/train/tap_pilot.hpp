#pragma once
// cvtl pilot: which taps are worth caching, measured on a sample before the whole dataset is
// extracted. At 224 px, caching every tap of a VGG-16 costs 6.4 MiB per image (12.8 GiB for 2,000
// images); the pilot extracts every candidate tap for a few hundred labelled images only, sweeps
// linear probes on each by cross-validation, and keeps the taps whose probe comes close to the best
// (tap_choice.hpp), within an optional disk budget. Test samples are never part of the pilot.
//
// Writes OUTPUT/sample.csv (the images, a class-stratified draw), OUTPUT/pilot.h5 (their taps, f16),
// OUTPUT/sweep/ (the probe sweep, as cvtl sweep writes it) and OUTPUT/pilot.json (the evidence and
// the choice). A re-run with the same settings resumes the extraction and the sweep.
#include "pipeline/cache/extractor.hpp"
#include "pipeline/train/tap_choice.hpp"
#include "pipeline/core/events.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace cvtl {

struct PilotOptions {
    ExtractOptions extract;         // model, data and preprocessing as the whole extraction will use them;
                                    // taps: the candidates; dtype: the planned extraction's (for the bytes)
    std::string output;             // the pilot's directory
    int images = 300;               // labelled images in the sample, split over the classes by their sizes
    double tolerance = 0.02;        // keep taps whose probe is at most this far below the best
    std::uint64_t disk_budget = 0;  // bytes the kept taps may take for the whole dataset (0: no limit)
    double budget_minutes = 10;     // of the probe sweep
    int folds = 0;                  // of the probe sweep (0: auto)
    bool force = false;             // start over in a directory that holds another pilot
};

struct PilotSummary {
    std::int64_t sample_images = 0, dataset_images = 0;
    TapChoice choice;
    double extract_seconds = 0, sweep_seconds = 0;
    std::string mode;  // how the probes were scored, in words (the sweep's)
};

// The default candidates: the five block outputs, named block1..block5 (a VGG stores them as
// pool1..pool5); a probe on the raw input is never a candidate.
std::vector<std::string> default_pilot_taps();

// The sample: per class a share of `images` proportional to its labelled (train and val) samples,
// at least min(5, its size), drawn by a seeded hash of each path (the same on any machine).
std::vector<Sample> pilot_sample(const Dataset& data, int images, std::uint32_t seed);

// Throws cvtl::Error.
PilotSummary run_pilot(const PilotOptions& options, const Events& events);

}  // namespace cvtl
