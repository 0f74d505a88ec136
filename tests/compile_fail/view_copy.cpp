// A view cannot leave its scope: copying (or moving) it out is rejected, so its records
// stay valid exactly as long as the references taken from it.
#include <libbpfcpp/libbpfcpp.hpp>

#include <cstdint>
#include <utility>

struct Event {
    std::uint32_t pid;
};

void read(bpf::RingBuffer& rb) {
    auto v = rb.view<Event>();
#ifdef ACCEPTED
    const auto& same = v;
    (void)same;
#else
    auto escaped = std::move(v);  // rejected here
    (void)escaped;
#endif
}
