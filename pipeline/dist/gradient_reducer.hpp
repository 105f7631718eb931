#pragma once
// Data-parallel training's one exchange: after every rank's backward pass over its slice of the
// global batch, each trained gradient becomes the sum over ranks (the trainer scales each rank's
// loss gradient by its share of the global batch, so the sum is the global batch's gradient).
//
// Gradients are summed in buckets of about `bucket_bytes`, planned once in the order backward
// finishes layers (top layer first). As soon as a bucket's last layer is done, a communication
// thread sums it (MPI_Allreduce in 4 MiB pieces) while backward continues below it on the calling
// thread; finish() waits for every bucket. Only one thread calls MPI at a time: the communication
// thread between the first bucket and finish(), the calling thread otherwise (MPI_THREAD_SERIALIZED).
// Without that thread level the buckets are summed inside finish(), after backward.
#include "pipeline/dist/communicator.hpp"
#include "pipeline/engine/network.hpp"

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace cvtl {

class GradientReducer {
public:
    static constexpr std::size_t kDefaultBucketBytes = 25u << 20;

    GradientReducer(const Communicator& comm, Network& net, std::size_t bucket_bytes = kDefaultBucketBytes);
    ~GradientReducer();
    GradientReducer(const GradientReducer&) = delete;
    GradientReducer& operator=(const GradientReducer&) = delete;

    // Network::backward's hook: layer `index` has its gradients.
    void layer_done(std::size_t index);
    // A rank with no rows in this step (a short last batch): zero gradients, reduced like any other.
    void contribute_zeros();
    // Waits for every bucket; afterwards every trained gradient holds the sum over ranks.
    void finish();

    std::uint64_t bytes_per_step() const { return bytes_; }  // gradient bytes each rank contributes
    std::size_t buckets() const { return buckets_.size(); }
    bool overlapped() const { return worker_.joinable(); }  // summed while backward runs

private:
    struct Bucket;
    void work();
    void submit(Bucket& b);

    Communicator comm_;
    Network& net_;
    std::vector<std::unique_ptr<Bucket>> buckets_;
    std::vector<std::vector<std::size_t>> of_layer_;  // per layer: the buckets it completes a part of
    std::uint64_t bytes_ = 0;

    std::thread worker_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<Bucket*> queue_;
    std::size_t in_flight_ = 0;  // submitted, not yet summed
    std::string error_;          // the worker's failure, rethrown by finish()
    bool stop_ = false;
};

}  // namespace cvtl
