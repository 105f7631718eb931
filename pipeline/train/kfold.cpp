#include "pipeline/train/kfold.hpp"

#include "pipeline/core/error.hpp"

#include <map>
#include <random>
#include <string>

namespace cvtl {

std::vector<int> stratified_folds(const std::vector<std::int32_t>& labels, const std::vector<std::uint8_t>& splits,
                                  int k, std::uint64_t seed) {
    if (k < 2) throw Error("cross-validation needs at least 2 folds, got " + std::to_string(k));
    std::map<std::int32_t, std::vector<size_t>> by_class;
    for (size_t r = 0; r < labels.size(); ++r)
        if (splits[r] == 0 || splits[r] == 1) by_class[labels[r]].push_back(r);
    std::vector<int> folds(labels.size(), -1);
    std::mt19937_64 rng(seed);
    int offset = 0;
    for (auto& [label, rows] : by_class) {
        if (static_cast<int>(rows.size()) < k)
            throw Error("class " + std::to_string(label) + " has " + std::to_string(rows.size()) +
                        " labelled samples, fewer than the " + std::to_string(k) + " folds; use fewer folds");
        // Fisher-Yates with mt19937_64 directly: std::shuffle differs between standard libraries.
        for (size_t i = rows.size(); i > 1; --i) std::swap(rows[i - 1], rows[rng() % i]);
        // Rotating the first fold spreads each class's remainder over different folds.
        for (size_t i = 0; i < rows.size(); ++i)
            folds[rows[i]] = static_cast<int>((i + static_cast<size_t>(offset)) % static_cast<size_t>(k));
        offset = static_cast<int>((static_cast<size_t>(offset) + rows.size()) % static_cast<size_t>(k));
    }
    return folds;
}

std::vector<std::uint8_t> fold_roles(const std::vector<int>& folds, int fold) {
    std::vector<std::uint8_t> roles(folds.size(), kRoleUnused);
    for (size_t r = 0; r < folds.size(); ++r)
        if (folds[r] >= 0) roles[r] = folds[r] == fold ? kRoleVal : kRoleTrain;
    return roles;
}

std::vector<std::uint8_t> all_labelled_roles(const std::vector<std::uint8_t>& splits) {
    std::vector<std::uint8_t> roles(splits.size(), kRoleUnused);
    for (size_t r = 0; r < splits.size(); ++r)
        if (splits[r] == 0 || splits[r] == 1) roles[r] = kRoleTrain;
    return roles;
}

}  // namespace cvtl
