// cvtl extract MODEL DATA -o CACHE.h5: run the frozen network once and cache its taps in HDF5.
#include "tools/cvtl/commands.hpp"

#include "pipeline/cache/extractor.hpp"
#include "pipeline/cache/shards.hpp"
#include "tools/cvtl/engine_flags.hpp"
#include "tools/cvtl/named_option.hpp"
#include "tools/cvtl/progress.hpp"
#include "pipeline/core/error.hpp"
#include "plugin/thread_policy.hpp"

#include <cstdio>
#include <memory>
#include <sstream>

namespace cvtl::cli {
namespace {

struct ExtractArgs {
    ExtractOptions options;
    std::string taps, mean, std, shard;
};

std::vector<std::string> split_list(const std::string& text) {
    std::vector<std::string> items;
    std::stringstream in(text);
    std::string item;
    while (std::getline(in, item, ','))
        if (!item.empty()) items.push_back(item);
    return items;
}

void run(ExtractArgs& args) {
    ExtractOptions& o = args.options;
    o.taps = split_list(args.taps);
    if (!args.mean.empty()) o.mean = parse_triplet(args.mean, "--mean");
    if (!args.std.empty()) o.std = parse_triplet(args.std, "--std");
    if (!args.shard.empty()) {
        const ShardRef shard = parse_shard(args.shard);
        o.shard = shard.index, o.shards = shard.count;
    }

    o.comm = Communicator::world();
    TerminalEvents terminal;
    const ThreadPolicy policy(o.threads);
    ExtractEvents events(rank_events(terminal.events(), o.comm));
    events.planned = [&](const ExtractPlan& p) {
        if (!o.comm.root()) return;
        const std::string views = p.views > 1 ? " (" + group_digits(p.train_images) + " training images x " +
                                                    std::to_string(p.views) + " views)"
                                              : "";
        // Under mpirun the plan is rank 0's shard: the job's is N times about that.
        const std::string whose = o.comm.distributed() ? "shard 0 of " + std::to_string(o.comm.size()) + ": " : "";
        std::printf("%scache: %s images, %s tap rows%s, about %s of activations%s\n", whose.c_str(),
                    group_digits(p.images).c_str(), group_digits(p.rows).c_str(), views.c_str(),
                    human_bytes(static_cast<double>(p.bytes)).c_str(), o.compress ? " before compression" : "");
        std::string taps;
        std::uint64_t row = 0;
        for (const auto& [name, bytes] : p.tap_row_bytes) {
            taps += (taps.empty() ? "" : ", ") + name + " " + human_bytes(static_cast<double>(bytes));
            row += bytes;
        }
        // What each tap costs decides which taps are worth caching; the peak disk use includes any final copy.
        std::printf("per row: %s (%s in all); disk: up to %s more during extraction, %s free\n", taps.c_str(),
                    human_bytes(static_cast<double>(row)).c_str(),
                    human_bytes(static_cast<double>(p.disk_needed)).c_str(),
                    human_bytes(static_cast<double>(p.disk_free)).c_str());
        std::fflush(stdout);
    };
    const ExtractSummary s = run_extraction(o, events);
    terminal.finish();
    if (!o.comm.root()) return;
    if (s.ranks > 1) {
        std::printf(
            "%s %s images (%s skipped%s) on %d ranks in %.1f s into %s shards; %s: virtual datasets over %s.shards/ "
            "[%s]\n",
            s.already_complete ? "all shards were complete:" : "extracted", group_digits(s.images).c_str(),
            group_digits(s.skipped).c_str(),
            s.resumed_from ? (", resumed after " + group_digits(s.resumed_from)).c_str() : "", s.ranks, s.seconds,
            std::to_string(s.ranks).c_str(), o.output.c_str(), o.output.c_str(), s.backend.c_str());
        return;
    }
    if (s.updated && s.already_complete) {
        std::printf("%s is up to date with %s (%s samples); nothing to do\n", o.output.c_str(), o.data.c_str(),
                    group_digits(s.rows).c_str());
        return;
    }
    if (s.updated) {
        std::printf(
            "updated %s in %.1f s: %s rows kept, %s dropped, %s images extracted (%s skipped%s); %s samples now [%s]\n",
            o.output.c_str(), s.seconds, group_digits(s.reused).c_str(), group_digits(s.removed).c_str(),
            group_digits(s.images).c_str(), group_digits(s.skipped).c_str(),
            s.resumed_from ? (", resumed after " + group_digits(s.resumed_from)).c_str() : "",
            group_digits(s.rows).c_str(), s.backend.c_str());
        return;
    }
    if (s.already_complete) {
        std::printf("%s is already complete (%s samples); nothing to do (pass --force to extract again)\n",
                    s.output.c_str(), group_digits(s.rows).c_str());
        return;
    }
    const double rate = s.seconds > 0 ? static_cast<double>(s.images + s.skipped) / s.seconds : 0.0;
    // The network's steady time per image (batches after the first, which pays one-off costs): the
    // figure tools/bench/guard_extract.sh compares between engines.
    char steady[64] = "";
    if (s.steady_images > 0)
        std::snprintf(steady, sizeof steady, ", %.2f ms/image after the first batch",
                      1000.0 * s.steady_network_seconds / static_cast<double>(s.steady_images));
    char joined[96] = "";
    if (s.segments > 1 && s.rows_dir.empty())
        std::snprintf(joined, sizeof joined, ", %lld segments copied into one file in %.1f s",
                      static_cast<long long>(s.segments), s.assembly_seconds);
    // A mapped cache is two things on disk: say so where the user reads what was written.
    char mapped[32];
    std::snprintf(mapped, sizeof mapped, "/ (mapped in %.2f s)", s.assembly_seconds);
    const std::string rows = s.rows_dir.empty() ? ""
                                                : "; its rows stay in " + std::to_string(s.segments) +
                                                      " segment files in " + s.rows_dir + mapped +
                                                      ", which must stay beside it (or extract with --single-file)";
    std::printf(
        "extracted %s images (%s skipped%s) in %.1f s, %.1f images/s, %s written to %s [%s, network busy "
        "%.0f%%%s%s]%s\n",
        group_digits(s.images).c_str(), group_digits(s.skipped).c_str(),
        s.resumed_from ? (", resumed after " + group_digits(s.resumed_from)).c_str() : "", s.seconds, rate,
        human_bytes(static_cast<double>(s.bytes_written)).c_str(), s.output.c_str(), s.backend.c_str(),
        s.seconds > 0 ? 100.0 * s.network_seconds / s.seconds : 0.0, steady, joined, rows.c_str());
}

}  // namespace

void add_extract(CLI::App& app) {
    auto args = std::make_shared<ExtractArgs>();
    ExtractOptions& o = args->options;
    CLI::App* cmd = app.add_subcommand("extract",
                                       "Run the source model over a dataset and cache tap activations in HDF5 "
                                       "(re-running on an unfinished cache resumes it)");
    cmd->add_option("MODEL", o.model, "Source model (.onnx, or a Caffe .prototxt)")->required();
    cmd->add_option("DATA", o.data, "Class-per-folder tree DATA/<class>/<image>, or a CSV of path,label[,split]")
        ->required();
    cmd->add_option("-o,--output", o.output, "Cache file to write (HDF5)")->required();
    cmd->add_option("--taps", args->taps,
                    "Comma-separated taps. A VGG: input,pool1..pool5 (or block1..block5),fc6,fc7,logits; "
                    "another backbone: input,block1..block5,features,logits (default: blocks 4 and 5)")
        ->capture_default_str();
    add_named_option(cmd, "--preset", o.preset, parse_preset, "Preprocessing: torchvision, caffe or raw");
    cmd->add_option("--size", o.size, "Input size S (default: the model's declared size)");
    cmd->add_option("--mean", args->mean, "Override the preset's mean A,B,C (its channel order and scale)");
    cmd->add_option("--std", args->std, "Override the preset's std A,B,C");
    cmd->add_option("--batch", o.batch, "Images per forward pass")->capture_default_str();
    add_threads_option(
        cmd, o.threads,
        "Threads for decoding and the network, per rank under mpirun (0: every core, shared by a node's ranks)");
    add_engine_options(cmd, o.engine, o.precision, o.backend, "f32, or bf16 on CPUs with AVX512-BF16 (onednn engine)",
                       "cpu, opencl, cuda or cuda-fp16 (unavailable ones fall back to cpu)");
    add_named_option(cmd, "--dtype", o.dtype, parse_dtype, "Storage type of the cached taps: f32 or f16");
    cmd->add_flag("--compress", o.compress, "Store taps with shuffle+deflate (smaller, slower)");
    cmd->add_option("--val-fraction", o.val_fraction, "Validation share per class when the data gives no split")
        ->capture_default_str();
    cmd->add_option("--test-fraction", o.test_fraction,
                    "Held-out test share per class when the data gives no split (train and sweep never read it; "
                    "cvtl evaluate MODEL CACHE scores it)")
        ->capture_default_str();
    cmd->add_option("--seed", o.seed, "Seed of the train/val split and of the augmented views")->capture_default_str();
    cmd->add_option(
           "--views", o.views,
           "Views cached per training image: view 0 plain, 1..K-1 augmented (train and sweep draw one per epoch)")
        ->capture_default_str();
    cmd->add_option("--augment", o.augment,
                    "Augmentation SPEC of the views, e.g. "
                    "flip=0.5,crop=0.25-1:0.75-1.333,rotate=10,jitter=0.4:0.4:0.4, or default")
        ->capture_default_str();
    add_max_image_option(cmd, o.max_image_bytes);
    add_weights_option(cmd, o.weights);
    cmd->add_flag("--force", o.force, "Replace an existing cache instead of resuming it");
    cmd->add_flag("--single-file", o.single_file,
                  "Copy the rows of a run that wrote several segments into OUTPUT itself (by default OUTPUT maps them "
                  "where they were written, in OUTPUT.rows-*/, which must stay beside it)");
    cmd->add_option("--shard", args->shard,
                    "Extract only shard K/N (contiguous K-th of N parts, into OUTPUT.shards/rank-K-of-N.h5); then cvtl "
                    "cache merge OUTPUT SHARDS...");
    cmd->add_flag("--update", o.update,
                  "Bring a complete cache up to date with DATA: extract new and changed files only, drop rows of files "
                  "that are gone");
    cmd->callback([args] { run(*args); });
}

}  // namespace cvtl::cli
