#pragma once
// A closed set of names that cvtl reads from the command line and from its own files (a strategy, a
// dtype, a trial's status) becomes an enum at that edge. Each concept's header keeps one table of its
// values and their names, and both directions are made from it, so that to_string and parse cannot
// disagree; the names are the ones on disk, so files written before the enums still read.
#include "pipeline/core/error.hpp"

#include <array>
#include <cstddef>
#include <string>

namespace cvtl {

template <typename E>
struct NamedValue {
    E value;
    const char* name;
};

template <typename E, std::size_t N>
using NameTable = std::array<NamedValue<E>, N>;

// The name of `value`; every value of an enum is in its table, so a miss is cvtl's bug.
template <typename E, std::size_t N>
const char* name_in(const NameTable<E, N>& table, E value) {
    for (const auto& entry : table)
        if (entry.value == value) return entry.name;
    CVTL_INTERNAL("an enum value is missing from its table of names");
}

// The accepted names as a message lists them: "a, b or c".
template <typename E, std::size_t N>
std::string names_in(const NameTable<E, N>& table) {
    std::string out;
    for (std::size_t i = 0; i < N; ++i) out += (i == 0 ? "" : i + 1 == N ? " or " : ", ") + std::string(table[i].name);
    return out;
}

// The value named `text`. Otherwise throws cvtl::Error, one line naming the concept (as a message
// names it, e.g. "{strategy}"), the unknown value, the file it came from when `source` is not
// empty, and the accepted names.
template <typename E, std::size_t N>
E value_in(const NameTable<E, N>& table, const std::string& text, const std::string& concept,
           const std::string& source) {
    for (const auto& entry : table)
        if (text == entry.name) return entry.value;
    throw Error("unknown " + concept + " '" + text + "'" + (source.empty() ? "" : " in " + source) + " (expected " +
                names_in(table) + ")");
}

}  // namespace cvtl
