#pragma once
// A small line chart drawn with OpenCV (no plotting dependency): categorical or evenly spaced x
// positions with tick labels, one line per series, gaps where a series has no value, a legend.
#include <opencv2/core.hpp>

#include <string>
#include <vector>

namespace cvtl {

struct ChartSeries {
    std::string name;
    cv::Scalar color;                   // BGR
    std::vector<double> values;         // one per x position; NaN: no point there
};

struct LineChart {
    std::string title, x_label, y_label;
    std::vector<std::string> x_ticks;   // one per x position
    double y_min = 0, y_max = 1;
    std::vector<ChartSeries> series;
};

// Draws the chart on a white canvas of the given size.
cv::Mat draw_line_chart(const LineChart& chart, cv::Size size = {900, 460});

// A palette of distinguishable colours for series k.
cv::Scalar chart_color(size_t k);

}  // namespace cvtl
