#include "pipeline/cache/shards.hpp"

#include "pipeline/core/error.hpp"

#include <boost/filesystem.hpp>

#include <regex>

namespace cvtl {
namespace {

constexpr int kMaxShards = 65536;

int parse_count(const std::string& text, const std::string& whole) {
    if (text.empty() || text.size() > 6 || text.find_first_not_of("0123456789") != std::string::npos)
        throw Error("{shard} '" + whole + "': expected K/N with whole numbers, e.g. 0/4");
    return std::stoi(text);
}

}  // namespace

ShardRef parse_shard(const std::string& text) {
    const auto slash = text.find('/');
    if (slash == std::string::npos)
        throw Error("{shard} '" + text + "': expected K/N, e.g. 0/4 for the first of four shards");
    ShardRef s{parse_count(text.substr(0, slash), text), parse_count(text.substr(slash + 1), text)};
    if (s.count < 1 || s.count > kMaxShards || s.index >= s.count)
        throw Error("{shard} '" + text + "': K must be in 0..N-1 and N in 1.." + std::to_string(kMaxShards));
    return s;
}

std::string shards_dir(const std::string& cache) { return cache + ".shards"; }

std::string shard_path(const std::string& cache, const ShardRef& shard) {
    return shards_dir(cache) + "/rank-" + std::to_string(shard.index) + "-of-" + std::to_string(shard.count) + ".h5";
}

std::pair<std::int64_t, std::int64_t> shard_range(std::int64_t total, const ShardRef& shard) {
    // total < 2^47 (a dataset held in memory) and count <= 2^16: the products cannot overflow.
    return {total * shard.index / shard.count, total * (shard.index + 1) / shard.count};
}

void check_shard_count(const std::string& cache, const ShardRef& shard) {
    namespace fs = boost::filesystem;
    const std::string dir = shards_dir(cache);
    if (!fs::exists(dir)) return;
    static const std::regex name(R"(rank-(\d+)-of-(\d+)\.h5(\.parts)?)");
    for (fs::directory_iterator it(dir), end; it != end; ++it) {
        std::smatch m;
        const std::string file = it->path().filename().string();
        if (std::regex_match(file, m, name) && std::stoll(m[2].str()) != shard.count)
            throw Error(dir + " holds shards of a " + m[2].str() + "-way extraction (" + file + "), not " +
                        std::to_string(shard.count) + "-way; re-run with " + m[2].str() + " shards, or remove " + dir +
                        " to start over with " + std::to_string(shard.count));
    }
}

nlohmann::json ShardRecord::to_json() const {
    return {{"index", shard.index},
            {"count", shard.count},
            {"begin", begin},
            {"end", end},
            {"dataset_fingerprint", dataset_fingerprint},
            {"dataset_size", dataset_size}};
}

ShardRecord ShardRecord::from_json(const nlohmann::json& j, const std::string& source) {
    const auto bad = [&](const std::string& what) {
        return Error(source + ": its shard record " + what + "; the file is damaged or not a shard");
    };
    if (!j.is_object()) throw bad("is missing");
    for (const char* key : {"index", "count", "begin", "end", "dataset_size"})
        if (!j.contains(key) || !j[key].is_number_integer()) throw bad(std::string("has no integer ") + key);
    if (!j.contains("dataset_fingerprint") || !j["dataset_fingerprint"].is_string())
        throw bad("has no dataset fingerprint");
    ShardRecord r;
    const auto count = j["count"].get<std::int64_t>(), index = j["index"].get<std::int64_t>();
    if (count < 1 || count > kMaxShards || index < 0 || index >= count)
        throw bad("names shard " + std::to_string(index) + " of " + std::to_string(count));
    r.shard = {static_cast<int>(index), static_cast<int>(count)};
    r.begin = j["begin"].get<std::int64_t>(), r.end = j["end"].get<std::int64_t>(),
    r.dataset_size = j["dataset_size"].get<std::int64_t>();
    r.dataset_fingerprint = j["dataset_fingerprint"].get<std::string>();
    if (r.dataset_size < 0 || r.dataset_size >= (std::int64_t{1} << 47) ||
        std::make_pair(r.begin, r.end) != shard_range(r.dataset_size, r.shard))
        throw bad("has a row range that is not shard " + std::to_string(index) + " of " + std::to_string(count) +
                  " of its dataset");
    return r;
}

}  // namespace cvtl
