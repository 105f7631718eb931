#pragma once
// Shape checks and the allocation of outputs and parameters, shared by the layers.
#include "pipeline/engine/layers/layer.hpp"

#include <opencv2/core.hpp>

#include <string>
#include <vector>

namespace cvtl {

// "[8, 64, 56, 56]"
std::string shape_string(const std::vector<int>& shape);
std::vector<int> mat_shape(const cv::Mat& m);
// The product of the dimensions (one sample's element count).
int element_count(const std::vector<int>& shape);

// Checks a constructor argument: throws "<layer> expects <name> >= <min>, found <value>".
void check_at_least(int value, int min, const std::string& layer, const std::string& name);

// Checks that `src` is a continuous float32 [N, sample...] tensor with N >= 1 and returns N.
// `layer` is the layer type named in the message; an empty `sample` means setup() was not called.
int batch_size(const cv::Mat& src, const std::vector<int>& sample, const std::string& layer);

// Checks that `m` is a continuous float32 [n, sample...] tensor; `what` names it in the message.
void check_batch(const cv::Mat& m, int n, const std::vector<int>& sample, const std::string& what);

// Checks that a parameter's value is still a continuous float32 tensor holding `shape`'s elements (a caller
// may have replaced it when loading weights; any shape with the same row-major order is accepted, e.g. a
// bias as [O, 1] or [1, O]) and makes its grad the value's shape.
void check_param(Param& param, const std::vector<int>& shape, const std::string& layer);

// A parameter of `shape` (a 1-D shape becomes a [d, 1] cv::Mat: OpenCV 4 has no 1-D Mat) filled with
// `value`, its grad zeroed, lr_mult 1.
Param make_param(const std::string& name, const std::vector<int>& shape, float value, float decay_mult);

// Makes `dst` a float32 [n, sample...] tensor. A `dst` that shares memory with `input` is detached
// first, so a layer never writes over its input (Flatten and Dropout hand out views of their input).
void make_output(cv::Mat& dst, int n, const std::vector<int>& sample, const cv::Mat& input);

}  // namespace cvtl
