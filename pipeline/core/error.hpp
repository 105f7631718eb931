#pragma once
#include <functional>
#include <stdexcept>
#include <string>

namespace cvtl {

// Library messages (errors and warnings) name an option as a concept in braces, "{force}",
// "{val-fraction}", never as a command-line flag: an app that links cvtl has no flags. Each front end
// renders them its own way: the CLI as "--force", Error::what() as 'force'.
inline std::string render_options(const std::string& text, const std::function<std::string(const std::string&)>& name) {
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
        const size_t close = text[i] == '{' ? text.find('}', i) : std::string::npos;
        const std::string inner = close == std::string::npos ? "" : text.substr(i + 1, close - i - 1);
        const bool option = !inner.empty() &&
                            inner.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") == std::string::npos &&
                            inner[0] >= 'a' && inner[0] <= 'z';
        if (!option) {
            out += text[i];
            continue;
        }
        out += name(inner);
        i = close;
    }
    return out;
}

inline std::string quoted_option(const std::string& option) { return "'" + option + "'"; }

// The one error type cvtl's library code throws. The message is a single line that names
// the file or dataset involved, what was expected, what was found and, where possible, the fix.
class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message)
        : std::runtime_error(render_options(message, quoted_option)), message_(message) {}
    // The message with its {option} concepts, for a front end to render.
    const std::string& message() const { return message_; }

private:
    std::string message_;
};

// A broken invariant of cvtl itself, never of its input: the CLI reports it as an internal error
// (exit 3, "please report it") with the source file and line, where an Error is the user's to fix
// (exit 1). Raised through CVTL_ASSERT and CVTL_INTERNAL only.
class InternalError : public std::logic_error {
public:
    using std::logic_error::logic_error;
};

[[noreturn]] inline void internal_failure(const std::string& what, const char* file, int line) {
    throw InternalError(what + " (" + file + ":" + std::to_string(line) + ")");
}

}  // namespace cvtl

// CVTL_ASSERT(condition): an invariant that only a bug in cvtl can break.
#define CVTL_ASSERT(condition) \
    ((condition) ? static_cast<void>(0) : ::cvtl::internal_failure("assertion failed: " #condition, __FILE__, __LINE__))
// CVTL_INTERNAL(message): the same, for a failure found by other means than one condition.
#define CVTL_INTERNAL(message) ::cvtl::internal_failure(message, __FILE__, __LINE__)
