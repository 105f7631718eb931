#include "pipeline/data/augment.hpp"
#include "pipeline/core/error.hpp"
#include "support/fixtures.hpp"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

using namespace cvtl;

namespace {

// tests/fixtures/augment/, written by tests/fixtures/make_augment_fixture.py (numpy and cv2, not cvtl).
const nlohmann::json& fixture_doc() {
    static const nlohmann::json doc = nlohmann::json::parse(test::read_file(test::fixture("augment/augment.json")));
    return doc;
}

cv::Mat fixture_png(const std::string& name) {
    cv::Mat m = cv::imread(test::fixture("augment/" + name), cv::IMREAD_COLOR);
    REQUIRE_MESSAGE(!m.empty(), name);
    return m;
}

int max_diff(const cv::Mat& a, const cv::Mat& b) {
    REQUIRE(a.size() == b.size());
    REQUIRE(a.type() == b.type());
    return static_cast<int>(cv::norm(a, b, cv::NORM_INF));
}

AugmentParams params_of(const nlohmann::json& j) {
    AugmentParams p;
    const auto box = j.at("crop").get<std::array<int, 4>>();
    p.crop = cv::Rect(box[0], box[1], box[2], box[3]);
    p.crop_attempt = j.at("crop_attempt").get<int>();
    p.flip = j.at("flip").get<bool>();
    p.angle = j.at("angle").get<double>();
    p.jitter = j.at("jitter").get<std::array<double, 3>>();
    return p;
}

// Where the script and cvtl could differ: bilinear resize and warpAffine round in fixed point, and an
// OpenCV built with other SIMD paths may round a pixel the other way, so a view that was cropped or
// rotated may be off by one grey level, on few values. Flip and jitter are exact integer or double
// arithmetic in both: no tolerance. (On this machine both call the same libopencv: all are exact.)
int tolerance(const AugmentParams& p, cv::Size size) {
    return p.crop != cv::Rect({0, 0}, size) || p.angle != 0 ? 1 : 0;
}
constexpr double kMaxShareOffByOne = 0.01;
constexpr int kTolerance = 1;

// Values that differ at all: a rounding bug shifts many pixels by one, a SIMD path only a few.
double share_differing(const cv::Mat& a, const cv::Mat& b) {
    cv::Mat d;
    cv::absdiff(a, b, d);
    return static_cast<double>(cv::countNonZero(d.reshape(1))) / static_cast<double>(d.total() * d.channels());
}

std::string message_of(const std::string& spec) {
    try {
        parse_augment_spec(spec);
    } catch (const Error& e) {
        return e.message();
    }
    return "(accepted)";
}

}  // namespace

TEST_SUITE("parity") {
    TEST_CASE("each augmentation alone and combined matches the draws and pixels of the fixture script") {
        const nlohmann::json& doc = fixture_doc();
        REQUIRE(doc.at("cases").size() == 16);
        for (const nlohmann::json& c : doc.at("cases")) {
            const std::string name = c.at("image").get<std::string>() + " " + c.at("name").get<std::string>();
            CAPTURE(name);
            const cv::Mat input = fixture_png(c.at("input").get<std::string>());
            const std::uint64_t extraction_seed = doc.at("extraction_seed").get<std::uint64_t>();
            const std::string image = c.at("image").get<std::string>();
            const int view = c.at("view").get<int>();
            const AugmentSpec spec = parse_augment_spec(c.at("spec").get<std::string>());
            const std::uint64_t seed = view_seed(extraction_seed, image, view);
            CHECK(seed == c.at("seed").get<std::uint64_t>());
            // The draws are exact: the same doubles, not merely close ones.
            const AugmentParams ours = draw_augment_params(input.size(), spec, seed);
            const AugmentParams theirs = params_of(c.at("params"));
            CHECK(ours.crop == theirs.crop);
            CHECK(ours.crop_attempt == theirs.crop_attempt);
            CHECK(ours.flip == theirs.flip);
            CHECK(ours.angle == theirs.angle);
            CHECK(ours.jitter == theirs.jitter);
            const cv::Mat ours_view = view_image(input, spec, extraction_seed, image, view);
            const cv::Mat expected = fixture_png(c.at("expected").get<std::string>());
            CHECK(max_diff(ours_view, expected) <= tolerance(theirs, input.size()));
            CHECK(share_differing(ours_view, expected) <= kMaxShareOffByOne);
        }
    }

    TEST_CASE("the fixture comparison catches a wrong flip direction crop box angle or jitter order") {
        for (const nlohmann::json& c : fixture_doc().at("cases")) {
            const std::string name = c.at("name").get<std::string>();
            const cv::Mat input = fixture_png(c.at("input").get<std::string>());
            const cv::Mat expected = fixture_png(c.at("expected").get<std::string>());
            AugmentParams wrong = params_of(c.at("params"));
            if (name == "flip") {
                cv::Mat vertical;
                cv::flip(input, vertical, 0);
                CHECK(max_diff(vertical, expected) > 10 * kTolerance);
                continue;
            }
            if (name == "crop" || name == "crop-fallback")
                wrong.crop.y += wrong.crop.y > 0 ? -1 : 1;
            else if (name == "rotate")
                wrong.angle = -wrong.angle;
            else if (name == "jitter")
                std::swap(wrong.jitter[0], wrong.jitter[2]);
            else
                continue;
            CAPTURE(name);
            CHECK(max_diff(apply_augment(input, wrong), expected) > kTolerance);
        }
    }

}  // TEST_SUITE

TEST_SUITE("unit") {
    TEST_CASE("the generator and the view seeds equal the values of the fixture script") {
        const nlohmann::json& doc = fixture_doc();
        AugmentRng rng(0);
        // SplitMix64's published first output for seed 0 is 0xE220A8397B1DCDAF.
        CHECK(doc.at("rng_seed0_next")[0].get<std::uint64_t>() == 0xE220A8397B1DCDAFull);
        for (const auto& v : doc.at("rng_seed0_next")) CHECK(rng.next() == v.get<std::uint64_t>());
        for (const auto& v : doc.at("rng_seed0_uniform_after")) CHECK(rng.uniform() == v.get<double>());
        for (const auto& s : doc.at("view_seeds")) {
            CAPTURE(s.dump());
            const std::uint64_t ours = view_seed(s.at("extraction_seed").get<std::uint64_t>(),
                                                 s.at("path").get<std::string>(), s.at("view").get<int>());
            CHECK(ours == s.at("seed").get<std::uint64_t>());
        }
        CHECK_THROWS_WITH_AS(view_seed(1, "a.png", -1), doctest::Contains("negative"), Error);
    }

    TEST_CASE("parameters are drawn in the documented order and only for operations that are on") {
        const std::uint64_t seed = 99;
        AugmentRng rng(seed);
        const double flip_u = rng.uniform(), angle = rng.uniform(-10, 10);
        const AugmentParams p = draw_augment_params({50, 40}, parse_augment_spec("rotate=10,flip=0.5"), seed);
        CHECK(p.flip == (flip_u < 0.5));
        CHECK(p.angle == angle);
        CHECK(p.jitter == std::array<double, 3>{1, 1, 1});
        // A crop that never fits draws 10 attempts of two numbers, then falls back to the centre.
        AugmentRng after(seed);
        for (int i = 0; i < 20; ++i) after.uniform();
        const AugmentParams q = draw_augment_params({52, 40}, parse_augment_spec("crop=0.9-1:5-10,rotate=30"), seed);
        CHECK(q.crop_attempt == 0);
        CHECK(q.crop == cv::Rect(0, 15, 52, 10));
        CHECK(q.angle == after.uniform(-30, 30));
    }

    TEST_CASE("crop boxes stay inside the image for every seed") {
        const AugmentSpec spec = parse_augment_spec("crop=0.01-1:0.1-10");
        for (std::uint64_t seed = 0; seed < 2000; ++seed) {
            const cv::Size size(1 + static_cast<int>(seed % 37), 1 + static_cast<int>(seed % 23));
            const AugmentParams p = draw_augment_params(size, spec, seed);
            CAPTURE(seed);
            CHECK((p.crop & cv::Rect({0, 0}, size)) == p.crop);
            CHECK(p.crop.area() > 0);
        }
    }

    TEST_CASE("the same seed gives the same view and another view gives another") {
        const cv::Mat input = fixture_png("input_cat_img0.png");
        const AugmentSpec spec = parse_augment_spec("default");
        const cv::Mat plain = view_image(input, spec, 7, "cat/img0.jpg", 0);
        CHECK(plain.data == input.data);  // view 0 is the plain image, never augmented
        const cv::Mat v1 = view_image(input, spec, 7, "cat/img0.jpg", 1);
        CHECK(max_diff(v1, view_image(input, spec, 7, "cat/img0.jpg", 1)) == 0);
        CHECK(max_diff(v1, view_image(input, spec, 7, "cat/img0.jpg", 2)) > 0);
        CHECK(max_diff(v1, view_image(input, spec, 8, "cat/img0.jpg", 1)) > 0);
        CHECK(max_diff(v1, view_image(input, spec, 7, "dog/img0.jpg", 1)) > 0);
        CHECK(view_seed(7, "cat/img0.jpg", 1) != view_seed(7, "cat/img0.jpg", 2));
        CHECK_THROWS_AS(augment_view(cv::Mat(), spec, 1), Error);
    }

    TEST_CASE("SPEC parsing accepts the documented forms with their defaults") {
        const std::vector<std::pair<std::string, std::string>> cases{
            {"none", "none"},
            {"default", "flip=0.5,crop=0.25-1:0.75-1.3333333333333333,rotate=10,jitter=0.4:0.4:0.4"},
            {"flip", "flip=0.5"},
            {"crop", "crop=0.08-1:0.75-1.3333333333333333"},
            {"rotate", "rotate=10"},
            {"jitter", "jitter=0.4:0.4:0.4"},
            {" flip=0.25 , crop=0.5-0.9 ", "flip=0.25,crop=0.5-0.9:0.75-1.3333333333333333"},
            {"jitter=0.1:0:0.3,rotate=45,crop=1e-2-1:0.5-2", "crop=0.01-1:0.5-2,rotate=45,jitter=0.1:0:0.3"},
            {"jitter=0.2", "jitter=0.2:0.2:0.2"},
            {"flip=0,rotate=0,jitter=0", "none"},
        };
        // Named copies, not structured bindings: clang cannot capture a binding in CAPTURE's lambda.
        for (const auto& c : cases) {
            const std::string spec = c.first, canonical = c.second;
            CAPTURE(spec);
            const AugmentSpec parsed = parse_augment_spec(spec);
            CHECK(parsed.to_string() == canonical);
            CHECK(parse_augment_spec(parsed.to_string()) == parsed);
            CHECK(parsed.any() == (canonical != "none"));
        }
    }

    TEST_CASE("SPEC parsing refuses bad values with a message naming the key and the range") {
        const std::vector<std::pair<std::string, std::string>> cases{
            {"", "{augment} is empty"},
            {"flip=1.5", "'flip=1.5': the flip probability must be a number in [0, 1]"},
            {"flip=-0.1", "the flip probability must be a number in [0, 1]"},
            {"flip=x", "the flip probability must be a number in [0, 1], not 'x'"},
            {"flip=0,5", "unknown key '5'"},
            {"flip=nan", "the flip probability must be"},
            {"flip=", "'flip=': '=' needs a value"},
            {"rotate=90", "'rotate=90': the rotation in degrees must be a number in [0, 45]"},
            {"jitter=1.5", "the jitter must be a number in [0, 1]"},
            {"jitter=0.1:0.2", "expected jitter=X or jitter=BRIGHTNESS:CONTRAST:SATURATION"},
            {"jitter=0.1:0.2:3", "the saturation jitter must be a number in [0, 1], not '3'"},
            {"crop=0-1", "the crop scale must be a range in (0, 1]"},
            {"crop=0.5", "the crop scale must be a range LO-HI"},
            {"crop=0.9-0.5", "the crop scale must have LO <= HI"},
            {"crop=0.5-1.5", "the crop scale must be a number in [0, 1]"},
            {"crop=0.5-1:0.01-1", "the crop aspect ratio must be a number in [0.1, 10]"},
            {"crop=0.5-1:1-2:3", "expected crop=SCALE_LO-SCALE_HI"},
            {"flip,flip=1", "'flip' is given twice"},
            {"zoom=2", "unknown key 'zoom'"},
            {"default,rotate=5", "unknown key 'default'"},
            {",flip", "an empty item"},
        };
        for (const auto& c : cases) {
            const std::string spec = c.first, expected = c.second;
            CAPTURE(spec);
            CHECK_MESSAGE(message_of(spec).find(expected) != std::string::npos, message_of(spec));
            CHECK(message_of(spec).find("{augment}") == 0);
        }
    }

}  // TEST_SUITE
