#include "pipeline/core/error.hpp"
#include "plugin/model_loader.hpp"
#include "plugin/onnx_export.hpp"
#include "plugin/onnx_repair.hpp"
#include "plugin/onnx_scan.hpp"
#include "pipeline/core/sha256.hpp"
#include "support/fixtures.hpp"

#include <doctest/doctest.h>

#include <onnx/onnx_pb.h>
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
        CHECK(model.format == ModelFormat::onnx);
        CHECK(model.sha256.size() == 64);
    }

    // Malformed graphs, built by hand: every count and size in them is a claim of the file.
    namespace {

    onnx::ModelProto graph_with_input(std::int64_t declared_size) {
        onnx::ModelProto model;
        onnx::GraphProto* g = model.mutable_graph();
        auto* dims = g->add_input()->mutable_type()->mutable_tensor_type()->mutable_shape();
        for (std::int64_t d : {std::int64_t{1}, std::int64_t{3}, declared_size, declared_size})
            dims->add_dim()->set_dim_value(d);
        g->mutable_input(0)->set_name("input");
        onnx::TensorProto* w = g->add_initializer();
        w->set_name("w");
        w->set_data_type(onnx::TensorProto::FLOAT);
        w->add_dims(4);
        for (int i = 0; i < 4; ++i) w->add_float_data(static_cast<float>(i));
        return model;
    }

    OnnxRepair repair(const onnx::ModelProto& model) {
        std::istringstream in(model.SerializeAsString());
        return repair_onnx(in, "bad.onnx");
    }

    }  // namespace

    TEST_CASE("malformed Identity nodes are left alone instead of indexed out of bounds") {
        onnx::ModelProto model = graph_with_input(32);
        onnx::NodeProto* no_input = model.mutable_graph()->add_node();
        no_input->set_op_type("Identity");
        no_input->add_output("a");
        onnx::NodeProto* two_outputs = model.mutable_graph()->add_node();
        two_outputs->set_op_type("Identity");
        two_outputs->add_input("w");
        two_outputs->add_output("b");
        two_outputs->add_output("c");
        onnx::NodeProto* no_output = model.mutable_graph()->add_node();
        no_output->set_op_type("Identity");
        no_output->add_input("w");
        const OnnxRepair r = repair(model);
        CHECK(r.replaced_nodes == 0);
        CHECK(r.input_size == 32);

        onnx::NodeProto* good = model.mutable_graph()->add_node();
        good->set_op_type("Identity");
        good->add_input("w");
        good->add_output("d");
        CHECK(repair(model).replaced_nodes == 1);
    }

    TEST_CASE("an absurd declared input size is ignored - not used") {
        CHECK(repair(graph_with_input(1'000'000'000'000)).input_size == 0);
        CHECK(repair(graph_with_input(-224)).input_size == 0);
        CHECK(repair(graph_with_input(0)).input_size == 0);
        CHECK(repair(graph_with_input(224)).input_size == 224);
    }

    TEST_CASE("Identity copies may not outgrow the file") {
        onnx::ModelProto model = graph_with_input(32);
        onnx::TensorProto* w = model.mutable_graph()->mutable_initializer(0);
        w->set_dims(0, 1000);
        for (int i = 4; i < 1000; ++i) w->add_float_data(1.0f);  // 4 KB, copied 64 times
        for (int i = 0; i < 64; ++i) {
            onnx::NodeProto* n = model.mutable_graph()->add_node();
            n->set_op_type("Identity");
            n->add_input("w");
            n->add_output("copy" + std::to_string(i));
        }
        CHECK_THROWS_AS(repair(model), Error);
    }

    TEST_CASE("initializers whose data does not fill their dims are refused") {
        test::TempDir dir;
        const auto read_back = [&](const onnx::ModelProto& model) {
            test::write_file(dir / "m.onnx", model.SerializeAsString());
            return read_onnx_initializers(dir / "m.onnx");
        };
        onnx::ModelProto model = graph_with_input(32);
        CHECK(read_back(model).at("w").total() == 4);

        model.mutable_graph()->mutable_initializer(0)->add_dims(1000);  // claims 4000 values, holds 4
        CHECK_THROWS_AS(read_back(model), Error);

        model = graph_with_input(32);
        model.mutable_graph()->mutable_initializer(0)->set_dims(0, -4);
        CHECK_THROWS_AS(read_back(model), Error);

        model = graph_with_input(32);
        model.mutable_graph()->mutable_initializer(0)->clear_float_data();
        model.mutable_graph()->mutable_initializer(0)->set_raw_data(std::string(15, '\0'));  // 3.75 floats
        CHECK_THROWS_AS(read_back(model), Error);

        model = graph_with_input(32);
        for (int i = 0; i < 40; ++i) model.mutable_graph()->mutable_initializer(0)->add_dims(1);  // rank 41
        CHECK_THROWS_AS(read_back(model), Error);
    }

    // The loader's scan (onnx_scan.hpp) decides whether a model takes repair_onnx's full parse; it must
    // reach the same conclusions.
    void check_scan_agrees(const std::string& bytes) {
        const OnnxScan scan = scan_onnx(bytes.data(), bytes.size());
        std::istringstream in(bytes);
        const OnnxRepair repaired = repair_onnx(in, "m.onnx");
        CHECK(scan.understood);
        CHECK(scan.needs_repair == (repaired.replaced_nodes > 0));
        CHECK(scan.input_size == repaired.input_size);
    }

    TEST_CASE("the loader's scan agrees with the full parse on every ONNX fixture and hand-built graph") {
        for (const char* name : {"tiny_vgg16.onnx", "tiny_vgg11_zero_bias.onnx", "tiny_vgg11_bn.onnx",
                                 "tiny_vgg11_odd227.onnx", "not_vgg.onnx"}) {
            CAPTURE(name);
            check_scan_agrees(test::read_file(test::fixture(name)));
        }
        onnx::ModelProto model = graph_with_input(1'000'000'000'000);
        check_scan_agrees(model.SerializeAsString());
        onnx::NodeProto* two_outputs = model.mutable_graph()->add_node();
        two_outputs->set_op_type("Identity");
        two_outputs->add_input("w");
        two_outputs->add_output("b");
        two_outputs->add_output("c");
        check_scan_agrees(model.SerializeAsString());
        CHECK_FALSE(scan_onnx(model.SerializeAsString().data(), model.ByteSizeLong()).needs_repair);
        onnx::NodeProto* good = model.mutable_graph()->add_node();
        good->set_op_type("Identity");
        good->add_input("w");
        good->add_output("d");
        check_scan_agrees(model.SerializeAsString());
        CHECK(scan_onnx(model.SerializeAsString().data(), model.ByteSizeLong()).needs_repair);
    }

    TEST_CASE("the loader's scan does not understand cut or garbled bytes - load_model then names the problem") {
        const std::string bytes = test::read_file(test::fixture("tiny_vgg16.onnx"));
        for (size_t cut : {bytes.size() / 2, bytes.size() - 1, size_t{3}}) {
            CAPTURE(cut);
            CHECK_FALSE(scan_onnx(bytes.data(), cut).understood);
        }
        const std::string garbage = "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff";
        CHECK_FALSE(scan_onnx(garbage.data(), garbage.size()).understood);

        test::TempDir dir;
        test::write_file(dir / "cut.onnx", bytes.substr(0, bytes.size() / 2));
        CHECK_THROWS_WITH_AS(load_model(dir / "cut.onnx"), doctest::Contains("truncated or not an ONNX model"), Error);
    }

    TEST_CASE("load_model hashes the file it maps") {
        const std::string path = test::fixture("tiny_vgg16.onnx");
        const SourceModel model = load_model(path);
        CHECK(model.sha256 == sha256_file(path));
        CHECK(model.input_size == 64);
        CHECK(model.repaired_nodes == 0);
    }

}  // TEST_SUITE
