#include "pipeline/data/augment.hpp"

#include "pipeline/core/error.hpp"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>
#include <vector>

namespace cvtl {

// ---- generator and seeds -------------------------------------------------------------------

std::uint64_t AugmentRng::next() {
    const std::uint64_t out = splitmix64(state_);
    state_ += kGoldenGamma;
    return out;
}

double AugmentRng::uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

double AugmentRng::uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

// The clamp never changes a result (u * n < n for u < 1 in doubles) but states the bound.
int AugmentRng::index(int n) { return std::min(static_cast<int>(std::floor(uniform() * n)), n - 1); }

namespace {}  // namespace

std::uint64_t view_seed(std::uint64_t extraction_seed, const std::string& sample_path, int view) {
    if (view < 0)
        throw Error("view " + std::to_string(view) + " of '" + sample_path + "' is negative; views count from 0");
    return splitmix64(splitmix64(splitmix64(extraction_seed) ^ fnv1a64(sample_path)) ^
                      static_cast<std::uint64_t>(view));
}

// ---- the SPEC --------------------------------------------------------------------------------

namespace {

constexpr double kMaxRotate = 45, kMaxJitter = 1, kMinRatio = 0.1, kMaxRatio = 10;

std::string trim(const std::string& s) {
    const size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
    return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> parts;
    size_t start = 0;
    for (size_t i = 0; i <= s.size(); ++i)
        if (i == s.size() || s[i] == sep) {
            parts.push_back(trim(s.substr(start, i - start)));
            start = i + 1;
        }
    return parts;
}

// One item of the SPEC being parsed: its text names it in every error.
struct Item {
    std::string key, value, text;
    [[noreturn]] void fail(const std::string& what) const { throw Error("{augment} '" + text + "': " + what); }

    // A number in [lo, hi]; from_chars, because strtod follows the process locale's decimal comma.
    double number(const std::string& s, double lo, double hi, const std::string& what) const {
        double v = 0;
        const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
        if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size() || !(v >= lo && v <= hi))
            fail(what + " must be a number in [" + format(lo) + ", " + format(hi) + "], not '" + s + "'");
        return v;
    }
    // "LO-HI" with lo_min <= LO <= HI <= hi_max (a '-' after an exponent's 'e' belongs to the number).
    std::array<double, 2> range(const std::string& s, double lo_min, double hi_max, const std::string& what) const {
        size_t dash = s.find('-', 1);
        while (dash != std::string::npos && (s[dash - 1] == 'e' || s[dash - 1] == 'E')) dash = s.find('-', dash + 1);
        if (dash == std::string::npos) fail(what + " must be a range LO-HI, not '" + s + "'");
        const std::array<double, 2> r{number(s.substr(0, dash), lo_min, hi_max, what),
                                      number(s.substr(dash + 1), lo_min, hi_max, what)};
        if (r[0] > r[1]) fail(what + " must have LO <= HI, not '" + s + "'");
        return r;
    }
    static std::string format(double v) {
        char buf[32];
        return std::string(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
    }
};

void parse_crop(const Item& item, AugmentSpec& spec) {
    CropRange crop;
    spec.crop = crop;
    if (item.value.empty()) return;
    const std::vector<std::string> parts = split(item.value, ':');
    if (parts.size() > 2) item.fail("expected crop=SCALE_LO-SCALE_HI[:RATIO_LO-RATIO_HI]");
    crop.scale = item.range(parts[0], 0, 1, "the crop scale");
    if (!(crop.scale[0] > 0)) item.fail("the crop scale must be a range in (0, 1], not '" + parts[0] + "'");
    if (parts.size() == 2) crop.ratio = item.range(parts[1], kMinRatio, kMaxRatio, "the crop aspect ratio");
    spec.crop = crop;
}

void parse_jitter(const Item& item, AugmentSpec& spec) {
    if (item.value.empty()) {
        spec.jitter = {0.4, 0.4, 0.4};
        return;
    }
    const std::vector<std::string> parts = split(item.value, ':');
    if (parts.size() != 1 && parts.size() != 3) item.fail("expected jitter=X or jitter=BRIGHTNESS:CONTRAST:SATURATION");
    const char* names[3] = {"the brightness jitter", "the contrast jitter", "the saturation jitter"};
    for (int k = 0; k < 3; ++k)
        spec.jitter[k] =
            item.number(parts[parts.size() == 1 ? 0 : k], 0, kMaxJitter, parts.size() == 1 ? "the jitter" : names[k]);
}

void parse_item(const Item& item, AugmentSpec& spec) {
    if (item.key == "flip")
        spec.flip = item.value.empty() ? 0.5 : item.number(item.value, 0, 1, "the flip probability");
    else if (item.key == "crop")
        parse_crop(item, spec);
    else if (item.key == "rotate")
        spec.rotate = item.value.empty() ? 10 : item.number(item.value, 0, kMaxRotate, "the rotation in degrees");
    else if (item.key == "jitter")
        parse_jitter(item, spec);
    else
        item.fail("unknown key '" + item.key + "' (expected flip, crop, rotate, jitter, or default or none alone)");
}

}  // namespace

bool AugmentSpec::any() const { return flip > 0 || crop || rotate > 0 || jitter != std::array<double, 3>{0, 0, 0}; }

bool AugmentSpec::operator==(const AugmentSpec& o) const {
    const bool same_crop = crop.has_value() == o.crop.has_value() &&
                           (!crop || (crop->scale == o.crop->scale && crop->ratio == o.crop->ratio));
    return flip == o.flip && same_crop && rotate == o.rotate && jitter == o.jitter;
}

std::string AugmentSpec::to_string() const {
    const auto f = Item::format;
    std::vector<std::string> items;
    if (flip > 0) items.push_back("flip=" + f(flip));
    if (crop)
        items.push_back("crop=" + f(crop->scale[0]) + "-" + f(crop->scale[1]) + ":" + f(crop->ratio[0]) + "-" +
                        f(crop->ratio[1]));
    if (rotate > 0) items.push_back("rotate=" + f(rotate));
    if (jitter != std::array<double, 3>{0, 0, 0})
        items.push_back("jitter=" + f(jitter[0]) + ":" + f(jitter[1]) + ":" + f(jitter[2]));
    std::string out;
    for (const std::string& item : items) out += (out.empty() ? "" : ",") + item;
    return out.empty() ? "none" : out;
}

AugmentSpec parse_augment_spec(const std::string& text) {
    const std::string spec = trim(text);
    if (spec == "none") return {};
    if (spec == "default") return parse_augment_spec("flip=0.5,crop=0.25-1,rotate=10,jitter=0.4:0.4:0.4");
    if (spec.empty()) throw Error("{augment} is empty: give a SPEC such as 'default' or 'flip=0.5,crop=0.08-1'");
    AugmentSpec out;
    std::set<std::string> seen;
    for (const std::string& part : split(spec, ',')) {
        const size_t eq = part.find('=');
        const Item item{trim(part.substr(0, eq)), eq == std::string::npos ? "" : trim(part.substr(eq + 1)), part};
        if (item.key.empty()) item.fail("an empty item; items are KEY or KEY=VALUE separated by commas");
        if (eq != std::string::npos && item.value.empty())
            item.fail("'=' needs a value; write '" + item.key + "' alone for its default");
        if (!seen.insert(item.key).second) item.fail("'" + item.key + "' is given twice");
        parse_item(item, out);
    }
    return out;
}

// ---- drawing the parameters ------------------------------------------------------------------

namespace {

// torchvision's RandomResizedCrop.get_params, draw for draw: 10 attempts of (scale, log-ratio), and
// for the first that fits, (top, left); else the centre crop clamped to the ratio range.
// Python's round() is half-to-even, and so is nearbyint in the default rounding mode.
void draw_crop(cv::Size image, const CropRange& range, AugmentRng& rng, AugmentParams& p) {
    const int W = image.width, H = image.height;
    const double area = static_cast<double>(W) * H;
    const double log_lo = std::log(range.ratio[0]), log_hi = std::log(range.ratio[1]);
    for (int attempt = 1; attempt <= 10; ++attempt) {
        const double target = area * rng.uniform(range.scale[0], range.scale[1]);
        const double aspect = std::exp(rng.uniform(log_lo, log_hi));
        const double w = std::nearbyint(std::sqrt(target * aspect)), h = std::nearbyint(std::sqrt(target / aspect));
        if (w > 0 && w <= W && h > 0 && h <= H) {
            const int top = rng.index(H - static_cast<int>(h) + 1);
            const int left = rng.index(W - static_cast<int>(w) + 1);
            p.crop = cv::Rect(left, top, static_cast<int>(w), static_cast<int>(h));
            p.crop_attempt = attempt;
            return;
        }
    }
    const double in_ratio = static_cast<double>(W) / H;
    int w = W, h = H;
    if (in_ratio < range.ratio[0])
        h = static_cast<int>(std::nearbyint(W / range.ratio[0]));
    else if (in_ratio > range.ratio[1])
        w = static_cast<int>(std::nearbyint(H * range.ratio[1]));
    p.crop = cv::Rect((W - w) / 2, (H - h) / 2, w, h);
}

}  // namespace

AugmentParams draw_augment_params(cv::Size image, const AugmentSpec& spec, std::uint64_t seed) {
    if (image.width <= 0 || image.height <= 0) throw Error("cannot augment an empty image");
    AugmentRng rng(seed);
    AugmentParams p;
    p.crop = cv::Rect(0, 0, image.width, image.height);
    // The fixed draw order: crop, flip, angle, brightness, contrast, saturation; an operation that
    // is off draws nothing.
    if (spec.crop) draw_crop(image, *spec.crop, rng, p);
    if (spec.flip > 0) p.flip = rng.uniform() < spec.flip;
    if (spec.rotate > 0) p.angle = rng.uniform(-spec.rotate, spec.rotate);
    if (spec.jitter != std::array<double, 3>{0, 0, 0})
        for (int k = 0; k < 3; ++k)
            p.jitter[k] = rng.uniform(std::max(0.0, 1.0 - spec.jitter[k]), 1.0 + spec.jitter[k]);
    return p;
}

// ---- applying them ---------------------------------------------------------------------------

namespace {

// Colour jitter works on 8-bit values, rounded (half to even) and clamped after each step, with
// integer grey weights (ITU-R 601 in per mille, as PIL's "L" conversion): every step is one or two
// double operations, so numpy reproduces it exactly.
uchar to_u8(double v) { return static_cast<uchar>(std::nearbyint(std::clamp(v, 0.0, 255.0))); }
int grey1000(const uchar* bgr) { return 114 * bgr[0] + 587 * bgr[1] + 299 * bgr[2]; }

// Serial on purpose: views are made inside the extraction's own parallel pipeline.
template <class Fn>
void for_each_pixel(cv::Mat& m, Fn fn) {
    for (int y = 0; y < m.rows; ++y) {
        cv::Vec3b* row = m.ptr<cv::Vec3b>(y);
        for (int x = 0; x < m.cols; ++x) fn(row[x]);
    }
}

void brightness(cv::Mat& m, double f) {
    for_each_pixel(m, [f](cv::Vec3b& px) {
        for (int c = 0; c < 3; ++c) px[c] = to_u8(f * px[c]);
    });
}

// Blends towards the mean grey level of the whole image.
void contrast(cv::Mat& m, double f) {
    std::int64_t sum = 0;
    for_each_pixel(m, [&sum](cv::Vec3b& px) { sum += grey1000(px.val); });
    const double mean = static_cast<double>(sum) / (1000.0 * static_cast<double>(m.total()));
    const double offset = (1.0 - f) * mean;
    for_each_pixel(m, [f, offset](cv::Vec3b& px) {
        for (int c = 0; c < 3; ++c) px[c] = to_u8(f * px[c] + offset);
    });
}

// Blends each pixel towards its own grey level.
void saturation(cv::Mat& m, double f) {
    for_each_pixel(m, [f](cv::Vec3b& px) {
        const double grey = grey1000(px.val) / 1000.0;
        for (int c = 0; c < 3; ++c) px[c] = to_u8(f * px[c] + (1.0 - f) * grey);
    });
}

// cv::getRotationMatrix2D's matrix about the pixel grid's centre, written out so that the fixture
// script computes the same doubles: positive angles turn counter-clockwise.
cv::Mat rotation_matrix(cv::Size size, double degrees) {
    const double theta = degrees * 3.141592653589793 / 180.0;
    const double a = std::cos(theta), b = std::sin(theta);
    const double cx = (size.width - 1) / 2.0, cy = (size.height - 1) / 2.0;
    return (cv::Mat_<double>(2, 3) << a, b, (1.0 - a) * cx - b * cy, -b, a, b * cx + (1.0 - a) * cy);
}

}  // namespace

cv::Mat apply_augment(const cv::Mat& bgr8, const AugmentParams& params) {
    CVTL_ASSERT(bgr8.type() == CV_8UC3);
    cv::Mat out;
    if (params.crop == cv::Rect(0, 0, bgr8.cols, bgr8.rows))
        out = bgr8.clone();
    else
        cv::resize(bgr8(params.crop), out, bgr8.size(), 0, 0, cv::INTER_LINEAR);
    if (params.flip) cv::flip(out, out, 1);
    // Reflected borders: a rotated view has no black corners for the network to learn from.
    if (params.angle != 0) {
        cv::Mat rotated;
        cv::warpAffine(out, rotated, rotation_matrix(out.size(), params.angle), out.size(), cv::INTER_LINEAR,
                       cv::BORDER_REFLECT_101);
        out = rotated;
    }
    if (params.jitter[0] != 1.0) brightness(out, params.jitter[0]);
    if (params.jitter[1] != 1.0) contrast(out, params.jitter[1]);
    if (params.jitter[2] != 1.0) saturation(out, params.jitter[2]);
    return out;
}

cv::Mat augment_view(const cv::Mat& bgr8, const AugmentSpec& spec, std::uint64_t seed) {
    return apply_augment(bgr8, draw_augment_params(bgr8.size(), spec, seed));
}

cv::Mat view_image(const cv::Mat& bgr8, const AugmentSpec& spec, std::uint64_t extraction_seed,
                   const std::string& sample_path, int view) {
    if (view == 0) return bgr8;
    return augment_view(bgr8, spec, view_seed(extraction_seed, sample_path, view));
}

}  // namespace cvtl
