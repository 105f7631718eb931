// The cvtl binary as scripts see it: exit codes, one-line errors, output that names things.
#include "pipeline/data/dataset.hpp"
#include "support/fixtures.hpp"
#include "support/subprocess.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>

using namespace cvtl;

namespace {

bool one_line_error(const test::RunResult& r) {
    return r.exit_code != 0 && std::count(r.err.begin(), r.err.end(), '\n') == 1 && r.err.rfind("cvtl: ", 0) == 0;
}

}  // namespace

TEST_SUITE("unit") {
    TEST_CASE("cvtl inspect prints taps and shapes and layer ranges and parameters") {
        const auto r = test::run_cvtl({"inspect", test::fixture("tiny_vgg16.onnx")});
        REQUIRE(r.exit_code == 0);
        CHECK(r.out.find("pool5    16x2x2") != std::string::npos);
        CHECK(r.out.find("onnx_node!/features/features.30/MaxPool") != std::string::npos);
        CHECK(r.out.find("block5") != std::string::npos);
        CHECK(r.out.find("total") != std::string::npos);
        CHECK(r.out.find("24,169") != std::string::npos);  // every stored value of the model
    }

    TEST_CASE("errors are one line on stderr with a non-zero exit") {
        CHECK(one_line_error(test::run_cvtl({"inspect", test::fixture("not_vgg.onnx")})));
        CHECK(one_line_error(test::run_cvtl({"inspect", "/nonexistent/model.onnx"})));
        CHECK(one_line_error(test::run_cvtl({"cache", "/nonexistent/cache.h5"})));
        test::TempDir dir;
        CHECK(one_line_error(test::run_cvtl({"extract", test::fixture("tiny_vgg16.onnx"), test::fixture("images"), "-o",
                                             dir / "c.h5", "--mean", "1,2"})));
        CHECK(test::run_cvtl({"extract", test::fixture("tiny_vgg16.onnx")}).exit_code != 0);  // missing DATA and -o
        // The sweep's --bn names its three choices; train's names its two.
        const auto sweep_bn = test::run_cvtl({"sweep", dir / "c.h5", "-o", dir / "s", "--bn", "sometimes"});
        CHECK(one_line_error(sweep_bn));
        CHECK(sweep_bn.err.find("train, frozen or both") != std::string::npos);
        CHECK(one_line_error(test::run_cvtl({"train", dir / "c.h5", "-o", dir / "r", "--bn", "sometimes"})));
    }

    TEST_CASE("the error contract: one line - exit 2 for usage - 1 for input - never an OpenCV dump") {
        // Usage: a missing argument, an unknown option, a value of the wrong type.
        for (const std::vector<std::string>& args :
             std::vector<std::vector<std::string>>{{"extract", test::fixture("tiny_vgg16.onnx")},
                                                   {"inspect", "--no-such-option"},
                                                   {"train", "c.h5", "-o", "r", "--epochs", "x"},
                                                   {}}) {
            const auto r = test::run_cvtl(args);
            CAPTURE(r.err);
            CHECK(one_line_error(r));
            CHECK(r.exit_code == 2);
            CHECK(r.err.find("--help") != std::string::npos);
        }
        // Input: an empty .onnx file makes OpenCV assert; the user sees one line naming the problem.
        test::TempDir dir;
        test::write_file(dir / "empty.onnx", "");
        const auto empty = test::run_cvtl({"inspect", dir / "empty.onnx"});
        CAPTURE(empty.err);
        CHECK(one_line_error(empty));
        CHECK(empty.exit_code == 1);
        CHECK(empty.err.find("empty file (0 bytes), not an ONNX model") != std::string::npos);
        CHECK(empty.err.find("Assertion") == std::string::npos);
        CHECK(test::run_cvtl({"inspect", "--help"}).exit_code == 0);
    }

    TEST_CASE("cvtl extract then cvtl cache show the summary and contents") {
        test::TempDir dir;
        const auto r =
            test::run_cvtl({"extract", test::fixture("tiny_vgg11_bn.onnx"), test::fixture("images"), "-o", dir / "c.h5",
                            "--taps", "pool5,fc7,logits", "--preset", "caffe", "--val-fraction", "0.5"});
        REQUIRE(r.exit_code == 0);
        CHECK(r.out.find("extracted 12 images (0 skipped)") != std::string::npos);
        CHECK(r.out.find("images/s") != std::string::npos);
        CHECK(r.err.empty());  // not a terminal: a progress line only every 30 s, and this job is shorter
        CHECK(r.out.find("per row: pool5 ") != std::string::npos);  // each tap's cost before extracting
        CHECK(r.out.find("fc7 ") != std::string::npos);
        CHECK(r.out.find(" free") != std::string::npos);
        const auto again =
            test::run_cvtl({"extract", test::fixture("tiny_vgg11_bn.onnx"), test::fixture("images"), "-o", dir / "c.h5",
                            "--taps", "pool5,fc7,logits", "--preset", "caffe", "--val-fraction", "0.5"});
        CHECK(again.out.find("already complete") != std::string::npos);
        const auto c = test::run_cvtl({"cache", dir / "c.h5"});
        REQUIRE(c.exit_code == 0);
        CHECK(c.out.find("complete") != std::string::npos);
        CHECK(c.out.find("logits  f32   12x3") != std::string::npos);
        // The split is drawn by the library (tested in test_dataset); the table shows the one drawn.
        const Dataset d = scan_dataset(test::fixture("images"), {0.5, 0});
        int train = 0, val = 0;
        for (const Sample& s : d.samples) (s.split == Split::Train ? train : val) += s.label == 0;
        char row[80];
        std::snprintf(row, sizeof row, "cat%26d%9d%9d", train, val, 0);
        CHECK(c.out.find(row) != std::string::npos);
        CHECK(c.out.find("\"preset\":\"caffe\"") != std::string::npos);
    }

    TEST_CASE("a log gets plain progress lines at the interval - a terminal's live line is not written there") {
        test::TempDir dir;
        const auto r = test::run_cvtl({"extract", test::fixture("tiny_vgg11_bn.onnx"), test::fixture("images"), "-o",
                                       dir / "c.h5", "--taps", "pool5", "--preset", "caffe", "--batch", "4"},
                                      {"CVTL_PROGRESS_SECONDS=0"});
        REQUIRE(r.exit_code == 0);
        CAPTURE(r.err);
        CHECK(r.err.find('\r') == std::string::npos);
        CHECK(r.err.find("\033[") == std::string::npos);
        CHECK(r.err.find("cvtl: extract 4/12 images") != std::string::npos);  // one line per batch at interval 0
        CHECK(r.err.find("cvtl: extract 12/12 images") != std::string::npos);
        CHECK(r.err.find("ETA") != std::string::npos);
    }

    TEST_CASE("extract refuses a cache the disk has no room for - before any image and whatever --force says") {
        test::TempDir dir;
        const std::vector<std::string> args{"extract",
                                            test::fixture("tiny_vgg11_bn.onnx"),
                                            test::fixture("images"),
                                            "-o",
                                            dir / "c.h5",
                                            "--taps",
                                            "pool5",
                                            "--preset",
                                            "caffe",
                                            "--force"};
        const auto full = test::run_cvtl(args, {"CVTL_TEST_FREE_BYTES=100"});
        CAPTURE(full.err);
        CHECK(full.exit_code == 1);
        CHECK(one_line_error(full));
        CHECK(full.err.find("c.h5") != std::string::npos);         // names the file
        CHECK(full.err.find("GiB free") != std::string::npos);     // and what there is
        CHECK(full.err.find("--dtype f16") != std::string::npos);  // and a fix, as flags
        CHECK(!std::filesystem::exists(dir / "c.h5"));
        // 12 rows of pool5 fit in a few MB: the same run goes through.
        CHECK(test::run_cvtl(args, {"CVTL_TEST_FREE_BYTES=100000000"}).exit_code == 0);
    }

    TEST_CASE("the automatic fold count fits the smallest class - and says so") {
        test::TempDir dir;
        // 12 fixture images in 3 classes: 4 labelled samples per class, too few for the default 5 folds.
        REQUIRE(test::run_cvtl({"extract", test::fixture("tiny_vgg11_bn.onnx"), test::fixture("images"), "-o",
                                dir / "c.h5", "--taps", "pool5", "--preset", "caffe"})
                    .exit_code == 0);
        const auto r = test::run_cvtl(
            {"sweep", dir / "c.h5", "-o", dir / "s", "--only", "probe", "--steps", "10", "--threads", "2"});
        CAPTURE(r.err);
        REQUIRE(r.exit_code == 0);
        CHECK(r.err.find("has only 4 labelled samples: 4-fold cross-validation instead of 5") != std::string::npos);
        CHECK(r.out.find("4-fold cross-validation over the 12 labelled samples") != std::string::npos);
        // An explicit count is the user's: still refused with the fix when a class cannot fill it.
        const auto five = test::run_cvtl(
            {"sweep", dir / "c.h5", "-o", dir / "s5", "--only", "probe", "--folds", "5", "--steps", "10"});
        CHECK(five.exit_code == 1);
        CHECK(five.err.find("fewer than the 5 folds") != std::string::npos);
    }

}  // TEST_SUITE
