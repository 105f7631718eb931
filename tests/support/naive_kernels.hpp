#pragma once
// Straightforward double-precision reference kernels that the oneDNN layers are checked against, and the
// tensor helpers those checks use. Kernels take float32 or float64 tensors and return float64 ones; a bias
// or per-channel vector may have any shape holding its elements in order.
#include <opencv2/core.hpp>

#include <cstdint>
#include <vector>

namespace cvtl::test {

// ---- Tensors

// float32 uniform in [low, high), reproducible from the seed.
cv::Mat random_tensor(const std::vector<int>& shape, std::uint64_t seed, float low = -1.0f, float high = 1.0f);
// float32 values that all differ by at least `spacing` (a shuffled grid centred on 0): no max-pool ties.
cv::Mat distinct_tensor(const std::vector<int>& shape, std::uint64_t seed, float spacing);
// The garbage a backward must overwrite.
void fill_nan(cv::Mat& m);
bool all_finite(const cv::Mat& m);
double max_abs(const cv::Mat& m);
// max |a - b| / max(1, max |ref|): absolute for values up to 1, relative beyond. Same element count required.
double scaled_error(const cv::Mat& a, const cv::Mat& ref);

// ---- Convolution: src [N, I, H, W], weights [O, I, k, k], bias [O], symmetric padding

cv::Mat conv2d_forward(const cv::Mat& src, const cv::Mat& weights, const cv::Mat& bias, int stride, int pad);
cv::Mat conv2d_backward_data(const cv::Mat& diff_dst, const cv::Mat& weights, const std::vector<int>& src_shape,
                             int stride, int pad);
cv::Mat conv2d_backward_weights(const cv::Mat& src, const cv::Mat& diff_dst, int kernel, int stride, int pad);
cv::Mat conv2d_backward_bias(const cv::Mat& diff_dst);  // [O, 1]

// ---- ReLU

cv::Mat relu(const cv::Mat& x);
cv::Mat relu_backward(const cv::Mat& dst, const cv::Mat& diff_dst);  // diff_dst where dst > 0

// ---- Linear: src [N, D] (or any [N, ...] read row-major), weights [O, D], bias [O]

cv::Mat linear_forward(const cv::Mat& src, const cv::Mat& weights, const cv::Mat& bias);  // [N, O]
cv::Mat linear_backward_data(const cv::Mat& diff_dst, const cv::Mat& weights);            // [N, D]
cv::Mat linear_backward_weights(const cv::Mat& src, const cv::Mat& diff_dst);             // [O, D]
cv::Mat linear_backward_bias(const cv::Mat& diff_dst);                                    // [O, 1]

// ---- Pooling: PyTorch's MaxPool2d / AvgPool2d (floor mode for avg)

int pool_output_size(int in, int kernel, int stride, int pad, bool ceil_mode);
cv::Mat max_pool_forward(const cv::Mat& src, int kernel, int stride, int pad, bool ceil_mode);
// Routes each gradient to its window's maximum, recomputed from src (inputs must have no ties).
cv::Mat max_pool_backward(const cv::Mat& src, const cv::Mat& diff_dst, int kernel, int stride, int pad, bool ceil_mode);
cv::Mat avg_pool_forward(const cv::Mat& src, int kernel, int stride, int pad, bool count_include_pad);
cv::Mat avg_pool_backward(const cv::Mat& diff_dst, const std::vector<int>& src_shape, int kernel, int stride, int pad,
                          bool count_include_pad);

// ---- Batch norm over (N, H, W) per channel: src [N, C, H, W], gamma/beta/mean/var [C]

struct BatchNormForward {
    cv::Mat dst;
    cv::Mat mean, var;  // [C, 1]; var biased (divided by N*H*W)
};
BatchNormForward batch_norm_train_forward(const cv::Mat& src, const cv::Mat& gamma, const cv::Mat& beta, double eps);
struct BatchNormBackward {
    cv::Mat diff_src, diff_gamma, diff_beta;
};
// Through the batch statistics, as in training.
BatchNormBackward batch_norm_train_backward(const cv::Mat& src, const cv::Mat& gamma, const cv::Mat& diff_dst,
                                            double eps);
cv::Mat batch_norm_eval_forward(const cv::Mat& src, const cv::Mat& gamma, const cv::Mat& beta, const cv::Mat& mean,
                                const cv::Mat& var, double eps);

// ---- Loss: logits [N, K] -> mean cross-entropy of softmax; diff_logits [N, K] assigned

double softmax_cross_entropy(const cv::Mat& logits, const std::vector<int>& labels, cv::Mat& diff_logits);

}  // namespace cvtl::test
