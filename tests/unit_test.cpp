// Tests that need no kernel: errors, parsing of libbpf output, options, configuration of
// an opened (not loaded) object.
#include <catch2/catch.hpp>

#include <libbpfcpp/libbpfcpp.hpp>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <type_traits>
#include <vector>

#include "basic.bpf.hpp"
#include "basic.h"
#include "harness.hpp"

using Catch::Matchers::Contains;

// The handle contract (docs/core.md, "Ownership"): Map and Prog are borrowed handles,
// copied freely and for nothing; Module and Link own kernel objects, so they move and
// never copy, and moving them cannot throw (they sit in std::vector and std::optional).
static_assert(std::is_trivially_copyable_v<bpf::Map>);
static_assert(std::is_trivially_copyable_v<bpf::Prog>);
static_assert(!std::is_copy_constructible_v<bpf::Module> && !std::is_copy_assignable_v<bpf::Module>);
static_assert(std::is_nothrow_move_constructible_v<bpf::Module> && std::is_nothrow_move_assignable_v<bpf::Module>);
static_assert(!std::is_copy_constructible_v<bpf::Link> && !std::is_copy_assignable_v<bpf::Link>);
static_assert(std::is_nothrow_move_constructible_v<bpf::Link> && std::is_nothrow_move_assignable_v<bpf::Link>);

TEST_CASE("Error carries what a call lacked as data") {
    const bpf::Error plain(EINVAL, "x");
    CHECK_FALSE(plain.missing());
    const bpf::Error e(EOPNOTSUPP, "attaching program 'p': tcx needs libbpf >= 1.3",
                       bpf::detail::missing_libbpf("tcx", 1, 3));
    REQUIRE(e.missing());
    CHECK(e.missing()->feature == "tcx");
    CHECK(e.missing()->in == bpf::Missing::Libbpf);
    CHECK(e.missing()->release == "1.3");
    CHECK(e.error_number() == EOPNOTSUPP);
    CHECK(e.message() == "attaching program 'p': tcx needs libbpf >= 1.3");
}

TEST_CASE("Error keeps errno, operation, object and cause") {
    bpf::Error e(EPERM, bpf::detail::describe("loading object", "x", "needs root"));
    CHECK(e.code() == std::errc::operation_not_permitted);
    CHECK(e.error_number() == EPERM);
    CHECK(e.message() == "loading object 'x': needs root");
    CHECK_THAT(e.what(), Contains("loading object 'x': needs root"));
    CHECK(e.verifier_log().empty());
    const std::system_error& base = e;  // catchable as std::system_error
    CHECK(base.code().value() == EPERM);
}

TEST_CASE("verifier log is found in libbpf output") {
    std::string text =
        "libbpf: prog 'bad': BPF program load failed: Permission denied\n"
        "libbpf: prog 'bad': -- BEGIN PROG LOAD LOG --\n"
        "0: R1=ctx() R10=fp0\n"
        "1: invalid mem access 'map_value_or_null'\n"
        "-- END PROG LOAD LOG --\n"
        "libbpf: prog 'bad': failed to load: -13\n";
    auto found = bpf::detail::find_verifier_log(text);
    REQUIRE(found);
    CHECK(found->first == "bad");
    CHECK(found->second == "0: R1=ctx() R10=fp0\n1: invalid mem access 'map_value_or_null'\n");
    CHECK_FALSE(bpf::detail::find_verifier_log("libbpf: nothing to see\n"));
}

TEST_CASE("tail_lines and libbpf_warnings keep the last lines") {
    CHECK(bpf::detail::tail_lines("a\nb\nc\n", 2) == "b\nc");
    CHECK(bpf::detail::tail_lines("a\nb\nc", 5) == "a\nb\nc");
    CHECK(bpf::detail::tail_lines("", 3).empty());
    CHECK(bpf::detail::libbpf_warnings("libbpf: one\nlibbpf: two\nlibbpf: three\n", 2) == "two; three");
}

TEST_CASE("library and libbpf versions are reported") {
    CHECK(bpf::libbpf_major_version() >= 1);
    CHECK(bpf::libbpf_version_string().substr(0, 1) == "v");
    CHECK(bpf::libbpf_version_string() ==
          "v" + std::to_string(bpf::libbpf_major_version()) + "." + std::to_string(bpf::libbpf_minor_version()));
    CHECK(bpf::libbpf_at_least(1, 0));
    CHECK_FALSE(bpf::libbpf_at_least(99, 0));
    CHECK_FALSE(bpf::version.empty());
}

TEST_CASE("an opened object lists its maps and programs") {
    auto mod = bpf::Module::open_memory(bpf_objects::basic());
    CHECK(mod.name() == "basic");
    CHECK_FALSE(mod.loaded());
    std::vector<std::string> maps, progs;
    for (const auto& m : mod.maps()) maps.emplace_back(m.name());
    for (const auto& p : mod.programs()) progs.emplace_back(p.name());
    CHECK(std::count(maps.begin(), maps.end(), "counts") == 1);
    CHECK(std::count(maps.begin(), maps.end(), "records") == 1);
    CHECK(std::count(progs.begin(), progs.end(), "on_getppid") == 1);
    CHECK(std::count(progs.begin(), progs.end(), "on_add_ret") == 1);

    auto counts = mod.map("counts");
    CHECK(counts.type() == BPF_MAP_TYPE_HASH);
    CHECK(counts.key_size() == 4);
    CHECK(counts.value_size() == 8);
    CHECK(counts.max_entries() == 128);
    CHECK(counts.fd() < 0);
    CHECK_FALSE(counts.per_cpu());
    CHECK(mod.map("pcpu").per_cpu());
    CHECK(mod.map(".rodata").internal());

    auto prog = mod.program("on_getppid");
    CHECK(prog.section() == "tracepoint/syscalls/sys_enter_getppid");
    CHECK(prog.type() == BPF_PROG_TYPE_TRACEPOINT);
    CHECK(prog.autoload());
    CHECK(prog.fd() < 0);
}

TEST_CASE("object_name overrides the object's name") {
    bpf::OpenOptions o;
    o.object_name = "renamed";
    auto mod = bpf::Module::open_memory(bpf_objects::basic(), o);
    CHECK(mod.name() == "renamed");
}

TEST_CASE("unknown map and program names list what exists") {
    auto mod = bpf::Module::open_memory(bpf_objects::basic());
    try {
        (void)mod.map("nope");
        FAIL("no exception");
    } catch (const bpf::Error& e) {
        CHECK(e.error_number() == ENOENT);
        CHECK_THAT(e.what(), Contains("map 'nope' not found in object 'basic'"));
        CHECK_THAT(e.what(), Contains("maps in this object:"));
        CHECK_THAT(e.what(), Contains("counts"));
        CHECK_THAT(e.what(), Contains("records"));
    }
    try {
        (void)mod.program("nope");
        FAIL("no exception");
    } catch (const bpf::Error& e) {
        CHECK_THAT(e.what(), Contains("program 'nope' not found"));
        CHECK_THAT(e.what(), Contains("on_getppid"));
    }
    CHECK_FALSE(mod.find_map("nope"));
    CHECK(mod.find_program("on_add"));
}

TEST_CASE("map configuration before load") {
    auto mod = bpf::Module::open_memory(bpf_objects::basic());
    auto m = mod.map("counts");
    m.set_max_entries(4096);
    CHECK(m.max_entries() == 4096);
    m.set_type(BPF_MAP_TYPE_LRU_HASH);
    CHECK(m.type() == BPF_MAP_TYPE_LRU_HASH);
    m.set_value_size(16);
    CHECK(m.value_size() == 16);
    m.set_key_size(8);
    CHECK(m.key_size() == 8);
    m.set_flags(BPF_F_NO_COMMON_LRU);
    CHECK(m.flags() == BPF_F_NO_COMMON_LRU);
    m.set_autocreate(false);
    CHECK_FALSE(m.autocreate());
    m.set_pin_path("/sys/fs/bpf/x");
    CHECK(m.pin_path() == "/sys/fs/bpf/x");

    auto data = mod.map(".data");
    std::vector<std::byte> init(data.value_size());
    const std::uint64_t seven = 7;
    std::memcpy(init.data(), &seven, sizeof seven);  // .data holds only 'multiplier'
    data.set_initial_value(init);
    auto iv = data.initial_value();
    REQUIRE(iv.size() == init.size());
    CHECK(std::memcmp(iv.data(), init.data(), init.size()) == 0);
    CHECK(mod.global<std::uint64_t>("multiplier") == 7);
    CHECK_THROWS_WITH(mod.map("arr").set_initial_value(init), Contains("only global-variable sections"));
}

TEST_CASE("data operations before load say to load first") {
    auto mod = bpf::Module::open_memory(bpf_objects::basic());
    try {
        (void)mod.map("counts").lookup<std::uint32_t, std::uint64_t>(1);
        FAIL("no exception");
    } catch (const bpf::Error& e) {
        CHECK(e.error_number() == EBADF);
        CHECK_THAT(e.what(), Contains("call Module::load() first"));
    }
}

TEST_CASE("globals before load: set, read back, wrong size, unknown name") {
    auto mod = bpf::Module::open_memory(bpf_objects::basic());
    CHECK(mod.global<std::uint64_t>("multiplier") == 1);
    mod.set_global("multiplier", std::uint64_t{5});
    CHECK(mod.global<std::uint64_t>("multiplier") == 5);
    mod.set_global("target_pid", std::uint32_t{1234});
    CHECK(mod.global<std::uint32_t>("target_pid") == 1234);
    CHECK(mod.global<std::uint64_t>("hits") == 0);

    auto names = mod.global_names();
    CHECK(std::count(names.begin(), names.end(), "target_pid") == 1);
    CHECK(std::count(names.begin(), names.end(), "raw_hits") == 1);

    try {
        mod.set_global("multiplier", std::uint32_t{1});
        FAIL("no exception");
    } catch (const bpf::Error& e) {
        CHECK_THAT(e.what(), Contains("the variable is 8 bytes in .data, the C++ type is 4"));
    }
    try {
        mod.set_global("nope", 1);
        FAIL("no exception");
    } catch (const bpf::Error& e) {
        CHECK(e.error_number() == ENOENT);
        CHECK_THAT(e.what(), Contains("no such global variable"));
        CHECK_THAT(e.what(), Contains("target_pid"));
    }
}

TEST_CASE("corrupt and missing object files are clear errors") {
    std::vector<std::byte> junk(512, std::byte{0x5a});
    try {
        (void)bpf::Module::open_memory(junk);
        FAIL("no exception");
    } catch (const bpf::Error& e) {
        CHECK_THAT(e.what(), Contains("opening BPF object"));
        CHECK_THAT(e.what(), Contains("not a valid BPF ELF object"));
    }
    // A truncated copy of a real object.
    auto real = bpf_objects::basic().bytes;
    std::vector<std::byte> cut(real.begin(), real.begin() + static_cast<std::ptrdiff_t>(real.size() / 3));
    CHECK_THROWS_AS(bpf::Module::open_memory(cut), bpf::Error);

    try {
        (void)bpf::Module::open_file("/nonexistent/x.bpf.o");
        FAIL("no exception");
    } catch (const bpf::Error& e) {
        CHECK(e.error_number() == ENOENT);
        CHECK_THAT(e.what(), Contains("opening BPF object '/nonexistent/x.bpf.o': no such file"));
    }
}

TEST_CASE("open_file reads the object from disk") {
    auto mod = bpf::Module::open_file(TEST_BPF_DIR "/basic.bpf.o");
    CHECK(mod.name() == "basic");
    CHECK(mod.find_map("counts"));
}

TEST_CASE("a missing BTF file is named") {
    bpf::OpenOptions o;
    o.btf_path = "/nonexistent/vmlinux.btf";
    try {
        (void)bpf::Module::open_memory(bpf_objects::basic(), o);
        FAIL("no exception");
    } catch (const bpf::Error& e) {
        CHECK_THAT(e.what(), Contains("cannot read BTF file '/nonexistent/vmlinux.btf'"));
    }
}

TEST_CASE("the logger receives libbpf messages above its threshold only") {
    std::vector<std::pair<bpf::LogLevel, std::string>> got;
    bpf::set_logger([&](bpf::LogLevel l, std::string_view m) { got.emplace_back(l, std::string(m)); },
                    bpf::LogLevel::Debug);
    { auto mod = bpf::Module::open_memory(bpf_objects::basic()); }
    auto debug_count = std::count_if(got.begin(), got.end(),
                                     [](auto& p) { return p.first == bpf::LogLevel::Debug; });
    CHECK(debug_count > 0);
    CHECK(std::any_of(got.begin(), got.end(), [](auto& p) { return p.second.find("basic") != std::string::npos; }));

    got.clear();
    bpf::set_log_level(bpf::LogLevel::Warn);
    { auto mod = bpf::Module::open_memory(bpf_objects::basic()); }
    CHECK(std::none_of(got.begin(), got.end(), [](auto& p) { return p.first != bpf::LogLevel::Warn; }));

    bpf::set_logger({}, bpf::LogLevel::Warn);  // back to the default
}

TEST_CASE("a moved-from Module says so") {
    auto mod = bpf::Module::open_memory(bpf_objects::basic());
    auto counts = mod.map("counts");
    bpf::Module other = std::move(mod);
    CHECK(counts.max_entries() == 128);  // handles survive the move
    CHECK(other.find_map("counts"));
    CHECK_THROWS_WITH(mod.name(), Contains("moved-from"));  // NOLINT(bugprone-use-after-move)
}
