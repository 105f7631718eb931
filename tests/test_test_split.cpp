// Held-out test rows from one folder: extract --test-fraction draws them by the split hash, train and
// sweep never read them, and evaluate scores them from the cache as it would from the image files.
#include "pipeline/core/error.hpp"
#include "pipeline/data/dataset.hpp"
#include "support/fixtures.hpp"
#include "support/subprocess.hpp"
#include "support/synthetic_cache.hpp"

#include <doctest/doctest.h>

#include <boost/filesystem.hpp>

#include <fstream>
#include <map>

using namespace cvtl;

namespace {

// By the path under the data folder (class/file), so two trees can be compared.
std::map<std::string, Split> splits_by_path(const Dataset& d) {
    std::map<std::string, Split> out;
    for (const Sample& s : d.samples) {
        const boost::filesystem::path p(d.file(s));
        out[p.parent_path().filename().string() + "/" + p.filename().string()] = s.split;
    }
    return out;
}

// A cache of tiny_vgg16's pool4 and pool5 shapes whose test rows each hold a NaN.
std::string poisoned_cache(const test::TempDir& dir) {
    test::SyntheticCache spec;
    spec.model = test::fixture("tiny_vgg16.onnx");
    spec.taps = {"pool4", "pool5"};
    spec.shapes = {{16, 4, 4}, {16, 2, 2}};
    spec.rows_per_class = 16;
    spec.val_per_class = 4;
    spec.test_per_class = 4;
    const std::string path = dir / "cache.h5";
    test::write_synthetic_cache(path, spec);
    return path;
}

bool has_nan(const std::string& path) {
    const std::string text = test::read_file(path);
    return text.find("nan") != std::string::npos || text.find("NaN") != std::string::npos;
}

}  // namespace

TEST_SUITE("unit") {
    TEST_CASE("a test share leaves validation where it was, and adding images moves no image between splits") {
        test::TempDir dir;
        const std::string data = test::make_image_tree(dir.path(), 8);  // 96 images
        ScanOptions plain{0.2, 7};
        ScanOptions held_out = plain;
        held_out.test_fraction = 0.3;
        const auto before = splits_by_path(scan_dataset(data, plain));
        const auto with_test = splits_by_path(scan_dataset(data, held_out));
        int tests = 0;
        for (const auto& entry : with_test) {
            const std::string path = entry.first;  // a copy: clang cannot capture a structured binding
            CAPTURE(path);
            CHECK((entry.second == Split::Val) == (before.at(path) == Split::Val));
            tests += entry.second == Split::Test;
        }
        REQUIRE(with_test.size() == 96);
        CHECK(tests > 96 * 0.3 / 2);  // about 29 expected
        CHECK(tests < 96 * 0.3 * 2);
        // More images: every earlier one keeps its split.
        test::TempDir more;
        const std::string bigger = test::make_image_tree(more.path(), 12);
        const auto grown = splits_by_path(scan_dataset(bigger, held_out));
        for (const auto& entry : with_test) CHECK(grown.at(entry.first) == entry.second);
        CHECK_THROWS_WITH_AS(scan_dataset(data, {0.5, 7, kDefaultMaxImageBytes, 0.5}),
                             doctest::Contains("'test-fraction' must be"), Error);
    }
}  // TEST_SUITE

TEST_SUITE("slow") {
    TEST_CASE("train and sweep never read a test row: a NaN in each leaves every loss and score finite") {
        test::TempDir dir;
        const std::string cache = poisoned_cache(dir);
        for (const std::vector<std::string>& strategy :
             std::vector<std::vector<std::string>>{{"--strategy", "classifier", "--head", "linear", "--tap", "pool5"},
                                                   {"--strategy", "finetune", "--from-block", "5"}}) {
            const std::string run = dir / ("run-" + strategy[1]);
            std::vector<std::string> args{"train", cache, "-o", run, "--epochs", "2", "--batch", "8", "--threads", "2"};
            args.insert(args.end(), strategy.begin(), strategy.end());
            const auto t = test::run_cvtl(args);
            CAPTURE(t.err);
            REQUIRE(t.exit_code == 0);
            CHECK(!has_nan(run + "/metrics.csv"));
        }
        const auto s = test::run_cvtl({"sweep", cache, "-o", dir / "sweep", "--only", "probe-pool5,finetune-b5",
                                       "--folds", "2", "--steps", "6", "--batch", "8", "--threads", "2"});
        CAPTURE(s.err);
        REQUIRE(s.exit_code == 0);
        CHECK(!has_nan(dir / "sweep/sweep.csv"));
    }

    TEST_CASE("evaluate MODEL CACHE --split test scores the cached test rows as evaluate does their image files") {
        test::TempDir dir;
        const std::string data = test::make_image_tree(dir.path(), 3), cache = dir / "c.h5", run = dir / "run";
        auto ok = [](const test::RunResult& r) {
            CAPTURE(r.err);
            REQUIRE(r.exit_code == 0);
            return r.out;
        };
        ok(test::run_cvtl({"extract", test::fixture("tiny_vgg16.onnx"), data, "-o", cache, "--taps", "input,pool5",
                           "--val-fraction", "0.25", "--test-fraction", "0.3", "--threads", "2"}));
        ok(test::run_cvtl({"train", cache, "-o", run, "--strategy", "classifier", "--head", "linear", "--tap", "pool5",
                           "--epochs", "2", "--threads", "2"}));
        ok(test::run_cvtl({"export", run, "-o", dir / "full.onnx"}));
        ok(test::run_cvtl({"export", run, "-o", dir / "head.onnx", "--head-only"}));
        // The same test images as files: a CSV of path,label,test.
        std::ofstream csv(dir / "test.csv");
        int listed = 0;
        const Dataset d = scan_dataset(data, {0.25, 0, kDefaultMaxImageBytes, 0.3});  // extract's default seed
        for (const Sample& s : d.samples)
            if (s.split == Split::Test)
                csv << d.file(s) << "," << d.classes[static_cast<size_t>(s.label)] << ",test\n", ++listed;
        csv.close();
        REQUIRE(listed > 0);
        const std::string files = ok(test::run_cvtl({"evaluate", dir / "full.onnx", dir / "test.csv"}));
        const std::string from_cache = ok(test::run_cvtl({"evaluate", dir / "full.onnx", cache}));
        const std::string head_only = ok(test::run_cvtl({"evaluate", dir / "head.onnx", cache, "--split", "test"}));
        const auto scores = [](const std::string& out) { return out.substr(out.find("accuracy")); };
        const auto table = [](const std::string& out) { return out.substr(0, out.find("evaluated")); };
        CHECK(files.find("evaluated " + std::to_string(listed) + " images") != std::string::npos);
        CHECK(from_cache.find("evaluated " + std::to_string(listed) + " images") != std::string::npos);
        CHECK(scores(from_cache) == scores(files));
        CHECK(table(from_cache) == table(files));
        CHECK(scores(head_only) == scores(files));
        const auto none = test::run_cvtl({"evaluate", dir / "head.onnx", cache, "--split", "nope"});
        CHECK(none.exit_code == 1);
    }
}  // TEST_SUITE
