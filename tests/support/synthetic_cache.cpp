#include "support/synthetic_cache.hpp"

#include "pipeline/cache/cache_writer.hpp"
#include "pipeline/core/sha256.hpp"

#include <limits>

namespace cvtl::test {

void write_synthetic_cache(const std::string& path, const SyntheticCache& spec) {
    CacheConfig config;
    config.model_sha256 = spec.model.empty() ? std::string(64, '0') : sha256_file(spec.model);
    config.model_file = spec.model;
    config.preprocess = make_preprocessing(Preset::torchvision, 64);
    for (size_t t = 0; t < spec.taps.size(); ++t) config.taps.push_back({spec.taps[t], "synthetic", spec.shapes[t]});
    config.dataset = "synthetic";
    config.dataset_fingerprint = "synthetic-" + std::to_string(spec.seed);
    config.dataset_size = spec.classes * spec.rows_per_class;
    for (int c = 0; c < spec.classes; ++c) config.classes.push_back("class" + std::to_string(c));

    cv::RNG rng(static_cast<std::uint64_t>(spec.seed) + 1);
    CacheWriter writer(path, config, true);
    for (int c = 0; c < spec.classes; ++c) {
        CacheRows rows;
        rows.inputs = spec.rows_per_class;
        for (int i = 0; i < spec.rows_per_class; ++i) {
            rows.paths.push_back("class" + std::to_string(c) + "/" + std::to_string(i) + ".png");
            rows.labels.push_back(c);
            rows.splits.push_back(i < spec.val_per_class ? 1 : i < spec.val_per_class + spec.test_per_class ? 2 : 0);
        }
        for (size_t t = 0; t < spec.shapes.size(); ++t) {
            const std::string kind = spec.kinds.empty() ? "means" : spec.kinds[t];
            std::vector<int> full{spec.rows_per_class};
            full.insert(full.end(), spec.shapes[t].begin(), spec.shapes[t].end());
            cv::Mat values(full, CV_32F);
            const size_t per_row = values.total() / static_cast<size_t>(spec.rows_per_class);
            // The second signed entry: channel 1 at channel 0's position (a 3x3 convolution sees both).
            const size_t plane =
                spec.shapes[t].size() == 3 ? static_cast<size_t>(spec.shapes[t][1] * spec.shapes[t][2]) : 1;
            cv::Mat mean(1, static_cast<int>(per_row), CV_32F);
            rng.fill(mean, cv::RNG::UNIFORM, 0.0, kind == "means" ? spec.separation : 0.0);
            for (int i = 0; i < spec.rows_per_class; ++i) {
                cv::Mat row(1, static_cast<int>(per_row), CV_32F,
                            values.ptr<float>() + static_cast<size_t>(i) * per_row);
                rng.fill(row, cv::RNG::NORMAL, 0.0, 1.0);
                if (kind == "xor") {
                    const float a = rng.uniform(0, 2) ? 1.0f : -1.0f, b = c == 0 ? a : -a;
                    row *= 0.3;
                    row.at<float>(0) += spec.separation * a;
                    row.at<float>(static_cast<int>(plane)) += spec.separation * b;
                    continue;
                }
                row += mean;
                cv::max(row, 0.0, row);
            }
            for (int i = spec.val_per_class; i < spec.val_per_class + spec.test_per_class; ++i)
                values.ptr<float>()[static_cast<size_t>(i) * per_row] = std::numeric_limits<float>::quiet_NaN();
            rows.taps.push_back(values);
        }
        writer.append(rows);
    }
    if (spec.complete) writer.finish();
}

}  // namespace cvtl::test
