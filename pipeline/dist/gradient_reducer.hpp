#pragma once
// Data-parallel training's one exchange: after every rank's backward pass over its slice of the
// global batch, each trained gradient becomes the sum over ranks (the trainer scales each rank's
// loss gradient by its share of the global batch, so the sum is the global batch's gradient).
//
// Gradients are summed in buckets of about `bucket_bytes`, planned once in the order backward
// finishes layers (top layer first). A bucket's MPI_Iallreduce starts as soon as the last layer in it
// is done, while backward continues below it; finish() waits for all of them. A bucket that is a
// single contiguous gradient is reduced in place, smaller ones are packed together.
#include "pipeline/dist/communicator.hpp"
#include "pipeline/engine/network.hpp"

#include <cstdint>
#include <memory>
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

    std::uint64_t bytes_per_step() const { return bytes_; }   // gradient bytes each rank contributes
    std::size_t buckets() const { return buckets_.size(); }

private:
    struct Bucket;
    Communicator comm_;
    std::vector<std::unique_ptr<Bucket>> buckets_;
    Network& net_;
    std::vector<std::vector<std::size_t>> of_layer_;   // per layer: the buckets it completes a part of
    std::uint64_t bytes_ = 0;
};

}  // namespace cvtl
