#include "pipeline/dist/gradient_reducer.hpp"

#include "pipeline/core/error.hpp"

#include <mpi.h>

#include <cstring>

namespace cvtl {
namespace {

// Open MPI's shared-memory reduction of one 400 MB message ran at 0.2 GB/s here, in 4 MiB pieces
// at 1 GB/s (docs/scaling.md).
constexpr std::size_t kPieceValues = std::size_t{1} << 20;

}  // namespace

struct GradientReducer::Bucket {
    struct Part {
        std::size_t layer;
        Param* param;
        std::size_t offset;  // in `packed`
    };
    std::vector<Part> parts;
    std::size_t values = 0;
    std::size_t layers_left = 0, layers = 0;
    std::vector<float> packed;  // several gradients, or one that is not contiguous
    float* data = nullptr;      // what is summed: packed, or the one gradient in place

    bool in_place() const { return parts.size() == 1 && parts[0].param->grad.isContinuous(); }

    void sum() const {
        for (std::size_t at = 0; at < values; at += kPieceValues) {
            const int n = static_cast<int>(std::min(kPieceValues, values - at));
            if (MPI_Allreduce(MPI_IN_PLACE, data + at, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD) != MPI_SUCCESS)
                throw Error("MPI allreduce of the gradients failed");
        }
    }

    void unpack() {
        layers_left = layers;
        if (in_place()) return;
        for (const Part& p : parts) {
            cv::Mat flat(1, static_cast<int>(p.param->value.total()), CV_32F, packed.data() + p.offset);
            flat.reshape(1, p.param->grad.dims, p.param->grad.size.p).copyTo(p.param->grad);
        }
    }
};

GradientReducer::GradientReducer(const Communicator& comm, Network& net, std::size_t bucket_bytes)
    : comm_(comm), net_(net) {
    auto& entries = net.entries();
    of_layer_.resize(entries.size());
    // Backward finishes the top layer first: buckets follow that order so the first one fills first.
    for (std::size_t i = entries.size(); i-- > 0;)
        for (Param* p : entries[i].layer->params()) {
            if (p->lr_mult <= 0) continue;
            if (buckets_.empty() || buckets_.back()->values * sizeof(float) >= bucket_bytes)
                buckets_.push_back(std::make_unique<Bucket>());
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
    if (comm_.distributed() && mpi_thread_level_serialized()) worker_ = std::thread([this] { work(); });
}

GradientReducer::~GradientReducer() {
    if (!worker_.joinable()) return;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        // A step abandoned by an exception: start no further sums (the other ranks may never post
        // them); the one in progress completes, since every rank submitted it.
        queue_.clear();
        stop_ = true;
    }
    changed_.notify_all();
    worker_.join();
}

void GradientReducer::work() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
        changed_.wait(lock, [&] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;
        Bucket* b = queue_.front();
        queue_.pop_front();
        lock.unlock();
        std::string failure;
        try {
            b->sum();
        } catch (const std::exception& e) {
            failure = e.what();
        }
        lock.lock();
        if (!failure.empty() && error_.empty()) error_ = failure;
        --in_flight_;
        changed_.notify_all();
    }
}

void GradientReducer::submit(Bucket& b) {
    b.data = b.in_place() ? b.parts[0].param->grad.ptr<float>() : b.packed.data();
    if (!worker_.joinable()) return;  // summed in finish()
    {
        std::lock_guard<std::mutex> lock(mutex_);
        queue_.push_back(&b);
        ++in_flight_;
    }
    changed_.notify_all();
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
        if (--b.layers_left == 0) submit(b);
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
    for (auto& b : buckets_)
        if (b->layers_left != 0) CVTL_INTERNAL("a gradient bucket was not filled (backward skipped a trained layer)");
    if (worker_.joinable()) {
        std::unique_lock<std::mutex> lock(mutex_);
        changed_.wait(lock, [&] { return in_flight_ == 0; });
        if (!error_.empty()) throw Error(error_);
    } else {
        for (auto& b : buckets_) b->sum();
    }
    for (auto& b : buckets_) b->unpack();
}

}  // namespace cvtl
