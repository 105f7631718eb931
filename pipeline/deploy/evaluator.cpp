#include "pipeline/deploy/evaluator.hpp"

#include "pipeline/data/batch_runner.hpp"
#include "pipeline/data/dataset.hpp"
#include "pipeline/dist/batch_slice.hpp"
#include "pipeline/dist/shared_dataset.hpp"
#include "pipeline/cache/cache_info.hpp"
#include "pipeline/cache/cache_reader.hpp"
#include "pipeline/core/error.hpp"
#include "pipeline/report/contact_sheet.hpp"

#include <boost/filesystem.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>

namespace cvtl {
namespace {

namespace fs = boost::filesystem;

// Every misclassified image, worst first: its true class, the model's top-k with probabilities.
nlohmann::json misclassified_json(const EvaluateSummary& s, const std::vector<std::string>& classes) {
    nlohmann::json out = nlohmann::json::array();
    for (const Misclassified& m : s.misclassified) {
        nlohmann::json top = nlohmann::json::array();
        for (size_t i = 0; i < m.top.size(); ++i)
            top.push_back({{"class", classes[static_cast<size_t>(m.top[i])]}, {"probability", m.top_probability[i]}});
        out.push_back({{"path", m.where},
                       {"true", classes[static_cast<size_t>(m.truth)]},
                       {"true_probability", m.truth_probability},
                       {"top", top}});
    }
    return out;
}

// The `errors` worst misclassified images as a contact sheet (images only: cached rows have none).
void write_error_sheet(const EvaluateOptions& o, const EvaluateSummary& s, const std::vector<std::string>& classes) {
    std::vector<SheetTile> tiles;
    char line[96];
    for (const Misclassified& m : s.misclassified) {
        if (static_cast<int>(tiles.size()) >= o.errors) break;
        SheetTile t{m.where, {}};
        t.lines.push_back("true " + classes[static_cast<size_t>(m.truth)]);
        std::snprintf(line, sizeof line, "predicted %s %.2f", classes[static_cast<size_t>(m.top[0])].c_str(),
                      m.top_probability[0]);
        t.lines.push_back(line);
        std::snprintf(line, sizeof line, "p(true) %.3f", m.truth_probability);
        t.lines.push_back(line);
        tiles.push_back(std::move(t));
    }
    if (tiles.empty()) throw Error("no misclassified image to draw in " + o.errors_png + ": every one is right");
    write_contact_sheet(o.errors_png, tiles);
}

void write_report(const std::string& path, const EvaluateOptions& o, const EvaluateSummary& s,
                  const std::vector<std::string>& classes) {
    nlohmann::json per_class = nlohmann::json::array();
    for (const auto& c : s.classes)
        per_class.push_back(
            {{"class", c.name}, {"support", c.support}, {"precision", c.precision}, {"recall", c.recall}});
    const nlohmann::json report = {{"model", o.model},
                                   {"data", o.data},
                                   {"images", s.images},
                                   {"skipped", s.skipped},
                                   {"accuracy", s.accuracy},
                                   {"top_k", s.top_k},
                                   {"top_k_accuracy", s.top_k_accuracy},
                                   {"classes", classes},
                                   {"per_class", per_class},
                                   {"confusion", s.confusion},
                                   {"misclassified", misclassified_json(s, classes)},
                                   {"seconds", s.seconds}};
    std::ofstream out(path);
    out << report.dump(2) << "\n";
    if (!out) throw Error("cannot write report " + path);
    const fs::path p(path);
    const std::string dir = p.parent_path().empty() ? "." : p.parent_path().string();
    write_confusion(dir, p.stem().string() + "-confusion", s.confusion, classes);
}

// The data to score: every sample, or a CSV's test rows when it marks splits (its train and val rows
// trained the model).
Dataset scored_samples(const EvaluateOptions& o, const Events& events) {
    ScanOptions scan;
    scan.val_fraction = 0;
    scan.max_image_bytes = o.max_image_bytes;
    Dataset data = scan_dataset(o.data, scan);
    const auto is_test = [](const Sample& x) { return x.split == Split::Test; };
    if (std::any_of(data.samples.begin(), data.samples.end(), is_test)) {
        const auto before = data.samples.size();
        data.samples.erase(
            std::remove_if(data.samples.begin(), data.samples.end(), [&](const Sample& x) { return !is_test(x); }),
            data.samples.end());
        events.warning(o.data + " gives splits: scoring its " + std::to_string(data.samples.size()) +
                       " test rows, not the other " + std::to_string(before - data.samples.size()));
    }
    return data;
}

// Data classes map onto the model's classes by name.
std::vector<int> model_class_of(const Dataset& data, const ClassifierModel& model, const std::string& where) {
    std::vector<int> to_model(data.classes.size());
    for (size_t c = 0; c < data.classes.size(); ++c) {
        auto it = std::find(model.classes.begin(), model.classes.end(), data.classes[c]);
        if (it == model.classes.end())
            throw Error("class '" + data.classes[c] + "' of " + where + " is not one of the model's " +
                        std::to_string(model.classes.size()) + " classes (from " + model.origin + ")");
        to_model[c] = static_cast<int>(it - model.classes.begin());
    }
    return to_model;
}

// Precision and recall per model class, from the confusion matrix [true][predicted].
std::vector<ClassScore> class_scores(const Confusion& confusion, const std::vector<std::string>& classes) {
    std::vector<ClassScore> scores;
    for (size_t c = 0; c < classes.size(); ++c) {
        ClassScore score{classes[c], 0, 0, 0};
        long long predicted = 0;
        for (size_t t = 0; t < classes.size(); ++t) {
            score.support += confusion[c][t];
            predicted += confusion[t][c];
        }
        score.recall = score.support ? static_cast<double>(confusion[c][c]) / static_cast<double>(score.support) : 0.0;
        score.precision = predicted ? static_cast<double>(confusion[c][c]) / static_cast<double>(predicted) : 0.0;
        scores.push_back(score);
    }
    return scores;
}

// mpirun: every rank scored its shard; all of them get the job's counts.
void sum_over_ranks(const Communicator& comm, EvaluateSummary& s, std::int64_t& correct, std::int64_t& in_top_k) {
    if (!comm.distributed()) return;
    std::vector<std::int64_t> counts{s.images, s.skipped, correct, in_top_k};
    for (const auto& row : s.confusion) counts.insert(counts.end(), row.begin(), row.end());
    comm.sum(counts.data(), counts.size());
    s.images = counts[0], s.skipped = counts[1], correct = counts[2], in_top_k = counts[3];
    size_t k = 4;
    for (auto& row : s.confusion)
        for (long long& v : row) v = counts[k++];
}

// A cvtl cache rather than images: an HDF5 file (a class-per-folder tree is a folder, a list a CSV).
bool is_cache_file(const std::string& path) {
    boost::system::error_code ec;
    if (!fs::is_regular_file(path, ec)) return false;
    try {
        return h5::is_hdf5(path);
    } catch (const H5::Exception&) {
        return false;
    }
}

// Counts of one evaluation: correct, in the top k, and the confusion matrix, row by row.
struct Tally {
    EvaluateSummary s;
    std::int64_t correct = 0, in_top_k = 0;

    Tally(size_t classes, int top_k) {
        s.top_k = std::max(1, std::min(top_k, static_cast<int>(classes)));
        s.confusion.assign(classes, std::vector<long long>(classes, 0));
    }
    void add(const cv::Mat& probability_row, int truth, const std::string& where) {
        const auto top = top_classes(probability_row, s.top_k);
        if (top[0] != truth) {
            Misclassified m{where, truth, probability_row.at<float>(truth), top, {}};
            for (int c : top) m.top_probability.push_back(probability_row.at<float>(c));
            s.misclassified.push_back(std::move(m));
        }
        correct += top[0] == truth;
        in_top_k += std::find(top.begin(), top.end(), truth) != top.end();
        ++s.confusion[static_cast<size_t>(truth)][static_cast<size_t>(top[0])];
        ++s.images;
    }
};

EvaluateSummary finish(Tally& t, const EvaluateOptions& o, const std::vector<std::string>& classes,
                       std::chrono::steady_clock::time_point start) {
    EvaluateSummary& s = t.s;
    sum_over_ranks(o.comm, s, t.correct, t.in_top_k);
    if (s.images == 0) throw Error("no image of " + o.data + " could be scored");
    s.accuracy = static_cast<double>(t.correct) / static_cast<double>(s.images);
    s.top_k_accuracy = static_cast<double>(t.in_top_k) / static_cast<double>(s.images);
    s.classes = class_scores(s.confusion, classes);
    std::stable_sort(
        s.misclassified.begin(), s.misclassified.end(),
        [](const Misclassified& a, const Misclassified& b) { return a.truth_probability < b.truth_probability; });
    if (!o.errors_png.empty() && o.comm.root()) write_error_sheet(o, s, classes);
    s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!o.report.empty() && o.comm.root()) write_report(o.report, o, s, classes);
    return s;
}

ClassifierModel open_model(const EvaluateOptions& o, const Events& events) {
    ClassifierOptions classifier = o.classifier;
    classifier.engine.threads = o.threads;
    if (!classifier.events.warn) classifier.events = events;
    return open_classifier(o.model, classifier);
}

// The cache's rows of the asked split, at the tap the model reads: no image is decoded again.
EvaluateSummary evaluate_cached(const EvaluateOptions& o, const Events& events) {
    const auto start = std::chrono::steady_clock::now();
    ClassifierModel model = open_model(o, events);
    // A damaged cache is reported as such; only a missing tap gets the export advice.
    const CacheInfo info = read_cache_info(o.data);
    if (std::none_of(info.taps.begin(), info.taps.end(), [&](const CacheTapInfo& t) { return t.name == model.tap; }))
        throw Error(o.model + " reads " + model.tap + ", which cache " + o.data +
                    " lacks; export the run with {head-only} to score a cached tap, cache " + model.tap +
                    " too, or evaluate on the images");
    const auto reader = std::make_unique<CacheReader>(o.data, model.tap);
    Dataset classes_only;
    classes_only.classes = reader->info().classes;
    const std::vector<int> to_model = model_class_of(classes_only, model, o.data);
    const auto wanted = static_cast<std::uint8_t>(o.split);
    std::vector<std::int64_t> rows;
    for (std::int64_t r = 0; r < reader->rows(); ++r)
        if (reader->splits()[static_cast<size_t>(r)] == wanted) rows.push_back(r);
    if (rows.empty())
        throw Error("cache " + o.data +
                    " has no rows of that split; held-out test rows come from {test-fraction} F at "
                    "extraction, or from a CSV that marks them");
    const auto [first, last] = slice_range(static_cast<std::int64_t>(rows.size()), o.comm.rank(), o.comm.size());
    Tally t(model.classes.size(), o.top_k);
    for (std::int64_t i = first; i < last;) {
        std::int64_t n = 1;  // a run of consecutive rows, at most one batch
        while (i + n < last && n < o.batch && rows[static_cast<size_t>(i + n)] == rows[static_cast<size_t>(i)] + n) ++n;
        const cv::Mat probabilities = model.probabilities(reader->read_rows(rows[static_cast<size_t>(i)], n));
        for (std::int64_t k = 0; k < n; ++k) {
            const auto label = reader->labels()[static_cast<size_t>(rows[static_cast<size_t>(i + k)])];
            const std::int64_t row = rows[static_cast<size_t>(i + k)];
            t.add(probabilities.row(static_cast<int>(k)), to_model[static_cast<size_t>(label)],
                  o.data + " row " + std::to_string(row));
        }
        i += n;
        events.report({"evaluate", i - first, last - first, 0, ""});
    }
    return finish(t, o, model.classes, start);
}

}  // namespace

EvaluateSummary run_evaluation(const EvaluateOptions& o, const Events& events) {
    if (is_cache_file(o.data)) return evaluate_cached(o, events);
    const auto start = std::chrono::steady_clock::now();
    ClassifierModel model = open_model(o, events);
    Dataset data = scan_on_root(o.comm, [&] { return scored_samples(o, events); });
    const std::vector<int> to_model = model_class_of(data, model, o.data);
    const auto [first, last] =
        slice_range(static_cast<std::int64_t>(data.samples.size()), o.comm.rank(), o.comm.size());
    data.samples = std::vector<Sample>(data.samples.begin() + first, data.samples.begin() + last);
    Tally t(model.classes.size(), o.top_k);
    std::int64_t done = 0;
    const auto total = static_cast<std::int64_t>(data.samples.size());
    run_image_batches(
        data, 0, model.preprocess, o.batch, o.threads,
        [&](const cv::Mat& blob, int) { return std::vector<cv::Mat>{model.probabilities(blob)}; },
        [&](ImageBatch& b) {
            for (size_t i = 0; i < b.kept.size(); ++i)
                t.add(b.outputs[0].row(static_cast<int>(i)),
                      to_model[static_cast<size_t>(data.samples[static_cast<size_t>(b.kept[i])].label)],
                      data.file(data.samples[static_cast<size_t>(b.kept[i])]));
            for (size_t i = 0; i < b.reasons.size(); ++i)
                if (!b.reasons[i].empty()) {
                    ++t.s.skipped;
                    events.warning("skipped " + data.file(data.samples[static_cast<size_t>(b.first) + i]) + ": " +
                                   b.reasons[i]);
                }
            done += b.count;
            events.report({"evaluate", done, total, 0, ""});
        });
    return finish(t, o, model.classes, start);
}

}  // namespace cvtl
