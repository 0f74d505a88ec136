// The cost of serving a ring buffer from an asio io_context: consumer CPU per event of a
// coroutine awaiting bpf::asio::RingSource, against bpf::EventLoop::run() and against
// libbpf C's ring_buffer__poll() loop (ref_libbpf.c), at the same event rate, in one run.
//
//   sudo ./build/bench/events/bench_events_asio [--rate EV_PER_S] [--chunk N] [--rounds N]
//                                              [--ms MS] [--max-events N]
//
// A producer pinned to CPU 0 writes --chunk events (84 bytes) at a time, paced to --rate
// events per second, for --ms per round; the consumer, pinned to CPU 1, is one of the three
// loops. Its CPU time (CLOCK_THREAD_CPUTIME_ID of the consumer thread, so the producer and
// the set-up do not count) divided by the events it delivered is the figure; each round
// runs the three in turn (odd rounds in reverse order) and the ratios are taken within a
// round. Every event must arrive (a lost one fails the run): the rate is one all three keep up with.
#include <libbpfcpp/asio.hpp>
#include <libbpfcpp/libbpfcpp.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>

#include <bpf/bpf.h>
#include <sched.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "ref_libbpf.h"
#include "stream.bpf.hpp"
#include "stream.h"

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int producer_cpu = 0;
constexpr int consumer_cpu = 1;

void pin(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) {
        std::perror("sched_setaffinity");
        std::exit(1);
    }
}

double thread_cpu_ns() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

void produce(const bpf::Module& mod, std::uint32_t count) {
    std::uint64_t args[2] = {count, TARGET_RING};
    LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = args, .ctx_size_in = sizeof args);
    if (bpf_prog_test_run_opts(mod.program("produce").fd(), &opts) != 0) {
        std::perror("BPF_PROG_TEST_RUN");
        std::exit(1);
    }
}

bpf::Module open_stream() {
    auto mod = bpf::Module::open_memory(bpf_objects::stream());
    mod.map("events").set_max_entries(16u << 20);
    mod.load();
    return mod;
}

struct Settings {
    double rate = 100000;     // events per second
    std::uint32_t chunk = 8;  // events per producer run
    int rounds = 7;
    int ms = 1000;
    std::size_t max_events = 256;  // RingSource's bound per operation
};

struct Result {
    double cpu_ns_per_event = 0;
    double rate = 0;  // delivered per second
};

// One style: set up on the consumer thread, serve until `producing` ends, then take the rest.
struct Style {
    const char* name;
    // Runs on the consumer thread and returns the events delivered. It sets `stop` to
    // what ends its loop (called from the producer's thread), then calls `ready` right
    // before it starts serving: the CPU time is counted from there.
    std::function<std::uint64_t(bpf::Module&, std::function<void()>& stop, const std::function<void()>& ready)> serve;
};

std::uint64_t serve_libbpf(bpf::Module& mod, std::function<void()>& stop, const std::function<void()>& ready) {
    ref_ring* r = ref_ring_new(mod.map("events").fd());
    if (r == nullptr) throw std::runtime_error("ring_buffer__new failed");
    std::atomic<bool> run{true};
    stop = [&] { run.store(false, std::memory_order_relaxed); };
    ready();
    while (run.load(std::memory_order_relaxed)) ref_ring_poll(r, 100);
    ref_ring_consume(r);
    const std::uint64_t n = ref_ring_stats(r)->count;
    ref_ring_free(r);
    return n;
}

std::uint64_t serve_event_loop(bpf::Module& mod, std::function<void()>& stop, const std::function<void()>& ready) {
    std::uint64_t n = 0, sum = 0;
    auto& rb = mod.ring_buffer("events", [&](const stream_event& e) {
        ++n;
        sum += e.seq;
    });
    bpf::EventLoop loop;
    loop.add(rb);
    stop = [&] { loop.stop(); };
    ready();
    loop.run();
    rb.consume();
    mod.close(rb);
    return n + (sum & 0);
}

std::uint64_t serve_asio(bpf::Module& mod, std::function<void()>& stop, const std::function<void()>& ready,
                         std::size_t max_events) {
    std::uint64_t n = 0, sum = 0;
    auto& rb = mod.ring_buffer("events", [&](const stream_event& e) {
        ++n;
        sum += e.seq;
    });
    {
        asio::io_context io(1);
        bpf::asio::SourceOptions o;
        o.max_events = max_events;
        bpf::asio::RingSource src(io, rb, o);
        bool stopping = false;  // a cancel() that finds the operation completing is for the next one
        stop = [&] {
            asio::post(io, [&] {
                stopping = true;
                src.cancel();
            });
        };
        asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
                while (!stopping) {
                    auto [ec, d] = co_await src.async_consume(asio::experimental::as_tuple(asio::use_awaitable));
                    if (ec) co_return;
                }
            },
            asio::detached);
        ready();
        io.run();
    }
    rb.consume();
    mod.close(rb);
    return n + (sum & 0);
}

Result run_one(const Style& style, const Settings& s) {
    auto mod = open_stream();
    std::function<void()> stop;
    std::atomic<bool> serving{false};
    std::uint64_t delivered = 0;
    double cpu0 = 0, cpu_ns = 0;
    std::thread consumer([&] {
        pin(consumer_cpu);
        delivered = style.serve(mod, stop, [&] {
            cpu0 = thread_cpu_ns();
            serving.store(true, std::memory_order_release);
        });
        cpu_ns = thread_cpu_ns() - cpu0;
    });
    while (!serving.load(std::memory_order_acquire)) std::this_thread::sleep_for(1ms);
    std::this_thread::sleep_for(10ms);  // the loop is waiting
    pin(producer_cpu);
    const std::uint64_t seq0 = mod.global<std::uint64_t>("next_seq");
    const auto period = std::chrono::duration<double>(s.chunk / s.rate);
    const auto t0 = Clock::now();
    const auto end = t0 + std::chrono::milliseconds(s.ms);
    std::uint64_t k = 0;
    for (auto next = t0; next < end; ++k, next = t0 + std::chrono::duration_cast<Clock::duration>(period * k)) {
        std::this_thread::sleep_until(next);
        produce(mod, s.chunk);
    }
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    stop();
    consumer.join();
    const std::uint64_t produced = mod.global<std::uint64_t>("next_seq") - seq0;
    if (delivered != produced || mod.global<std::uint64_t>("failures") != 0) {
        std::fprintf(stderr, "%s: delivered %llu of %llu events (%llu failed writes); lower --rate\n", style.name,
                     static_cast<unsigned long long>(delivered), static_cast<unsigned long long>(produced),
                     static_cast<unsigned long long>(mod.global<std::uint64_t>("failures")));
        std::exit(1);
    }
    return {cpu_ns / static_cast<double>(delivered), static_cast<double>(delivered) / secs};
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double load_average() {
    double l[1] = {0};
    return getloadavg(l, 1) == 1 ? l[0] : -1;
}

}  // namespace

int main(int argc, char** argv) {
    Settings s;
    for (int i = 1; i < argc; ++i) {
        auto next = [&] { return i + 1 < argc ? argv[++i] : "0"; };
        if (std::strcmp(argv[i], "--rate") == 0) s.rate = std::max(1000.0, std::atof(next()));
        else if (std::strcmp(argv[i], "--chunk") == 0) s.chunk = static_cast<std::uint32_t>(std::max(1, std::atoi(next())));
        else if (std::strcmp(argv[i], "--rounds") == 0) s.rounds = std::max(1, std::atoi(next()));
        else if (std::strcmp(argv[i], "--ms") == 0) s.ms = std::max(100, std::atoi(next()));
        else if (std::strcmp(argv[i], "--max-events") == 0) s.max_events = static_cast<std::size_t>(std::max(1, std::atoi(next())));
        else {
            std::fprintf(stderr, "usage: %s [--rate EV_PER_S] [--chunk N] [--rounds N] [--ms MS] [--max-events N]\n",
                         argv[0]);
            return 2;
        }
    }
    if (bpf::num_possible_cpus() < 2) {
        std::fprintf(stderr, "needs two CPUs (producer and consumer pinned apart)\n");
        return 1;
    }
    const std::vector<Style> styles{
        {"libbpf C ring_buffer__poll loop", serve_libbpf},
        {"bpf::EventLoop::run()", serve_event_loop},
        {"asio coroutine, RingSource::async_consume",
         [&](bpf::Module& m, std::function<void()>& stop, const std::function<void()>& ready) {
             return serve_asio(m, stop, ready, s.max_events);
         }},
    };
    const double load0 = load_average();
    std::vector<std::vector<Result>> results(styles.size());
    try {
        for (int r = 0; r < s.rounds; ++r) {
            for (std::size_t k = 0; k < styles.size(); ++k) {
                const std::size_t i = r % 2 == 0 ? k : styles.size() - 1 - k;
                results[i].push_back(run_one(styles[i], s));
            }
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_events_asio: %s\n", e.what());
        return 1;
    }
    std::printf("Ring buffer served at %.0f events/s (%u-event chunks), consumer CPU per event, median of %d "
                "rounds of %d ms; load average %.2f before, %.2f after\n\n",
                s.rate, s.chunk, s.rounds, s.ms, load0, load_average());
    std::printf("| consumer | delivered ev/s | CPU ns/event | vs EventLoop | vs libbpf C |\n|---|---:|---:|---:|---:|\n");
    for (std::size_t i = 0; i < styles.size(); ++i) {
        std::vector<double> cpu, rate, vs_loop, vs_c;
        for (int r = 0; r < s.rounds; ++r) {
            const auto& x = results[i][static_cast<std::size_t>(r)];
            cpu.push_back(x.cpu_ns_per_event);
            rate.push_back(x.rate);
            vs_c.push_back(x.cpu_ns_per_event / results[0][static_cast<std::size_t>(r)].cpu_ns_per_event);
            vs_loop.push_back(x.cpu_ns_per_event / results[1][static_cast<std::size_t>(r)].cpu_ns_per_event);
        }
        std::printf("| %s | %.0f | %.0f | %.2fx | %.2fx |\n", styles[i].name, median(rate), median(cpu),
                    median(vs_loop), median(vs_c));
    }
    return 0;
}
