// Unit: the toolkit's histograms print what bcc's libbpf-tools print for the same slots
// (expected text written out from their printf formats: header, ranges, counts, bars).
#include <catch2/catch.hpp>

#include <libbpfcpp/tools/histogram.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

using bpf::tools::linear_histogram;
using bpf::tools::log2_histogram;

TEST_CASE("log2 histogram: header, ranges from 0 -> 1, counts and 40-column bars") {
    const std::array<std::uint32_t, 26> slots{0, 1, 4, 2, 0, 8};
    const std::string want =
        "     usecs               : count    distribution\n"
        "         0 -> 1          : 0        |                                        |\n"
        "         2 -> 3          : 1        |*****                                   |\n"
        "         4 -> 7          : 4        |********************                    |\n"
        "         8 -> 15         : 2        |**********                              |\n"
        "        16 -> 31         : 0        |                                        |\n"
        "        32 -> 63         : 8        |****************************************|\n";
    CHECK(log2_histogram(slots, "usecs") == want);
}

TEST_CASE("log2 histogram: 64-bit slots, a slot of 1 at index 0, nothing for all zeros") {
    const std::vector<std::uint64_t> one{3};
    CHECK(log2_histogram(one, "bytes") ==
          "     bytes               : count    distribution\n"
          "         0 -> 1          : 3        |****************************************|\n");
    const std::array<std::uint32_t, 4> none{};
    CHECK(log2_histogram(none, "usecs").empty());
}

TEST_CASE("log2 histogram: past slot 32 the columns widen and the bar is 20 wide") {
    std::vector<std::uint32_t> slots(40, 0);
    slots[33] = 2;
    slots[34] = 1;
    const std::string text = log2_histogram(slots, "nsecs");
    const std::string header = std::string(15, ' ') + "nsecs" + std::string(24, ' ') + " : count    distribution\n";
    REQUIRE(text.substr(0, header.size()) == header);
    CHECK(text.find("                   0 -> 1                    : 0        |                    |\n") !=
          std::string::npos);
    CHECK(text.find("          8589934592 -> 17179869183          : 2        |********************|\n") !=
          std::string::npos);
    CHECK(text.find("         17179869184 -> 34359738367          : 1        |**********          |\n") !=
          std::string::npos);
}

TEST_CASE("linear histogram: rows from base by step, empty slots left out") {
    const std::array<std::uint32_t, 6> slots{0, 5, 0, 10, 1, 0};
    const std::string want =
        "     msecs         : count     distribution\n"
        "        110        : 5        |********************                    |\n"
        "        130        : 10       |****************************************|\n"
        "        140        : 1        |****                                    |\n";
    CHECK(linear_histogram(slots, 100, 10, "msecs") == want);
    CHECK(linear_histogram(std::array<std::uint32_t, 2>{}, 0, 1, "x").empty());
}
