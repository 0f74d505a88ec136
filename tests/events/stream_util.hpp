// The stream producer (tests/events/bpf/stream.bpf.c) driven from the tests.
#pragma once

#include <libbpfcpp/libbpfcpp.hpp>

#include <bpf/bpf.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "harness.hpp"
#include "stream.bpf.hpp"
#include "stream.h"

namespace events_test {

/// The expected value of stream_event::check.
inline std::uint32_t check_of(std::uint32_t seq) { return seq * 2654435761u; }

/// True when `e` is the event with sequence number `seq`, intact.
inline bool intact(const stream_event& e, std::uint32_t seq) {
    return e.seq == seq && e.check == check_of(seq) && e.payload[0] == static_cast<std::uint8_t>(seq) &&
           e.payload[67] == static_cast<std::uint8_t>(seq >> 8) && e.payload[33] == 0;
}

/// Opens the producer object; `configure` may resize maps before load. The tests produce
/// with produce_chunk (a bounded loop: any kernel with ring buffers), not with produce
/// (bpf_loop(), 5.17); the user ring buffer and its drain program (6.1) are left out on a
/// kernel without one, whose tests then skip.
template <class Configure>
bpf::Module open_stream(Configure&& configure) {
    auto mod = bpf::Module::open_memory(bpf_objects::stream());
    mod.program("produce").set_autoload(false);
    if (!testing::feature(testing::Feature::UserRingBuf).available) {
        mod.program("drain_user").set_autoload(false);
        mod.map("to_kernel").set_autocreate(false);
    }
    configure(mod);
    mod.load();
    return mod;
}

inline bpf::Module open_stream() {
    return open_stream([](bpf::Module&) {});
}

/// Runs program `prog` once with raw_tp args {a0, a1} (BPF_PROG_TEST_RUN).
inline void run_prog(const bpf::Module& mod, const char* prog, std::uint64_t a0, std::uint64_t a1) {
    std::uint64_t args[2] = {a0, a1};
    LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = args, .ctx_size_in = sizeof args);
    int err = bpf_prog_test_run_opts(mod.program(prog).fd(), &opts);
    if (err != 0) throw std::runtime_error(std::string("BPF_PROG_TEST_RUN of ") + prog + " failed: " + std::to_string(err));
}

/// Makes the producer write `count` events to `target`, STREAM_CHUNK a run.
inline void produce(const bpf::Module& mod, std::uint32_t count, stream_target target) {
    while (count > 0) {
        const std::uint32_t n = count < STREAM_CHUNK ? count : STREAM_CHUNK;
        run_prog(mod, "produce_chunk", n, target);
        count -= n;
    }
}

inline std::uint64_t global(const bpf::Module& mod, const char* name) { return mod.global<std::uint64_t>(name); }

}  // namespace events_test
