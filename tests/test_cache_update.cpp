// extract --update: new and changed files are extracted, gone ones dropped, unchanged rows kept byte
// for byte; the result equals a fresh extraction of the new tree; a killed update leaves the old
// cache or the new one, and the re-run completes it.
#include "pipeline/cache/cache_format.hpp"
#include "pipeline/cache/cache_info.hpp"
#include "pipeline/cache/cache_update.hpp"
#include "pipeline/cache/extractor.hpp"
#include "pipeline/core/error.hpp"
#include "support/fixtures.hpp"
#include "support/reference.hpp"
#include "support/subprocess.hpp"

#include <doctest/doctest.h>

#include <boost/filesystem.hpp>
#include <opencv2/imgcodecs.hpp>

#include <sys/stat.h>

#include <chrono>
#include <functional>
#include <fcntl.h>
#include <map>
#include <random>

using namespace cvtl;
namespace fs = boost::filesystem;

namespace {

ExtractOptions update_options(const std::string& data, const std::string& output) {
    ExtractOptions o;
    o.model = test::fixture("tiny_vgg16.onnx");
    o.data = data;
    o.output = output;
    o.taps = {"pool3", "pool5"};
    o.size = 32;
    o.batch = 1;  // batches of one: a row's sums do not depend on its neighbours, so fresh == updated exactly
    o.threads = 2;
    o.val_fraction = 0.3;
    o.seed = 9;
    o.views = 2;
    o.augment = "flip=1";
    return o;
}

// One cache's rows by path: label, split, stamp and every tap value of view 0 and of its views.
struct RowContent {
    float label = 0, split = 0;
    std::string sha256;
    std::vector<float> values;
};

std::map<std::string, RowContent> rows_by_path(const std::string& file) {
    const auto paths = test::read_string_list(file, cache::kSamplesPath);
    const auto hashes = test::read_string_list(file, cache::kSamplesSha256);
    const cv::Mat labels = test::read_tensor(file, cache::kSamplesLabel),
                  splits = test::read_tensor(file, cache::kSamplesSplit);
    const cv::Mat view_rows = test::read_tensor(file, cache::kViewsSample);
    std::map<std::string, RowContent> rows;
    for (size_t r = 0; r < paths.size(); ++r)
        rows[paths[r]] = {labels.ptr<float>()[r], splits.ptr<float>()[r], hashes[r], {}};
    for (const std::string group : {"/taps/", "/views/taps/"})
        for (const std::string tap : {"pool3", "pool5"}) {
            const cv::Mat t = test::read_tensor(file, group + tap);
            if (t.total() == 0) continue;
            const size_t n = t.total() / static_cast<size_t>(t.size[0]);
            for (int i = 0; i < t.size[0]; ++i) {
                const size_t row =
                    group == "/taps/" ? static_cast<size_t>(i) : static_cast<size_t>(view_rows.ptr<float>()[i]);
                auto& v = rows[paths[row]].values;
                v.insert(v.end(), t.ptr<float>() + static_cast<size_t>(i) * n,
                         t.ptr<float>() + static_cast<size_t>(i + 1) * n);
            }
        }
    return rows;
}

void set_mtime(const std::string& path, const struct timespec& when) {
    const struct timespec times[2] = {when, when};
    REQUIRE(::utimensat(AT_FDCWD, path.c_str(), times, 0) == 0);
}

// Other pixels (inverted), the same size (a BMP of the same dimensions) and mtime: only the content
// hash can tell.
void rewrite_same_size(const std::string& path) {
    struct stat before {};
    REQUIRE(::stat(path.c_str(), &before) == 0);
    cv::Mat image = cv::imread(path);
    image = cv::Scalar::all(255) - image;
    REQUIRE(cv::imwrite(path, image));
    set_mtime(path, before.st_mtim);
    struct stat after {};
    REQUIRE(::stat(path.c_str(), &after) == 0);
    REQUIRE(after.st_size == before.st_size);
}

// A tree of 24 images plus a BMP; then one file removed, one added, one re-encoded, the BMP
// rewritten with its size and mtime kept.
struct Changes {
    std::string removed = "cat/c0_img1.png", added = "dog/new.png", reencoded = "fish/c1_img2.png",
                same_size = "cat/extra.bmp";
};

std::string make_tree(const test::TempDir& dir) {
    const std::string data = test::make_image_tree(dir.path(), 2);
    cv::imwrite(data + "/cat/extra.bmp", cv::imread(data + "/cat/c0_img0.jpg"));
    return data;
}

void change_tree(const std::string& data, const Changes& c) {
    fs::remove(data + "/" + c.removed);
    fs::copy_file(data + "/fish/c0_img3.png", data + "/" + c.added);
    cv::Mat image = cv::imread(data + "/" + c.reencoded);
    cv::flip(image, image, 0);
    cv::imwrite(data + "/" + c.reencoded, image);
    rewrite_same_size(data + "/" + c.same_size);
}

}  // namespace

TEST_SUITE("unit") {
    TEST_CASE("an update extracts only new and changed files and equals a fresh extraction of the new tree") {
        test::TempDir dir;
        const std::string data = make_tree(dir);
        run_extraction(update_options(data, dir / "c.h5"), {});
        const auto before = rows_by_path(dir / "c.h5");
        const Changes c;
        change_tree(data, c);

        ExtractOptions up = update_options(data, dir / "c.h5");
        up.update = true;
        const ExtractSummary s = run_extraction(up, {});
        CHECK(s.updated);
        CHECK(s.images == 3);   // added, re-encoded, rewritten in place
        CHECK(s.removed == 3);  // removed, and the two changed files' old rows
        CHECK(s.reused == 22);
        CHECK_FALSE(fs::exists(update_scratch(dir / "c.h5")));

        run_extraction(update_options(data, dir / "fresh.h5"), {});
        const auto updated = rows_by_path(dir / "c.h5");
        const auto fresh = rows_by_path(dir / "fresh.h5");
        // Same rows in the same order, labels, splits, stamps and views as a fresh extraction.
        CHECK(test::read_string_list(dir / "c.h5", cache::kSamplesPath) ==
              test::read_string_list(dir / "fresh.h5", cache::kSamplesPath));
        for (const char* d : {cache::kSamplesLabel, cache::kSamplesSplit, cache::kSamplesSize, cache::kSamplesMtime,
                              cache::kViewsSample, cache::kViewsIndex}) {
            CAPTURE(d);
            CHECK(test::diff(test::read_tensor(dir / "c.h5", d), test::read_tensor(dir / "fresh.h5", d)).max_abs == 0);
        }
        REQUIRE(updated.size() == fresh.size());
        for (const auto& entry : fresh) {
            const std::string path = entry.first;
            CAPTURE(path);
            const RowContent& u = updated.at(path);
            CHECK(u.sha256 == entry.second.sha256);
            CHECK(u.values == entry.second.values);  // bit for bit
            if (before.count(path) && path != c.reencoded && path != c.same_size) {
                CHECK(u.values == before.at(path).values);  // unchanged files: the old rows, untouched
                CHECK(u.split == before.at(path).split);    // and the old split
            }
        }
        CHECK(before.at(c.same_size).values != updated.at(c.same_size).values);  // caught by its hash alone
        CHECK_FALSE(updated.count(c.removed));
        CHECK(read_cache_info(dir / "c.h5").complete);
    }

    TEST_CASE("an update with nothing changed does nothing - other settings and version 1 caches are refused") {
        test::TempDir dir;
        const std::string data = make_tree(dir);
        ExtractOptions o = update_options(data, dir / "c.h5");
        run_extraction(o, {});
        const std::string bytes = test::read_file(dir / "c.h5");
        o.update = true;
        const ExtractSummary s = run_extraction(o, {});
        CHECK(s.already_complete);
        CHECK(s.images == 0);
        CHECK(test::read_file(dir / "c.h5") == bytes);

        ExtractOptions taps = o;
        taps.taps = {"pool5"};
        CHECK_THROWS_WITH_AS(run_extraction(taps, {}), doctest::Contains("another set of taps"), Error);
        ExtractOptions views = o;
        views.views = 3;
        CHECK_THROWS_WITH_AS(run_extraction(views, {}), doctest::Contains("another set of views"), Error);

        fs::copy_file(test::fixture("cache_v1.h5"), dir / "v1.h5");
        ExtractOptions old = update_options(test::fixture("images"), dir / "v1.h5");
        old.taps = {"pool5", "fc7"};
        old.size = 64;
        old.update = true;
        CHECK_THROWS_WITH_AS(run_extraction(old, {}),
                             doctest::Contains("cannot be updated; extract it again with 'force'"), Error);
    }

}  // TEST_SUITE

TEST_SUITE("slow") {
    TEST_CASE(
        "an update killed by SIGKILL at random moments leaves the old cache or the new one - the re-run completes it") {
        test::TempDir dir;
        const std::string data = test::make_image_tree(dir.path(), 10);
        const auto args = [&](const std::string& out, bool update) {
            std::vector<std::string> a{"extract",
                                       test::fixture("tiny_vgg16.onnx"),
                                       data,
                                       "-o",
                                       out,
                                       "--taps",
                                       "pool3,pool5",
                                       "--size",
                                       "32",
                                       "--batch",
                                       "1",
                                       "--threads",
                                       "2",
                                       "--views",
                                       "2",
                                       "--augment",
                                       "flip=1",
                                       "--seed",
                                       "9"};
            if (update) a.push_back("--update");
            return a;
        };
        REQUIRE(test::run_cvtl(args(dir / "old.h5", false)).exit_code == 0);
        const auto old_paths = test::read_string_list(dir / "old.h5", cache::kSamplesPath);
        // 10 % of the files change: 6 removed, 6 added.
        for (int i = 0; i < 6; ++i) {
            const std::string cls = i % 2 ? "dog" : "cat";
            fs::remove(data + "/" + cls + "/c" + std::to_string(i) + "_img1.png");
            fs::copy_file(data + "/fish/c" + std::to_string(i) + "_img2.png",
                          data + "/" + cls + "/added" + std::to_string(i) + ".png");
        }
        REQUIRE(test::run_cvtl(args(dir / "fresh.h5", false)).exit_code == 0);
        const auto new_paths = test::read_string_list(dir / "fresh.h5", cache::kSamplesPath);

        // How long one whole update takes here, so that the kills land inside it.
        fs::copy_file(dir / "old.h5", dir / "probe.h5");
        const auto probe_start = std::chrono::steady_clock::now();
        REQUIRE(test::run_cvtl(args(dir / "probe.h5", true), {"CVTL_TEST_SEGMENT_ROWS=2"}).exit_code == 0);
        const double whole_ms =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - probe_start).count();

        fs::copy_file(dir / "old.h5", dir / "c.h5");
        // Kills land while the changed files' segments are written, while the new cache is assembled,
        // and at random moments, in turn.
        const std::string parts = update_scratch(dir / "c.h5") + ".parts";
        const auto segments = [&] {
            int n = 0;
            boost::system::error_code ec;
            for (fs::directory_iterator it(parts, ec), end; !ec && it != end; it.increment(ec))
                n += it->path().extension() == ".h5";
            return n;
        };
        std::mt19937 rng(2026);
        int kills = 0;
        bool killed_extracting = false, killed_assembling = false;
        for (int attempt = 0; attempt < 30; ++attempt) {
            const auto start = std::chrono::steady_clock::now();
            const auto after_ms = static_cast<int>(std::uniform_real_distribution<double>(0.1, 0.9)(rng) * whole_ms);
            const int sealed = segments();
            const std::function<bool()> moments[] = {
                [&] { return segments() > sealed; },
                [&] { return fs::exists(dir / "c.h5.tmp"); },
                [&] { return std::chrono::steady_clock::now() - start > std::chrono::milliseconds(after_ms); },
            };
            const auto r = test::run_cvtl(args(dir / "c.h5", true), {"CVTL_TEST_SEGMENT_ROWS=2"}, moments[attempt % 3]);
            // Whatever the moment, CACHE is a complete cache: the old one or the new one.
            const CacheInfo info = read_cache_info(dir / "c.h5");
            CHECK(info.complete);
            const auto paths = test::read_string_list(dir / "c.h5", cache::kSamplesPath);
            CHECK((paths == old_paths || paths == new_paths));
            if (r.exit_code == 0) break;
            INFO(r.err);
            REQUIRE(r.exit_code == -9);
            ++kills;
            killed_extracting |= attempt % 3 == 0;
            killed_assembling |= attempt % 3 == 1;
        }
        CHECK(killed_extracting);
        CHECK(killed_assembling);
        CHECK(kills >= 2);
        const auto last = test::run_cvtl(args(dir / "c.h5", true));
        INFO(last.err);
        REQUIRE(last.exit_code == 0);
        CHECK(rows_by_path(dir / "c.h5").size() == new_paths.size());
        const auto got = rows_by_path(dir / "c.h5"), want = rows_by_path(dir / "fresh.h5");
        for (const auto& entry : want) {
            const std::string path = entry.first;
            CAPTURE(path);
            CHECK(got.at(path).values == entry.second.values);
        }
        CHECK_FALSE(fs::exists(update_scratch(dir / "c.h5")));
    }

}  // TEST_SUITE
