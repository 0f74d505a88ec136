// The recipes' tool through its typed skeleton (libbpfcpp-gen): the same checks by C++ name.
#include <libbpfcpp/ring_buffer.hpp>

#include <chrono>
#include <cstdint>

#include "check.hpp"
#include "mytool.skel.hpp"

int main() {
    constexpr int n = 10;
    try {
        auto opened = mytool::Skeleton::open();
        opened.rodata().target_tgid = static_cast<std::uint32_t>(getpid());
        mytool::Skeleton skel = std::move(opened).load();
        try {
            skel.progs.on_getppid.attach();
        } catch (const bpf::Error& e) {
            std::printf("skipped: %s\n", e.what());
            return recipe::finish(1);
        }
        int seen = 0, flagged = 0;
        auto& rb = skel.module().ring_buffer(skel.maps.events, [&](const mytool::event& e) {
            seen += e.pid == static_cast<std::uint32_t>(getpid());
            flagged += e.flag == recipe::expected_flag;
        });
        recipe::trigger(n);
        rb.poll(std::chrono::milliseconds(1000));
        recipe::check(seen == n, "an event per getppid(), from this process", seen, n);
        recipe::check(flagged == n, "each with the flag of the extra clang flag", flagged, n);
        const mytool::event last = skel.bss().last_event;
        recipe::check(last.pid == static_cast<std::uint32_t>(getpid()), "the mapped .bss holds the last event",
                      last.pid, static_cast<std::uint32_t>(getpid()));
    } catch (const bpf::Error& e) {
        std::printf("FAILED: %s\n", e.what());
        ++recipe::failed;
    }
    return recipe::finish();
}
