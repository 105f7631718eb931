// cvtl pilot: the tap choice (tap_choice.hpp), the sample (tap_pilot.hpp) and the command end to end.
#include "pipeline/train/tap_choice.hpp"
#include "pipeline/train/tap_pilot.hpp"
#include "pipeline/core/error.hpp"
#include "support/fixtures.hpp"
#include "support/subprocess.hpp"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
#include <set>

using namespace cvtl;

namespace {

TapEvidence scored(const std::string& tap, double score, std::uint64_t bytes) {
    TapEvidence e;
    e.tap = tap, e.scored = true, e.score = score, e.bytes_per_image = bytes, e.folds = 5;
    return e;
}

const TapEvidence& find(const TapChoice& c, const std::string& tap) {
    for (const TapEvidence& t : c.taps)
        if (t.tap == tap) return t;
    throw Error("no tap " + tap);
}

}  // namespace

TEST_SUITE("unit") {
    TEST_CASE("the pilot keeps taps within the tolerance of the best probe - best first while the disk budget holds") {
        TapEvidence unscored;
        unscored.tap = "pool1", unscored.bytes_per_image = 3000;
        const std::vector<TapEvidence> evidence{unscored, scored("pool2", 0.90, 1500), scored("pool3", 0.93, 800),
                                                scored("pool4", 0.92, 400), scored("pool5", 0.80, 100)};
        const TapChoice open = choose_taps(evidence, 1000, 0.02, 0);
        CHECK(open.kept == std::vector<std::string>{"pool3", "pool4"});  // network order
        CHECK(open.kept_bytes == 1000 * (800 + 400));
        CHECK(open.taps.front().tap == "pool3");
        CHECK(open.taps.back().tap == "pool1");  // unscored last
        CHECK_FALSE(find(open, "pool2").kept);   // 0.03 below the best
        CHECK(find(open, "pool2").why.find("0.030 below the best") != std::string::npos);
        CHECK(find(open, "pool1").why.find("no probe") != std::string::npos);

        // Wider tolerance: pool2 comes in unless the disk budget stops it (taken best first: pool3, pool4, then pool2).
        CHECK(choose_taps(evidence, 1000, 0.05, 0).kept == std::vector<std::string>{"pool2", "pool3", "pool4"});
        const TapChoice tight = choose_taps(evidence, 1000, 0.05, 1000 * 1300);
        CHECK(tight.kept == std::vector<std::string>{"pool3", "pool4"});
        CHECK(find(tight, "pool2").why.find("disk budget") != std::string::npos);
        // Equal scores: the cheaper tap ranks first.
        CHECK(choose_taps({scored("pool3", 0.9, 800), scored("pool4", 0.9, 400)}, 10, 0, 0).taps.front().tap ==
              "pool4");
    }

    TEST_CASE(
        "the pilot keeps the best tap that fits when none within the tolerance does - and refuses when none fits") {
        TapEvidence unscored;
        unscored.tap = "pool1";
        CHECK_THROWS_WITH_AS(choose_taps({unscored}, 10, 0.02, 0), doctest::Contains("scored no tap"), Error);
        const std::vector<TapEvidence> evidence{scored("pool1", 0.95, 3u << 20), scored("pool3", 0.90, 1u << 20),
                                                scored("pool5", 0.80, 1u << 18)};
        const TapChoice fits = choose_taps(evidence, 1024, 0.02, 2u << 30);  // pool1 needs 3 GiB, pool3 1 GiB
        CHECK(fits.kept == std::vector<std::string>{"pool3"});
        CHECK(fits.kept_bytes == 1024ull << 20);
        CHECK(find(fits, "pool3").why.find("pool1 scored 0.950 but needs 3.00 GiB") != std::string::npos);
        CHECK_THROWS_WITH_AS(choose_taps(evidence, 1024, 0.02, 1u << 20), doctest::Contains("no candidate tap fits"),
                             Error);
    }

    TEST_CASE("the pilot's sample is stratified - seeded - and never holds a test sample") {
        Dataset data;
        data.classes = {"a", "b"};
        for (int i = 0; i < 300; ++i)
            data.samples.push_back({"a/" + std::to_string(i) + ".jpg", 0, i % 10 == 0 ? Split::Test : Split::Train});
        for (int i = 0; i < 30; ++i) data.samples.push_back({"b/" + std::to_string(i) + ".jpg", 1, Split::Val});
        const std::vector<Sample> sample = pilot_sample(data, 100, 0);
        std::map<int, int> per_class;
        for (const Sample& s : sample) {
            CHECK(s.split != Split::Test);
            ++per_class[s.label];
        }
        // 270 + 30 labelled: 90 and 10.
        CHECK(per_class[0] == 90);
        CHECK(per_class[1] == 10);
        CHECK(pilot_sample(data, 100, 0).front().path == sample.front().path);
        std::set<std::string> a, b;
        for (const Sample& s : sample) a.insert(s.path);
        for (const Sample& s : pilot_sample(data, 100, 1)) b.insert(s.path);
        CHECK(a != b);
        // A small class keeps a few rows per fold.
        CHECK(pilot_sample(data, 20, 0).size() == 18 + 5);
    }

}  // TEST_SUITE

TEST_SUITE("slow") {
    TEST_CASE("cvtl pilot scores every candidate tap on a sample and prints the extraction to run - a re-run resumes") {
        test::TempDir dir;
        const std::string data = test::make_image_tree(dir.path(), 4);
        const std::vector<std::string> args{"pilot",
                                            test::fixture("tiny_vgg16.onnx"),
                                            data,
                                            "-o",
                                            dir / "pilot",
                                            "--images",
                                            "30",
                                            "--taps",
                                            "pool2,pool3,pool5",
                                            "--folds",
                                            "2",
                                            "--tolerance",
                                            "0",
                                            "--threads",
                                            "2"};
        const auto r = test::run_cvtl(args);
        REQUIRE_MESSAGE(r.exit_code == 0, r.err);
        CHECK(r.out.find("--taps ") != std::string::npos);
        std::ifstream in(dir / "pilot/pilot.json");
        const nlohmann::json j = nlohmann::json::parse(in);
        CHECK(j["taps"].size() == 3);
        CHECK(j["sample_images"] == 30);
        CHECK(j["dataset_images"] == 48);
        // Tolerance 0: the kept taps are exactly those with the best score.
        double best = 0;
        for (const auto& t : j["taps"]) best = std::max(best, t["score"].get<double>());
        for (const auto& t : j["taps"]) CHECK(t["kept"] == (t["score"].get<double>() == best));

        const auto again = test::run_cvtl(args);
        REQUIRE_MESSAGE(again.exit_code == 0, again.err);
        std::ifstream in2(dir / "pilot/pilot.json");
        CHECK(nlohmann::json::parse(in2)["kept"] == j["kept"]);

        auto bad = args;
        bad[8] = "input,pool5";
        const auto refused = test::run_cvtl(bad);
        CHECK(refused.exit_code == 1);
        CHECK(refused.err.find("cannot be a pilot candidate") != std::string::npos);
    }

    TEST_CASE("cvtl pilot's default candidates are the model's five block outputs - a VGG's pools, a ResNet's blocks") {
        test::TempDir dir;
        const std::string data = test::make_image_tree(dir.path(), 4);
        const std::vector<std::pair<std::string, std::string>> cases{{"tiny_vgg16.onnx", "pool"},
                                                                     {"tiny_resnet18.onnx", "block"}};
        for (const auto& c : cases) {
            const std::string& model = c.first;  // no structured binding: clang cannot CAPTURE one
            const std::string& prefix = c.second;
            CAPTURE(model);
            const std::string out = dir / ("pilot-" + prefix);
            const auto r = test::run_cvtl(
                {"pilot", test::fixture(model), data, "-o", out, "--images", "20", "--folds", "2", "--threads", "2"});
            REQUIRE_MESSAGE(r.exit_code == 0, r.err);
            std::ifstream in(out + "/pilot.json");
            const nlohmann::json j = nlohmann::json::parse(in);
            std::set<std::string> taps, expected;
            for (const auto& t : j["taps"]) {
                taps.insert(t["tap"].get<std::string>());
                CHECK(t["scored"] == true);
            }
            for (int b = 1; b <= 5; ++b) expected.insert(prefix + std::to_string(b));
            CHECK(taps == expected);
        }
    }

}  // TEST_SUITE
