#include "plugin/model_loader.hpp"
#include "plugin/onnx_repair.hpp"
#include "support/fixtures.hpp"

#include <doctest/doctest.h>

#include <opencv2/dnn.hpp>

#include <fstream>
#include <sstream>

using namespace cvtl;

TEST_SUITE("unit") {

TEST_CASE("stock OpenCV refuses zero-bias PyTorch exports and the repaired graph loads") {
    const std::string path = test::fixture("tiny_vgg11_zero_bias.onnx");
    const std::string bytes = test::read_file(path);
    CHECK_THROWS_AS(cv::dnn::readNetFromONNX(bytes.data(), bytes.size()), cv::Exception);

    std::istringstream in(bytes);
    const OnnxRepair repaired = repair_onnx(in, path);
    CHECK(repaired.replaced_nodes > 0);
    CHECK(repaired.input_size == 32);
    cv::dnn::Net net = cv::dnn::readNetFromONNX(repaired.bytes.data(), repaired.bytes.size());
    CHECK_FALSE(net.empty());

    // Repairing twice changes nothing more.
    std::istringstream repaired_in(repaired.bytes);
    const OnnxRepair again = repair_onnx(repaired_in, path);
    CHECK(again.replaced_nodes == 0);
    CHECK(again.bytes.empty());
}

TEST_CASE("graphs without shared initializers are left alone") {
    const std::string path = test::fixture("tiny_vgg16.onnx");
    std::ifstream in(path, std::ios::binary);
    const OnnxRepair repaired = repair_onnx(in, path);
    CHECK(repaired.replaced_nodes == 0);
    CHECK(repaired.bytes.empty());
    CHECK(repaired.input_size == 64);
}

TEST_CASE("load_model repairs on the fly") {
    SourceModel model = load_model(test::fixture("tiny_vgg11_zero_bias.onnx"));
    CHECK(model.repaired_nodes > 0);
    CHECK(model.format == "onnx");
    CHECK(model.sha256.size() == 64);
}

}  // TEST_SUITE
