#pragma once
// What `cvtl sweep` tries on a cache: every strategy and cut point the cached taps allow, each with
// a small learning-rate grid.
#include "pipeline/cache/cache_info.hpp"
#include "pipeline/train/classifier_head.hpp"
#include "pipeline/train/strategy.hpp"

#include <string>
#include <vector>

namespace cvtl {

struct SweepCandidate {
    std::string name;    // unique, also the run directory: "probe-pool2-lr0.003", "finetune-b3-lr0.0003"
    std::string base;    // the name without the learning rate: "probe-pool2", "finetune-b3"
    std::string family;  // probe | classifier | finetune | scratch
    Strategy strategy = Strategy::classifier;  // for TrainOptions
    ClassifierHead head = ClassifierHead::source;
    std::string tap;     // the cached tap it reads
    int from_block = 5;  // finetune
    int cut = 0;         // position of `tap` in the network: input 0, pool1..pool5 1..5, fc6 6, fc7 7, logits 8
    double lr = 1e-3;    // Adam's learning rate
    int cost_rank = 0;   // cheap first: probes, the classifier, fine-tuning from the top down, scratch
};

// Position of a tap in the network (see SweepCandidate::cut); -1 for an unknown name.
int tap_position(const std::string& tap);

// Every candidate for a cache with these taps, cheapest first. `only` (empty: all) keeps candidates
// whose family or base name is listed; a name that matches nothing is an error naming the choices.
std::vector<SweepCandidate> sweep_candidates(const std::vector<std::string>& taps,
                                             const std::vector<std::string>& only);

}  // namespace cvtl
