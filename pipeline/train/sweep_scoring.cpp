// How a trial is scored from its folds and how trials rank (the rule is in sweep.hpp's header).
#include "pipeline/train/sweep.hpp"

#include <cmath>
#include <limits>

namespace cvtl {

void score_trial(SweepTrial& t) {
    t.seconds = t.stopped_seconds;
    for (const auto& f : t.folds) t.seconds += f.seconds;
    if (t.folds.empty()) return;
    const size_t epochs = t.folds.front().val_accuracy.size();
    const double n = static_cast<double>(t.folds.size());
    double best_acc = -1, best_loss = std::numeric_limits<double>::infinity();
    for (size_t e = 0; e < epochs; ++e) {
        double acc = 0, loss = 0;
        for (const auto& f : t.folds) acc += f.val_accuracy.at(e) / n, loss += f.val_loss.at(e) / n;
        // Ties in accuracy go to the lower loss, never simply to the earlier, less trained epoch.
        if (acc > best_acc || (acc == best_acc && loss < best_loss))
            best_acc = acc, best_loss = loss, t.chosen_epoch = static_cast<int>(e) + 1;
    }
    t.score = best_acc;
    t.loss = best_loss;
    double var = 0;
    for (const auto& f : t.folds)
        var += std::pow(f.val_accuracy.at(static_cast<size_t>(t.chosen_epoch - 1)) - best_acc, 2);
    t.spread = t.folds.size() > 1 ? std::sqrt(var / (n - 1)) : 0;
}

bool ranks_before(const SweepTrial& a, const SweepTrial& b) {
    const bool sa = !a.folds.empty(), sb = !b.folds.empty();
    if (sa != sb) return sa;
    if (!sa) return a.candidate.cost_rank < b.candidate.cost_rank;
    if (a.folds.size() != b.folds.size()) return a.folds.size() > b.folds.size();
    if (a.score != b.score) return a.score > b.score;
    if (a.loss != b.loss) return a.loss < b.loss;
    if (a.trained_parameters != b.trained_parameters) return a.trained_parameters < b.trained_parameters;
    return a.candidate.cost_rank < b.candidate.cost_rank;
}

}  // namespace cvtl
