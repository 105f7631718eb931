#include "pipeline/train/run_report.hpp"

#include "plugin/error.hpp"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>

namespace cvtl {
namespace {

nlohmann::json number_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }
double number_or_nan(const nlohmann::json& v) { return v.is_null() ? std::numeric_limits<double>::quiet_NaN() : v.get<double>(); }

void write_text(const std::string& path, const std::string& text) {
    std::ofstream out(path);
    out << text;
    if (!out) throw Error("cannot write " + path);
}

// One panel: series of (epoch, value) in a box, y range from the data.
void plot_panel(cv::Mat& canvas, cv::Rect box, const std::string& title,
                const std::vector<std::pair<std::vector<double>, cv::Scalar>>& series, int epochs, bool unit_range) {
    cv::rectangle(canvas, box, cv::Scalar(180, 180, 180), 1);
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (const auto& [values, color] : series)
        for (double v : values)
            if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
    if (unit_range) lo = 0, hi = 1;
    if (!std::isfinite(lo)) lo = 0, hi = 1;
    if (hi - lo < 1e-9) hi = lo + 1;
    cv::putText(canvas, title, {box.x + 8, box.y + 20}, cv::FONT_HERSHEY_SIMPLEX, 0.5, cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
    char label[32];
    std::snprintf(label, sizeof label, "%.3g", hi);
    cv::putText(canvas, label, {box.x + 4, box.y + 36}, cv::FONT_HERSHEY_SIMPLEX, 0.4, cv::Scalar(90, 90, 90), 1, cv::LINE_AA);
    std::snprintf(label, sizeof label, "%.3g", lo);
    cv::putText(canvas, label, {box.x + 4, box.y + box.height - 6}, cv::FONT_HERSHEY_SIMPLEX, 0.4, cv::Scalar(90, 90, 90), 1, cv::LINE_AA);
    auto to_point = [&](size_t i, double v) {
        const double x = epochs > 1 ? static_cast<double>(i) / (epochs - 1) : 0.5;
        return cv::Point(box.x + 40 + static_cast<int>(x * (box.width - 60)),
                         box.y + box.height - 10 - static_cast<int>((v - lo) / (hi - lo) * (box.height - 40)));
    };
    for (const auto& [values, color] : series) {
        for (size_t i = 0; i < values.size(); ++i) {
            if (!std::isfinite(values[i])) continue;
            cv::circle(canvas, to_point(i, values[i]), 3, color, cv::FILLED, cv::LINE_AA);
            if (i > 0 && std::isfinite(values[i - 1])) cv::line(canvas, to_point(i - 1, values[i - 1]), to_point(i, values[i]), color, 2, cv::LINE_AA);
        }
    }
}

}  // namespace

nlohmann::json EpochMetrics::to_json() const {
    return {{"epoch", epoch}, {"train_loss", number_or_null(train_loss)}, {"train_accuracy", number_or_null(train_accuracy)},
            {"val_loss", number_or_null(val_loss)}, {"val_accuracy", number_or_null(val_accuracy)},
            {"learning_rate", learning_rate}, {"seconds", seconds}, {"images_per_second", images_per_second}};
}

EpochMetrics EpochMetrics::from_json(const nlohmann::json& j) {
    EpochMetrics m;
    m.epoch = j.at("epoch");
    m.train_loss = number_or_nan(j.at("train_loss"));
    m.train_accuracy = number_or_nan(j.at("train_accuracy"));
    m.val_loss = number_or_nan(j.at("val_loss"));
    m.val_accuracy = number_or_nan(j.at("val_accuracy"));
    m.learning_rate = j.at("learning_rate");
    m.seconds = j.at("seconds");
    m.images_per_second = j.at("images_per_second");
    return m;
}

void write_metrics(const std::string& run_dir, const std::vector<EpochMetrics>& history) {
    std::string csv = "epoch,train_loss,train_accuracy,val_loss,val_accuracy,learning_rate,seconds,images_per_second\n";
    nlohmann::json json = nlohmann::json::array();
    for (const auto& m : history) {
        char line[256];
        std::snprintf(line, sizeof line, "%d,%.6f,%.6f,%.6f,%.6f,%.6g,%.3f,%.1f\n", m.epoch, m.train_loss, m.train_accuracy, m.val_loss,
                      m.val_accuracy, m.learning_rate, m.seconds, m.images_per_second);
        csv += line;
        json.push_back(m.to_json());
    }
    write_text(run_dir + "/metrics.csv", csv);
    write_text(run_dir + "/metrics.json", json.dump(2) + "\n");
}

void draw_curves(const std::string& png_path, const std::vector<EpochMetrics>& history) {
    cv::Mat canvas(360, 900, CV_8UC3, cv::Scalar(255, 255, 255));
    std::vector<double> tl, vl, ta, va;
    for (const auto& m : history) {
        tl.push_back(m.train_loss), vl.push_back(m.val_loss);
        ta.push_back(m.train_accuracy), va.push_back(m.val_accuracy);
    }
    const cv::Scalar train(200, 90, 30), val(30, 120, 230);  // BGR: blue train, orange validation
    const int epochs = static_cast<int>(history.size());
    plot_panel(canvas, {10, 10, 435, 310}, "loss per epoch", {{tl, train}, {vl, val}}, epochs, false);
    plot_panel(canvas, {455, 10, 435, 310}, "accuracy per epoch", {{ta, train}, {va, val}}, epochs, true);
    cv::putText(canvas, "train", {20, 345}, cv::FONT_HERSHEY_SIMPLEX, 0.5, train, 1, cv::LINE_AA);
    cv::putText(canvas, "validation", {90, 345}, cv::FONT_HERSHEY_SIMPLEX, 0.5, val, 1, cv::LINE_AA);
    char span[64];
    std::snprintf(span, sizeof span, "epochs 1..%d", epochs);
    cv::putText(canvas, span, {760, 345}, cv::FONT_HERSHEY_SIMPLEX, 0.5, cv::Scalar(90, 90, 90), 1, cv::LINE_AA);
    if (!cv::imwrite(png_path, canvas)) throw Error("cannot write " + png_path);
}

void write_confusion(const std::string& run_dir, const std::string& stem, const Confusion& counts,
                     const std::vector<std::string>& classes) {
    std::string csv = "true\\predicted";
    for (const auto& c : classes) csv += "," + c;
    csv += "\n";
    for (size_t i = 0; i < counts.size(); ++i) {
        csv += classes[i];
        for (long long v : counts[i]) csv += "," + std::to_string(v);
        csv += "\n";
    }
    write_text(run_dir + "/" + stem + ".csv", csv);

    const int k = static_cast<int>(classes.size());
    const int cell = std::max(24, std::min(60, 600 / std::max(1, k)));
    const int margin = 140;
    cv::Mat canvas(margin + k * cell + 10, margin + k * cell + 10, CV_8UC3, cv::Scalar(255, 255, 255));
    for (int t = 0; t < k; ++t) {
        long long row = 0;
        for (long long v : counts[static_cast<size_t>(t)]) row += v;
        for (int p = 0; p < k; ++p) {
            const long long v = counts[static_cast<size_t>(t)][static_cast<size_t>(p)];
            const double share = row ? static_cast<double>(v) / static_cast<double>(row) : 0.0;
            const cv::Rect r(margin + p * cell, margin + t * cell, cell, cell);
            const auto shade = static_cast<int>(255 - 200 * share);
            cv::rectangle(canvas, r, cv::Scalar(255, shade, shade), cv::FILLED);
            cv::rectangle(canvas, r, cv::Scalar(200, 200, 200), 1);
            cv::putText(canvas, std::to_string(v), {r.x + 3, r.y + cell / 2 + 4}, cv::FONT_HERSHEY_SIMPLEX, 0.35,
                        share > 0.6 ? cv::Scalar(255, 255, 255) : cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
        }
        cv::putText(canvas, classes[static_cast<size_t>(t)].substr(0, 16), {4, margin + t * cell + cell / 2 + 4}, cv::FONT_HERSHEY_SIMPLEX,
                    0.4, cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
        // Predicted-class labels, one letter column per cell would be unreadable: write them rotated.
        cv::Mat label(cell, margin - 10, CV_8UC3, cv::Scalar(255, 255, 255));
        cv::putText(label, classes[static_cast<size_t>(t)].substr(0, 16), {2, cell / 2 + 4}, cv::FONT_HERSHEY_SIMPLEX, 0.4,
                    cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
        cv::Mat rotated;
        cv::rotate(label, rotated, cv::ROTATE_90_COUNTERCLOCKWISE);
        rotated.copyTo(canvas(cv::Rect(margin + t * cell, 4, cell, margin - 10)));
    }
    cv::putText(canvas, "true \\ predicted", {4, 20}, cv::FONT_HERSHEY_SIMPLEX, 0.45, cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
    const std::string png = run_dir + "/" + stem + ".png";
    if (!cv::imwrite(png, canvas)) throw Error("cannot write " + png);
}

}  // namespace cvtl
