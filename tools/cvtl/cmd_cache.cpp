// cvtl cache FILE: what a cache holds. cvtl cache merge CACHE.h5 SHARDS...: one cache over shards.
// cvtl cache pack CACHE.h5: a cache of mapped rows as one self-contained file.
#include "tools/cvtl/commands.hpp"

#include "pipeline/cache/cache_info.hpp"
#include "pipeline/cache/cache_merge.hpp"
#include "pipeline/cache/cache_pack.hpp"

#include <algorithm>
#include <cstdio>
#include <memory>

namespace cvtl::cli {
namespace {

std::string dims_text(const std::vector<std::uint64_t>& dims) {
    std::string s;
    for (size_t i = 0; i < dims.size(); ++i) s += (i ? "x" : "") + std::to_string(dims[i]);
    return s;
}

std::string attr(const CacheInfo& info, const char* name) {
    if (!info.attributes.contains(name)) return "?";
    const auto& v = info.attributes.at(name);
    return v.is_string() ? v.get<std::string>() : v.dump();
}

void run(const std::string& path) {
    const CacheInfo info = read_cache_info(path);
    std::printf("cache       %s (cvtl-cache v%s, %s)\n", path.c_str(), attr(info, "version").c_str(),
                info.complete ? "complete" : "UNFINISHED: re-run the same extract command to resume");
    const std::string weights = info.attributes.contains("model_weights") ? " + " + attr(info, "model_weights") : "";
    std::printf("model       %s%s (sha256 %.16s...)\n", attr(info, "model_file").c_str(), weights.c_str(),
                attr(info, "model_sha256").c_str());
    std::printf("dataset     %s: %s of %s entries done, %s samples, %zu skipped\n", attr(info, "dataset").c_str(),
                group_digits(info.consumed).c_str(), group_digits(info.dataset_size).c_str(),
                group_digits(info.rows).c_str(), info.skipped_paths.size());
    std::printf("preprocess  %s\n", attr(info, "preprocess").c_str());
    std::printf("split       %s\n", attr(info, "split").c_str());
    if (!info.shards.empty()) {
        std::printf("shards      %zu, read through HDF5 virtual datasets (relative to the cache):", info.shards.size());
        for (const auto& s : info.shards) std::printf(" %s", s.c_str());
        std::printf("\n");
    }
    if (!info.segments.empty()) {
        // Only the directory is shown: a long extraction maps thousands of segments.
        const std::string& first = info.segments.front();
        std::printf(
            "rows        in %zu segment files under %s/ (HDF5 virtual datasets; the directory travels with "
            "the cache)\n",
            info.segments.size(), first.substr(0, first.find('/')).c_str());
    }
    constexpr size_t kShown = 5;  // a long extraction maps thousands of segments
    for (size_t i = 0; i < std::min(kShown, info.missing_files.size()); ++i)
        std::printf("MISSING     %s: its rows read as zeros; put it back beside the cache\n",
                    info.missing_files[i].c_str());
    if (info.missing_files.size() > kShown)
        std::printf("MISSING     ... and %zu more\n", info.missing_files.size() - kShown);
    if (info.attributes.contains("shard") && info.attributes["shard"].is_object()) {
        const auto& s = info.attributes["shard"];
        std::printf("shard       %s of %s: entries %s..%s of a %s-entry dataset (merge with cvtl cache merge)\n",
                    s.value("index", nlohmann::json()).dump().c_str(),
                    s.value("count", nlohmann::json()).dump().c_str(),
                    s.value("begin", nlohmann::json()).dump().c_str(), s.value("end", nlohmann::json()).dump().c_str(),
                    s.value("dataset_size", nlohmann::json()).dump().c_str());
    }
    if (info.views > 1)
        std::printf("views       %d per training image (view 0 plain, %s augmented rows in /views, %s): %s\n",
                    info.views, group_digits(info.view_rows).c_str(),
                    human_bytes(static_cast<double>(info.view_bytes)).c_str(), info.augment.c_str());
    std::printf("made        %s by cvtl %s, OpenCV %s\n", attr(info, "created").c_str(),
                attr(info, "cvtl_version").c_str(), attr(info, "opencv_version").c_str());
    std::printf("\n%-7s %-5s %-18s %-16s %-11s %s\n", "tap", "dtype", "shape", "chunk", "stored", "source layer");
    for (const auto& t : info.taps)
        std::printf("%-7s %-5s %-18s %-16s %-11s %s\n", t.name.c_str(), to_string(t.dtype), dims_text(t.dims).c_str(),
                    dims_text(t.chunk).c_str(), human_bytes(static_cast<double>(t.stored_bytes)).c_str(),
                    t.layer.c_str());
    std::printf("\n%-20s %8s %8s %8s\n", "class", "train", "val", "test");
    for (size_t c = 0; c < info.classes.size(); ++c)
        std::printf("%-20s %8lld %8lld %8lld\n", info.classes[c].c_str(), static_cast<long long>(info.counts[c][0]),
                    static_cast<long long>(info.counts[c][1]), static_cast<long long>(info.counts[c][2]));
    for (size_t i = 0; i < info.skipped_paths.size(); ++i)
        std::printf("skipped     %s: %s\n", info.skipped_paths[i].c_str(), info.skipped_reasons[i].c_str());
}

void merge(const MergeOptions& o) {
    const MergeSummary s = merge_shards(o);
    std::printf("merged %d shards into %s: %s samples, %s skipped, %s view rows; %s (%s)\n", s.shards, o.output.c_str(),
                group_digits(s.rows).c_str(), group_digits(s.skipped).c_str(), group_digits(s.view_rows).c_str(),
                human_bytes(static_cast<double>(s.bytes)).c_str(),
                o.copy ? "a self-contained copy" : "virtual datasets over the shards: keep them beside it");
}

struct PackArgs {
    std::string cache, output;
    bool force = false;
};

void pack(const PackArgs& a) {
    const std::string output = a.output.empty() ? a.cache : a.output;
    const PackSummary s = pack_cache(a.cache, output, a.force);
    std::printf("packed %s samples and %s view rows from %d files into %s (%s, self-contained)\n",
                group_digits(s.rows).c_str(), group_digits(s.view_rows).c_str(), s.files, output.c_str(),
                human_bytes(static_cast<double>(s.bytes)).c_str());
}

void add_pack(CLI::App* cmd) {
    auto args = std::make_shared<PackArgs>();
    CLI::App* p = cmd->add_subcommand(
        "pack", "Copy a cache whose rows live in other files (segments, shards) into one self-contained file");
    p->add_option("CACHE", args->cache, "The cache to pack")->required();
    p->add_option("-o,--output", args->output, "Write here instead of replacing CACHE");
    p->add_flag("--force", args->force, "Replace an existing OUTPUT");
    p->callback([args] { pack(*args); });
}

}  // namespace

void add_cache(CLI::App& app) {
    auto path = std::make_shared<std::string>();
    CLI::App* cmd = app.add_subcommand(
        "cache",
        "Show what an activation cache holds (or: cvtl cache merge CACHE.h5 SHARDS..., cvtl cache pack CACHE.h5)");
    cmd->add_option("CACHE", *path, "Cache file written by cvtl extract");
    auto merge_options = std::make_shared<MergeOptions>();
    CLI::App* m =
        cmd->add_subcommand("merge", "Write one cache over the shards of a sharded extraction (extract --shard K/N)");
    m->add_option("CACHE", merge_options->output, "The cache to write")->required();
    m->add_option("SHARDS", merge_options->shards, "Every shard file, e.g. CACHE.h5.shards/rank-*-of-N.h5")->required();
    m->add_flag("--copy", merge_options->copy,
                "Copy the rows into one self-contained file instead of virtual datasets over the shards");
    m->add_flag("--force", merge_options->force, "Replace an existing CACHE");
    m->callback([merge_options] { merge(*merge_options); });
    add_pack(cmd);
    cmd->callback([cmd, path] {
        if (cmd->got_subcommand("merge") || cmd->got_subcommand("pack")) return;
        if (path->empty()) throw CLI::RequiredError("CACHE");
        run(*path);
    });
}

}  // namespace cvtl::cli
