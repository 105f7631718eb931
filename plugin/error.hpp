#pragma once
#include <stdexcept>
#include <string>

namespace cvtl {

// The one error type cvtl's library code throws. The message is a single line that names
// the file or dataset involved, what was expected, what was found and, where possible, the fix.
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace cvtl
