// The one source file of libcvtl.so itself: everything else comes from cvtl's static libraries.
// It gives the library a symbol that says which cvtl it is, for apps that load it at run time.
#include <cvtl/version.hpp>

extern "C" const char* cvtl_library_version() { return cvtl::kVersion; }
