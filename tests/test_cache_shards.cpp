// Sharded extraction (extract --shard K/N) and `cache merge`: the merged cache, virtual or copied,
// holds exactly what one process would have written, and reads as one cache.
#include "pipeline/cache/cache_format.hpp"
#include "pipeline/cache/cache_info.hpp"
#include "pipeline/cache/cache_merge.hpp"
#include "pipeline/cache/cache_reader.hpp"
#include "pipeline/cache/extractor.hpp"
#include "pipeline/cache/shards.hpp"
#include "pipeline/train/batch_stream.hpp"
#include "pipeline/core/error.hpp"
#include "support/fixtures.hpp"
#include "support/reference.hpp"
#include "support/subprocess.hpp"

#include <doctest/doctest.h>

#include <H5Cpp.h>
#include <boost/filesystem.hpp>

using namespace cvtl;
namespace fs = boost::filesystem;

namespace {

ExtractOptions shard_options(const std::string& data, const std::string& output, int shard, int shards) {
    ExtractOptions o;
    o.model = test::fixture("tiny_vgg16.onnx");
    o.data = data;
    o.output = output;
    o.taps = {"input", "pool5"};
    o.size = 32;
    o.batch = 1;  // batches of one: the same sums in any split of the rows
    o.threads = 2;
    o.val_fraction = 0.3;
    o.views = 2;
    o.augment = "flip=1";
    o.shard = shard;
    o.shards = shards;
    return o;
}

// 36 images and one undecodable file.
std::string make_tree(const test::TempDir& dir) {
    const std::string data = test::make_image_tree(dir.path(), 3);
    test::write_file(data + "/dog/broken.png", "not a png");
    return data;
}

std::vector<std::string> extract_shards(const std::string& data, const std::string& cache, int n) {
    std::vector<std::string> paths;
    for (int k = 0; k < n; ++k) {
        run_extraction(shard_options(data, cache, k, n), {});
        paths.push_back(shard_path(cache, {k, n}));
    }
    return paths;
}

void check_same_cache(const std::string& a, const std::string& b) {
    for (const char* d :
         {cache::kSamplesPath, cache::kSamplesSha256, cache::kSkippedPath, cache::kSkippedReason, cache::kClasses}) {
        CAPTURE(d);
        CHECK(test::read_string_list(a, d) == test::read_string_list(b, d));
    }
    for (const char* d :
         {cache::kSamplesLabel, cache::kSamplesSplit, cache::kSamplesSize, cache::kSamplesMtime, cache::kViewsSample,
          cache::kViewsIndex, "/taps/input", "/taps/pool5", "/views/taps/input", "/views/taps/pool5"}) {
        CAPTURE(d);
        const cv::Mat x = test::read_tensor(a, d), y = test::read_tensor(b, d);
        REQUIRE(x.total() == y.total());
        CHECK(test::diff(x, y).max_abs == 0);
    }
    const CacheInfo ia = read_cache_info(a), ib = read_cache_info(b);
    CHECK(ia.rows == ib.rows);
    CHECK(ia.consumed == ib.consumed);
    CHECK(ia.view_rows == ib.view_rows);
    CHECK(ia.counts == ib.counts);
    CHECK(ia.attributes.at(cache::kAttrDatasetFingerprint) == ib.attributes.at(cache::kAttrDatasetFingerprint));
}

}  // namespace

TEST_SUITE("unit") {
    TEST_CASE("shards merged into virtual datasets or copied hold what one process writes") {
        test::TempDir dir;
        const std::string data = make_tree(dir);
        ExtractOptions single = shard_options(data, dir / "single.h5", 0, 0);
        run_extraction(single, {});
        const auto shards = extract_shards(data, dir / "c.h5", 3);
        CHECK(fs::exists(dir / "c.h5.shards/rank-2-of-3.h5"));

        const MergeSummary s =
            merge_shards({dir / "c.h5", {shards[2], shards[0], shards[1]}, false, false});  // any order
        CHECK(s.shards == 3);
        check_same_cache(dir / "single.h5", dir / "c.h5");
        const CacheInfo info = read_cache_info(dir / "c.h5");
        CHECK(info.shards == std::vector<std::string>{"c.h5.shards/rank-0-of-3.h5", "c.h5.shards/rank-1-of-3.h5",
                                                      "c.h5.shards/rank-2-of-3.h5"});
        CHECK(fs::file_size(dir / "c.h5") < fs::file_size(shards[0]));  // no tap is copied
        {
            const H5::H5File file(dir / "c.h5", H5F_ACC_RDONLY);
            CHECK(file.openDataSet("/taps/pool5").getCreatePlist().getLayout() == H5D_VIRTUAL);
        }

        // Read as one cache, from another directory (the shards resolve relative to the cache).
        fs::create_directories(dir / "elsewhere");
        fs::rename(dir / "c.h5", dir / "elsewhere/c.h5");
        fs::rename(dir / "c.h5.shards", dir / "elsewhere/c.h5.shards");
        CacheReader merged(dir / "elsewhere/c.h5", "pool5"), plain(dir / "single.h5", "pool5");
        CHECK(test::diff(merged.read_rows(0, merged.rows()), plain.read_rows(0, plain.rows())).max_abs == 0);
        CHECK(merged.views() == 2);
        BatchStream stream(merged, 0, 4, true, 1, 1 << 20);
        stream.start_epoch(0);
        std::int64_t rows = 0;
        for (Batch b; stream.next(b);) rows += static_cast<std::int64_t>(b.rows.size());
        CHECK(rows == info.counts[0][0] + info.counts[1][0] + info.counts[2][0]);

        std::vector<std::string> moved;
        for (int k = 0; k < 3; ++k) moved.push_back(shard_path(dir / "elsewhere/c.h5", {k, 3}));
        merge_shards({dir / "copy.h5", moved, true, false});  // --copy: self-contained
        const auto copied = dir / "copy.h5";
        fs::rename(dir / "elsewhere", dir / "gone");
        check_same_cache(dir / "single.h5", copied);
        CHECK(read_cache_info(copied).shards.empty());
    }

    TEST_CASE(
        "shards of another count - missing or repeated shards - and a merged cache without its shards are refused") {
        test::TempDir dir;
        const std::string data = make_tree(dir);
        const auto shards = extract_shards(data, dir / "c.h5", 2);
        CHECK_THROWS_WITH_AS(run_extraction(shard_options(data, dir / "c.h5", 1, 3), {}),
                             doctest::Contains("holds shards of a 2-way extraction"), Error);
        CHECK_THROWS_WITH_AS(merge_shards({dir / "m.h5", {shards[0]}, false, false}),
                             doctest::Contains("1 of the 2 shards are missing"), Error);
        CHECK_THROWS_WITH_AS(merge_shards({dir / "m.h5", {shards[0], shards[0]}, false, false}),
                             doctest::Contains("named twice"), Error);
        run_extraction(shard_options(data, dir / "other.h5", 0, 0), {});
        CHECK_THROWS_WITH_AS(merge_shards({dir / "m.h5", {shards[0], dir / "other.h5"}, false, false}),
                             doctest::Contains("is not a shard"), Error);
        CHECK_THROWS_WITH_AS(parse_shard("2/2"), doctest::Contains("K must be in 0..N-1"), Error);
        CHECK_THROWS_WITH_AS(parse_shard("1"), doctest::Contains("expected K/N"), Error);

        merge_shards({dir / "m.h5", shards, false, false});
        CHECK_THROWS_WITH_AS(merge_shards({dir / "m.h5", shards, false, false}),
                             doctest::Contains("exists; pass 'force'"), Error);
        fs::remove(shards[1]);
        CHECK(read_cache_info(dir / "m.h5").missing_files == std::vector<std::string>{"c.h5.shards/rank-1-of-2.h5"});
        CHECK_THROWS_WITH_AS(CacheReader(dir / "m.h5", "pool5"), doctest::Contains("1 of them are missing"), Error);
    }

    TEST_CASE("cvtl extract --shard and cvtl cache merge on the command line") {
        test::TempDir dir;
        const std::string data = make_tree(dir);
        for (const char* shard : {"0/2", "1/2"}) {
            const auto r = test::run_cvtl({"extract", test::fixture("tiny_vgg16.onnx"), data, "-o", dir / "c.h5",
                                           "--taps", "pool5", "--size", "32", "--shard", shard});
            INFO(r.err);
            REQUIRE(r.exit_code == 0);
            CHECK(r.out.find("c.h5.shards/rank-") != std::string::npos);
        }
        const auto m = test::run_cvtl(
            {"cache", "merge", dir / "c.h5", dir / "c.h5.shards/rank-0-of-2.h5", dir / "c.h5.shards/rank-1-of-2.h5"});
        INFO(m.err);
        REQUIRE(m.exit_code == 0);
        CHECK(m.out.find("merged 2 shards") != std::string::npos);
        const auto c = test::run_cvtl({"cache", dir / "c.h5"});
        CHECK(c.out.find("shards      2") != std::string::npos);
        CHECK(c.out.find("rank-1-of-2.h5") != std::string::npos);
        const auto bad =
            test::run_cvtl({"extract", test::fixture("tiny_vgg16.onnx"), data, "-o", dir / "c.h5", "--shard", "3/2"});
        CHECK(bad.exit_code == 1);
        CHECK(bad.err.find("cvtl: error: --shard '3/2'") != std::string::npos);
    }

}  // TEST_SUITE
