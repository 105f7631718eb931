#include "pipeline/train/tap_pilot.hpp"
#include "plugin/tap_name.hpp"

#include "pipeline/cache/cache_info.hpp"
#include "pipeline/train/sweep.hpp"
#include "pipeline/train/sweep_candidates.hpp"
#include "pipeline/train/sweep_state.hpp"
#include "pipeline/core/atomic_file.hpp"
#include "pipeline/core/error.hpp"
#include "pipeline/data/csv_writer.hpp"

#include <boost/filesystem.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <map>

namespace cvtl {
namespace {

namespace fs = boost::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int kMinPerClass = 5;                    // a class needs a few rows in every fold
constexpr std::uint32_t kSampleSalt = 0x70696C6F;  // "pilo": the sample's draw differs from the split's

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

void write_sample_csv(const std::string& path, const Dataset& data, const std::vector<Sample>& sample) {
    std::string text = "path,label\n";
    for (const Sample& s : sample)
        text += csv_field(fs::absolute(data.file(s)).string()) + ',' +
                csv_field(data.classes[static_cast<size_t>(s.label)]) + '\n';
    write_file_atomically(path, text);
}

void check_options(const PilotOptions& o) {
    if (o.output.empty()) throw Error("the pilot needs an {output} directory");
    if (o.images < 2) throw Error("{images} must be at least 2, found " + std::to_string(o.images));
    if (!(o.tolerance >= 0 && o.tolerance <= 1)) throw Error("{tolerance} must be an accuracy difference in [0, 1]");
    if (o.extract.taps.empty())
        throw Error("the pilot needs candidate {taps}, e.g. block1,block2,block3,block4,block5");
    for (const std::string& t : o.extract.taps)
        if (tap_position(t) < 1)
            throw Error(
                "tap '" + t +
                "' cannot be a pilot candidate (a linear probe reads a block's output, fc6, fc7, features or logits); "
                "fix {taps}");
}

std::uint64_t bytes_per_image(const CacheTapInfo& tap, Dtype dtype) {
    std::uint64_t values = 1;
    for (size_t d = 1; d < tap.dims.size(); ++d) values *= tap.dims[d];
    return values * dtype_bytes(dtype);
}

// A trial's best validation accuracy on the first fold. Every probe is trained on that fold (the
// sweep's first rung), but only the leaders go on to more folds, and a mean over five folds cannot
// be compared with one fold's score (the leaders of one fold regress towards their mean on the
// others): taps are compared on the fold they all share.
double first_fold_score(const SweepTrial& t) {
    for (const SweepFold& f : t.folds)
        if (f.fold == 0 && !f.val_accuracy.empty())
            return *std::max_element(f.val_accuracy.begin(), f.val_accuracy.end());
    return std::nan("");
}

// Each candidate tap's best probe on the first fold, its cross-validated score, and its cost.
std::vector<TapEvidence> evidence(const PilotOptions& o, const SweepSummary& sweep, const CacheInfo& cache) {
    // The cache's names, not the ones asked for: a VGG's block3 is stored (and probed) as pool3.
    std::vector<TapEvidence> out;
    for (const CacheTapInfo& cached : cache.taps) {
        const std::string& tap = cached.name;
        TapEvidence e;
        e.tap = tap;
        e.bytes_per_image = bytes_per_image(cached, o.extract.dtype);
        for (const SweepTrial& t : sweep.trials) {
            const double first = first_fold_score(t);
            if (t.candidate.tap != tap || std::isnan(first) || (e.scored && first <= e.score)) continue;
            e.scored = true, e.score = first;
            e.cv_score = t.score, e.spread = std::isnan(t.spread) ? 0 : t.spread;
            e.folds = static_cast<int>(t.folds.size()), e.candidate = t.candidate.name;
        }
        out.push_back(e);
    }
    return out;
}

nlohmann::json summary_json(const PilotOptions& o, const PilotSummary& s) {
    nlohmann::json taps = nlohmann::json::array();
    for (const TapEvidence& t : s.choice.taps)
        taps.push_back({{"tap", t.tap},
                        {"scored", t.scored},
                        {"score", t.score},
                        {"cv_score", t.cv_score},
                        {"spread", t.spread},
                        {"folds", t.folds},
                        {"candidate", t.candidate},
                        {"bytes_per_image", t.bytes_per_image},
                        {"kept", t.kept},
                        {"why", t.why}});
    return {{"format", "cvtl-pilot"},
            {"version", 1},
            {"data", o.extract.data},
            {"model", o.extract.model},
            {"sample_images", s.sample_images},
            {"dataset_images", s.dataset_images},
            {"dtype", to_string(o.extract.dtype)},
            {"tolerance", o.tolerance},
            {"disk_budget", o.disk_budget},
            {"mode", s.mode},
            {"taps", taps},
            {"kept", s.choice.kept},
            {"kept_bytes", s.choice.kept_bytes},
            {"extract_seconds", s.extract_seconds},
            {"sweep_seconds", s.sweep_seconds}};
}

SweepOptions probe_sweep(const PilotOptions& o) {
    SweepOptions s;
    s.cache = o.output + "/pilot.h5";
    s.output = o.output + "/sweep";
    s.model = o.extract.model;
    s.weights = o.extract.weights;
    s.budget_minutes = o.budget_minutes;
    s.folds = o.folds;
    s.only = {"probe"};
    s.threads = o.extract.threads;
    s.seed = o.extract.seed;
    s.force = o.force;
    return s;
}

}  // namespace

std::vector<std::string> default_pilot_taps() {
    std::vector<std::string> taps;
    for (int b = 1; b <= 5; ++b) taps.push_back(tap::block_name(b));  // a VGG's pool1..pool5
    return taps;
}

std::vector<Sample> pilot_sample(const Dataset& data, int images, std::uint32_t seed) {
    std::map<int, std::vector<const Sample*>> by_class;
    size_t labelled = 0;
    for (const Sample& s : data.samples)
        if (s.split != Split::Test) by_class[s.label].push_back(&s), ++labelled;
    std::vector<Sample> out;
    for (auto& [label, members] : by_class) {
        const double share =
            static_cast<double>(images) * static_cast<double>(members.size()) / static_cast<double>(labelled);
        const size_t n =
            std::min(members.size(), std::max<size_t>(kMinPerClass, static_cast<size_t>(std::lround(share))));
        std::stable_sort(members.begin(), members.end(), [&](const Sample* a, const Sample* b) {
            return split_draw(seed ^ kSampleSalt, a->path) < split_draw(seed ^ kSampleSalt, b->path);
        });
        for (size_t i = 0; i < n; ++i) out.push_back(*members[i]);
    }
    return out;
}

PilotSummary run_pilot(const PilotOptions& o, const Events& events) {
    check_options(o);
    boost::system::error_code ec;
    fs::create_directories(o.output, ec);
    if (ec) throw Error("cannot create the pilot directory " + o.output + ": " + ec.message());
    const Dataset data = scan_dataset(
        o.extract.data, {o.extract.val_fraction, o.extract.seed, o.extract.max_image_bytes, o.extract.test_fraction});
    const std::vector<Sample> sample = pilot_sample(data, o.images, o.extract.seed);
    write_sample_csv(o.output + "/sample.csv", data, sample);

    PilotSummary s;
    s.sample_images = static_cast<std::int64_t>(sample.size());
    s.dataset_images = static_cast<std::int64_t>(data.samples.size());
    ExtractOptions e = o.extract;
    e.data = o.output + "/sample.csv";
    e.output = o.output + "/pilot.h5";
    e.dtype = Dtype::f16;  // the pilot's own cache: half the disk of f32 (the sweep trains from f16 taps as from f32)
    e.views = 1, e.update = false, e.shard = 0, e.shards = 0, e.force = o.force;
    auto start = Clock::now();
    run_extraction(e, ExtractEvents(events));
    s.extract_seconds = seconds_since(start);

    SweepEvents sweep_events;
    static_cast<Events&>(sweep_events) = events;
    start = Clock::now();
    const SweepSummary sweep = run_sweep(probe_sweep(o), sweep_events);
    s.sweep_seconds = seconds_since(start);
    s.mode = sweep.mode;
    s.choice = choose_taps(evidence(o, sweep, read_cache_info(e.output)), s.dataset_images, o.tolerance, o.disk_budget);
    write_json_atomically(o.output + "/pilot.json", summary_json(o, s));
    return s;
}

}  // namespace cvtl
