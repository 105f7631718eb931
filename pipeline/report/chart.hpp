#pragma once
// Every chart cvtl draws (training curves, sweep and demo line charts, confusion matrices), drawn
// by PLplot with real axes: ticks chosen by nice_ticks, axis labels, legend, title. The chart is
// rendered into memory (PLplot's "memcairo" driver when plplot-driver-cairo is installed, else its
// built-in "mem" driver) and written as PNG by OpenCV. The caller supplies every text; nothing in
// this module is a sentence of its own. Safe to call from several threads (one plot at a time).
#include <opencv2/core.hpp>

#include <limits>
#include <string>
#include <vector>

namespace cvtl {

// One axis. min/max NaN: chosen from the data by nice_ticks. min_step: the smallest tick step
// (1 for counts such as epochs, so no tick falls between two of them).
struct ChartAxis {
    std::string label;  // with the unit, e.g. "loss (cross-entropy, nats)"
    double min = std::numeric_limits<double>::quiet_NaN();
    double max = std::numeric_limits<double>::quiet_NaN();
    double min_step = 0;
};

struct ChartSeries {
    std::string name;
    std::vector<double> values;  // one per x position; NaN: no point there (the line breaks)
};

// x is categorical (x_categories, one per position, evenly spaced) or numeric (x_values).
struct LineChart {
    std::string title;
    ChartAxis x, y;
    std::vector<std::string> x_categories;
    std::vector<double> x_values;
    std::vector<ChartSeries> series;
};

// A matrix of cells shaded by `shade` (0..1) with `text` written in each cell; row 0 at the top.
struct Heatmap {
    std::string title, x_label, y_label;
    std::vector<std::string> row_names, column_names;
    std::vector<std::vector<double>> shade;
    std::vector<std::vector<std::string>> text;
};

// Tick marks for an axis: from `min` to `max` every `step`, step 1, 2 or 5 times a power of ten,
// min and max multiples of step covering [lo, hi] with about `target` intervals.
struct AxisTicks {
    double min = 0, max = 1, step = 0.2;
};
AxisTicks nice_ticks(double lo, double hi, int target = 5, double min_step = 0);

// The PLplot driver charts are rendered with: "memcairo" if installed, else "mem".
std::string chart_driver();

// Renders a chart into a BGR image of the given size; throws cvtl::Error on bad input.
cv::Mat render_line_chart(const LineChart& chart, cv::Size size = {900, 460});
cv::Mat render_heatmap(const Heatmap& map, cv::Size size = {640, 640});

// Writes a rendered chart as PNG; throws cvtl::Error naming the path when it cannot.
void write_chart_png(const std::string& path, const cv::Mat& image);

}  // namespace cvtl
