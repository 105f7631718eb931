#include "pipeline/train/sweep_candidates.hpp"
#include "plugin/tap_name.hpp"

#include "pipeline/core/error.hpp"

#include <algorithm>
#include <cstdio>
#include <set>

namespace cvtl {
namespace {

std::string rate_text(double lr) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", lr);
    return text;
}

void add_grid(std::vector<SweepCandidate>& out, SweepCandidate c, const std::vector<double>& rates) {
    for (double lr : rates) {
        c.lr = lr;
        c.name = c.base + "-lr" + rate_text(lr);
        out.push_back(c);
    }
}

bool has(const std::vector<std::string>& taps, const std::string& name) {
    return std::find(taps.begin(), taps.end(), name) != taps.end();
}

// Fine-tuning from block k: one candidate per batch norm mode when a trained block holds batch norm
// (named ...-bnfrozen for frozen statistics), else one that trains as the layers say.
void add_finetune(std::vector<SweepCandidate>& out, SweepCandidate c, const SweepGrid& grid) {
    const bool has_bn = grid.blocks_with_bn.lower_bound(c.from_block) != grid.blocks_with_bn.end();
    const std::string base = c.base;
    for (BatchNormMode mode : has_bn ? grid.bn_modes : std::vector<BatchNormMode>{BatchNormMode::train}) {
        c.bn = mode;
        c.base = base + (mode == BatchNormMode::frozen ? "-bnfrozen" : "");
        add_grid(out, c, grid.network_rates);
    }
}

}  // namespace

SweepGrid sweep_grid(const std::vector<double>& lrs, const std::vector<BatchNormMode>& bn_modes,
                     const BlockMap& source) {
    for (double lr : lrs)
        if (!(lr > 0 && lr <= 1)) throw Error("{lrs}: each learning rate must be in (0, 1], found " + rate_text(lr));
    if (bn_modes.empty()) throw Error("{bn}: give train, frozen or both");
    SweepGrid g;
    if (!lrs.empty()) g.probe_rates = g.network_rates = lrs;
    g.bn_modes = bn_modes;
    for (int b = 1; b <= 5; ++b) {
        const Block& block = source.blocks.at(static_cast<size_t>(b - 1));
        for (int id = block.first_layer; id <= block.last_layer; ++id)
            if (source.layer_types.at(static_cast<size_t>(id)) == "BatchNorm") g.blocks_with_bn.insert(b);
    }
    return g;
}

int tap_position(const std::string& name) { return tap::depth(name); }

std::vector<SweepCandidate> sweep_candidates(const std::vector<std::string>& taps, const std::vector<std::string>& only,
                                             const SweepGrid& grid) {
    std::vector<SweepCandidate> all;
    int rank = 0;
    // Probes: deepest (smallest) taps first. Another backbone's classifier is itself a linear layer on the
    // features, so a probe there would train the same model twice.
    const tap::Style style = tap::style_of(taps);
    const std::string classifier = tap::classifier_input(style);
    for (int p = 8; p >= 1; --p)
        for (const auto& t : taps)
            if (tap_position(t) == p && !(style == tap::Style::graph && t == classifier))
                add_grid(all,
                         {"", "probe-" + t, "probe", Strategy::classifier, ClassifierHead::linear, t, 5, p, 0, rank++},
                         grid.probe_rates);
    // The grid is built from the taps the cache holds, in the cache's backbone style (a VGG's pool5 and
    // pool{K-1}, another backbone's features and block{K-1}).
    if (has(taps, classifier))
        add_grid(all,
                 {"", "classifier-" + classifier, "classifier", Strategy::classifier, ClassifierHead::source,
                  classifier, 5, tap_position(classifier), 0, rank++},
                 grid.network_rates);
    // Fine-tuning from block K reads the output of block K-1: the fewer blocks trained, the cheaper.
    for (int k = 5; k >= 1; --k) {
        const std::string from = tap::block_input(k, style);
        if (has(taps, from))
            add_finetune(all,
                         {"", "finetune-b" + std::to_string(k), "finetune", Strategy::finetune, ClassifierHead::source,
                          from, k, k - 1, 0, rank++},
                         grid);
    }
    if (has(taps, tap::input))
        add_grid(all,
                 {"", "scratch", "scratch", Strategy::scratch, ClassifierHead::source, tap::input, 1, 0, 0, rank++},
                 grid.network_rates);
    if (only.empty()) return all;

    std::vector<SweepCandidate> kept;
    std::set<std::string> matched;
    for (const auto& c : all)
        for (const auto& o : only)
            if (o == c.family || o == c.base || o == c.name) {
                kept.push_back(c);
                matched.insert(o);
                break;
            }
    for (const auto& o : only)
        if (!matched.count(o)) {
            std::string names = "probe, classifier, finetune, scratch";
            for (const auto& c : all)
                if (names.find(c.base) == std::string::npos) names += ", " + c.base;
            throw Error("'" + o + "' names no candidate this cache allows (choose from: " + names + ")");
        }
    return kept;
}

}  // namespace cvtl
