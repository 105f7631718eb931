#include "pipeline/engine/layers/softmax_cross_entropy.hpp"

#include "pipeline/core/error.hpp"
#include "pipeline/engine/layers/tensor_shape.hpp"

#include <algorithm>
#include <cmath>
#include <string>

namespace cvtl {

double softmax_cross_entropy(const cv::Mat& logits, const std::vector<int>& labels, cv::Mat& diff_logits,
                             cv::Mat* probs) {
    if (logits.dims != 2 || logits.type() != CV_32F || !logits.isContinuous() || logits.rows < 1 || logits.cols < 1)
        throw Error("softmax_cross_entropy expects continuous float32 logits [N, K], found " +
                    shape_string(mat_shape(logits)) + (logits.type() == CV_32F ? "" : " of another type"));
    const int n = logits.rows, k = logits.cols;
    if (labels.size() != static_cast<size_t>(n))
        throw Error("softmax_cross_entropy expects " + std::to_string(n) + " labels, found " +
                    std::to_string(labels.size()));
    for (int i = 0; i < n; ++i)
        if (labels[i] < 0 || labels[i] >= k)
            throw Error("softmax_cross_entropy expects labels in [0, " + std::to_string(k) + "), found " +
                        std::to_string(labels[i]) + " for sample " + std::to_string(i));

    diff_logits.create(n, k, CV_32F);
    if (probs) probs->create(n, k, CV_32F);
    std::vector<double> p(static_cast<size_t>(k));
    double loss = 0.0;
    for (int i = 0; i < n; ++i) {
        const float* z = logits.ptr<float>(i);
        const double max = *std::max_element(z, z + k);
        double sum = 0.0;
        for (int j = 0; j < k; ++j) sum += p[j] = std::exp(z[j] - max);
        // -log softmax[label] = log(sum exp(z - max)) - (z[label] - max)
        loss += std::log(sum) - (z[labels[i]] - max);
        float* diff = diff_logits.ptr<float>(i);
        for (int j = 0; j < k; ++j) {
            p[j] /= sum;
            diff[j] = static_cast<float>((p[j] - (j == labels[i] ? 1.0 : 0.0)) / n);
            if (probs) probs->ptr<float>(i)[j] = static_cast<float>(p[j]);
        }
    }
    return loss / n;
}

cv::Mat softmax_rows(const cv::Mat& logits) {
    cv::Mat out = logits.reshape(1, logits.size[0]).clone();
    for (int i = 0; i < out.rows; ++i) {
        cv::Mat row = out.row(i);
        double max = 0;
        cv::minMaxLoc(row, nullptr, &max);
        cv::exp(row - max, row);
        row /= cv::sum(row)[0];
    }
    return out;
}

}  // namespace cvtl
