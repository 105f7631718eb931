#include "pipeline/data/image_decode.hpp"
#include "pipeline/data/preprocess.hpp"
#include "pipeline/core/error.hpp"
#include "support/fixtures.hpp"
#include "support/reference.hpp"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

using namespace cvtl;

namespace {

// The fixture images through `pre`, stacked as [N, 3, S, S].
cv::Mat preprocess_fixtures(const Preprocessing& pre, const std::vector<std::string>& files) {
    const int S = pre.size;
    cv::Mat out(std::vector<int>{static_cast<int>(files.size()), 3, S, S}, CV_32F);
    for (size_t i = 0; i < files.size(); ++i) {
        std::string reason;
        cv::Mat image = read_bgr8(test::fixture("images/" + files[i]), reason);
        REQUIRE(reason.empty());
        preprocess_image(image, pre, out.ptr<float>() + i * 3 * S * S);
    }
    return out;
}

std::vector<std::string> fixture_files() {
    return nlohmann::json::parse(test::read_root_string(test::fixture("extract.ref.h5"), "paths"))
        .get<std::vector<std::string>>();
}

}  // namespace

TEST_SUITE("parity") {
    TEST_CASE("each preset matches the fixture script's independent implementation") {
        // Fixture images include gray, alpha and 16-bit PNGs and landscape/portrait sizes.
        for (const Preset preset : {Preset::torchvision, Preset::caffe, Preset::raw}) {
            const std::string name = to_string(preset);
            CAPTURE(name);
            const cv::Mat ours = preprocess_fixtures(make_preprocessing(preset, 64), fixture_files());
            const test::Diff d = test::diff(ours, test::read_tensor(test::fixture("extract.ref.h5"), name + "/input"));
            // caffe values span about [-124, 152]; float32 rounding of x*a+b vs (x-m)/s stays far below this.
            CHECK(d.max_abs <= (preset == Preset::caffe ? 1e-4 : 1e-5));
        }
    }

}  // TEST_SUITE

TEST_SUITE("unit") {
    TEST_CASE("--mean and --std override the preset in its own order and scale") {
        const Preprocessing p = make_preprocessing(Preset::torchvision, 32, std::array<double, 3>{0.5, 0.5, 0.5},
                                                   std::array<double, 3>{0.25, 0.5, 1.0});
        cv::Mat image(40, 40, CV_8UC3, cv::Scalar(0, 128, 255));  // BGR
        cv::Mat out(std::vector<int>{3, 32, 32}, CV_32F);
        preprocess_image(image, p, out.ptr<float>());
        const float* v = out.ptr<float>();
        CHECK(v[0] == doctest::Approx((1.0 - 0.5) / 0.25));               // R
        CHECK(v[32 * 32] == doctest::Approx((128 / 255.0 - 0.5) / 0.5));  // G
        CHECK(v[2 * 32 * 32] == doctest::Approx(-0.5));                   // B
    }

    TEST_CASE("preprocessing round-trips through JSON and rejects bad values") {
        const Preprocessing p = make_preprocessing(Preset::caffe, 224);
        CHECK(Preprocessing::from_json(p.to_json(), "x.json") == p);
        // Numbers from a file are checked before they size a buffer or divide.
        for (const auto& entry : std::vector<std::pair<std::string, nlohmann::json>>{{"size", 37838},
                                                                                     {"size", -3},
                                                                                     {"size", 1e20},
                                                                                     {"size", 224.5},
                                                                                     {"std", {1, 0, 1}},
                                                                                     {"std", {1e-300, 1, 1}},
                                                                                     {"scale", -1},
                                                                                     {"scale", 1e-300},
                                                                                     {"mean", {0, "x", 0}},
                                                                                     {"mean", {1e300, 0, 0}},
                                                                                     {"resize", "zoom"},
                                                                                     {"preset", "imagenet"}}) {
            const std::string& key = entry.first;
            const nlohmann::json& value = entry.second;
            CAPTURE(key);
            nlohmann::json bad = p.to_json();
            bad[key] = value;
            CHECK_THROWS_WITH_AS(Preprocessing::from_json(bad, "x.json"),
                                 doctest::Contains("x.json: its preprocessing record is"), Error);
        }
        CHECK_FALSE(p.rgb);
        CHECK_THROWS_WITH_AS(parse_preset("imagenet"), doctest::Contains("unknown preprocessing preset"), Error);
        CHECK_THROWS_AS(make_preprocessing(Preset::raw, 224, std::nullopt, std::array<double, 3>{1, 0, 1}), Error);
        CHECK_THROWS_AS(make_preprocessing(Preset::raw, 2), Error);
    }

    TEST_CASE("the torchvision resize keeps the aspect ratio and crops the centre") {
        // A 100x50 image: shorter side 50 -> round(32*256/224) = 37, longer 74; crop offset (74-32)/2 = 21.
        cv::Mat image(50, 100, CV_8UC3, cv::Scalar(0, 0, 0));
        image.colRange(0, 50).setTo(cv::Scalar(255, 255, 255));
        cv::Mat out(std::vector<int>{3, 32, 32}, CV_32F);
        preprocess_image(image, make_preprocessing(Preset::raw, 32), out.ptr<float>());
        CHECK(out.ptr<float>()[0] == doctest::Approx(1.0));  // raw stretches: left half white
        Preprocessing tv =
            make_preprocessing(Preset::torchvision, 32, std::array<double, 3>{0, 0, 0}, std::array<double, 3>{1, 1, 1});
        preprocess_image(image, tv, out.ptr<float>());
        CHECK(out.ptr<float>()[0] == doctest::Approx(1.0));   // column 21 of 74 is still in the white half
        CHECK(out.ptr<float>()[31] == doctest::Approx(0.0));  // column 52 is black
    }

}  // TEST_SUITE
