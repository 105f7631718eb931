// cvtl cache FILE: what a cache holds.
#include "tools/cvtl/commands.hpp"

#include "pipeline/cache/cache_info.hpp"

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
    std::printf("model       %s%s (sha256 %.16s...)\n", attr(info, "model_file").c_str(), weights.c_str(), attr(info, "model_sha256").c_str());
    std::printf("dataset     %s: %s of %s entries done, %s samples, %zu skipped\n", attr(info, "dataset").c_str(),
                group_digits(info.consumed).c_str(), group_digits(info.dataset_size).c_str(),
                group_digits(info.rows).c_str(), info.skipped_paths.size());
    std::printf("preprocess  %s\n", attr(info, "preprocess").c_str());
    std::printf("split       %s\n", attr(info, "split").c_str());
    if (info.views > 1)
        std::printf("views       %d per training image (view 0 plain, %s augmented rows in /views, %s): %s\n", info.views, group_digits(info.view_rows).c_str(),
                    human_bytes(static_cast<double>(info.view_bytes)).c_str(), info.augment.c_str());
    std::printf("made        %s by cvtl %s, OpenCV %s\n", attr(info, "created").c_str(), attr(info, "cvtl_version").c_str(),
                attr(info, "opencv_version").c_str());
    std::printf("\n%-7s %-5s %-18s %-16s %-11s %s\n", "tap", "dtype", "shape", "chunk", "stored", "source layer");
    for (const auto& t : info.taps)
        std::printf("%-7s %-5s %-18s %-16s %-11s %s\n", t.name.c_str(), t.dtype.c_str(), dims_text(t.dims).c_str(),
                    dims_text(t.chunk).c_str(), human_bytes(static_cast<double>(t.stored_bytes)).c_str(), t.layer.c_str());
    std::printf("\n%-20s %8s %8s %8s\n", "class", "train", "val", "test");
    for (size_t c = 0; c < info.classes.size(); ++c)
        std::printf("%-20s %8lld %8lld %8lld\n", info.classes[c].c_str(), static_cast<long long>(info.counts[c][0]),
                    static_cast<long long>(info.counts[c][1]), static_cast<long long>(info.counts[c][2]));
    for (size_t i = 0; i < info.skipped_paths.size(); ++i)
        std::printf("skipped     %s: %s\n", info.skipped_paths[i].c_str(), info.skipped_reasons[i].c_str());
}

}  // namespace

void add_cache(CLI::App& app) {
    auto path = std::make_shared<std::string>();
    CLI::App* cmd = app.add_subcommand("cache", "Show what an activation cache holds");
    cmd->add_option("CACHE", *path, "Cache file written by cvtl extract")->required();
    cmd->callback([path] { run(*path); });
}

}  // namespace cvtl::cli
