// Catch2's implementation (the single header with CATCH_CONFIG_RUNNER), alone in its
// translation unit: it is by far the suite's largest one, and tests/meson.build compiles
// it without optimization, since its speed does not matter and at -O2 it dominated the
// build (minutes under the sanitizers). main.cpp runs the session through run_session().
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

namespace testing {

int run_session(int argc, char* argv[]) { return Catch::Session().run(argc, argv); }

}  // namespace testing
