#include "pipeline/deploy/predictor.hpp"

#include "pipeline/data/batch_runner.hpp"
#include "pipeline/data/dataset.hpp"
#include "pipeline/core/error.hpp"

#include <boost/filesystem.hpp>

#include <algorithm>

namespace cvtl {
namespace {

namespace fs = boost::filesystem;

// The inputs as a dataset without labels: files as given, folders' images (recursively, sorted).
Dataset unlabelled_images(const std::vector<std::string>& inputs) {
    Dataset data;
    data.root = ".";
    data.classes = {"?"};
    const auto& exts = image_extensions();
    for (const std::string& in : inputs) {
        if (!fs::is_directory(in)) {
            data.samples.push_back({in, 0, Split::Test});
            continue;
        }
        std::vector<std::string> files;
        for (fs::recursive_directory_iterator it(in), end; it != end; ++it) {
            std::string ext = it->path().extension().string();
            std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
            if (fs::is_regular_file(it->path()) && std::find(exts.begin(), exts.end(), ext) != exts.end())
                files.push_back(it->path().string());
        }
        std::sort(files.begin(), files.end());
        for (auto& f : files) data.samples.push_back({f, 0, Split::Test});
    }
    return data;
}

}  // namespace

std::vector<Prediction> run_prediction(const std::string& model_path, const std::vector<std::string>& inputs, int top_k,
                                       const ClassifierOptions& classifier, int batch, int threads,
                                       std::uint64_t max_image_bytes) {
    ClassifierOptions with_threads = classifier;
    with_threads.engine.threads = threads;
    ClassifierModel model = open_classifier(model_path, with_threads);
    Dataset data = unlabelled_images(inputs);
    data.max_image_bytes = max_image_bytes;
    if (data.samples.empty()) throw Error("no images to classify in the given paths");
    std::vector<Prediction> out(data.samples.size());
    run_image_batches(
        data, 0, model.preprocess, batch, threads,
        [&](const cv::Mat& blob, int) { return std::vector<cv::Mat>{model.probabilities(blob)}; },
        [&](ImageBatch& b) {
            for (std::int64_t i = 0; i < b.count; ++i)
                out[static_cast<size_t>(b.first + i)].path = data.samples[static_cast<size_t>(b.first + i)].path;
            for (size_t i = 0; i < b.reasons.size(); ++i) out[static_cast<size_t>(b.first) + i].error = b.reasons[i];
            for (size_t i = 0; i < b.kept.size(); ++i) {
                const cv::Mat row = b.outputs[0].row(static_cast<int>(i));
                for (int c : top_classes(row, top_k))
                    out[static_cast<size_t>(b.kept[i])].top.emplace_back(model.classes[static_cast<size_t>(c)],
                                                                         row.at<float>(c));
            }
        });
    return out;
}

}  // namespace cvtl
