#include "pipeline/train/kfold.hpp"
#include "pipeline/core/error.hpp"

#include <doctest/doctest.h>

#include <map>
#include <set>

using namespace cvtl;

TEST_SUITE("unit") {
    TEST_CASE("k-fold partitions are stratified - disjoint - cover the labelled rows and follow the seed") {
        // 3 classes of 23, 17 and 9 rows, some rows test (split 2), mixed order.
        std::vector<std::int32_t> labels;
        std::vector<std::uint8_t> splits;
        for (int i = 0; i < 60; ++i) {
            labels.push_back(i % 7 < 3 ? 0 : i % 7 < 6 ? 1 : 2);
            splits.push_back(i % 11 == 0 ? 2 : i % 5 == 0 ? 1 : 0);
        }
        const int k = 5;
        const std::vector<int> folds = stratified_folds(labels, splits, k, 42);
        REQUIRE(folds.size() == labels.size());
        std::map<int, std::map<int, int>> per_class;  // class -> fold -> rows
        std::map<int, int> per_fold;
        for (size_t r = 0; r < folds.size(); ++r) {
            if (splits[r] == 2) {
                CHECK(folds[r] == -1);  // test rows never enter a fold
                continue;
            }
            REQUIRE(folds[r] >= 0);
            REQUIRE(folds[r] < k);
            ++per_class[labels[r]][folds[r]];
            ++per_fold[folds[r]];
        }
        for (const auto& [label, counts] : per_class) {
            int lo = 1 << 30, hi = 0;
            for (int f = 0; f < k; ++f)
                lo = std::min(lo, counts.count(f) ? counts.at(f) : 0),
                hi = std::max(hi, counts.count(f) ? counts.at(f) : 0);
            CHECK(hi - lo <= 1);  // stratified: each class spread evenly
        }
        int lo = 1 << 30, hi = 0;
        for (const auto& [f, n] : per_fold) lo = std::min(lo, n), hi = std::max(hi, n);
        CHECK(hi - lo <= 1);

        // Roles: each fold's validation rows are exactly that fold; the union over folds is every labelled row once.
        std::map<size_t, int> validated;
        for (int f = 0; f < k; ++f) {
            const auto roles = fold_roles(folds, f);
            for (size_t r = 0; r < roles.size(); ++r) {
                if (splits[r] == 2) CHECK(roles[r] == kRoleUnused);
                if (roles[r] == kRoleVal) ++validated[r];
                if (roles[r] == kRoleVal) CHECK(folds[r] == f);
                if (roles[r] == kRoleTrain) CHECK(folds[r] != f);
            }
        }
        for (size_t r = 0; r < splits.size(); ++r) CHECK(validated[r] == (splits[r] == 2 ? 0 : 1));

        CHECK(stratified_folds(labels, splits, k, 42) == folds);
        CHECK(stratified_folds(labels, splits, k, 43) != folds);
        const auto all = all_labelled_roles(splits);
        for (size_t r = 0; r < splits.size(); ++r) CHECK(all[r] == (splits[r] == 2 ? kRoleUnused : kRoleTrain));

        CHECK_THROWS_WITH_AS(stratified_folds(labels, splits, 1, 0), doctest::Contains("at least 2 folds"), Error);
        CHECK_THROWS_WITH_AS(stratified_folds(labels, splits, 40, 0), doctest::Contains("fewer than the 40 folds"),
                             Error);
    }

}  // TEST_SUITE
