#include "pipeline/dist/gradient_reducer.hpp"

#include "plugin/error.hpp"

#include <mpi.h>

#include <climits>
#include <cstring>

namespace cvtl {

struct GradientReducer::Bucket {
    struct Part {
        std::size_t layer;
        Param* param;
        std::size_t offset;   // in `packed`
    };
    std::vector<Part> parts;
    std::size_t values = 0;
    std::size_t layers_left = 0, layers = 0;
    std::vector<float> packed;              // several gradients, or one that is not contiguous
    float* data = nullptr;                  // what is reduced: packed, or the one gradient in place
    std::vector<MPI_Request> requests;

    bool in_place() const { return parts.size() == 1 && parts[0].param->grad.isContinuous(); }

    void start() {
        data = in_place() ? parts[0].param->grad.ptr<float>() : packed.data();
        for (std::size_t at = 0; at < values; at += INT_MAX / 2) {
            const int n = static_cast<int>(std::min<std::size_t>(INT_MAX / 2, values - at));
            requests.emplace_back();
            if (MPI_Iallreduce(MPI_IN_PLACE, data + at, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &requests.back()) != MPI_SUCCESS)
                throw Error("MPI allreduce of the gradients failed");
        }
    }

    void wait() {
        if (!requests.empty() && MPI_Waitall(static_cast<int>(requests.size()), requests.data(), MPI_STATUSES_IGNORE) != MPI_SUCCESS)
            throw Error("MPI allreduce of the gradients failed");
        requests.clear();
        layers_left = layers;
        if (in_place()) return;
        for (const Part& p : parts) {
            cv::Mat flat(1, static_cast<int>(p.param->value.total()), CV_32F, packed.data() + p.offset);
            flat.reshape(1, p.param->grad.dims, p.param->grad.size.p).copyTo(p.param->grad);
        }
    }
};

GradientReducer::GradientReducer(const Communicator& comm, Network& net, std::size_t bucket_bytes) : comm_(comm), net_(net) {
    auto& entries = net.entries();
    of_layer_.resize(entries.size());
    // Backward finishes the top layer first: buckets follow that order so the first one fills first.
    for (std::size_t i = entries.size(); i-- > 0;)
        for (Param* p : entries[i].layer->params()) {
            if (p->lr_mult <= 0) continue;
            if (buckets_.empty() || buckets_.back()->values * sizeof(float) >= bucket_bytes) buckets_.push_back(std::make_unique<Bucket>());
            Bucket& b = *buckets_.back();
            b.parts.push_back({i, p, b.values});
            b.values += p->value.total();
            bytes_ += p->value.total() * sizeof(float);
            if (of_layer_[i].empty() || of_layer_[i].back() != buckets_.size() - 1) {
                of_layer_[i].push_back(buckets_.size() - 1);
                ++b.layers;
            }
        }
    for (auto& b : buckets_) {
        b->layers_left = b->layers;
        if (!b->in_place()) b->packed.resize(b->values);
    }
}

GradientReducer::~GradientReducer() {
    // A step abandoned by an exception still has requests in flight: complete them before the
    // buffers go (every rank posted the same ones, so the waits return).
    for (auto& b : buckets_)
        if (!b->requests.empty()) MPI_Waitall(static_cast<int>(b->requests.size()), b->requests.data(), MPI_STATUSES_IGNORE);
}

void GradientReducer::layer_done(std::size_t index) {
    if (!comm_.distributed() || index >= of_layer_.size()) return;
    for (std::size_t k : of_layer_[index]) {
        Bucket& b = *buckets_[k];
        if (!b.in_place())
            for (const Bucket::Part& p : b.parts) {
                if (p.layer != index) continue;
                const cv::Mat grad = p.param->grad.isContinuous() ? p.param->grad : p.param->grad.clone();
                std::memcpy(b.packed.data() + p.offset, grad.ptr<float>(), p.param->value.total() * sizeof(float));
            }
        if (--b.layers_left == 0) b.start();
    }
    // Open MPI advances non-blocking collectives inside MPI calls: give the running ones a turn.
    for (auto& b : buckets_)
        if (!b->requests.empty()) {
            int done = 0;
            MPI_Testall(static_cast<int>(b->requests.size()), b->requests.data(), &done, MPI_STATUSES_IGNORE);
            if (done) b->requests.clear();
        }
}

void GradientReducer::contribute_zeros() {
    if (!comm_.distributed()) return;
    auto& entries = net_.entries();
    for (std::size_t i = entries.size(); i-- > 0;) {
        for (Param* p : entries[i].layer->params())
            if (p->lr_mult > 0) p->grad = cv::Mat::zeros(p->value.dims, p->value.size.p, CV_32F);
        layer_done(i);
    }
}

void GradientReducer::finish() {
    if (!comm_.distributed()) return;
    for (auto& b : buckets_) {
        if (b->layers_left != 0) throw Error("internal: a gradient bucket was not filled (backward skipped a trained layer)");
        b->wait();
    }
}

}  // namespace cvtl
