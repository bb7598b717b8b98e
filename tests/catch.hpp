// Includes Catch2 v3 when the build found it, else Debian's Catch2 v2 single header.
#pragma once

#if defined(RECALL_CATCH2_V2)
#include <catch2/catch.hpp>
#else
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#endif
