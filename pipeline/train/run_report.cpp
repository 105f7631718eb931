#include "pipeline/train/run_report.hpp"

#include "pipeline/report/chart.hpp"
#include "pipeline/core/error.hpp"
#include "pipeline/data/csv_writer.hpp"

#include <opencv2/core.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>

namespace cvtl {
namespace {

nlohmann::json number_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }
double number_or_nan(const nlohmann::json& v) {
    return v.is_null() ? std::numeric_limits<double>::quiet_NaN() : v.get<double>();
}

void write_text(const std::string& path, const std::string& text) {
    std::ofstream out(path);
    out << text;
    if (!out) throw Error("cannot write " + path);
}

std::string format(const char* fmt, double v) {
    char s[64];
    std::snprintf(s, sizeof s, fmt, v);
    return s;
}

// One panel of curves.png: a quantity per epoch, train and (where there is one) validation.
LineChart epoch_chart(const std::vector<EpochMetrics>& history, const std::string& quantity, const std::string& unit,
                      double EpochMetrics::*train, double EpochMetrics::*val) {
    LineChart c;
    c.x = {"epoch", NAN, NAN, 1};
    c.y.label = quantity + " (" + unit + ")";
    ChartSeries t{"train", {}}, v{"validation", {}};
    bool has_val = false;
    for (const auto& m : history) {
        c.x_values.push_back(m.epoch);
        t.values.push_back(m.*train), v.values.push_back(m.*val);
        has_val = has_val || std::isfinite(m.*val);
    }
    c.series.push_back(t);
    if (has_val) c.series.push_back(v);
    const EpochMetrics& last = history.back();
    c.title = quantity + " over " + std::to_string(history.size()) + " epoch" + (history.size() == 1 ? "" : "s") +
              ", last: train " + format("%.3g", last.*train) +
              (has_val ? ", validation " + format("%.3g", last.*val) : "");
    return c;
}

// Counts in the cells, shaded by their share of the true class's row (so rare classes read as well).
cv::Mat confusion_heatmap(const Confusion& counts, const std::vector<std::string>& classes) {
    Heatmap m{"", "predicted class", "true class", classes, classes, {}, {}};
    long long total = 0, correct = 0;
    for (size_t t = 0; t < counts.size(); ++t) {
        long long row = 0;
        for (long long v : counts[t]) row += v;
        total += row, correct += t < counts[t].size() ? counts[t][t] : 0;
        m.shade.emplace_back(), m.text.emplace_back();
        for (long long v : counts[t]) {
            m.shade.back().push_back(row ? static_cast<double>(v) / static_cast<double>(row) : 0.0);
            m.text.back().push_back(std::to_string(v));
        }
    }
    m.title = std::to_string(total) + " samples, " + std::to_string(correct) + " correct (" +
              format("%.1f", total ? 100.0 * static_cast<double>(correct) / static_cast<double>(total) : 0.0) + "%)";
    const int cell = std::clamp(640 / std::max<int>(1, static_cast<int>(classes.size())), 36, 64);
    const int side = 260 + cell * static_cast<int>(classes.size());
    return render_heatmap(m, {side, side});
}

}  // namespace

nlohmann::json EpochMetrics::to_json() const {
    return {{"epoch", epoch},
            {"train_loss", number_or_null(train_loss)},
            {"train_accuracy", number_or_null(train_accuracy)},
            {"val_loss", number_or_null(val_loss)},
            {"val_accuracy", number_or_null(val_accuracy)},
            {"learning_rate", learning_rate},
            {"seconds", seconds},
            {"images_per_second", images_per_second},
            {"compute_seconds", compute_seconds},
            {"reduce_seconds", reduce_seconds},
            {"optimizer_seconds", optimizer_seconds}};
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
    // Checkpoints written before these were recorded lack them.
    m.compute_seconds = j.value("compute_seconds", 0.0);
    m.reduce_seconds = j.value("reduce_seconds", 0.0);
    m.optimizer_seconds = j.value("optimizer_seconds", 0.0);
    return m;
}

void write_metrics(const std::string& run_dir, const std::vector<EpochMetrics>& history) {
    std::string csv =
        "epoch,train_loss,train_accuracy,val_loss,val_accuracy,learning_rate,seconds,images_per_second,compute_seconds,"
        "reduce_seconds,"
        "optimizer_seconds\n";
    nlohmann::json json = nlohmann::json::array();
    for (const auto& m : history) {
        char line[256];
        std::snprintf(line, sizeof line, "%d,%.6f,%.6f,%.6f,%.6f,%.6g,%.3f,%.1f,%.3f,%.3f,%.3f\n", m.epoch,
                      m.train_loss, m.train_accuracy, m.val_loss, m.val_accuracy, m.learning_rate, m.seconds,
                      m.images_per_second, m.compute_seconds, m.reduce_seconds, m.optimizer_seconds);
        csv += line;
        json.push_back(m.to_json());
    }
    write_text(run_dir + "/metrics.csv", csv);
    write_text(run_dir + "/metrics.json", json.dump(2) + "\n");
}

void draw_curves(const std::string& png_path, const std::vector<EpochMetrics>& history) {
    if (history.empty()) throw Error("no epochs to draw in " + png_path);
    cv::Mat loss = render_line_chart(
        epoch_chart(history, "loss", "cross-entropy, nats", &EpochMetrics::train_loss, &EpochMetrics::val_loss),
        {600, 400});
    cv::Mat accuracy = render_line_chart(epoch_chart(history, "accuracy", "fraction correct",
                                                     &EpochMetrics::train_accuracy, &EpochMetrics::val_accuracy),
                                         {600, 400});
    cv::Mat both;
    cv::hconcat(loss, accuracy, both);
    write_chart_png(png_path, both);
}

void write_confusion(const std::string& run_dir, const std::string& stem, const Confusion& counts,
                     const std::vector<std::string>& classes) {
    std::string csv = "true\\predicted";
    for (const auto& c : classes) csv += "," + csv_field(c);
    csv += "\n";
    for (size_t i = 0; i < counts.size(); ++i) {
        csv += csv_field(classes[i]);
        for (long long v : counts[i]) csv += "," + std::to_string(v);
        csv += "\n";
    }
    write_text(run_dir + "/" + stem + ".csv", csv);

    write_chart_png(run_dir + "/" + stem + ".png", confusion_heatmap(counts, classes));
}

}  // namespace cvtl
