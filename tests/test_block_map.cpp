#include "plugin/block_map.hpp"
#include "plugin/tap_name.hpp"
#include "pipeline/core/error.hpp"
#include "plugin/model_loader.hpp"
#include "support/fixtures.hpp"
#include "support/reference.hpp"

#include <doctest/doctest.h>

using namespace cvtl;

namespace {

std::vector<int> reference_shape(const std::string& ref, const std::string& tap) {
    cv::Mat m = test::read_tensor(test::fixture(ref), tap);
    return std::vector<int>(m.size.p + 1, m.size.p + m.dims);
}

}  // namespace

TEST_SUITE("unit") {
    TEST_CASE("block map finds five blocks and the classifier and every tap on each fixture") {
        struct Case {
            const char* model;
            const char* ref;
            int size;
            int convs_in_block5;
        };
        for (const Case c : {Case{"tiny_vgg16.onnx", "tiny_vgg16.ref.h5", 64, 3},
                             Case{"tiny_vgg11_bn.onnx", "tiny_vgg11_bn.ref.h5", 32, 2},
                             Case{"tiny_vgg11_zero_bias.onnx", "tiny_vgg11_zero_bias.ref.h5", 32, 2}}) {
            CAPTURE(c.model);
            SourceModel model = load_model(test::fixture(c.model));
            CHECK(model.input_size == c.size);
            BlockMap map = map_vgg_blocks(model.net, model.input_size, c.model);
            REQUIRE(map.blocks.size() == 6);
            CHECK(map.blocks[4].convolutions == c.convs_in_block5);
            CHECK(map.blocks[5].name == "classifier");
            CHECK(map.blocks[5].convolutions == 3);
            for (size_t b = 1; b < map.blocks.size(); ++b)
                CHECK(map.blocks[b].first_layer == map.blocks[b - 1].last_layer + 1);
            REQUIRE(map.taps.size() == tap::all().size());
            for (size_t i = 0; i < map.taps.size(); ++i) {
                CHECK(map.taps[i].name == tap::all()[i]);
                CHECK(map.taps[i].shape == reference_shape(c.ref, map.taps[i].name));
            }
            // The tap of poolK is the last layer of blockK.
            for (int b = 0; b < 5; ++b)
                CHECK(map.tap("pool" + std::to_string(b + 1)).layer_id == map.blocks[b].last_layer);
        }
    }

    TEST_CASE("average pooling after the fifth block is not mistaken for a max-pool") {
        SourceModel model = load_model(test::fixture("tiny_vgg16.onnx"));
        BlockMap map = map_vgg_blocks(model.net, 64, "tiny_vgg16");
        // torchvision's adaptive average pool is a cv::dnn "Pooling" layer too; it belongs to the classifier.
        CHECK(map.layer_types[map.blocks[5].first_layer] == "Pooling");
    }

    TEST_CASE("a model that is not VGG-shaped is refused with what was found") {
        SourceModel model = load_model(test::fixture("not_vgg.onnx"));
        try {
            map_vgg_blocks(model.net, 32, "not_vgg.onnx");
            FAIL("expected an error");
        } catch (const Error& e) {
            const std::string msg = e.what();
            CHECK(msg.find("not_vgg.onnx is not VGG-shaped") != std::string::npos);
            CHECK(msg.find("found 2 max-pool layers") != std::string::npos);
            CHECK(msg.find('\n') == std::string::npos);
        }
    }

    TEST_CASE("unknown taps and missing input sizes are errors") {
        SourceModel model = load_model(test::fixture("tiny_vgg16.onnx"));
        BlockMap map = map_vgg_blocks(model.net, 64, "tiny_vgg16");
        CHECK_THROWS_WITH_AS(map.tap("pool6"), doctest::Contains("unknown tap 'pool6'"), Error);
        CHECK_THROWS_WITH_AS(map_vgg_blocks(model.net, 0, "m.onnx"), doctest::Contains("pass 'size'"), Error);
    }

    // Library errors name options as concepts; each front end renders them (the CLI as --flags).
    TEST_CASE("errors keep option concepts for the front end to render") {
        SourceModel model = load_model(test::fixture("tiny_vgg16.onnx"));
        try {
            map_vgg_blocks(model.net, 0, "m.onnx");
            FAIL("no error");
        } catch (const Error& e) {
            CHECK(e.message().find("pass {size} N") != std::string::npos);
            CHECK(render_options(e.message(), [](const std::string& o) { return "--" + o; }).find("pass --size N") !=
                  std::string::npos);
            CHECK(std::string(e.what()).find("pass 'size' N") != std::string::npos);
        }
        // Braces that are not an option name stay as they are (JSON in messages).
        CHECK(render_options("args {\"in\": 3} and {val-fraction}", [](const std::string& o) {
                  return "<" + o + ">";
              }) == "args {\"in\": 3} and <val-fraction>");
    }

    TEST_CASE("model loading errors name the file") {
        test::TempDir dir;
        CHECK_THROWS_WITH_AS(load_model(dir / "missing.onnx"), doctest::Contains("missing.onnx does not exist"), Error);
        test::write_file(dir / "garbage.onnx", "this is not protobuf");
        CHECK_THROWS_WITH_AS(load_model(dir / "garbage.onnx"), doctest::Contains("garbage.onnx"), Error);
        // A truncated download: the first half of a real model.
        const std::string bytes = test::read_file(test::fixture("tiny_vgg16.onnx"));
        test::write_file(dir / "truncated.onnx", bytes.substr(0, bytes.size() / 2));
        CHECK_THROWS_WITH_AS(load_model(dir / "truncated.onnx"), doctest::Contains("truncated.onnx"), Error);
        test::write_file(dir / "model.bin", "x");
        CHECK_THROWS_WITH_AS(load_model(dir / "model.bin"), doctest::Contains("unknown format"), Error);
        test::write_file(dir / "deploy.prototxt", "name: \"x\"");
        CHECK_THROWS_WITH_AS(load_model(dir / "deploy.prototxt"), doctest::Contains("needs its weights"), Error);
        test::write_file(dir / "frozen.pb", "x");
        CHECK_THROWS_WITH_AS(
            load_model(dir / "frozen.pb"),
            doctest::Contains("TensorFlow graphs are not supported by cvtl; convert the model to ONNX"), Error);
    }

}  // TEST_SUITE
