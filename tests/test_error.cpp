// The error contract's two kinds: cvtl::Error (the user's to fix, exit 1) and InternalError (a bug, exit 3).
#include "pipeline/core/error.hpp"

#include <doctest/doctest.h>

using namespace cvtl;

TEST_SUITE("unit") {
    TEST_CASE("CVTL_ASSERT and CVTL_INTERNAL raise internal errors naming the source line - not input errors") {
        CHECK_NOTHROW(CVTL_ASSERT(1 + 1 == 2));
        CHECK_THROWS_WITH_AS(CVTL_ASSERT(1 + 1 == 3),
                             doctest::Contains("assertion failed: 1 + 1 == 3 (tests/test_error.cpp:"), InternalError);
        CHECK_THROWS_WITH_AS(CVTL_INTERNAL("a bucket was not filled"), doctest::Contains("a bucket was not filled ("),
                             InternalError);
        bool caught_as_input_error = false;
        try {
            CVTL_INTERNAL("x");
        } catch (const Error&) {
            caught_as_input_error = true;
        } catch (const std::exception&) {}
        CHECK_FALSE(caught_as_input_error);  // the CLI's exit 1 branch never sees it; its std::exception branch exits 3
    }

}  // TEST_SUITE
