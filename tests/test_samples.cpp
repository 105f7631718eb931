// samples/classify.cpp and samples/classify.py (OpenCV only) against a model exported in the test.
#include "pipeline/deploy/evaluator.hpp"
#include "pipeline/deploy/predictor.hpp"
#include "pipeline/deploy/exporter.hpp"
#include "support/subprocess.hpp"
#include "support/trained_runs.hpp"

#include <doctest/doctest.h>

#include <sstream>

using namespace cvtl;

namespace {

// "path: class (p) class (p) ..." lines -> first class and probability per line.
std::vector<std::pair<std::string, double>> top1(const std::string& out) {
    std::vector<std::pair<std::string, double>> rows;
    std::istringstream in(out);
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream words(line.substr(line.find(": ") + 2));
        std::string name, prob;
        words >> name >> prob;
        rows.emplace_back(name, std::stod(prob.substr(1, prob.size() - 2)));
    }
    return rows;
}

}  // namespace

TEST_SUITE("unit") {
    TEST_CASE("the OpenCV-only samples classify like cvtl predict") {
        test::TempDir dir;
        const std::string cache = test::fixture_cache(dir);
        ExportOptions o;
        o.run = test::train_fixture_run(cache, dir / "run", Strategy::finetune, ClassifierHead::source, 5, 6);
        o.output = dir / "model.onnx";
        run_export(o);
        // 8-bit images: 16-bit ones are read differently by IMREAD_COLOR, as the sample documents.
        const std::vector<std::string> images{test::fixture("images/cat/img0.jpg"),
                                              test::fixture("images/dog/img1.png"),
                                              test::fixture("images/fish/img2.png")};
        const auto expected = run_prediction(o.output, images, 1, {}, 4, 2);

        std::vector<std::string> cpp{CVTL_CLASSIFY_SAMPLE, o.output};
        cpp.insert(cpp.end(), images.begin(), images.end());
        const auto c = test::run_program(cpp);
        INFO(c.err);
        REQUIRE(c.exit_code == 0);
        const auto cpp_top = top1(c.out);
        REQUIRE(cpp_top.size() == images.size());
        for (size_t i = 0; i < images.size(); ++i) {
            CHECK(cpp_top[i].first == expected[i].top[0].first);
            CHECK(cpp_top[i].second == doctest::Approx(expected[i].top[0].second).epsilon(1e-3));
        }

        std::vector<std::string> py{"/usr/bin/python3", std::string(CVTL_SAMPLES_DIR) + "/classify.py", o.output};
        py.insert(py.end(), images.begin(), images.end());
        const auto p = test::run_program(py);
        INFO(p.err);
        REQUIRE(p.exit_code == 0);
        CHECK(top1(p.out) == cpp_top);
    }

}  // TEST_SUITE
