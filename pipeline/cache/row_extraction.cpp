#include "pipeline/cache/row_extraction.hpp"

#include "pipeline/data/augment.hpp"

#include <opencv2/core.hpp>

#include <algorithm>

namespace cvtl {
namespace {

// Rows [begin, end) of every tap: the blob's first rows are view 0 of the kept entries, then their views.
std::vector<cv::Mat> tap_rows(const std::vector<cv::Mat>& outputs, int begin, int end) {
    std::vector<cv::Mat> taps;
    for (const cv::Mat& out : outputs) {
        std::vector<cv::Range> ranges(static_cast<size_t>(out.dims), cv::Range::all());
        ranges[0] = cv::Range(begin, end);
        taps.push_back(out(ranges).clone());
    }
    return taps;
}

CacheRows to_rows(ImageBatch& batch, const Dataset& data) {
    CacheRows rows;
    rows.stamps = std::move(batch.stamps);
    rows.view_of = std::move(batch.view_of);
    rows.view_index = std::move(batch.view_index);
    rows.inputs = batch.count;
    for (std::int64_t i : batch.kept) {
        const Sample& s = data.samples[static_cast<size_t>(i)];
        rows.paths.push_back(s.path);
        rows.labels.push_back(s.label);
        rows.splits.push_back(static_cast<std::uint8_t>(s.split));
    }
    for (size_t i = 0; i < batch.reasons.size(); ++i)
        if (!batch.reasons[i].empty()) {
            rows.skipped_paths.push_back(data.samples[static_cast<size_t>(batch.first) + i].path);
            rows.skipped_reasons.push_back(batch.reasons[i]);
        }
    const int kept = static_cast<int>(batch.kept.size());
    if (rows.view_of.empty()) {
        rows.taps = std::move(batch.outputs);
    } else {
        rows.taps = tap_rows(batch.outputs, 0, kept);
        rows.view_taps = tap_rows(batch.outputs, kept, kept + static_cast<int>(rows.view_of.size()));
    }
    return rows;
}

// Rows [begin, end) of a blob, padded with zero images to `pad_to` rows (see below).
cv::Mat piece_of(const cv::Mat& blob, int begin, int end, int pad_to) {
    std::vector<int> shape(blob.size.p, blob.size.p + blob.dims);
    shape[0] = std::max(end - begin, pad_to);
    cv::Mat piece(shape, CV_32F, cv::Scalar(0));
    const size_t values = blob.total() / static_cast<size_t>(blob.size[0]);
    std::copy_n(blob.ptr<float>() + static_cast<size_t>(begin) * values, static_cast<size_t>(end - begin) * values,
                piece.ptr<float>());
    return piece;
}

// Runs `engine` on exactly `batch` images at a time, the entries' view 0 rows [0, plain) apart from
// their views: view 0 then goes through the network in exactly the batches a cache without views
// would use, so it is bit for bit the plain cache; and the network's memory does not grow with K.
// A shorter piece (the dataset's last batch, a batch with skipped files, the last views of a batch)
// is padded with zero images: the fast path builds its plan for one batch size, and a piece of
// another size would rebuild it (seconds for VGG-16: an update of a few files paid it twice).
std::vector<cv::Mat> forward_in_pieces(TapEngine& engine, const cv::Mat& blob, int plain, int batch) {
    const int n = blob.size[0];
    if (plain == n && n == batch) return engine(blob);
    std::vector<std::vector<cv::Mat>> pieces;
    std::vector<int> rows;
    for (int b = 0; b < n;) {
        const int end = std::min(b < plain ? plain : n, b + batch);
        pieces.push_back(engine(piece_of(blob, b, end, batch)));
        rows.push_back(end - b);
        b = end;
    }
    std::vector<cv::Mat> out;
    for (size_t t = 0; t < pieces[0].size(); ++t) {
        std::vector<cv::Mat> parts;
        for (size_t p = 0; p < pieces.size(); ++p)
            parts.push_back(pieces[p][t].reshape(1, pieces[p][t].size[0]).rowRange(0, rows[p]));
        cv::Mat joined;
        cv::vconcat(parts, joined);
        std::vector<int> shape(pieces[0][t].size.p, pieces[0][t].size.p + pieces[0][t].dims);
        shape[0] = n;
        out.push_back(joined.reshape(1, shape));
    }
    return out;
}

DecodeExtras decode_extras(const CacheConfig& config) {
    DecodeExtras extras;
    extras.stamps = true;
    extras.views = config.views;
    if (config.views > 1) extras.augment = parse_augment_spec(config.augment);
    extras.seed = config.seed;
    return extras;
}

}  // namespace

PipelineTimes extract_rows(const RowExtraction& job, CacheWriter& writer, const Events& events,
                           ExtractSummary& summary) {
    const Dataset& data = job.data;
    const auto total = static_cast<std::int64_t>(data.samples.size());
    events.report({job.stage, writer.next_input(), total, 0, ""});
    return run_image_batches(
        data, writer.next_input(), job.pre, job.batch, job.threads,
        [&](const cv::Mat& blob, int plain) { return forward_in_pieces(job.engine, blob, plain, job.batch); },
        [&](ImageBatch& batch) {
            if (batch.kept.empty())  // a batch of undecodable files still covers its entries
                for (const auto& t : job.config.taps) {
                    std::vector<int> shape{0};
                    shape.insert(shape.end(), t.shape.begin(), t.shape.end());
                    batch.outputs.emplace_back(shape, CV_32F);
                }
            CacheRows rows = to_rows(batch, data);
            writer.append(rows);
            summary.images += static_cast<std::int64_t>(rows.paths.size());
            summary.skipped += static_cast<std::int64_t>(rows.skipped_paths.size());
            for (size_t i = 0; i < batch.reasons.size(); ++i)
                if (!batch.reasons[i].empty())
                    events.warning("skipped " + data.file(data.samples[static_cast<size_t>(batch.first) + i]) + ": " +
                                   batch.reasons[i]);
            events.report({job.stage, writer.next_input(), total, 0, ""});
        },
        decode_extras(job.config));
}

}  // namespace cvtl
