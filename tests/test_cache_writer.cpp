#include "pipeline/cache/cache_file.hpp"
#include "pipeline/cache/cache_format.hpp"
#include "pipeline/cache/cache_info.hpp"
#include "pipeline/cache/cache_writer.hpp"
#include "pipeline/cache/h5_helpers.hpp"
#include "pipeline/cache/open_files.hpp"
#include "pipeline/core/error.hpp"
#include "support/fixtures.hpp"
#include "support/reference.hpp"

#include <doctest/doctest.h>

#include <boost/filesystem.hpp>
#include <opencv2/core.hpp>

#include <limits>

#include <sys/resource.h>
#include <sys/stat.h>

using namespace cvtl;

namespace {

CacheConfig small_config(Dtype dtype = Dtype::f32, bool compress = false) {
    CacheConfig c;
    c.model_sha256 = std::string(64, 'a');
    c.model_file = "model.onnx";
    c.preprocess = make_preprocessing(Preset::torchvision, 32);
    c.taps = {{"pool5", "onnx_node!pool", {4, 2, 2}}, {"fc7", "onnx_node!relu", {6}}};
    c.dtype = dtype;
    c.compress = compress;
    c.dataset = "data";
    c.dataset_fingerprint = "fp";
    c.dataset_size = 10;
    c.classes = {"cat", "dog"};
    return c;
}

CacheRows rows_for(int first, int n, cv::RNG& rng) {
    CacheRows r;
    r.inputs = n;
    for (int i = first; i < first + n; ++i) {
        r.paths.push_back("img" + std::to_string(i) + ".jpg");
        r.labels.push_back(i % 2);
        r.splits.push_back(static_cast<std::uint8_t>(i % 3 == 0));
    }
    cv::Mat pool5(std::vector<int>{n, 4, 2, 2}, CV_32F), fc7(std::vector<int>{n, 6}, CV_32F);
    rng.fill(pool5, cv::RNG::UNIFORM, -3, 3);
    rng.fill(fc7, cv::RNG::UNIFORM, 0, 5);
    r.taps = {pool5, fc7};
    return r;
}

// `count` batches of two rows each, rows 0, 1, 2, ... in order.
std::vector<CacheRows> batches_of_two(int count, int seed) {
    cv::RNG rng(static_cast<std::uint64_t>(seed));
    std::vector<CacheRows> batches;
    for (int i = 0; i < count; ++i) batches.push_back(rows_for(2 * i, 2, rng));
    return batches;
}

// The cache at `path` holds exactly the fc7 rows of `batches`, in order.
void check_fc7_rows(const std::string& path, const std::vector<CacheRows>& batches) {
    const cv::Mat fc7 = test::read_tensor(path, "/taps/fc7");
    REQUIRE(fc7.size[0] == 2 * static_cast<int>(batches.size()));
    for (size_t i = 0; i < batches.size(); ++i) {
        const int row = 2 * static_cast<int>(i);
        CHECK(test::diff(fc7.rowRange(row, row + 2).clone(), batches[i].taps[1]).max_abs == 0);
    }
}

}  // namespace

TEST_SUITE("unit") {
    TEST_CASE("cache round trip of rows and labels and splits and classes and metadata") {
        for (const Dtype dtype : {Dtype::f32, Dtype::f16}) {
            for (bool compress : {false, true}) {
                const std::string dtype_name = to_string(dtype);
                CAPTURE(dtype_name);
                CAPTURE(compress);
                test::TempDir dir;
                const std::string path = dir / "c.h5";
                cv::RNG rng(1);
                const CacheRows a = rows_for(0, 6, rng), b = rows_for(6, 4, rng);
                {
                    CacheWriter w(path, small_config(dtype, compress), false);
                    CHECK(w.state() == CacheWriter::State::Created);
                    w.append(a);
                    w.append(b);
                    w.finish();
                }
                const CacheInfo info = read_cache_info(path);
                CHECK(info.complete);
                CHECK(info.rows == 10);
                CHECK(info.consumed == 10);
                CHECK(info.classes == std::vector<std::string>{"cat", "dog"});
                CHECK(info.counts[0][0] + info.counts[0][1] == 5);
                CHECK(info.attributes.at("dtype") == to_string(dtype));
                CHECK(info.attributes.at("preprocess").at("preset") == "torchvision");
                REQUIRE(info.taps.size() == 2);
                CHECK(info.taps[0].dims == std::vector<std::uint64_t>{10, 4, 2, 2});
                CHECK(info.taps[0].dtype == dtype);

                const cv::Mat pool5 = test::read_tensor(path, "/taps/pool5");
                const double tolerance = dtype == Dtype::f16 ? 3 * 0.001 : 0.0;  // half: 11-bit mantissa, |x| <= 5
                CHECK(test::diff(pool5({cv::Range(0, 6), cv::Range::all(), cv::Range::all(), cv::Range::all()}).clone(),
                                 a.taps[0])
                          .max_abs <= tolerance);
                CHECK(test::diff(test::read_tensor(path, "/taps/fc7").rowRange(6, 10).clone(), b.taps[1]).max_abs <=
                      tolerance);
                const auto paths = test::read_string_list(path, cache::kSamplesPath);
                CHECK(paths.front() == "img0.jpg");
                CHECK(paths.back() == "img9.jpg");
            }
        }
    }

    TEST_CASE("f16 storage refuses values beyond float16's range instead of storing inf") {
        test::TempDir dir;
        cv::RNG rng(3);
        CacheWriter w(dir / "c.h5", small_config(Dtype::f16), true);
        w.append(rows_for(0, 2, rng));
        CacheRows big = rows_for(2, 2, rng);
        big.taps[1].at<float>(1, 3) = 70000.0f;
        CHECK_THROWS_WITH_AS(w.append(big), doctest::Contains("tap fc7 has a value of 70000"), Error);
        CHECK(w.done() == 2);  // the committed rows stay
        CacheRows fits = rows_for(2, 2, rng);
        fits.taps[1].at<float>(1, 3) = -65504.0f;  // the largest finite half is fine
        CHECK_NOTHROW(w.append(fits));
    }

    TEST_CASE("progress counters that disagree with what the file stores are refused") {
        test::TempDir dir;
        cv::RNG rng(4);
        {
            CacheFile f(dir / "c.h5", small_config());  // one file, unsealed: as a kill would leave it
            f.append(rows_for(0, 4, rng));
        }
        auto set_done = [&](long long v) {
            H5::H5File f(dir / "c.h5", H5F_ACC_RDWR);
            f.openGroup(cache::kProgress).openAttribute(cache::kAttrDone).write(H5::PredType::NATIVE_LLONG, &v);
        };
        CHECK(read_cache_info(dir / "c.h5").rows == 4);
        set_done(400);  // more rows than stored: reading by it would overrun
        CHECK_THROWS_WITH_AS(read_cache_info(dir / "c.h5"), doctest::Contains("inconsistent progress counters"), Error);
        set_done(-5);
        CHECK_THROWS_WITH_AS(read_cache_info(dir / "c.h5"), doctest::Contains("inconsistent progress counters"), Error);
        // Found by fuzzing: rows + skipped overflowed int64 (undefined behaviour) before the comparison.
        set_done(4);
        {
            H5::H5File f(dir / "c.h5", H5F_ACC_RDWR);
            const long long huge = std::numeric_limits<long long>::max();
            f.openGroup(cache::kProgress).openAttribute(cache::kAttrSkipped).write(H5::PredType::NATIVE_LLONG, &huge);
        }
        CHECK_THROWS_WITH_AS(read_cache_info(dir / "c.h5"), doctest::Contains("inconsistent progress counters"), Error);
    }

    TEST_CASE("chunks hold whole samples and aim at 64 KiB - 1 MiB") {
        test::TempDir dir;
        CacheConfig c = small_config();
        c.dataset_size = 100000;
        c.taps = {{"pool4", "l", {512, 14, 14}},
                  {"pool5", "l", {512, 7, 7}},
                  {"fc7", "l", {4096}},
                  {"input", "", {3, 224, 224}}};
        { CacheFile f(dir / "c.h5", c); }
        for (const auto& t : read_cache_info(dir / "c.h5").taps) {
            CAPTURE(t.name);
            std::uint64_t bytes = 4;
            for (size_t i = 1; i < t.chunk.size(); ++i) {
                CHECK(t.chunk[i] == t.dims[i]);
                bytes *= t.chunk[i];
            }
            bytes *= t.chunk[0];
            CHECK(bytes >= 64 * 1024);
            CHECK(bytes <= 1024 * 1024);
        }
    }

    TEST_CASE("a cache from another model or preprocessing or tap set is refused and left intact") {
        test::TempDir dir;
        const std::string path = dir / "c.h5";
        cv::RNG rng(2);
        CacheConfig three = small_config();
        three.dataset_size = 3;
        {
            CacheWriter w(path, three, false);
            w.append(rows_for(0, 3, rng));
            w.finish();
        }
        const std::string before = test::read_file(path);
        CacheConfig other_model = three;
        other_model.model_sha256 = std::string(64, 'b');
        CHECK_THROWS_WITH_AS(CacheWriter(path, other_model, false), doctest::Contains("was made with another model"),
                             Error);
        CacheConfig other_pre = three;
        other_pre.preprocess = make_preprocessing(Preset::caffe, 32);
        CHECK_THROWS_WITH_AS(CacheWriter(path, other_pre, false), doctest::Contains("another preprocessing"), Error);
        CacheConfig other_taps = three;
        other_taps.taps.pop_back();
        CHECK_THROWS_WITH_AS(CacheWriter(path, other_taps, false), doctest::Contains("another set of taps"), Error);
        CacheConfig other_data = three;
        other_data.dataset_fingerprint = "changed";
        CHECK_THROWS_WITH_AS(CacheWriter(path, other_data, false), doctest::Contains("another dataset"), Error);
        CHECK(test::read_file(path) == before);

        // The same for the sealed segments of an unfinished extraction.
        {
            CacheWriter w(dir / "u.h5", small_config(), false);
            w.append(rows_for(0, 3, rng));
        }
        const std::string segment = dir / "u.h5.parts/seg-000000.h5";
        const std::string sealed = test::read_file(segment);
        CHECK_THROWS_WITH_AS(CacheWriter(dir / "u.h5", other_model, false),
                             doctest::Contains("was made with another model"), Error);
        CHECK(test::read_file(segment) == sealed);
    }

    TEST_CASE("an unfinished cache written in place by an earlier cvtl is adopted - not lost") {
        test::TempDir dir;
        const std::string path = dir / "c.h5";
        cv::RNG rng(5);
        const CacheRows a = rows_for(0, 4, rng), b = rows_for(4, 6, rng);
        {
            CacheFile old(path, small_config());
            old.append(a);
        }
        {
            CacheWriter w(path, small_config(), false);
            CHECK(w.state() == CacheWriter::State::Resumed);
            CHECK(w.done() == 4);
            w.append(b);
            w.finish();
        }
        const CacheInfo info = read_cache_info(path);
        CHECK(info.complete);
        CHECK(info.rows == 10);
        CHECK(test::diff(test::read_tensor(path, "/taps/fc7").rowRange(0, 4).clone(), a.taps[1]).max_abs == 0);
        CHECK(test::diff(test::read_tensor(path, "/taps/fc7").rowRange(4, 10).clone(), b.taps[1]).max_abs == 0);
    }

    TEST_CASE("segments: sealed by size or time - resumed in order - made into the cache and the parts removed") {
        test::TempDir dir;
        const std::string path = dir / "c.h5";
        const std::vector<CacheRows> batches = batches_of_two(5, 6);
        {
            CacheWriter w(path, small_config(), false);
            for (int i = 0; i < 3; ++i) w.append(batches[static_cast<size_t>(i)]);
        }  // destroyed without finish: the open segment is sealed, nothing is lost
        CHECK(boost::filesystem::exists(dir / "c.h5.parts/seg-000000.h5"));
        CHECK_FALSE(boost::filesystem::exists(path));
        CHECK_THROWS_WITH_AS(read_cache_info(path), doctest::Contains("is unfinished"), Error);
        test::write_file(dir / "c.h5.parts/seg-000001.h5.tmp", "an interrupted segment");
        {
            CacheWriter w(path, small_config(), false);
            CHECK(w.state() == CacheWriter::State::Resumed);
            CHECK(w.done() == 6);
            CHECK(w.next_input() == 6);
            for (int i = 3; i < 5; ++i) w.append(batches[static_cast<size_t>(i)]);
            w.finish();
        }
        CHECK_FALSE(boost::filesystem::exists(dir / "c.h5.parts"));
        // Found by tools/kill_extract.sh: a kill while the segments were being deleted left a partial set
        // that the re-run tried to resume. A complete cache now wins, and the leftovers go.
        boost::filesystem::create_directories(dir / "c.h5.parts");
        test::write_file(dir / "c.h5.parts/seg-000001.h5", "left over");
        {
            CacheWriter w(path, small_config(), false);
            CHECK(w.state() == CacheWriter::State::AlreadyComplete);
        }
        CHECK_FALSE(boost::filesystem::exists(dir / "c.h5.parts"));
        check_fc7_rows(path, batches);

        // A missing sealed segment is damage, named, not silently skipped.
        {
            CacheWriter w(dir / "d.h5", small_config(), false);
            w.append(batches[0]);
        }
        {
            CacheWriter w(dir / "d.h5", small_config(), false);
            w.append(batches[1]);
        }
        boost::filesystem::remove(dir / "d.h5.parts/seg-000000.h5");
        CHECK_THROWS_WITH_AS(CacheWriter(dir / "d.h5", small_config(), false), doctest::Contains("is missing"), Error);
    }

    TEST_CASE("several segments are mapped from a rows directory of their own - not copied - or copied on request") {
        test::TempDir dir;
        const std::vector<CacheRows> batches = batches_of_two(5, 9);
        // Two writers: two sealed segments, the first sealed before the second starts.
        const auto write = [&](const std::string& path, CacheWriter::Assembly assembly) {
            {
                CacheWriter w(path, small_config(), false, assembly);
                for (int i = 0; i < 2; ++i) w.append(batches[static_cast<size_t>(i)]);
            }
            struct stat sealed {};
            REQUIRE(::stat((path + ".parts/seg-000000.h5").c_str(), &sealed) == 0);
            CacheWriter w(path, small_config(), false, assembly);
            for (int i = 2; i < 5; ++i) w.append(batches[static_cast<size_t>(i)]);
            w.finish();
            CHECK_FALSE(boost::filesystem::exists(path + ".parts"));
            check_fc7_rows(path, batches);
            return std::make_pair(w.rows_dir(), sealed.st_ino);
        };
        const std::string path = dir / "m.h5";
        const auto written = write(path, CacheWriter::Assembly::map);
        const std::string rows = written.first;  // a plain variable: clang's C++17 lambdas cannot capture a binding
        const auto inode = written.second;
        REQUIRE(rows.rfind(path + ".rows-", 0) == 0);
        struct stat mapped {};
        REQUIRE(::stat((rows + "/seg-000000.h5").c_str(), &mapped) == 0);
        CHECK(mapped.st_ino == inode);  // the sealed segment itself: no row was written twice
        CHECK(boost::filesystem::file_size(path) < 100000);
        const CacheInfo info = read_cache_info(path);
        CHECK(info.segments.size() == 2);
        // What it costs on disk counts the rows where they are: the segments' tap chunks and files.
        const auto stored = [&](const std::string& segment) {
            return H5::H5File(rows + segment, H5F_ACC_RDONLY).openDataSet("/taps/fc7").getStorageSize();
        };
        CHECK(info.taps[1].stored_bytes == stored("/seg-000000.h5") + stored("/seg-000001.h5"));
        CHECK(info.taps[1].stored_bytes > 0);
        CHECK(info.disk_bytes == boost::filesystem::file_size(path) +
                                     boost::filesystem::file_size(rows + "/seg-000000.h5") +
                                     boost::filesystem::file_size(rows + "/seg-000001.h5"));
        CHECK(CacheWriter(path, small_config(), false).state() == CacheWriter::State::AlreadyComplete);

        // Moved together, the cache still reads (its rows are named relative to it); apart, it is refused.
        boost::filesystem::create_directories(dir / "moved");
        const std::string moved = dir / "moved/m.h5";
        boost::filesystem::rename(path, moved);
        boost::filesystem::rename(rows, dir / ("moved/" + boost::filesystem::path(rows).filename().string()));
        check_fc7_rows(moved, batches);
        boost::filesystem::rename(dir / ("moved/" + boost::filesystem::path(rows).filename().string()), rows);
        CHECK(read_cache_info(moved).missing_files.size() == 2);
        CHECK_THROWS_WITH_AS(require_row_files(read_cache_info(moved)), doctest::Contains("travels with its rows"),
                             Error);
        CHECK_THROWS_WITH_AS(CacheWriter(moved, small_config(), false),
                             doctest::Contains("lacks 2 of its segment files"), Error);

        // More row files than the process may open would read as zeros past the limit: refused.
        rlimit saved{};
        REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved) == 0);
        rlimit low = saved;
        low.rlim_cur = 200;  // a soft limit is lowered and raised back freely
        REQUIRE(::setrlimit(RLIMIT_NOFILE, &low) == 0);
        CacheInfo many = read_cache_info(moved);
        many.missing_files.clear();
        many.segments.resize(200 - kOpenFilesReserve);
        CHECK_NOTHROW(require_row_files(many));
        many.segments.resize(200 - kOpenFilesReserve + 1);
        CHECK_THROWS_WITH_AS(require_row_files(many), doctest::Contains("this process may open only 200"), Error);
        REQUIRE(::setrlimit(RLIMIT_NOFILE, &saved) == 0);

        // Copied on request: one self-contained file, nothing beside it.
        const auto [none, unused] = write(dir / "c.h5", CacheWriter::Assembly::copy);
        CHECK(none.empty());
        CHECK(read_cache_info(dir / "c.h5").segments.empty());
        CHECK(boost::filesystem::file_size(dir / "c.h5") > 200);
    }

    TEST_CASE("a cache replaced with force stays whole until the new one is renamed over it - then its rows go") {
        test::TempDir dir;
        const std::string path = dir / "r.h5";
        const std::vector<CacheRows> old_rows = batches_of_two(5, 10), new_rows = batches_of_two(5, 11);
        ::setenv("CVTL_TEST_SEGMENT_ROWS", "4", 1);  // segments of 4 entries: 3 per cache
        std::string old_dir;
        {
            CacheWriter w(path, small_config(), false);
            for (const CacheRows& b : old_rows) w.append(b);
            w.finish();
            old_dir = w.rows_dir();
        }
        REQUIRE(boost::filesystem::exists(old_dir));
        {
            CacheWriter w(path, small_config(), true);
            for (const CacheRows& b : new_rows) w.append(b);
            check_fc7_rows(path, old_rows);  // all new rows sealed, the old cache still whole
            w.finish();
            CHECK(w.rows_dir() != old_dir);
        }
        ::unsetenv("CVTL_TEST_SEGMENT_ROWS");
        CHECK_FALSE(boost::filesystem::exists(old_dir));
        check_fc7_rows(path, new_rows);
        CHECK(read_cache_info(path).missing_files.empty());
    }

    TEST_CASE("a segment covers at least a 64th of the entries before it - so a long job maps few files") {
        test::TempDir dir;
        const std::string path = dir / "long.h5";
        CacheConfig config = small_config();
        config.dataset_size = 400;
        ::setenv("CVTL_TEST_SEGMENT_SECONDS", "0", 1);  // every batch is due: the share alone decides
        {
            CacheWriter w(path, config, false);
            cv::RNG rng(12);
            for (int i = 0; i < 200; ++i) w.append(rows_for(2 * i, 2, rng));
            w.finish();
        }
        ::unsetenv("CVTL_TEST_SEGMENT_SECONDS");
        const CacheInfo info = read_cache_info(path);
        CHECK(info.rows == 400);
        CHECK(info.segments.size() < 150);  // one per batch would be 200
        std::int64_t before = 0;
        for (const std::string& name : info.segments) {
            const std::int64_t inputs = check_cache_file(dir / name, config, "").inputs;
            if (name != info.segments.back())
                CHECK(inputs >= before / CacheWriter::kSegmentShare);                             // the last: finish()
            CHECK(inputs <= std::max<std::int64_t>(2, before / CacheWriter::kSegmentShare + 2));  // sealed once due
            before += inputs;
        }
    }

    TEST_CASE("a single sealed segment becomes the cache by a rename - not a copy") {
        test::TempDir dir;
        const std::string path = dir / "one.h5";
        const std::vector<CacheRows> batches = batches_of_two(5, 8);
        {
            CacheWriter w(path, small_config(), false);
            for (const CacheRows& b : batches) w.append(b);
        }  // killed before finish: every row is in the sealed segment 0
        const std::string segment = dir / "one.h5.parts/seg-000000.h5";
        REQUIRE(boost::filesystem::exists(segment));
        struct stat before {};
        REQUIRE(::stat(segment.c_str(), &before) == 0);
        {
            CacheWriter w(path, small_config(), false);
            CHECK(w.next_input() == 10);
            w.finish();
        }
        struct stat after {};
        REQUIRE(::stat(path.c_str(), &after) == 0);
        CHECK(after.st_ino == before.st_ino);  // the same file: its bytes were not written again
        CHECK_FALSE(boost::filesystem::exists(dir / "one.h5.parts"));
        CHECK(read_cache_info(path).rows == 10);
        check_fc7_rows(path, batches);
        CacheWriter again(path, small_config(), false);
        CHECK(again.state() == CacheWriter::State::AlreadyComplete);
    }

    TEST_CASE("files that are not caches are not touched") {
        test::TempDir dir;
        test::write_file(dir / "notes.h5", "some text the user cares about");
        CHECK_THROWS_WITH_AS(CacheWriter(dir / "notes.h5", small_config(), false),
                             doctest::Contains("is not an HDF5 cache"), Error);
        CHECK(test::read_file(dir / "notes.h5") == "some text the user cares about");
        CHECK_THROWS_WITH_AS(read_cache_info(dir / "notes.h5"), doctest::Contains("not an HDF5 file"), Error);
        CHECK_THROWS_WITH_AS(read_cache_info(dir / "missing.h5"), doctest::Contains("does not exist"), Error);
    }

    TEST_CASE("reopening an unfinished cache resumes at its last commit") {
        test::TempDir dir;
        const std::string path = dir / "c.h5";
        cv::RNG rng(3);
        const CacheRows a = rows_for(0, 4, rng), b = rows_for(4, 4, rng);
        {
            CacheWriter w(path, small_config(), false);
            w.append(a);
        }
        {
            CacheWriter w(path, small_config(), false);
            CHECK(w.state() == CacheWriter::State::Resumed);
            CHECK(w.done() == 4);
            CHECK(w.next_input() == 4);
            w.append(b);
            w.finish();
        }
        {
            CacheWriter w(path, small_config(), false);
            CHECK(w.state() == CacheWriter::State::AlreadyComplete);
        }
        CHECK(test::read_tensor(path, "/taps/fc7").size[0] == 8);
        CHECK(test::diff(test::read_tensor(path, "/taps/fc7").rowRange(4, 8).clone(), b.taps[1]).max_abs == 0);
    }

    TEST_CASE("a truncated cache file gives a clear error") {
        test::TempDir dir;
        cv::RNG rng(4);
        {
            CacheWriter w(dir / "c.h5", small_config(), false);
            w.append(rows_for(0, 4, rng));
            w.finish();
        }
        const std::string bytes = test::read_file(dir / "c.h5");
        test::write_file(dir / "cut.h5", bytes.substr(0, bytes.size() / 3));
        CHECK_THROWS_AS(read_cache_info(dir / "cut.h5"), Error);
    }

    TEST_CASE("hostile metadata: attributes - tap shapes and counters sized by the file are refused") {
        test::TempDir dir;
        cv::RNG rng(4);
        CacheConfig config = small_config();
        config.dataset_size = 4;
        const auto fresh = [&] {
            CacheWriter w(dir / "c.h5", config, true);
            w.append(rows_for(0, 4, rng));
            w.finish();
        };
        const auto refused = [&](const char* why) {
            CHECK_THROWS_WITH_AS(read_cache_info(dir / "c.h5"), doctest::Contains(why), Error);
        };
        fresh();
        REQUIRE(read_cache_info(dir / "c.h5").rows == 4);

        // A counter stored as an array would make a one-value read write past its buffer.
        {
            H5::H5File f(dir / "c.h5", H5F_ACC_RDWR);
            H5::Group progress = f.openGroup(cache::kProgress);
            progress.removeAttr(cache::kAttrDone);
            const hsize_t n = 1000;
            std::vector<std::int64_t> many(n, 4);
            progress.createAttribute(cache::kAttrDone, H5::PredType::STD_I64LE, H5::DataSpace(1, &n))
                .write(H5::PredType::NATIVE_INT64, many.data());
        }
        refused("not a single value");

        // A string where a counter belongs.
        fresh();
        {
            H5::H5File f(dir / "c.h5", H5F_ACC_RDWR);
            f.removeAttr(cache::kAttrDatasetSize);
            h5::set_string(f, cache::kAttrDatasetSize, "lots");
        }
        refused("not an integer");

        // An unusable preprocessing record (zero std would divide by zero).
        fresh();
        {
            H5::H5File f(dir / "c.h5", H5F_ACC_RDWR);
            nlohmann::json p = make_preprocessing(Preset::torchvision, 32).to_json();
            p["std"] = {0, 1, 1};
            h5::set_string(f, cache::kAttrPreprocess, p.dump());
        }
        refused("preprocessing record is invalid");

        // The taps list replaced by something that is not a list.
        fresh();
        {
            H5::H5File f(dir / "c.h5", H5F_ACC_RDWR);
            h5::set_string(f, cache::kAttrTaps, "pool5");
        }
        refused("lists its taps in an unreadable form");

        // A tap whose sample shape would size an impossible buffer.
        fresh();
        {
            H5::H5File f(dir / "c.h5", H5F_ACC_RDWR);
            f.unlink("/taps/fc7");
            const hsize_t dims[2] = {4, hsize_t{1} << 40}, maxdims[2] = {H5S_UNLIMITED, hsize_t{1} << 40},
                          chunk[2] = {1, 1024};
            H5::DSetCreatPropList props;
            props.setChunk(2, chunk);
            f.createDataSet("/taps/fc7", H5::PredType::IEEE_F32LE, H5::DataSpace(2, dims, maxdims), props);
        }
        refused("impossible sample shape");

        // A tap stored as integers.
        fresh();
        {
            H5::H5File f(dir / "c.h5", H5F_ACC_RDWR);
            f.unlink("/taps/fc7");
            const hsize_t dims[2] = {4, 6}, chunk[2] = {1, 6};
            H5::DSetCreatPropList props;
            props.setChunk(2, chunk);
            f.createDataSet("/taps/fc7", H5::PredType::STD_I32LE, H5::DataSpace(2, dims), props);
        }
        refused("does not store float16 or float32");
    }

}  // TEST_SUITE
