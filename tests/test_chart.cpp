// pipeline/report/chart: the tick choice, and PNGs that decode at the requested size with the
// data drawn on them.
#include "pipeline/report/chart.hpp"
#include "pipeline/train/run_report.hpp"
#include "pipeline/core/error.hpp"
#include "support/fixtures.hpp"

#include <doctest/doctest.h>
#include <opencv2/imgcodecs.hpp>

#include <cmath>
#include <thread>

using namespace cvtl;

namespace {

LineChart two_series() {
    LineChart c;
    c.title = "two series";
    c.x = {"epoch", NAN, NAN, 1};
    c.y.label = "loss (nats)";
    c.x_values = {1, 2, 3, 4, 5};
    c.series = {{"train", {2.0, 1.2, 0.8, 0.6, 0.5}}, {"validation", {2.1, 1.5, NAN, 1.1, 1.0}}};
    return c;
}

// Pixels within `tolerance` of a BGR colour: the series and cells drawn in it.
int pixels_near(const cv::Mat& image, cv::Vec3b bgr, int tolerance = 40) {
    int n = 0;
    for (auto it = image.begin<cv::Vec3b>(); it != image.end<cv::Vec3b>(); ++it)
        n += std::abs((*it)[0] - bgr[0]) + std::abs((*it)[1] - bgr[1]) + std::abs((*it)[2] - bgr[2]) <= tolerance;
    return n;
}

cv::Mat written_and_read(const cv::Mat& chart, const std::string& path) {
    write_chart_png(path, chart);
    return cv::imread(path, cv::IMREAD_COLOR);
}

}  // namespace

TEST_SUITE("unit") {
    TEST_CASE("nice_ticks picks steps of 1 2 or 5 times a power of ten covering the data with 3 to 10 intervals") {
        const AxisTicks accuracy = nice_ticks(0.22, 0.86);
        CHECK(accuracy.min == doctest::Approx(0.2));
        CHECK(accuracy.max == doctest::Approx(1.0));
        CHECK(accuracy.step == doctest::Approx(0.2));
        CHECK(nice_ticks(0.3, 0.7).min == doctest::Approx(0.3));  // no extra tick from 0.3 / 0.1 rounding down
        for (const auto& range :
             std::vector<std::pair<double, double>>{{0.7, 0.85}, {1e-4, 3e-4}, {-3, 17}, {0.41, 2.31}, {0, 1000}}) {
            const double lo = range.first, hi = range.second;
            CAPTURE(lo);
            CAPTURE(hi);
            const AxisTicks t = nice_ticks(lo, hi);
            const double mantissa = t.step / std::pow(10.0, std::floor(std::log10(t.step) + 1e-9));
            CHECK((std::abs(mantissa - 1) < 1e-6 || std::abs(mantissa - 2) < 1e-6 || std::abs(mantissa - 5) < 1e-6));
            CHECK(t.min <= lo);
            CHECK(t.max >= hi);
            const double intervals = (t.max - t.min) / t.step;
            CHECK(intervals == doctest::Approx(std::round(intervals)));
            CHECK(intervals >= 3);
            CHECK(intervals <= 10);
        }
    }

    TEST_CASE("nice_ticks widens a single value and keeps whole epochs with min_step and sorts reversed bounds") {
        const AxisTicks one = nice_ticks(0.5, 0.5);
        CHECK(one.min < 0.5);
        CHECK(one.max > 0.5);
        const AxisTicks epochs = nice_ticks(1, 3, 5, 1);
        CHECK(epochs.step == 1);
        CHECK(epochs.min == 1);
        CHECK(epochs.max == 3);
        const AxisTicks reversed = nice_ticks(1, 0);
        CHECK(reversed.min == 0);
        CHECK(reversed.max == 1);
    }

    TEST_CASE("a line chart is a PNG of the requested size with both series drawn in their colours") {
        test::TempDir dir;
        const cv::Mat image = written_and_read(render_line_chart(two_series(), {640, 360}), dir / "line.png");
        REQUIRE_FALSE(image.empty());
        CHECK(image.cols == 640);
        CHECK(image.rows == 360);
        CHECK(pixels_near(image, {180, 119, 31}) > 200);  // first series: blue (BGR)
        CHECK(pixels_near(image, {14, 127, 255}) > 200);  // second: orange
        CHECK(pixels_near(image, {0, 0, 0}, 200) > 500);  // axes, ticks and text in dark ink
    }

    TEST_CASE("a categorical line chart draws a series with a single value as a dot") {
        LineChart c;
        c.title = "one point";
        c.x_categories = {"input", "pool1", "pool2"};
        c.series = {{"scratch", {0.8, NAN, NAN}}};
        const cv::Mat image = render_line_chart(c, {400, 300});
        CHECK(image.size() == cv::Size(400, 300));
        CHECK(pixels_near(image, {180, 119, 31}) > 10);
    }

    TEST_CASE(
        "a confusion matrix is a square heatmap PNG that is darkest where a row has all its counts on the diagonal") {
        test::TempDir dir;
        write_confusion(dir.path(), "confusion", {{9, 1, 0}, {0, 10, 0}, {2, 0, 8}}, {"cat", "dog", "bird#1"});
        const cv::Mat image = cv::imread(dir / "confusion.png", cv::IMREAD_COLOR);
        REQUIRE_FALSE(image.empty());
        CHECK(image.cols == image.rows);
        CHECK(image.cols >= 300);
        CHECK(pixels_near(image, {107, 48, 8}, 30) > 500);  // the dog row: all its counts on the diagonal, darkest blue
    }

    TEST_CASE("curves.png holds the loss and the accuracy panel side by side") {
        test::TempDir dir;
        std::vector<EpochMetrics> history(3);
        for (int e = 0; e < 3; ++e)
            history[e] = {e + 1, 2.0 - 0.5 * e, 0.3 + 0.2 * e, 2.2 - 0.4 * e, 0.25 + 0.2 * e, 0.01, 1, 100};
        draw_curves(dir / "curves.png", history);
        const cv::Mat image = cv::imread(dir / "curves.png", cv::IMREAD_COLOR);
        REQUIRE_FALSE(image.empty());
        CHECK(image.cols >= 2 * image.rows);  // two panels, each wider than tall
        CHECK(pixels_near(image(cv::Rect(0, 0, image.cols / 2, image.rows)), {14, 127, 255}) > 100);
        CHECK(pixels_near(image(cv::Rect(image.cols / 2, 0, image.cols / 2, image.rows)), {14, 127, 255}) > 100);
    }

    TEST_CASE("charts rendered from two threads at once equal the same charts rendered alone") {
        const cv::Mat alone = render_line_chart(two_series(), {480, 320});
        cv::Mat a, b;
        std::thread first([&] { a = render_line_chart(two_series(), {480, 320}); });
        std::thread second([&] { b = render_line_chart(two_series(), {480, 320}); });
        first.join(), second.join();
        CHECK(cv::norm(a, alone, cv::NORM_INF) == 0);
        CHECK(cv::norm(b, alone, cv::NORM_INF) == 0);
    }

    TEST_CASE("bad chart input and unwritable paths are cvtl::Error naming the problem") {
        LineChart c = two_series();
        c.series[1].values.pop_back();
        CHECK_THROWS_WITH_AS(render_line_chart(c), doctest::Contains("'validation' has 4 values for 5 x positions"),
                             Error);
        CHECK_THROWS_AS(render_heatmap(Heatmap{}), Error);
        CHECK_THROWS_AS(render_line_chart(two_series(), {10, 10}), Error);
        CHECK_THROWS_WITH_AS(write_chart_png("/nonexistent-dir/x.png", render_line_chart(two_series())),
                             doctest::Contains("/nonexistent-dir/x.png"), Error);
    }

}  // TEST_SUITE
