#include "pipeline/cache/cache_format.hpp"
#include "pipeline/cache/cache_reader.hpp"
#include "pipeline/deploy/evaluator.hpp"
#include "pipeline/deploy/predictor.hpp"
#include "pipeline/deploy/exporter.hpp"
#include "pipeline/train/run_state.hpp"
#include "pipeline/core/error.hpp"
#include "plugin/head_builder.hpp"
#include "plugin/onnx_export.hpp"
#include "support/fixtures.hpp"
#include "support/reference.hpp"
#include "support/subprocess.hpp"
#include "support/trained_runs.hpp"

#include <doctest/doctest.h>

#include <algorithm>

#include <boost/filesystem.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

#include <opencv2/imgcodecs.hpp>

using namespace cvtl;

namespace {

std::string exported_model(const test::TempDir& dir, const std::string& cache) {
    const std::string run =
        test::train_fixture_run(cache, dir / "run", Strategy::finetune, ClassifierHead::source, 4, 12);
    ExportOptions o;
    o.run = run;
    o.output = dir / "model.onnx";
    run_export(o);
    return o.output;
}

}  // namespace

TEST_SUITE("unit") {
    TEST_CASE("predict and evaluate agree with each other and with the trainer's validation accuracy") {
        test::TempDir dir;
        const std::string cache = test::fixture_cache(dir);
        const std::string model = exported_model(dir, cache);

        // The validation samples of the cache, as a CSV evaluate can read.
        CacheReader reader(cache, "input");
        const auto paths = test::read_string_list(cache, cache::kSamplesPath);
        {
            std::ofstream csv(dir / "val.csv");
            for (size_t i = 0; i < paths.size(); ++i)
                if (reader.splits()[i] == 1)
                    csv << test::fixture("images/" + paths[i]) << ","
                        << reader.info().classes[static_cast<size_t>(reader.labels()[i])] << "\n";
        }
        EvaluateOptions e;
        e.model = model;
        e.data = dir / "val.csv";
        e.report = dir / "report.json";
        e.top_k = 2;
        const EvaluateSummary val = run_evaluation(e, {});
        const auto n_val = static_cast<std::int64_t>(std::count(reader.splits().begin(), reader.splits().end(), 1));
        REQUIRE(n_val > 0);
        const RunState kept = load_run_state(dir / "run/checkpoint.h5");
        const int kept_epoch = kept.progress.at("kept_epoch");  // the epoch model.h5 holds
        const double trainer_val = kept.progress.at("history")[static_cast<size_t>(kept_epoch - 1)].at("val_accuracy");
        CHECK(val.images == n_val);
        CHECK(val.accuracy == doctest::Approx(trainer_val));

        // A CSV that marks splits is scored on its test rows only: the same validation images marked
        // test, every other image marked train.
        {
            std::ofstream csv(dir / "split.csv");
            for (size_t i = 0; i < paths.size(); ++i)
                csv << test::fixture("images/" + paths[i]) << ","
                    << reader.info().classes[static_cast<size_t>(reader.labels()[i])] << ","
                    << (reader.splits()[i] == 1 ? "test" : "train") << "\n";
        }
        EvaluateOptions split = e;
        split.data = dir / "split.csv";
        split.report = "";
        std::string warning;
        Events events;
        events.warn = [&](const std::string& w) { warning = w; };
        const EvaluateSummary test_rows = run_evaluation(split, events);
        CHECK(test_rows.images == n_val);
        CHECK(test_rows.accuracy == doctest::Approx(val.accuracy));
        CHECK(warning.find("scoring its " + std::to_string(n_val) + " test rows, not the other " +
                           std::to_string(12 - n_val)) != std::string::npos);

        // Every image: evaluate's confusion diagonal equals predict's hits.
        e.data = test::fixture("images");
        const EvaluateSummary all = run_evaluation(e, {});
        const auto predictions = run_prediction(model, {test::fixture("images")}, 1, {}, 4, 2);
        REQUIRE(predictions.size() == 12);
        long long hits = 0;
        for (const auto& p : predictions) hits += p.path.find("/" + p.top[0].first + "/") != std::string::npos;
        long long diagonal = 0;
        for (size_t c = 0; c < 3; ++c) diagonal += all.confusion[c][c];
        CHECK(hits == diagonal);
        CHECK(all.accuracy == doctest::Approx(static_cast<double>(hits) / 12.0));
        CHECK(all.top_k_accuracy >= all.accuracy);

        const auto report = nlohmann::json::parse(test::read_file(dir / "report.json"));
        CHECK(report.at("images") == 12);
        CHECK(report.at("per_class").size() == 3);
        CHECK(boost::filesystem::exists(dir / "report-confusion.csv"));
        CHECK(boost::filesystem::exists(dir / "report-confusion.png"));
    }

    TEST_CASE("a source model that ends in Softmax is not given a second one on either engine") {
        test::TempDir dir;
        const std::string cache = test::fixture_cache(dir);
        // A whole network ending in Softmax, without cvtl's metadata: a plain source model to cvtl.
        const std::string run =
            test::train_fixture_run(cache, dir / "run", Strategy::scratch, ClassifierHead::source, 5, 1);
        const RunState state = load_run_state(run + "/model.h5");
        test::write_file(dir / "plain.onnx", serialize_onnx(NetworkSpec::from_json(state.spec), state.weights, {}));
        test::write_file(dir / "labels.txt", "cat\ndog\nfish\n");
        ExportOptions e;
        e.run = run;
        e.output = dir / "export.onnx";
        run_export(e);
        const auto exported = run_prediction(e.output, {test::fixture("images/cat")}, 3, {}, 4, 2);
        for (const Engine engine : {Engine::onednn, Engine::opencv}) {
            CAPTURE(to_string(engine));
            ClassifierOptions plain;
            plain.labels = dir / "labels.txt";
            plain.preset = Preset::torchvision;
            plain.engine.engine = engine;
            const auto p = run_prediction(dir / "plain.onnx", {test::fixture("images/cat")}, 3, plain, 4, 2);
            REQUIRE(p.size() == exported.size());
            for (size_t i = 0; i < p.size(); ++i)
                for (size_t k = 0; k < 3; ++k) {
                    CHECK(p[i].top[k].first == exported[i].top[k].first);
                    CHECK(p[i].top[k].second == doctest::Approx(exported[i].top[k].second).epsilon(1e-4));
                }
        }
    }

    TEST_CASE("predict on a source model with a labels file gives the source's own top-1") {
        test::TempDir dir;
        const std::string cache = test::fixture_cache(dir);
        test::write_file(dir / "labels.txt", "zero\none\ntwo\nthree\nfour\n");
        ClassifierOptions source;
        source.labels = dir / "labels.txt";
        const auto predictions =
            run_prediction(test::fixture("tiny_vgg16.onnx"), {test::fixture("images")}, 1, source, 4, 2);
        const cv::Mat logits = test::read_tensor(cache, "/taps/logits");
        const auto paths = test::read_string_list(cache, cache::kSamplesPath);
        const std::vector<std::string> names{"zero", "one", "two", "three", "four"};
        REQUIRE(predictions.size() == paths.size());
        for (size_t i = 0; i < paths.size(); ++i) {
            cv::Point best;
            cv::minMaxLoc(logits.row(static_cast<int>(i)), nullptr, nullptr, nullptr, &best);
            CHECK(predictions[i].path == test::fixture("images/" + paths[i]));
            CHECK(predictions[i].top[0].first == names[static_cast<size_t>(best.x)]);
        }
    }

    TEST_CASE("cvtl predict skips images over --max-image-mb unread - and says so") {
        test::TempDir dir;
        test::write_file(dir / "labels.txt", "zero\none\ntwo\nthree\nfour\n");
        const std::string image =
            test::fixture("images/" + test::read_string_list(test::fixture_cache(dir), cache::kSamplesPath)[0]);
        const auto r = test::run_cvtl({"predict", test::fixture("tiny_vgg16.onnx"), image, "--labels",
                                       dir / "labels.txt", "--max-image-mb", "0.0001"});
        CHECK(r.exit_code == 1);
        CHECK(r.err.find("skipped") != std::string::npos);
        CHECK(r.err.find("--max-image-mb") != std::string::npos);
        const auto ok =
            test::run_cvtl({"predict", test::fixture("tiny_vgg16.onnx"), image, "--labels", dir / "labels.txt"});
        CHECK(ok.exit_code == 0);
    }

    TEST_CASE("evaluate refuses data whose classes the model does not know") {
        test::TempDir dir;
        const std::string cache = test::fixture_cache(dir);
        const std::string model = exported_model(dir, cache);
        test::copy_fixture_images(dir / "data");
        boost::filesystem::rename(dir / "data/fish", dir / "data/shark");
        EvaluateOptions e;
        e.model = model;
        e.data = dir / "data";
        CHECK_THROWS_WITH_AS(run_evaluation(e, {}), doctest::Contains("class 'shark'"), Error);
        CHECK_THROWS_WITH_AS(run_prediction(test::fixture("tiny_vgg16.onnx"), {test::fixture("images")}, 1, {}, 4, 2),
                             doctest::Contains("pass 'labels' FILE"), Error);
    }

    TEST_CASE("evaluate's report lists the misclassified images worst first, as predict scores them, and draws them") {
        test::TempDir dir;
        test::copy_fixture_images(dir / "data");
        // The source model as it is (random weights): most fixture images are misclassified, each known
        // from predict's probabilities.
        test::write_file(dir / "labels.txt", "cat\ndog\nfish\nx\ny\n");
        const std::vector<std::string> model{test::fixture("tiny_vgg16.onnx"), "--labels", dir / "labels.txt"};
        std::vector<std::string> predict{"predict", model[0], dir / "data", model[1],
                                         model[2],  "--json", "--top-k",    "5"};
        const auto p = test::run_cvtl(predict);
        REQUIRE(p.exit_code == 0);
        std::vector<std::pair<double, std::string>> expected;  // (p(true), path) of each misclassified image
        std::istringstream lines(p.out);
        for (std::string line; std::getline(lines, line);) {
            const auto j = nlohmann::json::parse(line);
            const std::string path = j.at("path"),
                              truth = boost::filesystem::path(path).parent_path().filename().string();
            double p_true = 0;
            for (const auto& t : j.at("top"))
                if (t.at("class") == truth) p_true = t.at("probability");
            if (j.at("top")[0].at("class") != truth) expected.emplace_back(p_true, path);
        }
        std::stable_sort(expected.begin(), expected.end(),
                         [](const auto& a, const auto& b) { return a.first < b.first; });
        REQUIRE(expected.size() >= 2);
        const auto e = test::run_cvtl({"evaluate", model[0], dir / "data", model[1], model[2], "--report",
                                       dir / "r.json", "--errors-png", dir / "errors.png", "--errors", "4"});
        CAPTURE(e.err);
        REQUIRE(e.exit_code == 0);
        const auto report = nlohmann::json::parse(test::read_file(dir / "r.json"));
        const auto& listed = report.at("misclassified");
        REQUIRE(listed.size() == expected.size());
        for (size_t i = 0; i < expected.size(); ++i) {
            CAPTURE(i);
            CHECK(listed[i].at("true_probability").get<double>() == doctest::Approx(expected[i].first).epsilon(1e-5));
            CHECK(listed[i].at("top").size() == 5);
            CHECK(listed[i].at("top")[0].at("class") != listed[i].at("true"));
        }
        // Four tiles of 160 px (three text lines under each) in a 2 x 2 grid with 4 px gaps.
        const cv::Mat sheet = cv::imread(dir / "errors.png");
        REQUIRE(!sheet.empty());
        CHECK(sheet.cols == 2 * 164 + 4);
        CHECK(sheet.rows == 2 * (160 + 3 * 16 + 6 + 4) + 4);
    }
}  // TEST_SUITE
