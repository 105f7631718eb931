#pragma once
// Stratified, seeded K-fold partitions of a cache's labelled rows (its train and validation splits).
#include <cstdint>
#include <vector>

namespace cvtl {

// Row roles for TrainOptions::row_roles and BatchStream.
inline constexpr std::uint8_t kRoleTrain = 0, kRoleVal = 1, kRoleUnused = 255;

// Fold index (0..k-1) of every row whose split is train (0) or validation (1); -1 for the rest
// (test rows). Within each class the rows are shuffled with `seed` and dealt to the folds in turn,
// starting at a fold that rotates with the class, so every fold gets floor or ceil of each class's
// share and the fold sizes differ by at most one. Throws cvtl::Error when k < 2 or a class has
// fewer labelled rows than k.
std::vector<int> stratified_folds(const std::vector<std::int32_t>& labels, const std::vector<std::uint8_t>& splits,
                                  int k, std::uint64_t seed);

// Roles for training on every fold but `fold` and validating on `fold`.
std::vector<std::uint8_t> fold_roles(const std::vector<int>& folds, int fold);

// Roles for training on every labelled row (train + validation), with no validation rows.
std::vector<std::uint8_t> all_labelled_roles(const std::vector<std::uint8_t>& splits);

}  // namespace cvtl
