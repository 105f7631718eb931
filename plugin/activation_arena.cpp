#include "plugin/activation_arena.hpp"

#include <algorithm>
#include <numeric>

namespace cvtl {
namespace {

std::size_t aligned(std::size_t bytes) { return (bytes + kArenaAlignment - 1) / kArenaAlignment * kArenaAlignment; }

bool lifetimes_meet(const ActivationLifetime& a, const ActivationLifetime& b) {
    return a.first <= b.last && b.first <= a.last;
}

}  // namespace

ArenaLayout lay_out_arena(const std::vector<ActivationLifetime>& lifetimes) {
    ArenaLayout layout;
    layout.offsets.assign(lifetimes.size(), 0);
    std::vector<std::size_t> order(lifetimes.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    // Largest first; equal sizes by first use, so the layout does not depend on the sort's stability.
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        if (lifetimes[a].bytes != lifetimes[b].bytes) return lifetimes[a].bytes > lifetimes[b].bytes;
        return a < b;
    });
    std::vector<std::size_t> placed;
    for (std::size_t i : order) {
        const std::size_t size = aligned(lifetimes[i].bytes);
        // The placed activations alive at the same time, by offset: the new one goes in the first gap
        // that holds it.
        std::vector<std::size_t> busy;
        for (std::size_t j : placed)
            if (lifetimes_meet(lifetimes[i], lifetimes[j])) busy.push_back(j);
        std::sort(busy.begin(), busy.end(),
                  [&](std::size_t a, std::size_t b) { return layout.offsets[a] < layout.offsets[b]; });
        std::size_t offset = 0;
        for (std::size_t j : busy) {
            if (layout.offsets[j] >= offset + size) break;
            offset = std::max(offset, layout.offsets[j] + aligned(lifetimes[j].bytes));
        }
        layout.offsets[i] = offset;
        layout.bytes = std::max(layout.bytes, offset + size);
        placed.push_back(i);
    }
    return layout;
}

}  // namespace cvtl
