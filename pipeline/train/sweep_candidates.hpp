#pragma once
// What `cvtl sweep` tries on a cache: every strategy and cut point the cached taps allow, each with
// a small learning-rate grid.
#include "pipeline/cache/cache_info.hpp"
#include "pipeline/train/batch_norm_mode.hpp"
#include "pipeline/train/classifier_head.hpp"
#include "pipeline/train/strategy.hpp"
#include "plugin/block_map.hpp"

#include <set>
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
    BatchNormMode bn = BatchNormMode::train;  // fine-tuning blocks with batch norm: each mode is a candidate
};

// What the candidates are spread over besides strategy and cut point.
struct SweepGrid {
    // Adam's learning rates. A linear probe on raw activations tolerates larger steps; layers that
    // start from the source weights want smaller ones, or they forget what made them worth keeping.
    std::vector<double> probe_rates{3e-3, 1e-3};
    std::vector<double> network_rates{1e-3, 3e-4};  // the classifier, fine-tuning, scratch
    // Fine-tuning that trains a block holding batch norm is tried with each mode (none else has a choice).
    std::vector<BatchNormMode> bn_modes{BatchNormMode::train, BatchNormMode::frozen};
    std::set<int> blocks_with_bn;  // the source's blocks (1..5) that hold batch norm layers
};

// The grid for a source: `lrs` (empty: the defaults per family) for every family, `bn_modes` for
// fine-tuning, and which of the source's blocks hold batch norm. Throws cvtl::Error for a learning
// rate outside (0, 1] or no batch norm mode.
SweepGrid sweep_grid(const std::vector<double>& lrs, const std::vector<BatchNormMode>& bn_modes,
                     const BlockMap& source);

// Position of a tap in the network (see SweepCandidate::cut); -1 for an unknown name.
int tap_position(const std::string& tap);

// Every candidate for a cache with these taps, cheapest first. `only` (empty: all) keeps candidates
// whose family or base name is listed; a name that matches nothing is an error naming the choices.
std::vector<SweepCandidate> sweep_candidates(const std::vector<std::string>& taps, const std::vector<std::string>& only,
                                             const SweepGrid& grid = {});

}  // namespace cvtl
