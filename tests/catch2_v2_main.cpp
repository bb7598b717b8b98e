// The Catch2 v2 runner's main(); Catch2 v3 brings its own through catch2-with-main.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
