// BPF streams (libbpf 1.6, Linux 6.17): a program's bpf_stream_printk() output read with
// bpf::read_stream.
#include <catch2/catch.hpp>

#include <libbpfcpp/libbpfcpp.hpp>

#include <cerrno>
#include <cstdint>
#include <string>
#include <vector>

#include "features.hpp"
#include "harness.hpp"
#include "recent_stream.bpf.hpp"

namespace {

using Catch::Matchers::Contains;

bpf::Module loaded_stream(std::uint64_t token) {
    auto mod = bpf::Module::open_memory(bpf_objects::recent_stream());
    mod.set_global("stream_token", token);
    mod.load();
    return mod;
}

void run(bpf::Module& mod, int times) {
    const std::vector<std::byte> data(64, std::byte{0});
    bpf::TestRunOptions o;
    o.data_in = data;
    o.repeat = times;
    REQUIRE(mod.program("print_streams").test_run(o).retval == XDP_PASS);
}

}  // namespace

TEST_CASE("read_stream: a program's stdout and stderr") {
    if (!bpf::libbpf_at_least(1, 6)) {
        // Refused before anything else, loaded or not. Not loaded here: on a kernel whose
        // stream kfunc has another prototype (7.x), libbpf 1.1 refuses the object's weak
        // ksym as incompatible where later releases leave it unresolved.
        auto opened = bpf::Module::open_memory(bpf_objects::recent_stream());
        CHECK_THROWS_WITH(bpf::read_stream(opened.program("print_streams"), bpf::Stream::Stdout),
                          Contains("reading stdout of program 'print_streams'") && Contains("needs libbpf >= 1.6"));
        return;
    }
    auto mod = loaded_stream(4711);
    const auto prog = mod.program("print_streams");
    run(mod, 1);
    const int ret = mod.global<int>("last_ret");
    INFO("the kfunc's last result: " << ret);
    if (ret == -EOPNOTSUPP) {
        // Neither kfunc shape exists: the kernel has no streams, and reading says so.
        try {
            (void)bpf::read_stream(prog, bpf::Stream::Stdout);
            FAIL("read_stream succeeded on a kernel without bpf_stream_vprintk");
        } catch (const bpf::Error& e) {
            CHECK(e.error_number() == EINVAL);
            CHECK_THAT(e.what(), Contains("Linux >= 6.17"));
        }
        SKIP_TEST("this kernel has no BPF streams (bpf_stream_vprintk, Linux >= 6.17)");
    }
    if (ret != 0) {
        // The kfunc exists but refused to print. On a guest (a known kernel of Debian's
        // configuration) that is a failure; a machine's own kernel may be short of what
        // the stream's allocator needs.
        const std::string why = "the kernel's bpf_stream_vprintk failed with " + std::to_string(ret);
        if (testing::kernel_known()) FAIL(why);
        SKIP_TEST(why);
    }
    CHECK(mod.global<int>("printed") == 2);
    CHECK(bpf::read_stream(prog, bpf::Stream::Stdout) == "stdout line 4711\n");
    CHECK(bpf::read_stream(prog, bpf::Stream::Stderr) == "stderr line 4712\n");
    // Reading consumes.
    CHECK(bpf::read_stream(prog, bpf::Stream::Stdout).empty());

    run(mod, 3);
    CHECK(bpf::read_stream(prog, bpf::Stream::Stdout) == "stdout line 4711\nstdout line 4711\nstdout line 4711\n");
    // max_bytes bounds one call; the rest stays for the next.
    const std::string first = bpf::read_stream(prog, bpf::Stream::Stderr, 5);
    CHECK(first == "stder");
    CHECK(first + bpf::read_stream(prog, bpf::Stream::Stderr) ==
          "stderr line 4712\nstderr line 4712\nstderr line 4712\n");
}

TEST_CASE("read_stream: a program not loaded") {
    if (!bpf::libbpf_at_least(1, 6)) SKIP_TEST("built with libbpf < 1.6: no streams");
    auto mod = bpf::Module::open_memory(bpf_objects::recent_stream());
    CHECK_THROWS_WITH(bpf::read_stream(mod.program("print_streams"), bpf::Stream::Stderr),
                      Contains("not loaded"));
}
