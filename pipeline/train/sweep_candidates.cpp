#include "pipeline/train/sweep_candidates.hpp"
#include "plugin/tap_name.hpp"

#include "pipeline/core/error.hpp"

#include <algorithm>
#include <cstdio>
#include <set>

namespace cvtl {
namespace {

// Learning-rate grids for Adam. A linear probe on raw activations tolerates larger steps; layers that
// start from the source weights want smaller ones, or they forget what made them worth keeping.
const std::vector<double> kProbeRates{3e-3, 1e-3};
const std::vector<double> kNetworkRates{1e-3, 3e-4};

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

}  // namespace

int tap_position(const std::string& name) { return tap::depth(name); }

std::vector<SweepCandidate> sweep_candidates(const std::vector<std::string>& taps,
                                             const std::vector<std::string>& only) {
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
                         kProbeRates);
    // The grid is built from the taps the cache holds, in the cache's backbone style (a VGG's pool5 and
    // pool{K-1}, another backbone's features and block{K-1}).
    if (has(taps, classifier))
        add_grid(all,
                 {"", "classifier-" + classifier, "classifier", Strategy::classifier, ClassifierHead::source,
                  classifier, 5, tap_position(classifier), 0, rank++},
                 kNetworkRates);
    // Fine-tuning from block K reads the output of block K-1: the fewer blocks trained, the cheaper.
    for (int k = 5; k >= 1; --k) {
        const std::string from = tap::block_input(k, style);
        if (has(taps, from))
            add_grid(all,
                     {"", "finetune-b" + std::to_string(k), "finetune", Strategy::finetune, ClassifierHead::source,
                      from, k, k - 1, 0, rank++},
                     kNetworkRates);
    }
    if (has(taps, tap::input))
        add_grid(all,
                 {"", "scratch", "scratch", Strategy::scratch, ClassifierHead::source, tap::input, 1, 0, 0, rank++},
                 kNetworkRates);
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
