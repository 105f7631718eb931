// The README's main command, reduced: n = 10, 4-epoch trainings, 20 test images per class.
#include "support/fixtures.hpp"
#include "support/subprocess.hpp"

#include <doctest/doctest.h>

#include <opencv2/dnn.hpp>

#include <boost/filesystem.hpp>

#include <regex>

using namespace cvtl;

TEST_SUITE("slow") {
    TEST_CASE("the reduced demo runs end to end and every exported model loads in stock OpenCV") {
        test::TempDir dir;
        const std::string report = dir / "results.md";
        const auto r = test::run_program({CVTL_DEMO_BINARY, "--quick", "--work", dir / "work", "--report", report,
                                          "--models", std::string(CVTL_SAMPLES_DIR) + "/models", "--commit", "test"});
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        const std::string md = test::read_file(report);
        for (const char* section : {"## Strategy 1: the pretrained model as it is", "## Strategies 2-4 on P2",
                                    "## Where to cut", "## What the numbers say", "## How hyper-parameters were chosen",
                                    "2 classifier (pool5)", "4 scratch (input)", "| **", "| finetune-b5-lr0.001 |",
                                    "| probe-pool1-lr0.003 |", "the sweep chose", "It cannot name P2's classes"})
            CHECK_MESSAGE(md.find(section) != std::string::npos, section);
        CHECK(boost::filesystem::exists(dir / "results-accuracy.png"));
        CHECK(boost::filesystem::exists(dir / "results-sweep.png"));
        CHECK(r.out.find("P1 test accuracy") != std::string::npos);
        int models = 0;
        for (const auto& e : boost::filesystem::directory_iterator(dir / "work/sweep-coarse-fine-n10")) {
            if (e.path().extension() != ".onnx") continue;
            CAPTURE(e.path().string());
            cv::dnn::Net net = cv::dnn::readNetFromONNX(e.path().string());
            net.setInput(cv::Mat(std::vector<int>{2, 3, 32, 32}, CV_32F, cv::Scalar(0.5)));
            const cv::Mat prob = net.forward();
            CHECK(prob.size[1] == 10);
            CHECK(cv::sum(prob.row(0))[0] == doctest::Approx(1.0).epsilon(1e-4));
            ++models;
        }
        CHECK(models == 4);  // the sweep's choice (best.onnx) and the best of each other strategy
    }

    // The validation score of the sweep's choice (the bold row) in the report's section of one source.
    double chosen_validation(const std::string& md, const std::string& section) {
        const size_t at = md.find("| **", md.find(section));
        REQUIRE(at != std::string::npos);
        const std::string row = md.substr(at, md.find('\n', at) - at);
        std::smatch m;
        REQUIRE(std::regex_search(row, m, std::regex(R"(\| (0\.\d{4}) \(\d+\) \|)")));
        return std::stod(m[1]);
    }

    TEST_CASE("the reduced demo compares a VGG and a ResNet source, choosing between them on validation") {
        test::TempDir dir;
        const std::string report = dir / "backbones.md";
        const auto r = test::run_program({CVTL_DEMO_BINARY, "--quick", "--backbone", "vgg,resnet", "--work",
                                          dir / "work", "--report", report, "--models",
                                          std::string(CVTL_SAMPLES_DIR) + "/models", "--commit", "test"});
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        const std::string md = test::read_file(report);
        for (const char* text : {"## VGG-16 layout source", "## ResNet-18 layout source", "## What the numbers say",
                                 "2 classifier (pool5)", "2 classifier (features)", "input, block1, block2",
                                 "validation prefers the", "strategy by strategy", "batch norm while fine-tuning"})
            CHECK_MESSAGE(md.find(text) != std::string::npos, text);
        CHECK(boost::filesystem::exists(dir / "backbones-accuracy.png"));
        // The sentence names the source whose chosen candidate scores higher on validation (ties: VGG).
        const bool resnet =
            chosen_validation(md, "## ResNet-18 layout source") > chosen_validation(md, "## VGG-16 layout source");
        CHECK(md.find(std::string("validation prefers the ") + (resnet ? "ResNet-18" : "VGG-16") + " layout source") !=
              std::string::npos);
        // The ResNet source's exports, residual branches included, load in stock OpenCV.
        int models = 0;
        for (const auto& e : boost::filesystem::directory_iterator(dir / "work/sweep-coarse-fine-resnet-n10")) {
            if (e.path().extension() != ".onnx") continue;
            CAPTURE(e.path().string());
            cv::dnn::Net net = cv::dnn::readNetFromONNX(e.path().string());
            net.setInput(cv::Mat(std::vector<int>{2, 3, 32, 32}, CV_32F, cv::Scalar(0.5)));
            CHECK(net.forward().size[1] == 10);
            ++models;
        }
        CHECK(models == 4);
    }

}  // TEST_SUITE
