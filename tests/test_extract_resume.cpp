// Interrupted extractions: the re-run resumes and the cache ends up with the same content as an
// uninterrupted run. The job is really killed: by a test hook at the worst moment (a batch written,
// its segment not yet sealed) and by SIGKILL while segments are written.
#include "pipeline/cache/cache_format.hpp"
#include "pipeline/cache/cache_info.hpp"
#include "pipeline/core/error.hpp"
#include "support/fixtures.hpp"
#include "support/reference.hpp"
#include "support/subprocess.hpp"

#include <doctest/doctest.h>

#include <boost/filesystem.hpp>

using namespace cvtl;

namespace {

// 120 images: the fixture tree copied ten times.
std::string make_dataset(const test::TempDir& dir) { return test::make_image_tree(dir.path(), 10); }

std::vector<std::string> extract_args(const std::string& data, const std::string& cache) {
    return {"extract",
            test::fixture("tiny_vgg16.onnx"),
            data,
            "-o",
            cache,
            "--taps",
            "pool3,pool5,fc6",
            "--batch",
            "1",
            "--threads",
            "2",
            "--dtype",
            "f16"};
}

void check_same_content(const std::string& a, const std::string& b) {
    for (const std::string tap : {"pool3", "pool5", "fc6"}) {
        CAPTURE(tap);
        CHECK(test::diff(test::read_tensor(a, "/taps/" + tap), test::read_tensor(b, "/taps/" + tap)).max_abs == 0);
    }
    CHECK(test::read_string_list(a, cache::kSamplesPath) == test::read_string_list(b, cache::kSamplesPath));
    CHECK(test::diff(test::read_tensor(a, cache::kSamplesSplit), test::read_tensor(b, cache::kSamplesSplit)).max_abs ==
          0);
    CHECK(test::diff(test::read_tensor(a, cache::kSamplesLabel), test::read_tensor(b, cache::kSamplesLabel)).max_abs ==
          0);
}

}  // namespace

TEST_SUITE("slow") {
    TEST_CASE("killed after a batch is written but before its segment is sealed the re-run resumes exactly") {
        test::TempDir dir;
        const std::string data = make_dataset(dir);
        const auto full = test::run_cvtl(extract_args(data, dir / "full.h5"));
        REQUIRE(full.exit_code == 0);
        CHECK_FALSE(boost::filesystem::exists(dir / "full.h5.parts"));  // removed once the cache is assembled
        CHECK(full.out.find("segments copied") == std::string::npos);   // one segment: renamed, not copied

        // Segments of 4 images: two sealed, the third open when the eleventh image's batch is written.
        const auto killed = test::run_cvtl(extract_args(data, dir / "part.h5"),
                                           {"CVTL_TEST_SEGMENT_ROWS=4", "CVTL_TEST_DIE_BEFORE_COMMIT=11"});
        REQUIRE(killed.exit_code == 86);
        CHECK_FALSE(boost::filesystem::exists(dir / "part.h5"));  // readers never see an unfinished cache
        CHECK(boost::filesystem::exists(dir / "part.h5.parts/seg-000001.h5"));
        CHECK(boost::filesystem::exists(dir / "part.h5.parts/seg-000002.h5.tmp"));
        CHECK_THROWS_WITH_AS(read_cache_info(dir / "part.h5"), doctest::Contains("is unfinished"), Error);

        const auto resumed = test::run_cvtl(extract_args(data, dir / "part.h5"), {"CVTL_TEST_SEGMENT_ROWS=4"});
        INFO(resumed.err);
        REQUIRE(resumed.exit_code == 0);
        CHECK(resumed.out.find("resumed after 8") != std::string::npos);
        // Segments of 4 over the dataset's images: the cache maps them, and says where they stay.
        CHECK(resumed.out.find("segment files in " + (dir / "part.h5.rows-")) != std::string::npos);
        CHECK(read_cache_info(dir / "part.h5").complete);
        CHECK(read_cache_info(dir / "part.h5").segments.size() > 1);
        CHECK_FALSE(boost::filesystem::exists(dir / "part.h5.parts"));
        check_same_content(dir / "full.h5", dir / "part.h5");
    }

    TEST_CASE("killed by SIGKILL mid-run the re-run finishes the same cache") {
        test::TempDir dir;
        const std::string data = make_dataset(dir);
        REQUIRE(test::run_cvtl(extract_args(data, dir / "full.h5")).exit_code == 0);
        const auto full_size = boost::filesystem::file_size(dir / "full.h5");
        const auto parts_size = [&] {
            std::uintmax_t bytes = 0;
            boost::system::error_code ec;
            for (boost::filesystem::directory_iterator it(dir / "part.h5.parts", ec), end; !ec && it != end;
                 it.increment(ec))
                bytes += boost::filesystem::file_size(it->path(), ec);
            return bytes;
        };
        // Segments of 8 images; each run is killed once the segments have grown by another sixth of the
        // final size, i.e. while a segment is being written, sealed or renamed.
        int kills = 0;
        for (int attempt = 1; attempt <= 12; ++attempt) {
            const auto threshold = full_size * static_cast<std::uintmax_t>(attempt) / 6;
            const auto r = test::run_cvtl(extract_args(data, dir / "part.h5"), {"CVTL_TEST_SEGMENT_ROWS=8"},
                                          [&] { return parts_size() >= threshold; });
            if (r.exit_code == 0) break;
            INFO(r.err);
            REQUIRE(r.exit_code == -9);
            ++kills;
        }
        CHECK(kills >= 2);
        const auto last = test::run_cvtl(extract_args(data, dir / "part.h5"), {"CVTL_TEST_SEGMENT_ROWS=8"});
        INFO(last.err);
        REQUIRE(last.exit_code == 0);
        CHECK(read_cache_info(dir / "part.h5").complete);
        check_same_content(dir / "full.h5", dir / "part.h5");
    }

    TEST_CASE(
        "a kill between the steps of a mapped cache's commit is completed by the next run - or --single-file copies") {
        test::TempDir dir;
        const std::string data = make_dataset(dir);
        REQUIRE(test::run_cvtl(extract_args(data, dir / "full.h5")).exit_code == 0);
        const auto rows_dirs = [&](const std::string& cache) {
            int n = 0;
            for (boost::filesystem::directory_iterator it(dir.path()), end; it != end; ++it)
                n += it->path().filename().string().rfind(cache + cache::kRowsDirInfix, 0) == 0;
            return n;
        };
        // Moment 1: the map is written, the segments not yet moved; 2: moved, the map not yet renamed.
        for (const int moment : {1, 2}) {
            CAPTURE(moment);
            const std::string name = "m" + std::to_string(moment) + ".h5", path = dir / name;
            const auto killed =
                test::run_cvtl(extract_args(data, path),
                               {"CVTL_TEST_SEGMENT_ROWS=32", "CVTL_TEST_DIE_IN_COMMIT=" + std::to_string(moment)});
            REQUIRE(killed.exit_code == 86);
            CHECK_FALSE(boost::filesystem::exists(path));
            CHECK(boost::filesystem::exists(path + ".tmp"));
            CHECK(boost::filesystem::exists(path + ".parts") == (moment == 1));
            CHECK(rows_dirs(name) == moment - 1);
            const auto rerun = test::run_cvtl(extract_args(data, path), {"CVTL_TEST_SEGMENT_ROWS=32"});
            INFO(rerun.err);
            REQUIRE(rerun.exit_code == 0);
            CHECK_FALSE(boost::filesystem::exists(path + ".tmp"));
            CHECK_FALSE(boost::filesystem::exists(path + ".parts"));
            CHECK(rows_dirs(name) == 1);
            CHECK(read_cache_info(path).segments.size() == 4);  // 120 images in segments of 32
            check_same_content(dir / "full.h5", path);
        }
        // --single-file: one self-contained file, the copy reported.
        const std::string single = dir / "single.h5";
        std::vector<std::string> args = extract_args(data, single);
        args.push_back("--single-file");
        const auto copied = test::run_cvtl(args, {"CVTL_TEST_SEGMENT_ROWS=32"});
        REQUIRE(copied.exit_code == 0);
        CHECK(copied.out.find("4 segments copied into one file in") != std::string::npos);
        CHECK(read_cache_info(single).segments.empty());
        CHECK(rows_dirs("single.h5") == 0);
        check_same_content(dir / "full.h5", single);
    }
}  // TEST_SUITE
