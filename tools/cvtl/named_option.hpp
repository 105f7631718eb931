#pragma once
// An option whose value is one of a concept's names (pipeline/core/vocabulary.hpp): the command line
// holds the name, the options struct the enum. A name the concept does not know is the library's
// one-line cvtl::Error (exit 1, as for any bad option value), listing the names it accepts; under
// mpirun every rank meets it alike, so it is reported once.
#include "pipeline/dist/communicator.hpp"

#include <CLI/CLI.hpp>

#include <optional>
#include <string>

namespace cvtl::cli {

template <typename E>
using NameParser = E (*)(const std::string&, const std::string&);

// Parses the option's text into `value` (an E or an std::optional<E>).
template <typename E, typename Value>
std::function<void(const std::string&)> named_setter(Value& value, NameParser<E> parse) {
    return [&value, parse](const std::string& text) {
        try {
            value = parse(text, "");
        } catch (const Error& e) {
            throw SharedError(e.message());  // every rank of an mpirun job parses the same command line
        }
    };
}

// `parse` is the concept's parse_X; the help shows the current value of `value` as the default.
template <typename E>
CLI::Option* add_named_option(CLI::App* cmd, const std::string& flag, E& value, NameParser<E> parse,
                              const std::string& help) {
    return cmd->add_option_function<std::string>(flag, named_setter<E>(value, parse), help)
        ->default_str(to_string(value));
}

// The same for a value left empty unless given (the library then chooses it): no default shown.
template <typename E>
CLI::Option* add_named_option(CLI::App* cmd, const std::string& flag, std::optional<E>& value, NameParser<E> parse,
                              const std::string& help) {
    return cmd->add_option_function<std::string>(flag, named_setter<E>(value, parse), help);
}

}  // namespace cvtl::cli
