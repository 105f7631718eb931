// cvtl cache pack: a cache of mapped rows (a long extraction's segments) copied into one
// self-contained file that reads the same, in place or into another path.
#include "pipeline/cache/cache_format.hpp"
#include "pipeline/cache/cache_info.hpp"
#include "support/fixtures.hpp"
#include "support/reference.hpp"
#include "support/subprocess.hpp"

#include <doctest/doctest.h>

#include <boost/filesystem.hpp>

using namespace cvtl;

namespace {

// Equal taps, views and labels.
void check_same_rows(const std::string& a, const std::string& b) {
    for (const std::string name : {"/taps/block4", "/taps/block5", "/views/taps/block5", cache::kSamplesLabel})
        CHECK(test::diff(test::read_tensor(a, name), test::read_tensor(b, name)).max_abs == 0);
    CHECK(test::read_string_list(a, cache::kSamplesPath) == test::read_string_list(b, cache::kSamplesPath));
}

}  // namespace

TEST_SUITE("slow") {
    TEST_CASE(
        "cvtl cache pack copies a mapped cache into one file - in place or elsewhere - and refuses what it cannot") {
        test::TempDir dir;
        const std::string cache = dir / "c.h5";
        // Segments of 4 images in batches of 2: a mapped cache of several segments, with views.
        const auto x =
            test::run_cvtl({"extract", test::fixture("tiny_resnet18.onnx"), test::fixture("images"), "-o", cache,
                            "--taps", "block4,block5", "--batch", "2", "--threads", "2", "--views", "2"},
                           {"CVTL_TEST_SEGMENT_ROWS=4"});
        REQUIRE(x.exit_code == 0);
        const std::vector<std::string> segments = read_cache_info(cache).segments;
        REQUIRE(segments.size() > 1);
        const std::string rows = dir / segments[0].substr(0, segments[0].find('/'));

        // A copy of the file alone shares the rows: packing the copy in place must not remove them.
        boost::filesystem::copy_file(cache, dir / "copy.h5");
        REQUIRE(test::run_cvtl({"cache", "pack", dir / "copy.h5"}).exit_code == 0);
        CHECK(boost::filesystem::exists(rows));
        check_same_rows(cache, dir / "copy.h5");

        const auto other = test::run_cvtl({"cache", "pack", cache, "-o", dir / "one.h5"});
        INFO(other.err);
        REQUIRE(other.exit_code == 0);
        CHECK(other.out.find("self-contained") != std::string::npos);
        CHECK(read_cache_info(dir / "one.h5").segments.empty());
        CHECK(boost::filesystem::exists(rows));  // the source is unchanged
        check_same_rows(cache, dir / "one.h5");
        CHECK(test::run_cvtl({"cache", "pack", cache, "-o", dir / "one.h5"}).exit_code == 1);  // exists: --force

        REQUIRE(test::run_cvtl({"cache", "pack", cache}).exit_code == 0);
        CHECK_FALSE(boost::filesystem::exists(rows));  // in place: the rows directory goes
        CHECK(read_cache_info(cache).segments.empty());
        check_same_rows(cache, dir / "one.h5");
        const auto again = test::run_cvtl({"cache", "pack", cache});
        CHECK(again.exit_code == 1);
        CHECK(again.err.find("already one self-contained file") != std::string::npos);

        // A mapped cache without its rows is refused, not packed as zeros.
        REQUIRE(test::run_cvtl({"extract", test::fixture("tiny_resnet18.onnx"), test::fixture("images"), "-o",
                                dir / "m.h5", "--taps", "block4,block5", "--batch", "2", "--threads", "2"},
                               {"CVTL_TEST_SEGMENT_ROWS=4"})
                    .exit_code == 0);
        const std::string m_rows = read_cache_info(dir / "m.h5").segments[0];
        boost::filesystem::remove_all(dir / m_rows.substr(0, m_rows.find('/')));
        const auto missing = test::run_cvtl({"cache", "pack", dir / "m.h5"});
        CHECK(missing.exit_code == 1);
        CHECK(missing.err.find("missing") != std::string::npos);
    }

    TEST_CASE("a finished extraction whose commit a kill cut short is completed - not overwritten - by pack") {
        test::TempDir dir;
        const std::string cache = dir / "k.h5";
        const std::vector<std::string> args{"extract",
                                            test::fixture("tiny_resnet18.onnx"),
                                            test::fixture("images"),
                                            "-o",
                                            cache,
                                            "--taps",
                                            "block4,block5",
                                            "--batch",
                                            "2",
                                            "--threads",
                                            "2"};
        REQUIRE(test::run_cvtl(args).exit_code == 0);  // one segment: the reference, one file
        REQUIRE(test::run_cvtl({"cache", "pack", cache, "-o", dir / "ref.h5"}).exit_code == 1);  // already one file
        boost::filesystem::rename(cache, dir / "ref.h5");
        // Killed after its segments moved to their rows directory, before the map was renamed over k.h5.
        REQUIRE(test::run_cvtl(args, {"CVTL_TEST_SEGMENT_ROWS=4", "CVTL_TEST_DIE_IN_COMMIT=2"}).exit_code == 86);
        REQUIRE_FALSE(boost::filesystem::exists(cache));
        const auto packed = test::run_cvtl({"cache", "pack", cache});
        INFO(packed.err);
        REQUIRE(packed.exit_code == 0);
        CHECK_FALSE(boost::filesystem::exists(cache + ".tmp"));
        CHECK(read_cache_info(cache).segments.empty());
        check_same_rows(dir / "ref.h5", cache);
    }
}
