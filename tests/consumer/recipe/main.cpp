// The recipes' tool with its object embedded (libbpfcpp-embed): attaches, makes getppid()
// calls and checks the events they produced, including the flag the recipes pass to clang.
#include <libbpfcpp/module.hpp>
#include <libbpfcpp/prog.hpp>
#include <libbpfcpp/ring_buffer.hpp>

#include <chrono>
#include <cstdint>

#include "check.hpp"
#include "mytool.bpf.hpp"
#include "mytool.h"

int main() {
    constexpr int n = 10;
    try {
        auto mod = bpf::Module::open_memory(bpf_objects::mytool());
        mod.set_global("target_tgid", static_cast<std::uint32_t>(getpid()));
        mod.load();
        try {
            mod.program("on_getppid").attach_tracepoint("syscalls", "sys_enter_getppid");
        } catch (const bpf::Error& e) {
            std::printf("skipped: %s\n", e.what());
            return recipe::finish(1);
        }
        int seen = 0, ours = 0, flagged = 0;
        auto& rb = mod.ring_buffer("events", [&](const event& e) {
            ++seen;
            ours += e.pid == static_cast<std::uint32_t>(getpid());
            flagged += e.flag == recipe::expected_flag;
        });
        recipe::trigger(n);
        rb.poll(std::chrono::milliseconds(1000));
        recipe::check(seen == n, "an event per getppid()", seen, n);
        recipe::check(ours == n, "each from this process", ours, n);
        recipe::check(flagged == n, "each with the flag of the extra clang flag", flagged, n);
    } catch (const bpf::Error& e) {
        std::printf("FAILED: %s\n", e.what());
        ++recipe::failed;
    }
    return recipe::finish();
}
