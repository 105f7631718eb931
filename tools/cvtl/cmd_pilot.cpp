// cvtl pilot MODEL DATA -o DIR: which taps to cache, measured on a sample (pipeline/train/tap_pilot.hpp).
#include "tools/cvtl/commands.hpp"

#include "pipeline/train/tap_pilot.hpp"
#include "plugin/thread_policy.hpp"
#include "tools/cvtl/engine_flags.hpp"
#include "tools/cvtl/named_option.hpp"
#include "tools/cvtl/progress.hpp"

#include <cstdio>
#include <memory>
#include <sstream>

namespace cvtl::cli {
namespace {

struct PilotArgs {
    PilotOptions options;
    std::string taps;  // empty: default_pilot_taps()
    double disk_budget_gib = 0;
};

std::vector<std::string> split_taps(const std::string& text) {
    std::vector<std::string> items;
    std::stringstream in(text);
    for (std::string item; std::getline(in, item, ',');)
        if (!item.empty()) items.push_back(item);
    return items;
}

void print_choice(const PilotOptions& o, const PilotSummary& s) {
    std::printf("pilot: %lld of %lld images, probes scored on %s (extraction %.1f s, sweep %.1f s)\n",
                static_cast<long long>(s.sample_images), static_cast<long long>(s.dataset_images), s.mode.c_str(),
                s.extract_seconds, s.sweep_seconds);
    std::printf("\n%-7s %-7s %-15s %-12s %-12s %s\n", "tap", "fold 1", "CV (folds)", "per image", "all images",
                "kept?");
    for (const TapEvidence& t : s.choice.taps) {
        const double all = static_cast<double>(t.bytes_per_image) * static_cast<double>(s.dataset_images);
        const std::string score = t.scored ? std::to_string(t.score).substr(0, 6) : "-";
        char cv[48] = "-";
        if (t.scored) std::snprintf(cv, sizeof cv, "%.4f (%d)", t.cv_score, t.folds);
        std::printf("%-7s %-7s %-15s %-12s %-12s %s: %s\n", t.tap.c_str(), score.c_str(), cv,
                    human_bytes(static_cast<double>(t.bytes_per_image)).c_str(), human_bytes(all).c_str(),
                    t.kept ? "yes" : "no", t.why.c_str());
    }
    std::string taps;
    for (const std::string& t : s.choice.kept) taps += (taps.empty() ? "" : ",") + t;
    std::printf("\nkeep %s: %s for %lld images (%s); then:\n  cvtl extract %s %s -o CACHE.h5 --taps %s%s\n",
                taps.c_str(), human_bytes(static_cast<double>(s.choice.kept_bytes)).c_str(),
                static_cast<long long>(s.dataset_images), to_string(o.extract.dtype), o.extract.model.c_str(),
                o.extract.data.c_str(), taps.c_str(), o.extract.dtype == Dtype::f16 ? " --dtype f16" : "");
    std::printf("evidence in %s/pilot.json; the probes' ranking in %s/sweep/sweep.md\n", o.output.c_str(),
                o.output.c_str());
}

void run(PilotArgs& args) {
    PilotOptions& o = args.options;
    o.extract.taps = args.taps.empty() ? default_pilot_taps() : split_taps(args.taps);
    if (args.disk_budget_gib < 0) throw Error("{disk-budget} must be 0 (none) or a positive number of GiB");
    o.disk_budget = static_cast<std::uint64_t>(args.disk_budget_gib * 1024.0 * 1024.0 * 1024.0);
    // Two kinds of work, each counted in its own unit: the extraction's images, the sweep's trainings.
    TerminalEvents extraction, sweep("sweep ", "trainings");
    Events events = extraction.events();
    events.progress = [&, images = extraction.events(), trainings = sweep.events()](const JobProgress& p) {
        if (p.stage == "extract") return images.report(p);
        extraction.finish();
        trainings.report(p);
    };
    const ThreadPolicy policy(o.extract.threads);
    const PilotSummary s = run_pilot(o, events);
    extraction.finish();
    sweep.finish();
    print_choice(o, s);
}

}  // namespace

void add_pilot(CLI::App& app) {
    auto args = std::make_shared<PilotArgs>();
    PilotOptions& o = args->options;
    CLI::App* cmd = app.add_subcommand(
        "pilot", "Measure which taps are worth caching on a sample of the data, before extracting them all");
    cmd->add_option("MODEL", o.extract.model, "Source model (.onnx, or a Caffe .prototxt)")->required();
    cmd->add_option("DATA", o.extract.data,
                    "Class-per-folder tree or CSV, as cvtl extract takes it (test samples are left out)")
        ->required();
    cmd->add_option("-o,--output", o.output, "Pilot directory (sample.csv, pilot.h5, sweep/, pilot.json)")->required();
    cmd->add_option("--images", o.images, "Labelled images in the sample, split over the classes by their sizes")
        ->capture_default_str();
    cmd->add_option("--taps", args->taps,
                    "Candidate taps, each scored by a linear probe (default: the five block outputs, block1..block5; "
                    "a VGG's pool1..pool5)");
    cmd->add_option("--tolerance", o.tolerance, "Keep taps whose probe scores at most this far below the best")
        ->capture_default_str();
    cmd->add_option("--disk-budget", args->disk_budget_gib,
                    "GiB the kept taps may take for the whole dataset (0: no limit)")
        ->capture_default_str();
    add_named_option(cmd, "--dtype", o.extract.dtype, parse_dtype,
                     "Storage type the whole extraction will use (f32 or f16); the sizes reported are in it");
    cmd->add_option("--budget", o.budget_minutes, "Minutes for the probe sweep")->capture_default_str();
    cmd->add_option("--folds", o.folds, "Cross-validation folds of the probe sweep (0: auto)")->capture_default_str();
    add_named_option(cmd, "--preset", o.extract.preset, parse_preset, "Preprocessing: torchvision, caffe or raw");
    cmd->add_option("--size", o.extract.size, "Input size S (default: the model's declared size)");
    cmd->add_option("--batch", o.extract.batch, "Images per forward pass")->capture_default_str();
    add_threads_option(cmd, o.extract.threads, "Threads (0: every core)");
    cmd->add_option("--seed", o.extract.seed, "Seed of the sample, the split and the folds")->capture_default_str();
    add_weights_option(cmd, o.extract.weights);
    cmd->add_flag("--force", o.force, "Start over in a directory that holds another pilot");
    cmd->callback([args] { run(*args); });
}

}  // namespace cvtl::cli
