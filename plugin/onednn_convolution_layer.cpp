#include "plugin/onednn_convolution_layer.hpp"

#include "pipeline/engine/layers/onednn_context.hpp"

#include <oneapi/dnnl/dnnl.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/dnn/all_layers.hpp>

#include <memory>
#include <mutex>

namespace cvtl {
namespace {

using dnnl::memory;
using dt = memory::data_type;
using tag = memory::format_tag;

class OneDnnConvolution : public cv::dnn::Layer {
public:
    explicit OneDnnConvolution(cv::dnn::LayerParams& params)
        : cv::dnn::Layer(params), opencv_(cv::dnn::ConvolutionLayer::create(params)) {
        blobs = opencv_->blobs;
    }

    static cv::Ptr<cv::dnn::Layer> create(cv::dnn::LayerParams& params) {
        return cv::Ptr<cv::dnn::Layer>(new OneDnnConvolution(params));
    }

    bool getMemoryShapes(const std::vector<cv::dnn::MatShape>& inputs, int required,
                         std::vector<cv::dnn::MatShape>& outputs,
                         std::vector<cv::dnn::MatShape>& internals) const override {
        return opencv_->getMemoryShapes(inputs, required, outputs, internals);
    }

    void finalize(cv::InputArrayOfArrays inputs, cv::OutputArrayOfArrays outputs) override {
        opencv_->finalize(inputs, outputs);
        std::vector<cv::Mat> in;
        inputs.getMatVector(in);
        const cv::Mat& w = blobs[0];
        // Ours: one 4-D input, weights [O, I, kh, kw] covering all input channels, no dilation, explicit pads.
        own_ = in.size() == 1 && in[0].dims == 4 && in[0].type() == CV_32F && w.dims == 4 &&
               w.size[1] == in[0].size[1] && opencv_->kernel_size.size() == 2 && opencv_->padMode.empty() &&
               opencv_->dilations == std::vector<size_t>{1, 1};
        plan_.reset();
    }

    bool setActivation(const cv::Ptr<cv::dnn::ActivationLayer>& layer) override {
        const auto relu = layer.dynamicCast<cv::dnn::ReLULayer>();
        if (relu.empty() || relu->negativeSlope != 0.0f) return false;
        relu_ = true;  // fused as a post-op; applied after OpenCV's convolution in the cases we leave to it
        return true;
    }

    void forward(cv::InputArrayOfArrays inputs, cv::OutputArrayOfArrays outputs,
                 cv::OutputArrayOfArrays internals) override {
        if (!own_) {
            opencv_->forward(inputs, outputs, internals);
            if (relu_) {
                std::vector<cv::Mat> out;
                outputs.getMatVector(out);
                for (cv::Mat& m : out) cv::max(m, 0.0f, m);
            }
            return;
        }
        std::vector<cv::Mat> in, out;
        inputs.getMatVector(in);
        outputs.getMatVector(out);
        const cv::Mat& x = in[0];
        cv::Mat& y = out[0];
        if (!plan_ || plan_->n != x.size[0]) plan_ = make_plan(x, y);
        dnnl::stream& stream = onednn_stream();
        plan_->src_user.set_data_handle(x.data);
        plan_->dst_user.set_data_handle(y.data);
        if (plan_->src_reorder) plan_->src_reorder.execute(stream, plan_->src_user, plan_->src);
        plan_->primitive.execute(stream, {{DNNL_ARG_SRC, plan_->src},
                                          {DNNL_ARG_WEIGHTS, plan_->weights},
                                          {DNNL_ARG_BIAS, plan_->bias},
                                          {DNNL_ARG_DST, plan_->dst},
                                          {DNNL_ARG_SCRATCHPAD, plan_->scratchpad}});
        if (plan_->dst_reorder) plan_->dst_reorder.execute(stream, plan_->dst, plan_->dst_user);
        stream.wait();
    }

private:
    struct Plan {
        int n = 0;
        dnnl::convolution_forward primitive;
        memory src_user, src, weights, bias, dst, dst_user, scratchpad;
        dnnl::reorder src_reorder, dst_reorder;  // empty when the primitive works on the plain tensor
    };

    std::unique_ptr<Plan> make_plan(const cv::Mat& x, const cv::Mat& y) const {
        const dnnl::engine& eng = onednn_engine();
        const cv::Mat& w = blobs[0];
        const int o = w.size[0], i = w.size[1], kh = w.size[2], kw = w.size[3];
        const memory::dims src_dims{x.size[0], x.size[1], x.size[2], x.size[3]};
        const memory::dims dst_dims{y.size[0], y.size[1], y.size[2], y.size[3]};
        const memory::dims strides{static_cast<long>(opencv_->strides[0]), static_cast<long>(opencv_->strides[1])};
        const memory::dims pad_l{static_cast<long>(opencv_->pads_begin[0]), static_cast<long>(opencv_->pads_begin[1])};
        const memory::dims pad_r{static_cast<long>(opencv_->pads_end[0]), static_cast<long>(opencv_->pads_end[1])};
        const memory::desc src{src_dims, dt::f32, tag::any}, wei{{o, i, kh, kw}, dt::f32, tag::any},
            bias{{o}, dt::f32, tag::x}, dst{dst_dims, dt::f32, tag::any};
        dnnl::primitive_attr attr;
        attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);  // the plan's own (see inference_net.cpp)
        if (relu_) {
            dnnl::post_ops ops;
            ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
            attr.set_post_ops(ops);
        }
        dnnl::convolution_forward::primitive_desc pd;
        const bool winograd_shape = kh == 3 && kw == 3 && strides == memory::dims{1, 1};
        try {
            if (!winograd_shape) throw dnnl::error(dnnl_unimplemented, "");
            pd = dnnl::convolution_forward::primitive_desc(
                {dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_winograd, src, wei, bias, dst,
                 strides, pad_l, pad_r},
                attr, eng);
        } catch (const dnnl::error&) {
            pd = dnnl::convolution_forward::primitive_desc(
                {dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src, wei, bias, dst, strides,
                 pad_l, pad_r},
                attr, eng);
        }
        auto plan = std::make_unique<Plan>();
        plan->n = x.size[0];
        plan->primitive = dnnl::convolution_forward(pd);
        plan->src_user = memory({src_dims, dt::f32, tag::nchw}, eng, DNNL_MEMORY_NONE);
        plan->dst_user = memory({dst_dims, dt::f32, tag::nchw}, eng, DNNL_MEMORY_NONE);
        plan->src = pd.src_desc() == plan->src_user.get_desc() ? plan->src_user : memory(pd.src_desc(), eng);
        plan->dst = pd.dst_desc() == plan->dst_user.get_desc() ? plan->dst_user : memory(pd.dst_desc(), eng);
        if (plan->src != plan->src_user) plan->src_reorder = dnnl::reorder(plan->src_user, plan->src);
        if (plan->dst != plan->dst_user) plan->dst_reorder = dnnl::reorder(plan->dst, plan->dst_user);
        // Weights and bias: packed once per plan from the layer's blobs (a missing bias is zero).
        memory w_user({{o, i, kh, kw}, dt::f32, tag::oihw}, eng, const_cast<uchar*>(w.data));
        plan->weights = memory(pd.weights_desc(), eng);
        dnnl::reorder(w_user, plan->weights).execute(onednn_stream(), w_user, plan->weights);
        plan->bias = memory(pd.bias_desc(), eng);
        float* b = static_cast<float*>(plan->bias.get_data_handle());
        for (int k = 0; k < o; ++k) b[k] = blobs.size() > 1 ? blobs[1].ptr<float>()[k] : 0.0f;
        plan->scratchpad = memory(pd.scratchpad_desc(), eng);
        onednn_stream().wait();
        return plan;
    }

    cv::Ptr<cv::dnn::BaseConvolutionLayer> opencv_;  // parses the parameters; computes the cases we leave
    bool own_ = false, relu_ = false;
    std::unique_ptr<Plan> plan_;
};

std::mutex registration_mutex;
bool registered = false;

}  // namespace

void register_onednn_convolution() {
    std::lock_guard<std::mutex> lock(registration_mutex);
    if (registered) return;
    cv::dnn::LayerFactory::registerLayer("Convolution", OneDnnConvolution::create);
    registered = true;
}

void unregister_onednn_convolution() {
    std::lock_guard<std::mutex> lock(registration_mutex);
    if (!registered) return;
    cv::dnn::LayerFactory::unregisterLayer("Convolution");
    registered = false;
}

}  // namespace cvtl
