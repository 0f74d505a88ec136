// Tests that need no kernel: errors, parsing of libbpf output, options, configuration of
// an opened (not loaded) object.
#include <catch2/catch.hpp>

#include <libbpfcpp/libbpfcpp.hpp>
#include <libbpfcpp/detail/object_checks.hpp>

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <future>
#include <iterator>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
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

TEST_CASE("messages joined by cat() and thrown by throw_error() read as describe() writes them") {
    const std::string owned = "owned";
    CHECK(bpf::detail::cat({}).empty());
    CHECK(bpf::detail::cat({"a", owned, std::string_view("b\0c", 3), std::to_string(42)}) ==
          std::string("aowned" "b\0c" "42", 11));
    try {
        bpf::detail::throw_error(EINVAL, "loading object", "x", {"map '", owned, "' has type ", std::to_string(7)});
        FAIL("no exception");
    } catch (const bpf::Error& e) {
        CHECK(e.error_number() == EINVAL);
        CHECK(e.message() == "loading object 'x': map 'owned' has type 7");
        CHECK(e.message() == bpf::detail::describe("loading object", "x", "map 'owned' has type 7"));
    }
}

TEST_CASE("Decimal writes a number as std::to_string does, without a string") {
    const auto same = [](auto n) { return std::string_view(bpf::detail::Decimal(n)) == std::to_string(n); };
    CHECK(same(0));
    CHECK(same(7u));
    CHECK(same(-1));
    CHECK(same(std::uint16_t{65535}));
    CHECK(same(std::numeric_limits<std::int64_t>::min()));
    CHECK(same(std::numeric_limits<std::int64_t>::max()));
    CHECK(same(std::numeric_limits<std::uint64_t>::max()));
    CHECK(same(std::size_t{27896}));
    CHECK(bpf::detail::cat({"<memory, ", bpf::detail::Decimal(std::size_t{42}), " bytes>"}) == "<memory, 42 bytes>");
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
    CHECK(bpf::libbpf_compiled_version() ==
          std::to_string(bpf::libbpf_compiled_major) + "." + std::to_string(bpf::libbpf_compiled_minor));
    CHECK(bpf::detail::version_text(12, 345).size == 6);
    CHECK(std::string_view(bpf::detail::version_text(12, 345).text, 6) == "12.345");
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
        std::string names;  // every map, in the order maps() gives them
        for (const bpf::Map& m : mod.maps()) names.append(names.empty() ? "" : ", ").append(m.name());
        CHECK(e.message() == "map 'nope' not found in object 'basic'; maps in this object: " + names);
    }
    try {
        (void)mod.program("nope");
        FAIL("no exception");
    } catch (const bpf::Error& e) {
        CHECK_THAT(e.what(), Contains("program 'nope' not found"));
        CHECK_THAT(e.what(), Contains("on_getppid"));
        std::string names;
        for (const bpf::Prog& p : mod.programs()) names.append(names.empty() ? "" : ", ").append(p.name());
        CHECK(e.message() == "program 'nope' not found in object 'basic'; programs in this object: " + names);
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

// Objects with a damaged .BTF on which libbpf's bpf_object__open_mem() crashes: 1.1 and
// 1.2 on type IDs and string offsets that point nowhere (1.3 refuses them itself), every
// release up to 1.7 at least on a .kconfig extern whose size does not fit an int. They
// were found by mutating the .BTF of real objects (tests/fuzz/regressions, the fuzz seeds).
TEST_CASE("objects that crash libbpf are refused before libbpf sees them") {
    const bool libbpf_checks = bpf::libbpf_major_version() > 1 ||
                               (bpf::libbpf_major_version() == 1 && bpf::libbpf_minor_version() >= 3);
    const std::pair<const char*, const char*> inputs[] = {
        {"libbpf-1.1-btf-type-refers-to-missing-type", "BTF type [2] refers to type 48, which does not exist"},
        {"libbpf-1.1-btf-name-past-string-section", "BTF type [10] has a name at string offset 721"},
        {"libbpf-1.1-btf-member-name-past-string-section", "BTF type [8] has a member name at string offset"},
        {"libbpf-kconfig-extern-size-overflows-int", "extern 'CONFIG_LIBBPFCPP_TEST_VALUE' of .kconfig is"},
        // The .BTF libbpf reads is the last section of that name, and libelf reads section
        // headers whatever e_shentsize says: so must the check.
        {"libbpf-1.1-btf-in-the-second-section-of-that-name", "BTF type [10] has a name at string offset 721"},
        {"libbpf-1.1-btf-elf-section-entry-size-zero", "BTF type [10] has a name at string offset 721"},
    };
    // The inputs live in the source tree, which the qemu guests do not carry.
    if (access(TEST_FUZZ_REGRESSIONS_DIR, R_OK) != 0)
        SKIP_TEST("the damaged objects (" TEST_FUZZ_REGRESSIONS_DIR ") are not on this machine");
    for (const auto& [name, why] : inputs) {
        const std::string path = std::string(TEST_FUZZ_REGRESSIONS_DIR "/") + name;
        INFO(path);
        std::ifstream in(path, std::ios::binary);
        const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        REQUIRE(bytes.size() > 500);
        // libbpf's own refusal (1.3 on) or ours: an Error either way, never a crash.
        const bool ours = !libbpf_checks || std::string_view(name).find("kconfig") != std::string_view::npos;
        for (int from_file = 0; from_file < 2; ++from_file) {
            try {
                if (from_file)
                    (void)bpf::Module::open_file(path);
                else
                    (void)bpf::Module::open_memory(std::as_bytes(std::span(bytes)));
                FAIL("opened");
            } catch (const bpf::Error& e) {
                if (ours) {  // libbpf >= 1.3 says ESRCH or EINVAL, in its own words
                    CHECK(e.error_number() == EINVAL);
                    CHECK_THAT(e.what(), Contains("corrupt object: "));
                    CHECK_THAT(e.what(), Contains(why));
                    CHECK_THAT(e.what(), Contains("rebuild the object"));
                }
            }
        }
    }
}

TEST_CASE("the corrupt-object check passes every object of the build") {
    for (const char* name : {"basic", "kconfig", "probes", "attach_all", "attach_fail", "rejected", "trampoline"}) {
        const std::string path = std::string(TEST_BPF_DIR "/") + name + ".bpf.o";
        INFO(path);
        std::ifstream in(path, std::ios::binary);
        const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        REQUIRE(!bytes.empty());
        CHECK(bpf::detail::check_object_bytes(std::as_bytes(std::span(bytes))).empty());
        CHECK(!bpf::detail::elf_btf_section(std::as_bytes(std::span(bytes))).empty());
    }
    // Not ELF, or cut short: left to libbpf, which refuses it with its own words.
    const std::vector<std::byte> junk(100, std::byte{0x7f});
    CHECK(bpf::detail::check_object_bytes(junk).empty());
}

// delegate_bpffs() is handed an fd from another process; one that is not a filesystem
// context must be refused from what it is, without reading it: a pipe would block the
// read forever, and a file's bytes must not end up in an exception's text.
TEST_CASE("delegate_bpffs refuses an fd that is not a filesystem context without reading it") {
    int p[2];
    REQUIRE(pipe2(p, O_CLOEXEC) == 0);
    bpf::OwnedFd read_end(p[0]), write_end(p[1]);
    std::promise<std::string> result;
    auto done = result.get_future();
    std::thread t([&] {
        try {
            (void)bpf::delegate_bpffs(read_end.get(), bpf::TokenDelegation::any());
            result.set_value("no exception");
        } catch (const bpf::Error& e) {
            result.set_value(e.what());
        }
    });
    const bool returned = done.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
    if (!returned) write_end.reset();  // ends the blocked read so that the thread can be joined
    t.join();
    REQUIRE(returned);
    const std::string pipe_error = done.get();
    CHECK_THAT(pipe_error, Contains("is a pipe") && Contains("not a filesystem context") &&
                               Contains("bpffs_context()"));

    char path[] = "/tmp/libbpfcpp-token-secret-XXXXXX";
    const int f = mkstemp(path);
    REQUIRE(f >= 0);
    bpf::OwnedFd file(f);
    const std::string secret = "root:x:0:0:the-secret-line-1f3a9c\n";
    REQUIRE(write(f, secret.data(), secret.size()) == static_cast<ssize_t>(secret.size()));
    REQUIRE(lseek(f, 0, SEEK_SET) == 0);
    unlink(path);
    try {
        (void)bpf::delegate_bpffs(f, bpf::TokenDelegation::any());
        FAIL("no exception");
    } catch (const bpf::Error& e) {
        CHECK(e.error_number() == EINVAL);
        CHECK_THAT(e.what(), Contains("is a regular file") && Contains("not a filesystem context"));
        CHECK_THAT(e.what(), !Contains("the-secret-line") && !Contains("root:x"));
    }
    CHECK(lseek(f, 0, SEEK_CUR) == 0);  // nothing was read

    // A real filesystem context (of tmpfs, which has no delegation options) is handed to
    // the kernel, and its messages, which are the kernel's, still explain the refusal.
    const long ctx = syscall(SYS_fsopen, "tmpfs", 0x1 /* FSOPEN_CLOEXEC */);
    if (ctx < 0) SKIP_TEST("fsopen(\"tmpfs\") failed: " + std::string(std::strerror(errno)));
    bpf::OwnedFd context(static_cast<int>(ctx));
    CHECK_THROWS_WITH(bpf::delegate_bpffs(context.get(), bpf::TokenDelegation::any()),
                      Contains("setting bpffs option 'delegate_cmds=any'") && Contains("delegate_cmds"));
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
