#pragma once
// The classification loss: softmax followed by cross-entropy, averaged over the batch.
#include <opencv2/core.hpp>

#include <vector>

namespace cvtl {

// logits [N, K] float32, labels N values in [0, K) -> mean over N of -log softmax(logits)[label].
// diff_logits is assigned [N, K] = d(mean loss)/d logits = (softmax - one_hot(label)) / N.
// probs, when given, is assigned [N, K] softmax(logits).
// Computed in double with the log-sum-exp shift, so large logits neither overflow nor lose the loss.
// Throws cvtl::Error for a label outside [0, K) or mismatched sizes.
double softmax_cross_entropy(const cv::Mat& logits, const std::vector<int>& labels, cv::Mat& diff_logits,
                             cv::Mat* probs = nullptr);

// softmax of each row of logits [N, K] (float32, computed with the max shift).
cv::Mat softmax_rows(const cv::Mat& logits);

}  // namespace cvtl
