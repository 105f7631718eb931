#include "pipeline/dist/batch_slice.hpp"

namespace cvtl {

std::pair<std::int64_t, std::int64_t> slice_range(std::int64_t n, int rank, int ranks) {
    return {n * rank / ranks, n * (rank + 1) / ranks};
}

BatchSlice slice_for(const Batch& batch, const Communicator& comm) {
    BatchSlice s;
    s.global = static_cast<std::int64_t>(batch.labels.size());
    const auto [begin, end] = slice_range(s.global, comm.rank(), comm.size());
    s.first = begin;
    s.rows = end - begin;
    if (s.rows == 0) return s;
    if (s.rows == s.global) {
        s.data = batch.data;
        s.labels = batch.labels;
        return s;
    }
    std::vector<cv::Range> rows(static_cast<size_t>(batch.data.dims), cv::Range::all());
    rows[0] = cv::Range(static_cast<int>(begin), static_cast<int>(end));
    s.data = batch.data(rows);  // a contiguous run of rows: still one block of memory
    s.labels.assign(batch.labels.begin() + begin, batch.labels.begin() + end);
    return s;
}

}  // namespace cvtl
