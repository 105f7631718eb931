#pragma once
// An option whose value is one of a concept's names (pipeline/core/vocabulary.hpp): the command line
// holds the name, the options struct the enum. A name the concept does not know is the library's
// one-line cvtl::Error (exit 1, as for any bad option value), listing the names it accepts; under
// mpirun every rank meets it alike, so it is reported once.
#include "pipeline/dist/communicator.hpp"

#include <CLI/CLI.hpp>

#include <string>

namespace cvtl::cli {

// `parse` is the concept's parse_X; the help shows the current value of `value` as the default.
template <typename E>
CLI::Option* add_named_option(CLI::App* cmd, const std::string& flag, E& value,
                              E (*parse)(const std::string&, const std::string&), const std::string& help) {
    return cmd
        ->add_option_function<std::string>(
            flag,
            [&value, parse](const std::string& text) {
                try {
                    value = parse(text, "");
                } catch (const Error& e) {
                    throw SharedError(e.message());  // every rank of an mpirun job parses the same command line
                }
            },
            help)
        ->default_str(to_string(value));
}

}  // namespace cvtl::cli
