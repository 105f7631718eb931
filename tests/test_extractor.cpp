#include "pipeline/cache/cache_format.hpp"
#include "pipeline/cache/cache_info.hpp"
#include "pipeline/cache/extractor.hpp"
#include "pipeline/core/error.hpp"
#include "plugin/inference_net.hpp"
#include "support/fixtures.hpp"
#include "support/reference.hpp"

#include <doctest/doctest.h>

#include <boost/filesystem.hpp>
#include <nlohmann/json.hpp>

using namespace cvtl;

namespace {

ExtractOptions fixture_options(const std::string& data, const std::string& output) {
    ExtractOptions o;
    o.model = test::fixture("tiny_vgg16.onnx");
    o.data = data;
    o.output = output;
    o.taps = {"input", "pool4", "pool5", "fc7"};
    o.batch = 5;
    o.threads = 2;
    o.val_fraction = 0.25;
    return o;
}

}  // namespace

TEST_SUITE("parity") {
    TEST_CASE("extracted taps equal PyTorch's on the same images (torchvision preset)") {
        test::TempDir dir;
        const std::string cache = dir / "c.h5";
        const ExtractSummary s = run_extraction(fixture_options(test::fixture("images"), cache), {});
        CHECK(s.images == 12);
        CHECK(s.skipped == 0);
        const std::string ref = test::fixture("extract.ref.h5");
        const auto paths = nlohmann::json::parse(test::read_root_string(ref, "paths")).get<std::vector<std::string>>();
        CHECK(test::read_string_list(cache, cache::kSamplesPath) == paths);
        for (const std::string tap : {"input", "pool4", "pool5", "fc7"}) {
            CAPTURE(tap);
            const test::Diff d =
                test::diff(test::read_tensor(cache, "/taps/" + tap), test::read_tensor(ref, "torchvision/" + tap));
            CHECK(d.max_abs <= 1e-4);
            CHECK(d.mean_abs <= 1e-5);
        }
        const CacheInfo info = read_cache_info(cache);
        CHECK(info.complete);
        CHECK(info.counts[0][1] == 1);  // 4 per class, val fraction 0.25
    }

    TEST_CASE("stock cv::dnn and the oneDNN fast path extract the same taps") {
        test::TempDir dir;
        ExtractOptions fast = fixture_options(test::fixture("images"), dir / "fast.h5");
        ExtractOptions stock = fixture_options(test::fixture("images"), dir / "stock.h5");
        stock.engine = Engine::opencv;
        CHECK(run_extraction(fast, {}).backend == "onednn f32");
        CHECK(run_extraction(stock, {}).backend == "opencv cpu");
        for (const std::string tap : {"pool4", "pool5", "fc7"}) {
            CAPTURE(tap);
            const cv::Mat a = test::read_tensor(dir / "fast.h5", "/taps/" + tap),
                          b = test::read_tensor(dir / "stock.h5", "/taps/" + tap);
            CHECK(test::diff(a, b).max_abs <= 1e-4);
            CHECK(test::diff(b, test::read_tensor(test::fixture("extract.ref.h5"), "torchvision/" + tap)).max_abs <=
                  1e-4);
        }
    }

    TEST_CASE("the cache records its precision and refuses to mix precisions") {
        test::TempDir dir;
        ExtractOptions o = fixture_options(test::fixture("images"), dir / "c.h5");
        o.precision = Precision::bf16;
        std::vector<std::string> warnings;
        Events events;
        events.warn = [&](const std::string& w) { warnings.push_back(w); };
        const ExtractSummary s = run_extraction(o, events);
        const std::string used = cpu_has_bf16() ? "bf16" : "f32";
        CHECK(s.backend == "onednn " + used);
        CHECK(read_cache_info(dir / "c.h5").attributes.at("precision") == used);
        if (used == "bf16") {
            // bf16 taps stay within 1e-2 relative of the f32 reference.
            const cv::Mat ref = test::read_tensor(test::fixture("extract.ref.h5"), "torchvision/pool5");
            double range = 0;
            cv::minMaxIdx(cv::abs(ref), nullptr, &range);
            CHECK(test::diff(test::read_tensor(dir / "c.h5", "/taps/pool5"), ref).max_abs <= 1e-2 * range);
            o.precision = Precision::f32;
            o.force = false;
            CHECK_THROWS_WITH_AS(run_extraction(o, {}), doctest::Contains("another 'precision'"), Error);
        } else {
            CHECK(warnings.size() == 1);
        }
    }

    TEST_CASE("f16 storage stays within half precision of f32") {
        test::TempDir dir;
        ExtractOptions o = fixture_options(test::fixture("images"), dir / "h.h5");
        o.dtype = Dtype::f16;
        o.compress = true;
        run_extraction(o, {});
        const cv::Mat half = test::read_tensor(dir / "h.h5", "/taps/pool5");
        const cv::Mat ref = test::read_tensor(test::fixture("extract.ref.h5"), "torchvision/pool5");
        double max_ref = 0;
        cv::minMaxIdx(cv::abs(ref), nullptr, &max_ref);
        CHECK(test::diff(half, ref).max_abs <= max_ref / 1024.0);  // 2^-10 relative
    }

}  // TEST_SUITE

TEST_SUITE("unit") {
    TEST_CASE("undecodable images are reported and skipped and counted while the rest is extracted") {
        test::TempDir dir;
        const std::string data = dir / "data";
        test::copy_fixture_images(data);
        test::write_file(data + "/dog/broken.jpg", "not a jpeg at all");
        const std::string jpeg = test::read_file(test::fixture("images/cat/img0.jpg"));
        test::write_file(data + "/fish/cut.jpg", jpeg.substr(0, jpeg.size() / 2));
        std::vector<std::string> warnings;
        Events events;
        events.warn = [&](const std::string& w) { warnings.push_back(w); };
        const ExtractSummary s = run_extraction(fixture_options(data, dir / "c.h5"), events);
        CHECK(s.images == 12);
        CHECK(s.skipped == 2);
        REQUIRE(warnings.size() == 2);
        CHECK(warnings[0].find("dog/broken.jpg: cannot be decoded") != std::string::npos);
        CHECK(warnings[1].find("fish/cut.jpg: is a truncated JPEG") != std::string::npos);
        const CacheInfo info = read_cache_info(dir / "c.h5");
        CHECK(info.rows == 12);
        CHECK(info.consumed == 14);
        CHECK(info.skipped_paths == std::vector<std::string>{"dog/broken.jpg", "fish/cut.jpg"});
        // The good images' taps are exactly those of the clean run.
        const cv::Mat ref = test::read_tensor(test::fixture("extract.ref.h5"), "torchvision/pool5");
        CHECK(test::diff(test::read_tensor(dir / "c.h5", "/taps/pool5"), ref).max_abs <= 1e-4);
    }

    TEST_CASE("an empty class folder stops before anything is written") {
        test::TempDir dir;
        test::copy_fixture_images(dir / "data");
        boost::filesystem::create_directories(dir / "data/zebra");
        CHECK_THROWS_WITH_AS(run_extraction(fixture_options(dir / "data", dir / "c.h5"), {}),
                             doctest::Contains("data/zebra holds no images"), Error);
        CHECK_FALSE(boost::filesystem::exists(dir / "c.h5"));
    }

    TEST_CASE("a non-VGG model stops before anything is written") {
        test::TempDir dir;
        ExtractOptions o = fixture_options(test::fixture("images"), dir / "c.h5");
        o.model = test::fixture("not_vgg.onnx");
        CHECK_THROWS_WITH_AS(run_extraction(o, {}), doctest::Contains("cannot be mapped to five blocks"), Error);
        CHECK_FALSE(boost::filesystem::exists(dir / "c.h5"));
    }

    TEST_CASE("extracting into another model's cache is refused and the cache is kept") {
        test::TempDir dir;
        ExtractOptions o = fixture_options(test::fixture("images"), dir / "c.h5");
        o.taps = {"pool5"};
        run_extraction(o, {});
        const std::string before = test::read_file(dir / "c.h5");
        ExtractOptions other = o;
        other.model = test::fixture("tiny_vgg11_bn.onnx");
        CHECK_THROWS_WITH_AS(run_extraction(other, {}), doctest::Contains("was made with another model"), Error);
        ExtractOptions other_preset = o;
        other_preset.preset = Preset::caffe;
        CHECK_THROWS_WITH_AS(run_extraction(other_preset, {}), doctest::Contains("another preprocessing"), Error);
        CHECK(test::read_file(dir / "c.h5") == before);
        // --force replaces it deliberately.
        other.force = true;
        CHECK(run_extraction(other, {}).images == 12);
    }

    TEST_CASE("bad options are errors that name the option") {
        test::TempDir dir;
        ExtractOptions o = fixture_options(test::fixture("images"), dir / "c.h5");
        o.taps = {"pool9"};
        CHECK_THROWS_WITH_AS(run_extraction(o, {}), doctest::Contains("unknown tap 'pool9'"), Error);
        o.taps = {"pool5"};
        CHECK_THROWS_WITH_AS(parse_dtype("f64"), doctest::Contains("'dtype'"), Error);
        CHECK_THROWS_WITH_AS(parse_backend("tpu"), doctest::Contains("unknown 'backend' 'tpu'"), Error);
    }

    TEST_CASE("an unavailable backend falls back to the CPU with a warning") {
        test::TempDir dir;
        ExtractOptions o = fixture_options(test::fixture("images"), dir / "c.h5");
        o.backend = Backend::cuda;  // Debian's OpenCV has no CUDA backend
        std::vector<std::string> warnings;
        Events events;
        events.warn = [&](const std::string& w) { warnings.push_back(w); };
        const ExtractSummary s = run_extraction(o, events);
        CHECK(s.backend == "opencv cpu");
        REQUIRE(warnings.size() == 2);
        CHECK(warnings[0].find("runs on stock cv::dnn") != std::string::npos);
        CHECK(warnings[1].find("backend cuda is not available") != std::string::npos);
    }

}  // TEST_SUITE
