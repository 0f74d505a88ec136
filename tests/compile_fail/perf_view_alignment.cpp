// A perf buffer view of an event that needs 8-byte alignment: perf samples are 4-byte
// aligned, so it cannot be read in place; rejected with what to use instead.
#include <libbpfcpp/libbpfcpp.hpp>

#include <cstdint>

struct Aligned4 {
    std::uint32_t pid;
    std::uint32_t len;
};
struct Aligned8 {
    std::uint64_t ts;
    std::uint32_t pid;
};

void read(bpf::PerfBuffer& pb) {
#ifdef ACCEPTED
    auto v = pb.view<Aligned4>();
#else
    auto v = pb.view<Aligned8>();  // rejected here
#endif
    for (const auto& e : v) (void)e;
}
