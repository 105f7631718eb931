#include "support/naive_kernels.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace cvtl::test {

namespace {

std::vector<int> shape_of(const cv::Mat& m) { return std::vector<int>(m.size.p, m.size.p + m.dims); }

cv::Mat to_double(const cv::Mat& m) {
    cv::Mat out;
    m.convertTo(out, CV_64F);
    return out;
}

cv::Mat zeros(const std::vector<int>& shape) {
    return cv::Mat::zeros(static_cast<int>(shape.size()), shape.data(), CV_64F);
}

cv::Mat column(int size) { return cv::Mat::zeros(size, 1, CV_64F); }

// A dense [A, B, C, D] view of a float64 tensor.
struct View4 {
    double* data;
    int b, c, d;
    explicit View4(const cv::Mat& m)
        : data(reinterpret_cast<double*>(m.data)), b(m.size[1]), c(m.size[2]), d(m.size[3]) {}
    double& operator()(int i, int j, int k, int l) const {
        return data[((static_cast<size_t>(i) * b + j) * c + k) * d + l];
    }
};

// The two spatial dimensions of a [N, C, H, W] tensor's pooling windows.
struct Window {
    int start, end;  // clamped to the input
    int padded_end;  // clamped to the input plus its right padding (PyTorch's include-pad divisor)
};

Window window(int out_index, int in, int kernel, int stride, int pad) {
    const int start = out_index * stride - pad;
    const int padded_end = std::min(start + kernel, in + pad);
    return {std::max(start, 0), std::min(start + kernel, in), padded_end};
}

}  // namespace

cv::Mat random_tensor(const std::vector<int>& shape, std::uint64_t seed, float low, float high) {
    cv::Mat m(static_cast<int>(shape.size()), shape.data(), CV_32F);
    cv::RNG rng(seed);
    rng.fill(m, cv::RNG::UNIFORM, low, high);
    return m;
}

cv::Mat distinct_tensor(const std::vector<int>& shape, std::uint64_t seed, float spacing) {
    cv::Mat m(static_cast<int>(shape.size()), shape.data(), CV_32F);
    const int count = static_cast<int>(m.total());
    std::vector<int> order(static_cast<size_t>(count));
    std::iota(order.begin(), order.end(), 0);
    cv::RNG rng(seed);
    for (int i = count - 1; i > 0; --i) std::swap(order[i], order[rng.uniform(0, i + 1)]);
    float* p = m.ptr<float>();
    for (int i = 0; i < count; ++i) p[i] = (static_cast<float>(order[i]) - 0.5f * static_cast<float>(count)) * spacing;
    return m;
}

void fill_nan(cv::Mat& m) { m.setTo(cv::Scalar(std::numeric_limits<double>::quiet_NaN())); }

bool all_finite(const cv::Mat& m) {
    const cv::Mat d = to_double(m);
    const double* p = d.ptr<double>();
    return std::all_of(p, p + d.total(), [](double v) { return std::isfinite(v); });
}

double max_abs(const cv::Mat& m) {
    const cv::Mat d = to_double(m);
    const double* p = d.ptr<double>();
    double worst = 0.0;
    for (size_t i = 0; i < d.total(); ++i) worst = std::max(worst, std::abs(p[i]));
    return worst;
}

double scaled_error(const cv::Mat& a, const cv::Mat& ref) {
    if (a.total() != ref.total()) return std::numeric_limits<double>::infinity();
    const cv::Mat x = to_double(a), y = to_double(ref);
    const double* p = x.ptr<double>();
    const double* q = y.ptr<double>();
    double worst = 0.0;
    for (size_t i = 0; i < x.total(); ++i) {
        const double diff = std::abs(p[i] - q[i]);
        worst = std::isnan(diff) ? std::numeric_limits<double>::infinity() : std::max(worst, diff);
    }
    return worst / std::max(1.0, max_abs(ref));
}

cv::Mat conv2d_forward(const cv::Mat& src, const cv::Mat& weights, const cv::Mat& bias, int stride, int pad) {
    const cv::Mat x = to_double(src), w = to_double(weights), b = to_double(bias);
    const int n = x.size[0], in = x.size[1], h = x.size[2], wd = x.size[3], out = w.size[0], k = w.size[2];
    const int oh = (h + 2 * pad - k) / stride + 1, ow = (wd + 2 * pad - k) / stride + 1;
    cv::Mat y = zeros({n, out, oh, ow});
    const View4 X(x), W(w), Y(y);
    for (int s = 0; s < n; ++s)
        for (int o = 0; o < out; ++o)
            for (int r = 0; r < oh; ++r)
                for (int c = 0; c < ow; ++c) {
                    double acc = b.ptr<double>()[o];
                    for (int i = 0; i < in; ++i)
                        for (int kr = 0; kr < k; ++kr)
                            for (int kc = 0; kc < k; ++kc) {
                                const int ir = r * stride - pad + kr, ic = c * stride - pad + kc;
                                if (ir >= 0 && ir < h && ic >= 0 && ic < wd) acc += X(s, i, ir, ic) * W(o, i, kr, kc);
                            }
                    Y(s, o, r, c) = acc;
                }
    return y;
}

cv::Mat conv2d_backward_data(const cv::Mat& diff_dst, const cv::Mat& weights, const std::vector<int>& src_shape,
                             int stride, int pad) {
    const cv::Mat dy = to_double(diff_dst), w = to_double(weights);
    cv::Mat dx = zeros(src_shape);
    const View4 DY(dy), W(w), DX(dx);
    const int n = dy.size[0], out = dy.size[1], oh = dy.size[2], ow = dy.size[3];
    const int in = src_shape[1], h = src_shape[2], wd = src_shape[3], k = w.size[2];
    for (int s = 0; s < n; ++s)
        for (int o = 0; o < out; ++o)
            for (int r = 0; r < oh; ++r)
                for (int c = 0; c < ow; ++c)
                    for (int i = 0; i < in; ++i)
                        for (int kr = 0; kr < k; ++kr)
                            for (int kc = 0; kc < k; ++kc) {
                                const int ir = r * stride - pad + kr, ic = c * stride - pad + kc;
                                if (ir >= 0 && ir < h && ic >= 0 && ic < wd)
                                    DX(s, i, ir, ic) += DY(s, o, r, c) * W(o, i, kr, kc);
                            }
    return dx;
}

cv::Mat conv2d_backward_weights(const cv::Mat& src, const cv::Mat& diff_dst, int kernel, int stride, int pad) {
    const cv::Mat x = to_double(src), dy = to_double(diff_dst);
    const int n = x.size[0], in = x.size[1], h = x.size[2], wd = x.size[3];
    const int out = dy.size[1], oh = dy.size[2], ow = dy.size[3];
    cv::Mat dw = zeros({out, in, kernel, kernel});
    const View4 X(x), DY(dy), DW(dw);
    for (int s = 0; s < n; ++s)
        for (int o = 0; o < out; ++o)
            for (int r = 0; r < oh; ++r)
                for (int c = 0; c < ow; ++c)
                    for (int i = 0; i < in; ++i)
                        for (int kr = 0; kr < kernel; ++kr)
                            for (int kc = 0; kc < kernel; ++kc) {
                                const int ir = r * stride - pad + kr, ic = c * stride - pad + kc;
                                if (ir >= 0 && ir < h && ic >= 0 && ic < wd)
                                    DW(o, i, kr, kc) += DY(s, o, r, c) * X(s, i, ir, ic);
                            }
    return dw;
}

cv::Mat conv2d_backward_bias(const cv::Mat& diff_dst) {
    const cv::Mat dy = to_double(diff_dst);
    const View4 DY(dy);
    cv::Mat db = column(dy.size[1]);
    for (int s = 0; s < dy.size[0]; ++s)
        for (int o = 0; o < dy.size[1]; ++o)
            for (int r = 0; r < dy.size[2]; ++r)
                for (int c = 0; c < dy.size[3]; ++c) db.at<double>(o) += DY(s, o, r, c);
    return db;
}

cv::Mat relu(const cv::Mat& x) {
    cv::Mat y = to_double(x);
    double* p = y.ptr<double>();
    for (size_t i = 0; i < y.total(); ++i) p[i] = std::max(p[i], 0.0);
    return y;
}

cv::Mat relu_backward(const cv::Mat& dst, const cv::Mat& diff_dst) {
    const cv::Mat y = to_double(dst);
    cv::Mat dx = to_double(diff_dst);
    for (size_t i = 0; i < dx.total(); ++i)
        if (!(y.ptr<double>()[i] > 0.0)) dx.ptr<double>()[i] = 0.0;
    return dx;
}

cv::Mat linear_forward(const cv::Mat& src, const cv::Mat& weights, const cv::Mat& bias) {
    const cv::Mat x = to_double(src).reshape(1, src.size[0]), w = to_double(weights), b = to_double(bias);
    cv::Mat y = zeros({x.rows, w.rows});
    for (int s = 0; s < x.rows; ++s)
        for (int o = 0; o < w.rows; ++o) {
            double acc = b.ptr<double>()[o];
            for (int d = 0; d < w.cols; ++d) acc += x.at<double>(s, d) * w.at<double>(o, d);
            y.at<double>(s, o) = acc;
        }
    return y;
}

cv::Mat linear_backward_data(const cv::Mat& diff_dst, const cv::Mat& weights) {
    const cv::Mat dy = to_double(diff_dst), w = to_double(weights);
    cv::Mat dx = zeros({dy.rows, w.cols});
    for (int s = 0; s < dy.rows; ++s)
        for (int o = 0; o < w.rows; ++o)
            for (int d = 0; d < w.cols; ++d) dx.at<double>(s, d) += dy.at<double>(s, o) * w.at<double>(o, d);
    return dx;
}

cv::Mat linear_backward_weights(const cv::Mat& src, const cv::Mat& diff_dst) {
    const cv::Mat x = to_double(src).reshape(1, src.size[0]), dy = to_double(diff_dst);
    cv::Mat dw = zeros({dy.cols, x.cols});
    for (int s = 0; s < x.rows; ++s)
        for (int o = 0; o < dy.cols; ++o)
            for (int d = 0; d < x.cols; ++d) dw.at<double>(o, d) += dy.at<double>(s, o) * x.at<double>(s, d);
    return dw;
}

cv::Mat linear_backward_bias(const cv::Mat& diff_dst) {
    const cv::Mat dy = to_double(diff_dst);
    cv::Mat db = column(dy.cols);
    for (int s = 0; s < dy.rows; ++s)
        for (int o = 0; o < dy.cols; ++o) db.at<double>(o) += dy.at<double>(s, o);
    return db;
}

int pool_output_size(int in, int kernel, int stride, int pad, bool ceil_mode) {
    const double span = static_cast<double>(in + 2 * pad - kernel) / stride;
    int out = static_cast<int>(ceil_mode ? std::ceil(span) : std::floor(span)) + 1;
    if (ceil_mode && (out - 1) * stride >= in + pad) --out;
    return out;
}

cv::Mat max_pool_forward(const cv::Mat& src, int kernel, int stride, int pad, bool ceil_mode) {
    const cv::Mat x = to_double(src);
    const int n = x.size[0], ch = x.size[1], h = x.size[2], w = x.size[3];
    const int oh = pool_output_size(h, kernel, stride, pad, ceil_mode),
              ow = pool_output_size(w, kernel, stride, pad, ceil_mode);
    cv::Mat y = zeros({n, ch, oh, ow});
    const View4 X(x), Y(y);
    for (int s = 0; s < n; ++s)
        for (int c = 0; c < ch; ++c)
            for (int r = 0; r < oh; ++r)
                for (int q = 0; q < ow; ++q) {
                    const Window wr = window(r, h, kernel, stride, pad), wc = window(q, w, kernel, stride, pad);
                    double best = -std::numeric_limits<double>::infinity();
                    for (int i = wr.start; i < wr.end; ++i)
                        for (int j = wc.start; j < wc.end; ++j) best = std::max(best, X(s, c, i, j));
                    Y(s, c, r, q) = best;
                }
    return y;
}

cv::Mat max_pool_backward(const cv::Mat& src, const cv::Mat& diff_dst, int kernel, int stride, int pad,
                          bool ceil_mode) {
    const cv::Mat x = to_double(src), dy = to_double(diff_dst);
    const int n = x.size[0], ch = x.size[1], h = x.size[2], w = x.size[3];
    const int oh = pool_output_size(h, kernel, stride, pad, ceil_mode),
              ow = pool_output_size(w, kernel, stride, pad, ceil_mode);
    cv::Mat dx = zeros(shape_of(x));
    const View4 X(x), DY(dy), DX(dx);
    for (int s = 0; s < n; ++s)
        for (int c = 0; c < ch; ++c)
            for (int r = 0; r < oh; ++r)
                for (int q = 0; q < ow; ++q) {
                    const Window wr = window(r, h, kernel, stride, pad), wc = window(q, w, kernel, stride, pad);
                    int bi = wr.start, bj = wc.start;
                    for (int i = wr.start; i < wr.end; ++i)
                        for (int j = wc.start; j < wc.end; ++j)
                            if (X(s, c, i, j) > X(s, c, bi, bj)) bi = i, bj = j;
                    DX(s, c, bi, bj) += DY(s, c, r, q);
                }
    return dx;
}

cv::Mat avg_pool_forward(const cv::Mat& src, int kernel, int stride, int pad, bool count_include_pad) {
    const cv::Mat x = to_double(src);
    const int n = x.size[0], ch = x.size[1], h = x.size[2], w = x.size[3];
    const int oh = pool_output_size(h, kernel, stride, pad, false),
              ow = pool_output_size(w, kernel, stride, pad, false);
    cv::Mat y = zeros({n, ch, oh, ow});
    const View4 X(x), Y(y);
    for (int s = 0; s < n; ++s)
        for (int c = 0; c < ch; ++c)
            for (int r = 0; r < oh; ++r)
                for (int q = 0; q < ow; ++q) {
                    const Window wr = window(r, h, kernel, stride, pad), wc = window(q, w, kernel, stride, pad);
                    double sum = 0.0;
                    for (int i = wr.start; i < wr.end; ++i)
                        for (int j = wc.start; j < wc.end; ++j) sum += X(s, c, i, j);
                    const int count = count_include_pad
                                          ? (wr.padded_end - (r * stride - pad)) * (wc.padded_end - (q * stride - pad))
                                          : (wr.end - wr.start) * (wc.end - wc.start);
                    Y(s, c, r, q) = sum / count;
                }
    return y;
}

cv::Mat avg_pool_backward(const cv::Mat& diff_dst, const std::vector<int>& src_shape, int kernel, int stride, int pad,
                          bool count_include_pad) {
    const cv::Mat dy = to_double(diff_dst);
    cv::Mat dx = zeros(src_shape);
    const View4 DY(dy), DX(dx);
    const int h = src_shape[2], w = src_shape[3];
    for (int s = 0; s < dy.size[0]; ++s)
        for (int c = 0; c < dy.size[1]; ++c)
            for (int r = 0; r < dy.size[2]; ++r)
                for (int q = 0; q < dy.size[3]; ++q) {
                    const Window wr = window(r, h, kernel, stride, pad), wc = window(q, w, kernel, stride, pad);
                    const int count = count_include_pad
                                          ? (wr.padded_end - (r * stride - pad)) * (wc.padded_end - (q * stride - pad))
                                          : (wr.end - wr.start) * (wc.end - wc.start);
                    for (int i = wr.start; i < wr.end; ++i)
                        for (int j = wc.start; j < wc.end; ++j) DX(s, c, i, j) += DY(s, c, r, q) / count;
                }
    return dx;
}

BatchNormForward batch_norm_train_forward(const cv::Mat& src, const cv::Mat& gamma, const cv::Mat& beta, double eps) {
    const cv::Mat x = to_double(src), g = to_double(gamma), b = to_double(beta);
    const int n = x.size[0], ch = x.size[1], h = x.size[2], w = x.size[3];
    const double m = static_cast<double>(n) * h * w;
    BatchNormForward out{zeros(shape_of(x)), column(ch), column(ch)};
    const View4 X(x), Y(out.dst);
    for (int c = 0; c < ch; ++c) {
        double sum = 0.0, squares = 0.0;
        for (int s = 0; s < n; ++s)
            for (int i = 0; i < h; ++i)
                for (int j = 0; j < w; ++j) sum += X(s, c, i, j);
        const double mean = sum / m;
        for (int s = 0; s < n; ++s)
            for (int i = 0; i < h; ++i)
                for (int j = 0; j < w; ++j) squares += (X(s, c, i, j) - mean) * (X(s, c, i, j) - mean);
        const double var = squares / m;
        out.mean.at<double>(c) = mean;
        out.var.at<double>(c) = var;
        for (int s = 0; s < n; ++s)
            for (int i = 0; i < h; ++i)
                for (int j = 0; j < w; ++j)
                    Y(s, c, i, j) =
                        g.ptr<double>()[c] * (X(s, c, i, j) - mean) / std::sqrt(var + eps) + b.ptr<double>()[c];
    }
    return out;
}

BatchNormBackward batch_norm_train_backward(const cv::Mat& src, const cv::Mat& gamma, const cv::Mat& diff_dst,
                                            double eps) {
    const cv::Mat x = to_double(src), g = to_double(gamma), dy = to_double(diff_dst);
    const int n = x.size[0], ch = x.size[1], h = x.size[2], w = x.size[3];
    const double m = static_cast<double>(n) * h * w;
    const BatchNormForward stats = batch_norm_train_forward(src, gamma, cv::Mat::zeros(ch, 1, CV_64F), eps);
    BatchNormBackward out{zeros(shape_of(x)), column(ch), column(ch)};
    const View4 X(x), DY(dy), DX(out.diff_src);
    for (int c = 0; c < ch; ++c) {
        const double mean = stats.mean.at<double>(c), inv_std = 1.0 / std::sqrt(stats.var.at<double>(c) + eps);
        double sum_dy = 0.0, sum_dy_xhat = 0.0;
        for (int s = 0; s < n; ++s)
            for (int i = 0; i < h; ++i)
                for (int j = 0; j < w; ++j) {
                    sum_dy += DY(s, c, i, j);
                    sum_dy_xhat += DY(s, c, i, j) * (X(s, c, i, j) - mean) * inv_std;
                }
        out.diff_beta.at<double>(c) = sum_dy;
        out.diff_gamma.at<double>(c) = sum_dy_xhat;
        // dx = gamma / std * (dy - mean(dy) - xhat * mean(dy * xhat))
        for (int s = 0; s < n; ++s)
            for (int i = 0; i < h; ++i)
                for (int j = 0; j < w; ++j) {
                    const double xhat = (X(s, c, i, j) - mean) * inv_std;
                    DX(s, c, i, j) =
                        g.ptr<double>()[c] * inv_std * (DY(s, c, i, j) - sum_dy / m - xhat * sum_dy_xhat / m);
                }
    }
    return out;
}

cv::Mat batch_norm_eval_forward(const cv::Mat& src, const cv::Mat& gamma, const cv::Mat& beta, const cv::Mat& mean,
                                const cv::Mat& var, double eps) {
    const cv::Mat x = to_double(src), g = to_double(gamma), b = to_double(beta), mu = to_double(mean),
                  v = to_double(var);
    cv::Mat y = zeros(shape_of(x));
    const View4 X(x), Y(y);
    for (int s = 0; s < x.size[0]; ++s)
        for (int c = 0; c < x.size[1]; ++c)
            for (int i = 0; i < x.size[2]; ++i)
                for (int j = 0; j < x.size[3]; ++j)
                    Y(s, c, i, j) = g.ptr<double>()[c] * (X(s, c, i, j) - mu.ptr<double>()[c]) /
                                        std::sqrt(v.ptr<double>()[c] + eps) +
                                    b.ptr<double>()[c];
    return y;
}

double softmax_cross_entropy(const cv::Mat& logits, const std::vector<int>& labels, cv::Mat& diff_logits) {
    const cv::Mat z = to_double(logits);
    diff_logits = zeros({z.rows, z.cols});
    double loss = 0.0;
    for (int s = 0; s < z.rows; ++s) {
        long double sum = 0.0;
        for (int k = 0; k < z.cols; ++k) sum += std::exp(static_cast<long double>(z.at<double>(s, k)));
        for (int k = 0; k < z.cols; ++k) {
            const double p = static_cast<double>(std::exp(static_cast<long double>(z.at<double>(s, k))) / sum);
            diff_logits.at<double>(s, k) = (p - (k == labels[s] ? 1.0 : 0.0)) / z.rows;
        }
        loss += static_cast<double>(std::log(sum)) - z.at<double>(s, labels[s]);
    }
    return loss / z.rows;
}

}  // namespace cvtl::test
