#include "plugin/activation_arena.hpp"

#include <doctest/doctest.h>

#include <random>

using namespace cvtl;

namespace {

bool bytes_meet(const ArenaLayout& l, const std::vector<ActivationLifetime>& a, size_t i, size_t j) {
    return l.offsets[i] < l.offsets[j] + a[j].bytes && l.offsets[j] < l.offsets[i] + a[i].bytes;
}

}  // namespace

TEST_SUITE("unit") {
    TEST_CASE("a chain's activations reuse the bytes of those two steps back") {
        // Step s writes activation s and reads s - 1: at most two are alive at once.
        std::vector<ActivationLifetime> chain;
        for (int s = 0; s < 10; ++s) chain.push_back({1000, s, s + 1});
        const ArenaLayout l = lay_out_arena(chain);
        CHECK(l.bytes == 2 * 1024);  // two slots of 1000 bytes, each rounded up to the alignment
        for (size_t i = 0; i + 1 < chain.size(); ++i) CHECK(l.offsets[i] != l.offsets[i + 1]);
    }

    TEST_CASE("activations whose lifetimes meet never share bytes, on random plans") {
        std::mt19937 rng(7);
        for (int trial = 0; trial < 200; ++trial) {
            std::vector<ActivationLifetime> a;
            const int n = 1 + static_cast<int>(rng() % 40);
            for (int i = 0; i < n; ++i) {
                const int first = static_cast<int>(rng() % 50);
                a.push_back({1 + rng() % 5000, first, first + static_cast<int>(rng() % 12)});
            }
            const ArenaLayout l = lay_out_arena(a);
            REQUIRE(l.offsets.size() == a.size());
            size_t peak = 0;
            for (int step = 0; step < 62; ++step) {
                size_t live = 0;
                for (const auto& x : a) live += step >= x.first && step <= x.last ? x.bytes : 0;
                peak = std::max(peak, live);
            }
            CHECK(l.bytes >= peak);  // no layout beats the peak of live bytes
            for (size_t i = 0; i < a.size(); ++i) {
                CHECK(l.offsets[i] % kArenaAlignment == 0);
                CHECK(l.offsets[i] + a[i].bytes <= l.bytes);
                for (size_t j = i + 1; j < a.size(); ++j)
                    if (a[i].first <= a[j].last && a[j].first <= a[i].last) CHECK_FALSE(bytes_meet(l, a, i, j));
            }
        }
    }
}
