// Iterating a 1M-entry hash map: the per-key way of libbpfgo/cilium (get_next_key +
// lookup, two syscalls per entry) against libbpfcpp's batch-backed reads, with raw
// libbpf C doing each the same way as the reference. Ratios are the figures; absolute
// times on a shared machine are noise.
#include <libbpfcpp/standalone_map.hpp>
#include <libbpfcpp/typed_map.hpp>

#include <bpf/bpf.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double best_ms(int rounds, const std::function<std::size_t()>& fn, std::size_t expect) {
    double best = 1e300;
    for (int r = 0; r < rounds; ++r) {
        auto t0 = Clock::now();
        std::size_t n = fn();
        double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
        if (n != expect) {
            std::fprintf(stderr, "read %zu entries, expected %zu\n", n, expect);
            std::exit(1);
        }
        best = std::min(best, ms);
    }
    return best;
}

/// Raw libbpf, per key: what a Go/C loader does with the key iterator.
std::size_t raw_per_key(int fd) {
    std::uint32_t key = 0, next = 0;
    std::uint64_t value = 0, sum = 0;
    std::size_t n = 0;
    const void* prev = nullptr;
    while (bpf_map_get_next_key(fd, prev, &next) == 0) {
        if (bpf_map_lookup_elem(fd, &next, &value) == 0) {
            sum += value;
            ++n;
        }
        key = next;
        prev = &key;
    }
    if (sum == 0) std::fprintf(stderr, "unexpected sum\n");
    return n;
}

/// Raw libbpf, batches of `chunk`.
std::size_t raw_batch(int fd, std::uint32_t chunk) {
    std::vector<std::uint32_t> keys(chunk);
    std::vector<std::uint64_t> values(chunk);
    std::uint32_t token = 0;
    std::size_t n = 0;
    bool first = true;
    for (;;) {
        std::uint32_t count = chunk;
        int ret = bpf_map_lookup_batch(fd, first ? nullptr : &token, &token, keys.data(), values.data(), &count, nullptr);
        n += count;
        first = false;
        if (ret != 0) break;  // ENOENT: the end
    }
    return n;
}

}  // namespace

int main(int argc, char** argv) {
    const std::uint32_t entries = argc > 1 ? static_cast<std::uint32_t>(std::strtoul(argv[1], nullptr, 10)) : 1'000'000;
    const int rounds = argc > 2 ? std::atoi(argv[2]) : 3;
    auto map = bpf::StandaloneMap::create(BPF_MAP_TYPE_HASH, "bench_iter", 4, 8, entries);
    {
        std::vector<std::uint32_t> keys(entries);
        std::vector<std::uint64_t> values(entries);
        for (std::uint32_t i = 0; i < entries; ++i) {
            keys[i] = i * 2654435761u;  // spread over the buckets
            values[i] = i + 1;
        }
        std::size_t done = 0;
        while (done < entries) {
            std::size_t n = std::min<std::size_t>(65536, entries - done);
            map.update_batch<std::uint32_t, std::uint64_t>(std::span(keys).subspan(done, n),
                                                           std::span(values).subspan(done, n));
            done += n;
        }
    }
    const int fd = map.fd();
    std::vector<std::uint32_t> ks;
    std::vector<std::uint64_t> vs;

    double per_key_raw = best_ms(rounds, [&] { return raw_per_key(fd); }, entries);
    double per_key_lib = best_ms(rounds, [&] {
        map.read_all(ks, vs, bpf::ReadMethod::PerKey);
        return ks.size();
    }, entries);
    double batch_raw = best_ms(rounds, [&] { return raw_batch(fd, 16384); }, entries);
    double batch_lib = best_ms(rounds, [&] {
        map.read_all(ks, vs);  // Auto: batches on this kernel
        return ks.size();
    }, entries);
    bpf::TypedMap<std::uint32_t, std::uint64_t, bpf::StandaloneMap> typed(std::move(map));
    double typed_iter = best_ms(rounds, [&] {
        std::size_t n = 0;
        std::uint64_t sum = 0;
        for (const auto& [k, v] : typed) {
            sum += v;
            ++n;
        }
        return sum != 0 ? n : 0;
    }, entries);

    std::printf("iterating a %u-entry hash map (best of %d)\n", entries, rounds);
    std::printf("  per key, raw libbpf (get_next_key+lookup)  %9.1f ms\n", per_key_raw);
    std::printf("  per key, libbpfcpp ReadMethod::PerKey      %9.1f ms\n", per_key_lib);
    std::printf("  batch,   raw libbpf (16384 per call)       %9.1f ms\n", batch_raw);
    std::printf("  batch,   libbpfcpp read_all / items()      %9.1f ms\n", batch_lib);
    std::printf("  batch,   libbpfcpp TypedMap range-for      %9.1f ms\n", typed_iter);
    std::printf("ratio per-key/batch (libbpfcpp items vs the libbpfgo way): %.1fx\n", per_key_raw / batch_lib);
    std::printf("ratio per-key/batch (TypedMap range-for):                  %.1fx\n", per_key_raw / typed_iter);
    std::printf("ratio libbpfcpp batch / raw libbpf batch:                  %.2f\n", batch_lib / batch_raw);
    return 0;
}
