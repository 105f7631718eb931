#include "pipeline/cache/cache_reader.hpp"
#include "pipeline/deploy/exporter.hpp"
#include "pipeline/train/run_state.hpp"
#include "plugin/block_map.hpp"
#include "pipeline/core/error.hpp"
#include "plugin/head_builder.hpp"
#include "pipeline/engine/layers/softmax_cross_entropy.hpp"
#include "plugin/model_loader.hpp"
#include "plugin/onnx_export.hpp"
#include "plugin/tap_forward.hpp"
#include "support/reference.hpp"
#include "support/trained_runs.hpp"

#include <doctest/doctest.h>

#include <opencv2/core/persistence.hpp>

#include <boost/filesystem.hpp>
#include <nlohmann/json.hpp>

#include <H5Cpp.h>

using namespace cvtl;

namespace {

cv::Mat run_onnx(const std::string& path, const cv::Mat& input) {
    cv::dnn::Net net = cv::dnn::readNetFromONNX(path);
    net.setInput(input);
    return net.forward().clone();
}

}  // namespace

TEST_SUITE("parity") {
    TEST_CASE("the exporter's graph gives PyTorch's logits at odd sizes and with ceil-mode pooling") {
        for (const std::string name : {"tiny_vgg16", "tiny_vgg11_odd57", "tiny_vgg11_ceil57", "tiny_vgg11_odd227"}) {
            CAPTURE(name);
            const std::string ref = test::fixture(name + ".ref.h5");
            SourceModel model = load_model(test::fixture(name + ".onnx"));
            BlockMap map = map_vgg_blocks(model.net, model.input_size, name);
            HeadOptions options;
            options.from_tap = "input";
            options.keep_source_output = true;
            const Head head = build_head(model.net, map, options);
            const std::string bytes = serialize_onnx(head.spec, head.source_weights, {});
            cv::dnn::Net exported = cv::dnn::readNetFromONNX(bytes.data(), bytes.size());
            exported.setInput(test::read_tensor(ref, "input"));
            // Logits, not the Softmax output after them: saturation would hide differences there.
            const std::string logits = head.spec.layers.back().name;
            const std::string layer = exported.getLayerId(logits) >= 0 ? logits : "onnx_node!" + logits;
            CHECK(test::diff(exported.forward(layer).clone(), test::read_tensor(ref, "logits")).max_abs <= 1e-4);
        }
    }

    TEST_CASE("every strategy exports a model stock OpenCV runs with the trainer's outputs") {
        test::TempDir dir;
        const std::string cache = test::fixture_cache(dir);
        CacheReader inputs(cache, "input");
        const cv::Mat images = inputs.read_rows(0, inputs.rows());
        struct Case {
            Strategy strategy;
            ClassifierHead head;
            int from_block;
        };
        for (const Case& c :
             {Case{Strategy::classifier, ClassifierHead::source, 5},
              Case{Strategy::classifier, ClassifierHead::linear, 5},
              Case{Strategy::finetune, ClassifierHead::source, 5}, Case{Strategy::finetune, ClassifierHead::source, 4},
              Case{Strategy::scratch, ClassifierHead::source, 5}}) {
            CAPTURE(to_string(c.strategy));
            CAPTURE(to_string(c.head));
            CAPTURE(c.from_block);
            const std::string name =
                to_string(c.strategy) + std::string(to_string(c.head)) + std::to_string(c.from_block);
            const std::string run = test::train_fixture_run(cache, dir / name, c.strategy, c.head, c.from_block, 2);
            ExportOptions o;
            o.run = run;
            o.output = dir / (name + ".onnx");
            const ExportSummary s = run_export(o);
            CHECK(s.max_difference <= kExportTolerance);
            const cv::Mat prob = run_onnx(o.output, images);
            CHECK(prob.size[1] == 3);
            CHECK(test::diff(prob, test::expected_probabilities(run, images)).max_abs <= 1e-4);

            // --head-only: the trained part alone, fed the cached tap.
            ExportOptions head = o;
            head.head_only = true;
            head.output = dir / (name + "-head.onnx");
            run_export(head);
            const std::string tap = load_run_state(run + "/model.h5").meta.at("tap");
            CacheReader features(cache, tap);
            CHECK(test::diff(run_onnx(head.output, features.read_rows(0, features.rows())), prob).max_abs <= 1e-4);
        }
    }

    TEST_CASE("frozen layers in the export are bit-identical to the source model's weights") {
        test::TempDir dir;
        const std::string cache = test::fixture_cache(dir);
        const std::string run =
            test::train_fixture_run(cache, dir / "run", Strategy::finetune, ClassifierHead::source, 5, 1);
        ExportOptions o;
        o.run = run;
        o.output = dir / "m.onnx";
        run_export(o);
        const auto initializers = read_onnx_initializers(o.output);
        SourceModel source = load_model(test::fixture("tiny_vgg16.onnx"));
        BlockMap map = map_vgg_blocks(source.net, 64, "tiny_vgg16");
        int compared = 0;
        for (int b = 0; b < 4; ++b) {  // blocks 1..4 are frozen below pool4
            int conv = 0;
            for (int id = map.blocks[static_cast<size_t>(b)].first_layer;
                 id <= map.blocks[static_cast<size_t>(b)].last_layer; ++id) {
                if (map.layer_types[static_cast<size_t>(id)] != "Convolution") continue;
                const std::string name = "block" + std::to_string(b + 1) + ".conv" + std::to_string(++conv);
                const auto& blobs = source.net.getLayer(id)->blobs;
                REQUIRE(initializers.count(name + ".weights"));
                CHECK(cv::norm(initializers.at(name + ".weights").reshape(1, 1), blobs[0].reshape(1, 1),
                               cv::NORM_INF) == 0);
                CHECK(cv::norm(initializers.at(name + ".bias").reshape(1, 1), blobs[1].reshape(1, 1), cv::NORM_INF) ==
                      0);
                ++compared;
            }
        }
        CHECK(compared == 10);
    }

}  // TEST_SUITE

TEST_SUITE("unit") {
    TEST_CASE("the export carries its classes and preprocessing in metadata and in a FileStorage sidecar") {
        test::TempDir dir;
        const std::string cache = test::fixture_cache(dir);
        const std::string run =
            test::train_fixture_run(cache, dir / "run", Strategy::classifier, ClassifierHead::source, 5, 1);
        ExportOptions o;
        o.run = run;
        o.output = dir / "m.onnx";
        const ExportSummary s = run_export(o);
        const auto meta = read_onnx_metadata(o.output);
        CHECK(nlohmann::json::parse(meta.at("cvtl.classes")) == nlohmann::json{"cat", "dog", "fish"});
        CHECK(nlohmann::json::parse(meta.at("cvtl.preprocess")).at("size") == 64);
        CHECK(meta.at("cvtl.strategy") == "classifier");
        CHECK(meta.at("cvtl.source_sha256").size() == 64);
        cv::FileStorage fs(s.sidecar, cv::FileStorage::READ);
        REQUIRE(fs.isOpened());
        CHECK((std::string)fs["classes"][1] == "dog");
        CHECK((int)fs["preprocess"]["size"] == 64);
        CHECK((std::string)fs["preprocess"]["channels"] == "RGB");
    }

    TEST_CASE("bad runs and outputs give clear errors and overwrite nothing") {
        test::TempDir dir;
        const std::string cache = test::fixture_cache(dir);
        const std::string run =
            test::train_fixture_run(cache, dir / "run", Strategy::classifier, ClassifierHead::source, 5, 1);
        ExportOptions o;
        o.run = run;
        o.output = dir / "m.onnx";

        boost::filesystem::create_directories(dir / "empty-run");
        ExportOptions incomplete = o;
        incomplete.run = dir / "empty-run";
        CHECK_THROWS_WITH_AS(run_export(incomplete), doctest::Contains("is incomplete: no model.h5"), Error);

        test::write_file(o.output, "precious");
        CHECK_THROWS_WITH_AS(run_export(o), doctest::Contains("already exists; pass 'force'"), Error);
        CHECK(test::read_file(o.output) == "precious");
        o.force = true;
        CHECK_NOTHROW(run_export(o));

        // The sidecar is as precious as the model: refused without --force, never the model's own name.
        ExportOptions other = o;
        other.output = dir / "other.onnx";
        other.force = false;
        test::write_file(dir / "other.json", "unrelated");
        CHECK_THROWS_WITH_AS(run_export(other), doctest::Contains("other.json (the sidecar export writes next to"),
                             Error);
        CHECK(test::read_file(dir / "other.json") == "unrelated");
        CHECK_FALSE(boost::filesystem::exists(dir / "other.onnx"));
        ExportOptions self = o;
        self.output = dir / "x.json";
        CHECK_THROWS_WITH_AS(run_export(self), doctest::Contains("would be overwritten by its own sidecar"), Error);

        // A verification failure writes nothing and leaves no temporary behind.
        ::setenv("CVTL_TEST_EXPORT_SKEW", "0.01", 1);
        ExportOptions skewed = o;
        skewed.output = dir / "skewed.onnx";
        CHECK_THROWS_WITH_AS(run_export(skewed), doctest::Contains("logits differ from cvtl's"), Error);
        ::unsetenv("CVTL_TEST_EXPORT_SKEW");
        for (const char* f : {"skewed.onnx", "skewed.json", "skewed.onnx.tmp", "skewed.json.tmp"})
            CHECK_FALSE(boost::filesystem::exists(dir / f));

        ExportOptions nowhere = o;
        nowhere.output = dir / "missing-folder/m.onnx";
        CHECK_THROWS_WITH_AS(run_export(nowhere), doctest::Contains("does not exist"), Error);

        // A run written by another cvtl version (a future run format).
        {
            H5::H5File f(run + "/model.h5", H5F_ACC_RDWR);
            long long v = 99;
            f.openAttribute("version").write(H5::PredType::NATIVE_LLONG, &v);
        }
        CHECK_THROWS_WITH_AS(run_export(o), doctest::Contains("run format version 99"), Error);
    }

}  // TEST_SUITE
