#include "pipeline/report/line_chart.hpp"

#include <opencv2/imgproc.hpp>

#include <cmath>
#include <cstdio>

namespace cvtl {
namespace {

const cv::Scalar kGrey(90, 90, 90), kLight(225, 225, 225);

void text(cv::Mat& img, const std::string& s, cv::Point at, cv::Scalar color, double scale = 0.45) {
    cv::putText(img, s, at, cv::FONT_HERSHEY_SIMPLEX, scale, color, 1, cv::LINE_AA);
}

// Horizontal grid lines with their values, five steps between y_min and y_max.
void draw_y_axis(cv::Mat& img, const cv::Rect& plot, const LineChart& c) {
    for (int k = 0; k <= 5; ++k) {
        const double v = c.y_min + (c.y_max - c.y_min) * k / 5.0;
        const int y = plot.y + plot.height - static_cast<int>(std::lround(plot.height * k / 5.0));
        cv::line(img, {plot.x, y}, {plot.x + plot.width, y}, kLight);
        char label[32];
        std::snprintf(label, sizeof label, "%.2f", v);
        text(img, label, {plot.x - 45, y + 4}, kGrey, 0.4);
    }
    text(img, c.y_label, {8, plot.y - 10}, kGrey);
}

}  // namespace

cv::Scalar chart_color(size_t k) {
    static const cv::Scalar palette[] = {{200, 90, 30}, {30, 120, 230}, {60, 160, 60}, {160, 60, 160}, {40, 40, 200}, {120, 120, 0}};
    return palette[k % (sizeof palette / sizeof palette[0])];
}

cv::Mat draw_line_chart(const LineChart& c, cv::Size size) {
    cv::Mat img(size, CV_8UC3, cv::Scalar(255, 255, 255));
    const cv::Rect plot(60, 40, size.width - 260, size.height - 100);
    cv::rectangle(img, plot, cv::Scalar(160, 160, 160));
    text(img, c.title, {plot.x, 24}, cv::Scalar(0, 0, 0), 0.55);
    draw_y_axis(img, plot, c);
    const size_t n = c.x_ticks.size();
    auto x_of = [&](size_t i) { return plot.x + 30 + (n > 1 ? static_cast<int>(i * static_cast<size_t>(plot.width - 60) / (n - 1)) : (plot.width - 60) / 2); };
    const double span = c.y_max - c.y_min > 1e-12 ? c.y_max - c.y_min : 1;
    auto y_of = [&](double v) { return plot.y + plot.height - static_cast<int>(std::lround((v - c.y_min) / span * plot.height)); };
    for (size_t i = 0; i < n; ++i) text(img, c.x_ticks[i], {x_of(i) - 18, plot.y + plot.height + 18}, kGrey, 0.4);
    text(img, c.x_label, {plot.x + plot.width / 2 - 40, plot.y + plot.height + 42}, kGrey);
    for (size_t k = 0; k < c.series.size(); ++k) {
        const ChartSeries& s = c.series[k];
        for (size_t i = 0; i < s.values.size() && i < n; ++i) {
            if (!std::isfinite(s.values[i])) continue;
            const cv::Point p(x_of(i), y_of(s.values[i]));
            cv::circle(img, p, 4, s.color, cv::FILLED, cv::LINE_AA);
            if (i > 0 && std::isfinite(s.values[i - 1])) cv::line(img, {x_of(i - 1), y_of(s.values[i - 1])}, p, s.color, 2, cv::LINE_AA);
        }
        text(img, s.name, {plot.x + plot.width + 20, plot.y + 20 + static_cast<int>(k) * 24}, s.color);
    }
    return img;
}

}  // namespace cvtl
