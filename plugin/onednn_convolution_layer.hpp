#pragma once
// cvtl's convolution for any cv::dnn application: after register_onednn_convolution(), every
// "Convolution" layer that cv::dnn::readNet creates (ONNX, Caffe, TensorFlow importers alike) runs its
// 2-D, ungrouped, undilated, explicitly padded cases on oneDNN (Winograd F(4x4, 3x3) for 3x3 stride-1
// layers where oneDNN has it, else direct; a following ReLU fused), with weights packed once. Other
// cases (groups, dilation, SAME/VALID padding, 1-D/3-D) keep OpenCV's own implementation inside the
// same layer. Results match stock cv::dnn within 1e-4 (tests/test_onednn_convolution_layer.cpp).
//
// Unlike cvtl's own fast path (plugin/inference_net.hpp), tensors go back to plain NCHW between
// layers, because cv::dnn owns them there: each convolution pays two reorders.
namespace cvtl {

// Registers the layer for the type "Convolution" (on top of OpenCV's: cv::dnn::LayerFactory keeps a
// stack per type). cv::dnn creates a net's layer instances on its first forward (some importers
// earlier): keep the registration until then. Thread-safe; calling it twice registers once.
void register_onednn_convolution();

// Restores OpenCV's own convolution for layer instances created afterwards.
void unregister_onednn_convolution();

}  // namespace cvtl
