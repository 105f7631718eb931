#include "pipeline/train/tap_choice.hpp"

#include "pipeline/train/sweep_candidates.hpp"
#include "pipeline/core/error.hpp"

#include <algorithm>
#include <cstdio>

namespace cvtl {
namespace {

std::string fixed(double v, int digits = 3) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.*f", digits, v);
    return buf;
}

std::string gib(double bytes) { return fixed(bytes / (1024.0 * 1024.0 * 1024.0), 2) + " GiB"; }

bool ranks_higher(const TapEvidence& a, const TapEvidence& b) {
    if (a.scored != b.scored) return a.scored;
    if (a.score != b.score) return a.score > b.score;
    return a.bytes_per_image < b.bytes_per_image;  // equal evidence: the cheaper tap
}

}  // namespace

// When no tap within the tolerance fits the disk budget, the best-scoring tap that fits at all is
// kept: the budget is the user's constraint, the tolerance only the pilot's default.
static void keep_best_that_fits(std::vector<TapEvidence>& ranked, TapChoice& choice, std::uint64_t images,
                                std::uint64_t disk_budget) {
    for (TapEvidence& t : ranked) {
        if (!t.scored || t.bytes_per_image * images > disk_budget) continue;
        t.kept = true;
        t.why = "the best probe score among the taps that fit the disk budget (" + ranked.front().tap + " scored " +
                fixed(ranked.front().score) + " but needs " +
                gib(static_cast<double>(ranked.front().bytes_per_image * images)) + ")";
        choice.kept.push_back(t.tap);
        choice.kept_bytes = t.bytes_per_image * images;
        return;
    }
    throw Error("no candidate tap fits the {disk-budget} of " + gib(static_cast<double>(disk_budget)) + " for " +
                std::to_string(images) + " images; raise it, or extract with {dtype} f16");
}

TapChoice choose_taps(std::vector<TapEvidence> evidence, std::int64_t images, double tolerance,
                      std::uint64_t disk_budget) {
    std::stable_sort(evidence.begin(), evidence.end(), ranks_higher);
    if (evidence.empty() || !evidence.front().scored)
        throw Error("the pilot scored no tap: no probe finished (raise the pilot's {budget} or lower {images})");
    TapChoice choice;
    const double best = evidence.front().score;
    const auto n = static_cast<std::uint64_t>(std::max<std::int64_t>(images, 0));
    for (TapEvidence& t : evidence) {
        const std::uint64_t bytes = t.bytes_per_image * n;
        if (!t.scored) {
            t.why = "no probe on it finished within the pilot's budget";
        } else if (t.score < best - tolerance) {
            t.why = "its probe scored " + fixed(best - t.score) + " below the best, more than the tolerance " +
                    fixed(tolerance);
        } else if (disk_budget > 0 && choice.kept_bytes + bytes > disk_budget) {
            t.why = "within the tolerance, but " + gib(static_cast<double>(bytes)) + " more would pass the disk budget";
        } else {
            t.kept = true;
            t.why =
                t.score == best ? "the best probe score" : "within " + fixed(tolerance) + " of the best probe score";
            choice.kept.push_back(t.tap);
            choice.kept_bytes += bytes;
        }
    }
    if (choice.kept.empty()) keep_best_that_fits(evidence, choice, n, disk_budget);
    std::sort(choice.kept.begin(), choice.kept.end(),
              [](const std::string& a, const std::string& b) { return tap_position(a) < tap_position(b); });
    choice.taps = std::move(evidence);
    return choice;
}

}  // namespace cvtl
