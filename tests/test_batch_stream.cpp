#include "pipeline/train/batch_stream.hpp"
#include "support/fixtures.hpp"
#include "support/synthetic_cache.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <set>

using namespace cvtl;

namespace {

std::vector<std::int64_t> epoch_rows(BatchStream& s, int epoch, std::vector<cv::Mat>* data = nullptr) {
    s.start_epoch(epoch);
    std::vector<std::int64_t> rows;
    Batch b;
    while (s.next(b)) {
        rows.insert(rows.end(), b.rows.begin(), b.rows.end());
        if (data) data->push_back(b.data.clone());
    }
    return rows;
}

}  // namespace

TEST_SUITE("unit") {
    TEST_CASE("every training row once per epoch in memory and when streaming") {
        test::TempDir dir;
        test::SyntheticCache spec;
        spec.taps = {"pool5"};
        spec.shapes = {{64, 8, 8}};  // 16 KiB a sample: chunks of 16 rows
        spec.classes = 4;
        spec.rows_per_class = 25;  // 20 train + 5 val per class
        test::write_synthetic_cache(dir / "c.h5", spec);
        CacheReader reader(dir / "c.h5", "pool5");
        REQUIRE(reader.rows_per_chunk() == 16);
        BatchStream resident(reader, 0, 8, true, 1, 1 << 30);
        BatchStream streamed(reader, 0, 8, true, 1, 1 << 20);  // less than the split: one chunk a window
        CHECK(resident.in_memory());
        CHECK_FALSE(streamed.in_memory());
        for (BatchStream* s : {&resident, &streamed}) {
            const auto rows = epoch_rows(*s, 0);
            CHECK(rows.size() == 80);
            CHECK(std::set<std::int64_t>(rows.begin(), rows.end()).size() == 80);
            for (auto r : rows) CHECK(reader.splits()[static_cast<size_t>(r)] == 0);
            CHECK(epoch_rows(*s, 0) == rows);  // same seed and epoch: same order
            CHECK(epoch_rows(*s, 1) != rows);  // another epoch: another order
        }
    }

    TEST_CASE("batch data and labels match the cache rows") {
        test::TempDir dir;
        test::SyntheticCache spec;
        spec.taps = {"fc7"};
        spec.shapes = {{6}};
        test::write_synthetic_cache(dir / "c.h5", spec);
        CacheReader reader(dir / "c.h5", "fc7");
        const cv::Mat all = reader.read_rows(0, reader.rows());
        BatchStream s(reader, 1, 4, false, 0, 1 << 20);
        s.start_epoch(0);
        Batch b;
        int batches = 0;
        while (s.next(b)) {
            ++batches;
            for (size_t i = 0; i < b.rows.size(); ++i) {
                CHECK(b.labels[i] == reader.labels()[static_cast<size_t>(b.rows[i])]);
                CHECK(cv::norm(b.data.row(static_cast<int>(i)), all.row(static_cast<int>(b.rows[i])), cv::NORM_INF) ==
                      0);
            }
        }
        CHECK(batches == 4);  // 15 validation rows in batches of 4
    }

}  // TEST_SUITE
