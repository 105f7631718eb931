#include "pipeline/train/validation_pass.hpp"

#include "pipeline/dist/batch_slice.hpp"
#include "pipeline/engine/layers/softmax_cross_entropy.hpp"

#include <opencv2/core.hpp>

#include <vector>

namespace cvtl {
namespace {

// Sums every rank's loss, counts and confusion matrix (data-parallel evaluation: each rank scored
// its slice of every batch).
void sum_over_ranks(const Communicator& comm, double& loss, long long& correct, long long& seen, Confusion& confusion) {
    if (!comm.distributed()) return;
    std::vector<double> totals{loss, static_cast<double>(correct), static_cast<double>(seen)};
    for (const auto& row : confusion)
        for (long long v : row) totals.push_back(static_cast<double>(v));  // counts stay exact below 2^53
    comm.sum(totals.data(), totals.size());
    loss = totals[0];
    correct = static_cast<long long>(totals[1]);
    seen = static_cast<long long>(totals[2]);
    size_t k = 3;
    for (auto& row : confusion)
        for (long long& v : row) v = static_cast<long long>(totals[k++]);
}

}  // namespace

EvalResult validation_pass(Network& net, BatchStream& stream, size_t classes, const Communicator& comm) {
    EvalResult r;
    r.confusion.assign(classes, std::vector<long long>(classes, 0));
    if (stream.size() == 0) return r;
    stream.start_epoch(0);
    Batch batch;
    double loss = 0;
    long long correct = 0, seen = 0;
    cv::Mat diff;
    while (stream.next(batch)) {
        const BatchSlice slice = slice_for(batch, comm);
        if (slice.rows == 0) continue;
        const cv::Mat& logits = net.forward(slice.data, false);
        loss += softmax_cross_entropy(logits, slice.labels, diff) * static_cast<double>(slice.rows);
        for (int i = 0; i < logits.rows; ++i) {
            cv::Point best;
            cv::minMaxLoc(logits.row(i), nullptr, nullptr, nullptr, &best);
            correct += best.x == slice.labels[static_cast<size_t>(i)];
            ++r.confusion[static_cast<size_t>(slice.labels[static_cast<size_t>(i)])][static_cast<size_t>(best.x)];
        }
        seen += slice.rows;
    }
    sum_over_ranks(comm, loss, correct, seen, r.confusion);
    r.loss = loss / static_cast<double>(seen);
    r.accuracy = static_cast<double>(correct) / static_cast<double>(seen);
    return r;
}

}  // namespace cvtl
