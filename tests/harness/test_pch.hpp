// The headers every test file includes, compiled once per build and shared by the test
// files whose compile line matches (g++ only; tests/meson.build): ~1.5 s of each file's
// parse. A test file still includes what it uses, so it compiles without this.
#include <catch2/catch.hpp>
#include <libbpfcpp/libbpfcpp.hpp>
