// Kernel tests through generated skeletons: tricky.skel.hpp (tests/skeleton/bpf/tricky.bpf.c,
// every BTF construct the generator translates), linked.skel.hpp (two objects linked into
// one by the generator) and the skeletons of the project's objects.
#include <catch2/catch.hpp>

#include <libbpfcpp/ring_buffer.hpp>

#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "harness.hpp"
#include "linked.skel.hpp"
#include "minimal.skel.hpp"
#include "tcpconnect.skel.hpp"
#include "tricky.skel.hpp"

namespace {

void trigger(int times = 1) {
    for (int i = 0; i < times; ++i) syscall(SYS_getppid);
}

std::uint32_t self() { return static_cast<std::uint32_t>(getpid()); }

std::string own_comm() {
    std::ifstream f("/proc/self/comm");
    std::string s;
    std::getline(f, s);
    return s;
}

// The tracepoint fires for every thread of every process; the tests filter on their own pid
// through .rodata, which is what the first case checks.
tricky::Skeleton load_filtered(std::uint32_t pid, std::uint32_t multiplier = 1) {
    auto open = tricky::Skeleton::open();
    open.rodata().filter_pid = pid;
    open.rodata_consts().multiplier = multiplier;
    tricky::Skeleton skel = std::move(open).load();
    skel.attach();
    return skel;
}

}  // namespace

TEST_CASE("skeleton: .rodata set before load decides what the program does", "[skeleton]") {
    if (geteuid() != 0) SKIP_TEST("needs root to load BPF programs");
    SECTION("filtering on this process counts its calls, times the custom .rodata multiplier") {
        auto skel = load_filtered(self(), 3);
        CHECK(skel.rodata().filter_pid == self());
        CHECK(skel.rodata_consts().multiplier == 3);
        CHECK(skel.rodata_consts().rodata_pair.a == 7);
        trigger(2);
        CHECK(skel.bss().hits == 6);
        CHECK(skel.maps.results.lookup(1).has_value());
    }
    SECTION("filtering on a pid that does not exist leaves everything untouched") {
        auto skel = load_filtered(0x7ffffff0);
        trigger(2);
        CHECK(skel.bss().hits == 0);
        CHECK_FALSE(skel.maps.results.lookup(1).has_value());
    }
}

TEST_CASE("skeleton: .data, .bss and custom .data.NAME sections are live after load", "[skeleton]") {
    if (geteuid() != 0) SKIP_TEST("needs root to load BPF programs");
    auto open = tricky::Skeleton::open();
    CHECK(open.data().data_counter == 5);  // initial values from the object
    CHECK(std::string(open.data().data_tag) == "ab");
    open.rodata().filter_pid = self();
    open.data().data_counter = 40;  // before load: becomes the initial value
    auto skel = std::move(open).load();
    skel.attach();
    CHECK(skel.data().data_counter == 40);
    CHECK(skel.data_custom().custom_hits == 100);
    CHECK(skel.data_custom().custom_padded.a == 1);
    CHECK(skel.data_custom().custom_padded.c == 3);

    skel.data().data_counter = 50;  // after load: written into the kernel's map
    skel.data_custom().custom_hits = 1000;
    skel.data_other().second_custom = 4242;
    trigger();
    CHECK(skel.data().data_counter == 51);
    CHECK(skel.data_custom().custom_hits == 1001);
    CHECK(skel.data_custom().custom_padded.b == 1);  // from a static variable between them
    CHECK(skel.module().global<std::uint64_t>("custom_hits") == 1001);  // the same memory as the string API
    auto v = skel.maps.new_.lookup(tricky::point_t{self(), 8});
    REQUIRE(v.has_value());
    CHECK(*v == 4242u);
}

TEST_CASE("skeleton: typed maps read what the program wrote, field by field", "[skeleton]") {
    if (geteuid() != 0) SKIP_TEST("needs root to load BPF programs");
    auto skel = load_filtered(self());
    trigger();
    std::optional<tricky::tricky> got = skel.maps.results.lookup(1);
    REQUIRE(got.has_value());
    const tricky::tricky& t = *got;
    CHECK(t.pad.a == 'A');
    CHECK(t.pad.b == 0x1122334455667788ULL);
    CHECK(t.pad.c == -3);
    CHECK(t.bits.lo == 5u);
    CHECK(t.bits.mid == 17u);
    CHECK(t.bits.hi == 0xABCDEFu);
    CHECK(t.bits.flag == 1u);
    CHECK(t.bits.wide == 0x123456789AULL);
    CHECK(t.bits.tail == 0xBEEF);
    CHECK(t.bits.neg == -2);
    CHECK(t.bits.kind == tricky::E2_B);
    CHECK(t.nested.kind == 9u);
    CHECK(t.nested.lo == 0x11111111u);  // members of an anonymous struct in an anonymous union
    CHECK(t.nested.hi == 0x22222222u);
    CHECK(t.nested.as_u64 == 0x2222222211111111ULL);
    CHECK(t.nested.bytes.last == 0x22);
    CHECK(t.nested.inner.x == -7);
    CHECK(t.nested.inner.z == 0x1234);
    for (unsigned i = 0; i < 3; ++i) {
        CHECK(t.pairs[i].a == i + 1);
        CHECK(t.pairs[i].b == (i + 1) * 1000);
    }
    CHECK(t.v1 == tricky::E1_B);
    CHECK(t.v2 == tricky::E2_B);
    CHECK(t.v4 == tricky::E4_NEG);
    CHECK(t.v8 == tricky::E8_A);
    CHECK(t.chained == self());
    // Read packed members by value (unary +): Catch2 binds its operands to references,
    // and a reference to a misaligned member is undefined behaviour.
    CHECK(+t.packed.a == 0x5A);
    CHECK(+t.packed.b == 0xDEADBEEFu);
    CHECK(+t.packed.c == 0x7777);
    CHECK(t.aligned.a == 99u);
    CHECK(t.kw.class_ == 1);
    CHECK(t.kw.new_ == 2);
    CHECK(t.kw.this_ == 3);
    CHECK(t.kw.template_ == 4);
    CHECK(t.kw.and_ == 5);
    CHECK(t.kw.namespace_ == 6);
    CHECK(t.node.id == 77u);
    CHECK(t.node.next == 0x1000u);  // a pointer, kept as its integer value
    CHECK(t.node.fn == 0u);
    CHECK(std::string(t.name) == "abcd");

    CHECK(skel.maps.percpu_hits.sum(0) == 1u);
    CHECK(skel.maps.results.size() == 1u);
}

TEST_CASE("skeleton: ring buffer events decoded with the generated type", "[skeleton]") {
    if (geteuid() != 0) SKIP_TEST("needs root to load BPF programs");
    auto skel = load_filtered(self());
    std::vector<tricky::tricky_event> events;
    // The skeleton's member names the map: no string to misspell.
    auto& rb = skel.module().ring_buffer(skel.maps.events, [&](const tricky::tricky_event& e) { events.push_back(e); });
    trigger(3);
    REQUIRE(testing::wait_until([&] {
        rb.poll(std::chrono::milliseconds(10));
        return events.size() >= 3;
    }));
    REQUIRE(events.size() == 3);
    const std::string comm = own_comm();
    for (std::size_t i = 0; i < events.size(); ++i) {
        CHECK(events[i].seq == i + 1);
        CHECK(events[i].hits == i + 1);
        CHECK(events[i].pid == self());
        CHECK(events[i].kind == tricky::E2_B);
        CHECK(std::string(events[i].comm) == comm);
    }
}

TEST_CASE("skeleton: a buffer on another module's map is refused with the reason", "[skeleton]") {
    if (geteuid() != 0) SKIP_TEST("needs root to load BPF programs");
    auto skel = load_filtered(self());
    auto other = load_filtered(self());
    CHECK_THROWS_WITH(skel.module().ring_buffer(other.maps.events),
                      Catch::Matchers::Contains("creating a ring buffer on map 'events'") &&
                          Catch::Matchers::Contains("belongs to another module"));
    auto& rb = skel.module().ring_buffer(skel.maps.events);
    CHECK(rb.name() == "events");
}

TEST_CASE("skeleton: maps and programs are configured through members before load", "[skeleton]") {
    if (geteuid() != 0) SKIP_TEST("needs root to load BPF programs");
    auto open = tricky::Skeleton::open();
    open.maps.results.set_max_entries(2);
    open.progs.typename_.set_autoload(false);
    CHECK(open.maps.new_.name() == "new");
    auto skel = std::move(open).load();
    CHECK(skel.maps.results.map().max_entries() == 2u);
    CHECK_FALSE(skel.progs.typename_.autoload());
    CHECK(skel.progs.on_getppid.fd() >= 0);
    skel.attach();  // skips the program that was not loaded
    // The skeleton moves with its handles valid (they point into the module's heap state).
    tricky::Skeleton moved = std::move(skel);
    moved.bss().hits = 0;
    CHECK(moved.maps.results.size() == 0u);
}

TEST_CASE("skeleton: opening another object fails naming what is missing", "[skeleton]") {
    CHECK_THROWS_WITH(tricky::Skeleton::open_file(TEST_BPF_DIR "/basic.bpf.o"),
                      Catch::Contains("'results' not found"));
}

TEST_CASE("skeleton: two objects linked into one skeleton share maps, functions and sections", "[skeleton]") {
    if (geteuid() != 0) SKIP_TEST("needs root to load BPF programs");
    auto open = linked::Skeleton::open();
    open.rodata().filter_pid = self();
    // link_lib's .data, set before load: the step its function adds per call.
    open.data().lib_step = 7;
    linked::Skeleton skel = std::move(open).load();
    skel.attach();
    trigger(3);
    // link_main's own map and .bss.
    CHECK(skel.maps.seen.lookup(self()) == std::optional<linked::__u64>(3));
    CHECK(skel.bss().main_hits == 3u);
    // link_lib's map, written by its function called from link_main's program: 3 calls of
    // lib_step times weight(), which is link_main's strong definition (10), not link_lib's
    // weak one (1).
    CHECK(skel.maps.counts.lookup(0) == std::optional<linked::__u64>(3 * 7 * 10));
    CHECK(skel.maps.counts.lookup(1) == std::optional<linked::__u64>(self()));
    CHECK(skel.bss().lib_calls == 3u);
    // One .bss for both objects, in the order they were linked.
    static_assert(offsetof(linked::Bss, lib_calls) < offsetof(linked::Bss, main_hits));
}

TEST_CASE("skeleton: the project's objects through their skeletons", "[skeleton]") {
    if (geteuid() != 0) SKIP_TEST("needs root to load BPF programs");
    SECTION("minimal: the typed map holds the exec the program saw") {
        auto skel = minimal::Skeleton::open().load();
        skel.progs.on_exec.attach_tracepoint("sched", "sched_process_exec");
        // /bin/true, or this binary listing its test names where there is no /bin/true
        // (the qemu guest's initramfs); the comm is the file name either way.
        const bool have_true = access("/bin/true", X_OK) == 0;
        const char* path = have_true ? "/bin/true" : "/proc/self/exe";
        const std::string comm = have_true ? "true" : "exe";
        pid_t child = fork();
        if (child == 0) {
            execl(path, path, "--list-test-names-only", static_cast<char*>(nullptr));
            _exit(127);
        }
        REQUIRE(child > 0);
        int status = 0;
        waitpid(child, &status, 0);
        REQUIRE(WIFEXITED(status));
        REQUIRE(WEXITSTATUS(status) != 127);
        auto seen = skel.maps.execs.lookup(static_cast<std::uint32_t>(child));
        REQUIRE(seen.has_value());
        CHECK(seen->count == 1u);
        CHECK(seen->ppid == self());
        CHECK(std::string(seen->comm) == comm);
    }
    SECTION("tcpconnect: globals and maps by name, events typed") {
        auto open = tcpconnect::Skeleton::open();
        open.rodata().filter_pid = 42;
        open.maps.events.set_max_entries(1 << 16);
        // This kernel refuses fentry/fexit; only the tracepoint strategy is loaded.
        for (bpf::Prog p : open.module().programs()) p.set_autoload(false);
        open.progs.tp_inet_sock_set_state.set_autoload(true);
        CHECK(open.module().global<std::uint32_t>("filter_pid") == 42u);
        static_assert(std::is_same_v<decltype(tcpconnect::Skeleton::Maps::pending),
                                     bpf::TypedMap<tcpconnect::__u64, tcpconnect::tcpconnect_event>>);
        auto skel = std::move(open).load();
        CHECK(skel.rodata().filter_pid == 42u);
        CHECK(skel.maps.events.max_entries() == 1u << 16);
        CHECK(skel.maps.pending.size() == 0u);
    }
}

TEST_CASE("skeleton: a section view of the wrong size or a missing section throws", "[skeleton]") {
    auto open = tricky::Skeleton::open();
    struct Wrong {
        char bytes[3];
    };
    CHECK_THROWS_WITH(bpf::section_view<Wrong>(open.module(), ".bss"),
                      Catch::Contains(".bss") && Catch::Contains("regenerate the skeleton"));
    CHECK_THROWS_WITH(bpf::section_view<tricky::Bss>(open.module(), ".data.nosuch"),
                      Catch::Contains("no such section"));
    // The generated struct is the section rounded up to its alignment.
    CHECK(&bpf::section_view<tricky::Bss>(open.module(), ".bss") == &open.bss());
}

TEST_CASE("skeleton: a moved-from skeleton throws instead of dangling", "[skeleton]") {
    const auto moved_from = [](const char* type) {
        return Catch::Matchers::Contains(std::string("use of a moved-from tricky::") + type);
    };
    SECTION("an open skeleton moved away") {
        auto open = tricky::Skeleton::open();
        {
            auto other = std::move(open);
            CHECK(other.data().data_counter == 5);
        }
        CHECK_THROWS_WITH(open.data(), moved_from("OpenSkeleton"));
        CHECK_THROWS_WITH(open.rodata(), moved_from("OpenSkeleton"));
        CHECK_THROWS_WITH(open.module(), moved_from("OpenSkeleton"));
        CHECK_THROWS_WITH(std::move(open).load(), moved_from("OpenSkeleton"));
    }
    if (geteuid() != 0) SKIP_TEST("needs root to load BPF programs");
    SECTION("an open skeleton used up by load()") {
        auto open = tricky::Skeleton::open();
        open.rodata().filter_pid = self();
        auto skel = std::move(open).load();
        CHECK_THROWS_WITH(open.rodata(), moved_from("OpenSkeleton"));
        CHECK_THROWS_WITH(open.bss(), moved_from("OpenSkeleton"));
        CHECK(skel.rodata().filter_pid == self());
    }
    SECTION("a loaded skeleton moved into one that is destroyed") {
        auto a = load_filtered(self());
        {
            auto b = std::move(a);
            trigger();
            CHECK(b.bss().hits == 1);
        }
        CHECK_THROWS_WITH(a.bss(), moved_from("Skeleton"));
        CHECK_THROWS_WITH(a.rodata(), moved_from("Skeleton"));
        CHECK_THROWS_WITH(a.data_custom(), moved_from("Skeleton"));
        CHECK_THROWS_WITH(a.module(), moved_from("Skeleton"));
        CHECK_THROWS_WITH(a.attach(), moved_from("Skeleton"));
        a = load_filtered(self());  // assigned again: usable again
        trigger();
        CHECK(a.bss().hits == 1);
    }
}
