#include "pipeline/report/contact_sheet.hpp"

#include "pipeline/core/error.hpp"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cmath>

namespace cvtl {
namespace {

constexpr int kLineHeight = 16;
constexpr double kFontScale = 0.42;

// One tile: the image fitted into tile x tile on grey, its lines below it on white.
cv::Mat draw_tile(const SheetTile& t, int tile) {
    const int lines = static_cast<int>(t.lines.size());
    cv::Mat out(tile + kLineHeight * lines + 6, tile, CV_8UC3, cv::Scalar(255, 255, 255));
    cv::Mat area = out(cv::Rect(0, 0, tile, tile));
    area.setTo(cv::Scalar(200, 200, 200));
    const cv::Mat image = cv::imread(t.image, cv::IMREAD_COLOR);
    if (image.empty()) {
        cv::putText(area, "unreadable", {8, tile / 2}, cv::FONT_HERSHEY_SIMPLEX, kFontScale, {0, 0, 200}, 1,
                    cv::LINE_AA);
    } else {
        const double s = static_cast<double>(tile) / std::max(image.cols, image.rows);
        cv::Mat fitted;
        cv::resize(image, fitted, {}, s, s, s < 1 ? cv::INTER_AREA : cv::INTER_NEAREST);
        fitted.copyTo(area(cv::Rect((tile - fitted.cols) / 2, (tile - fitted.rows) / 2, fitted.cols, fitted.rows)));
    }
    for (int i = 0; i < lines; ++i)
        cv::putText(out, t.lines[static_cast<size_t>(i)], {4, tile + kLineHeight * (i + 1)}, cv::FONT_HERSHEY_SIMPLEX,
                    kFontScale, {0, 0, 0}, 1, cv::LINE_AA);
    return out;
}

}  // namespace

void write_contact_sheet(const std::string& path, const std::vector<SheetTile>& tiles, int tile) {
    if (tiles.empty()) throw Error("contact sheet " + path + ": no image to show");
    const int n = static_cast<int>(tiles.size());
    const int columns = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(n))));
    const int rows = (n + columns - 1) / columns;
    std::vector<cv::Mat> drawn;
    int height = 0;
    for (const SheetTile& t : tiles) {
        drawn.push_back(draw_tile(t, tile));
        height = std::max(height, drawn.back().rows);
    }
    const int gap = 4;
    cv::Mat sheet(rows * (height + gap) + gap, columns * (tile + gap) + gap, CV_8UC3, cv::Scalar(255, 255, 255));
    for (int i = 0; i < n; ++i) {
        const cv::Mat& d = drawn[static_cast<size_t>(i)];
        d.copyTo(
            sheet(cv::Rect(gap + (i % columns) * (tile + gap), gap + (i / columns) * (height + gap), d.cols, d.rows)));
    }
    if (!cv::imwrite(path, sheet))
        throw Error("cannot write contact sheet " + path + " (folder missing or read-only?)");
}

}  // namespace cvtl
