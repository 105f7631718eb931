// Augmented views in the cache (extract --views K --augment SPEC): view 0 is the plain cache, each
// stored view is the network's output on that sample's augmented image, views are deterministic
// across thread counts and resume, and training draws every view over the epochs.
#include "pipeline/cache/cache_format.hpp"
#include "pipeline/cache/cache_info.hpp"
#include "pipeline/cache/cache_reader.hpp"
#include "pipeline/cache/extractor.hpp"
#include "pipeline/data/augment.hpp"
#include "pipeline/data/image_decode.hpp"
#include "pipeline/data/preprocess.hpp"
#include "pipeline/train/batch_stream.hpp"
#include "pipeline/core/error.hpp"
#include "support/fixtures.hpp"
#include "support/reference.hpp"
#include "support/subprocess.hpp"

#include <doctest/doctest.h>

#include <boost/filesystem.hpp>

#include <map>
#include <set>

using namespace cvtl;

namespace {

constexpr int kViews = 3;

ExtractOptions view_options(const std::string& data, const std::string& output, int views) {
    ExtractOptions o;
    o.model = test::fixture("tiny_vgg16.onnx");
    o.data = data;
    o.output = output;
    o.taps = {"input", "pool5"};
    o.size = 32;
    o.batch = 4;
    o.threads = 2;
    o.val_fraction = 0.3;
    o.seed = 5;
    o.views = views;
    o.augment = "default";
    return o;
}

std::vector<std::int64_t> read_ints(const std::string& file, const std::string& dataset) {
    const cv::Mat m = test::read_tensor(file, dataset);
    std::vector<std::int64_t> v;
    for (size_t i = 0; i < m.total(); ++i) v.push_back(static_cast<std::int64_t>(m.ptr<float>()[i]));
    return v;
}

double max_diff(const std::string& a, const std::string& b, const std::string& dataset) {
    return test::diff(test::read_tensor(a, dataset), test::read_tensor(b, dataset)).max_abs;
}

// Every dataset of two view caches, compared exactly (or within `tolerance` for network outputs).
void check_same_views(const std::string& a, const std::string& b, double tolerance) {
    CHECK(test::read_string_list(a, cache::kSamplesPath) == test::read_string_list(b, cache::kSamplesPath));
    CHECK(read_ints(a, cache::kViewsSample) == read_ints(b, cache::kViewsSample));
    CHECK(read_ints(a, cache::kViewsIndex) == read_ints(b, cache::kViewsIndex));
    CHECK(max_diff(a, b, "/views/taps/input") == 0);  // the augmented images themselves
    CHECK(max_diff(a, b, "/taps/input") == 0);
    CHECK(max_diff(a, b, "/views/taps/pool5") <= tolerance);
    CHECK(max_diff(a, b, "/taps/pool5") <= tolerance);
}

}  // namespace

TEST_SUITE("unit") {
    TEST_CASE("view 0 of a cache with views is bit for bit the plain cache - views stored for training rows only") {
        test::TempDir dir;
        run_extraction(view_options(test::fixture("images"), dir / "plain.h5", 1), {});
        std::vector<ExtractPlan> plans;
        ExtractEvents events;
        events.planned = [&](const ExtractPlan& p) { plans.push_back(p); };
        run_extraction(view_options(test::fixture("images"), dir / "views.h5", kViews), events);
        for (const std::string tap : {"input", "pool5"}) {
            CAPTURE(tap);
            CHECK(max_diff(dir / "plain.h5", dir / "views.h5", "/taps/" + tap) == 0);
        }
        const CacheInfo info = read_cache_info(dir / "views.h5");
        CHECK(info.version == cache::kVersion);
        CHECK(info.views == kViews);
        CHECK(info.augment == parse_augment_spec("default").to_string());
        const auto splits = read_ints(dir / "views.h5", cache::kSamplesSplit);
        std::vector<std::int64_t> expected_rows, expected_index;
        for (size_t r = 0; r < splits.size(); ++r)
            if (splits[r] == 0)
                for (int v = 1; v < kViews; ++v)
                    expected_rows.push_back(static_cast<std::int64_t>(r)), expected_index.push_back(v);
        REQUIRE(expected_rows.size() > 0);
        CHECK(read_ints(dir / "views.h5", cache::kViewsSample) == expected_rows);
        CHECK(read_ints(dir / "views.h5", cache::kViewsIndex) == expected_index);
        CHECK(info.view_rows == static_cast<std::int64_t>(expected_rows.size()));
        // The size printed before extraction counts every tap row: 12 images plus K-1 views per training image.
        REQUIRE(plans.size() == 1);
        CHECK(plans[0].rows == 12 + static_cast<std::int64_t>(expected_rows.size()));
        CHECK(plans[0].bytes == static_cast<std::uint64_t>(plans[0].rows) * (3 * 32 * 32 + 16 * 1 * 1) * 4);
    }

    TEST_CASE("each stored view is the preprocessed view_image of its own sample") {
        test::TempDir dir;
        const ExtractOptions o = view_options(test::fixture("images"), dir / "views.h5", kViews);
        run_extraction(o, {});
        const auto paths = test::read_string_list(dir / "views.h5", cache::kSamplesPath);
        const auto rows = read_ints(dir / "views.h5", cache::kViewsSample);
        const auto index = read_ints(dir / "views.h5", cache::kViewsIndex);
        const cv::Mat stored = test::read_tensor(dir / "views.h5", "/views/taps/input");
        const Preprocessing pre = make_preprocessing(Preset::torchvision, 32);
        const AugmentSpec spec = parse_augment_spec("default");
        const size_t values = 3 * 32 * 32;
        for (size_t j = 0; j < rows.size(); ++j) {
            const std::string& path = paths[static_cast<size_t>(rows[j])];
            CAPTURE(path);
            std::string reason;
            const cv::Mat image = read_bgr8(test::fixture("images/" + path), reason);
            cv::Mat expected(1, static_cast<int>(values), CV_32F);
            preprocess_image(view_image(image, spec, o.seed, path, static_cast<int>(index[j])), pre,
                             expected.ptr<float>());
            const cv::Mat got(1, static_cast<int>(values), CV_32F,
                              const_cast<float*>(stored.ptr<float>()) + j * values);
            CHECK(cv::norm(expected, got, cv::NORM_INF) == 0);
            cv::Mat plain(1, static_cast<int>(values), CV_32F);
            preprocess_image(image, pre, plain.ptr<float>());
            CHECK(cv::norm(plain, got, cv::NORM_INF) > 0);  // augmented, not a copy of view 0
        }
    }

    TEST_CASE("views are the same with one thread or two") {
        test::TempDir dir;
        ExtractOptions one = view_options(test::fixture("images"), dir / "one.h5", kViews);
        one.threads = 1;
        run_extraction(one, {});
        run_extraction(view_options(test::fixture("images"), dir / "two.h5", kViews), {});
        // The images are identical; the network's sums may be split differently across threads.
        check_same_views(dir / "one.h5", dir / "two.h5", 1e-5);
    }

    TEST_CASE("a cache with views is resumed only with the same views - and views need an augmentation") {
        test::TempDir dir;
        ExtractOptions o = view_options(test::fixture("images"), dir / "v.h5", kViews);
        run_extraction(o, {});
        ExtractOptions other_k = o;
        other_k.views = 2;
        CHECK_THROWS_WITH_AS(run_extraction(other_k, {}), doctest::Contains("another set of views"), Error);
        ExtractOptions other_spec = o;
        other_spec.augment = "flip=1";
        CHECK_THROWS_WITH_AS(run_extraction(other_spec, {}), doctest::Contains("another set of views"), Error);
        ExtractOptions none = o;
        none.output = dir / "n.h5";
        none.augment = "none";
        CHECK_THROWS_WITH_AS(run_extraction(none, {}), doctest::Contains("give an 'augment' SPEC"), Error);
        ExtractOptions many = o;
        many.views = 256;
        CHECK_THROWS_WITH_AS(run_extraction(many, {}), doctest::Contains("'views' must be in 1..255"), Error);
    }

    TEST_CASE("training draws every view of every training row over the epochs - validation reads view 0") {
        test::TempDir dir;
        run_extraction(view_options(test::fixture("images"), dir / "v.h5", kViews), {});
        CacheReader reader(dir / "v.h5", "input");
        REQUIRE(reader.views() == kViews);
        const size_t n = reader.sample_values();
        const cv::Mat plain = reader.read_rows(0, reader.rows()).reshape(1, static_cast<int>(reader.rows()));
        // Which view a batch row is: 0 when it equals the row's plain input, else the stored view it equals.
        const auto which_view = [&](std::int64_t row, const float* values) {
            const cv::Mat got(1, static_cast<int>(n), CV_32F, const_cast<float*>(values));
            if (cv::norm(plain.row(static_cast<int>(row)), got, cv::NORM_INF) == 0) return 0;
            for (int v = 1; v <= reader.view_count(row); ++v) {
                const cv::Mat view = reader.read_view_rows(reader.view_first(row) + v - 1, 1).reshape(1, 1);
                if (cv::norm(view, got, cv::NORM_INF) == 0) return v;
            }
            return -1;
        };
        std::map<std::int64_t, std::set<int>> seen;
        BatchStream train(reader, 0, 4, true, 11, 1 << 20);
        for (int epoch = 0; epoch < 24; ++epoch) {
            train.start_epoch(epoch);
            std::set<std::int64_t> this_epoch;
            for (Batch b; train.next(b);)
                for (size_t i = 0; i < b.rows.size(); ++i) {
                    CHECK(this_epoch.insert(b.rows[i]).second);  // one view of each row per epoch
                    seen[b.rows[i]].insert(which_view(b.rows[i], b.data.ptr<float>() + i * n));
                }
        }
        REQUIRE(!seen.empty());
        for (const auto& entry : seen) {
            const std::int64_t row = entry.first;
            const std::set<int> views = entry.second;
            CAPTURE(row);
            CHECK(views == std::set<int>{0, 1, 2});
        }
        BatchStream val(reader, 1, 4, false, 11, 1 << 20);
        val.start_epoch(0);
        for (Batch b; val.next(b);)
            for (size_t i = 0; i < b.rows.size(); ++i) CHECK(which_view(b.rows[i], b.data.ptr<float>() + i * n) == 0);
    }

    TEST_CASE("a version 1 cache (no stamps or views) is still read and trained from") {
        const std::string v1 = test::fixture("cache_v1.h5");
        const CacheInfo info = read_cache_info(v1);
        CHECK(info.version == 1);
        CHECK(info.views == 1);
        CHECK(info.rows == 12);
        CacheReader reader(v1, "pool5");
        BatchStream train(reader, 0, 4, true, 1, 1 << 20);
        train.start_epoch(0);
        std::int64_t rows = 0;
        for (Batch b; train.next(b);) rows += static_cast<std::int64_t>(b.rows.size());
        CHECK(rows == info.counts[0][0] + info.counts[1][0] + info.counts[2][0]);
    }

}  // TEST_SUITE

TEST_SUITE("slow") {
    TEST_CASE("an extraction with views killed before a segment is sealed resumes to the same views") {
        test::TempDir dir;
        const std::string data = test::make_image_tree(dir.path(), 3);
        const auto args = [&](const std::string& out) {
            return std::vector<std::string>{"extract",
                                            test::fixture("tiny_vgg16.onnx"),
                                            data,
                                            "-o",
                                            out,
                                            "--taps",
                                            "input,pool5",
                                            "--size",
                                            "32",
                                            "--batch",
                                            "1",
                                            "--views",
                                            "3",
                                            "--val-fraction",
                                            "0.3",
                                            "--seed",
                                            "5"};
        };
        REQUIRE(test::run_cvtl(args(dir / "full.h5")).exit_code == 0);
        const auto killed =
            test::run_cvtl(args(dir / "part.h5"), {"CVTL_TEST_SEGMENT_ROWS=4", "CVTL_TEST_DIE_BEFORE_COMMIT=17"});
        REQUIRE(killed.exit_code == 86);
        const auto resumed = test::run_cvtl(args(dir / "part.h5"), {"CVTL_TEST_SEGMENT_ROWS=4"});
        INFO(resumed.err);
        REQUIRE(resumed.exit_code == 0);
        CHECK(resumed.out.find("resumed after") != std::string::npos);
        check_same_views(dir / "full.h5", dir / "part.h5", 0);  // batches of one: the same sums as well
    }

}  // TEST_SUITE
