// bpf::Linker: two objects, one calling a function and reading a variable the other
// defines, linked in memory and run.
#include <catch2/catch.hpp>

#include <libbpfcpp/libbpfcpp.hpp>

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <vector>

#include "harness.hpp"
#include "recent_link_lib.bpf.hpp"
#include "recent_link_main.bpf.hpp"

namespace {

using Catch::Matchers::Contains;

std::uint64_t run_linked(bpf::Module& mod) {
    mod.load();
    const std::vector<std::byte> data(64, std::byte{0});
    bpf::TestRunOptions o;
    o.data_in = data;
    REQUIRE(mod.program("call_linked").test_run(o).retval == XDP_PASS);
    return mod.map("link_out").lookup<std::uint32_t, std::uint64_t>(0).value_or(0);
}

}  // namespace

TEST_CASE("Linker: objects from memory linked into one Module") {
    bpf::Linker linker;
    linker.add_memory(bpf_objects::recent_link_main().bytes, "link_main");
    linker.add_memory(bpf_objects::recent_link_lib().bytes, "link_lib");
    auto mod = linker.open();
    CHECK(mod.name() == "linked");
    CHECK(run_linked(mod) == 1042);  // linked_combine(4, 2) + linked_bias
    CHECK_THROWS_WITH(linker.add_memory(bpf_objects::recent_link_lib().bytes),
                      Contains("the linker is finished"));
}

TEST_CASE("Linker: a file, an fd, and the bytes; the globals of the linked object") {
    const int fd = memfd_create("link_lib", MFD_CLOEXEC);
    REQUIRE(fd >= 0);
    const auto lib = bpf_objects::recent_link_lib().bytes;
    REQUIRE(write(fd, lib.data(), lib.size()) == static_cast<ssize_t>(lib.size()));
    REQUIRE(lseek(fd, 0, SEEK_SET) == 0);

    bpf::Linker linker;
    linker.add_file(RECENT_BPF_DIR "/recent_link_main.bpf.o");
    linker.add_fd(fd, "link_lib (memfd)");
    close(fd);
    const std::vector<std::byte> bytes = linker.finish();
    REQUIRE(bytes.size() > 4);
    CHECK(bytes[0] == std::byte{0x7f});  // an ELF object

    bpf::OpenOptions opts;
    opts.object_name = "linked_twice";
    auto mod = bpf::Module::open_memory(bytes, opts);
    mod.set_global("linked_bias", std::uint64_t{7});
    CHECK(run_linked(mod) == 49);
}

TEST_CASE("Linker: what it refuses, said plainly") {
    // Alone, the calling half has an unresolved function: libbpf refuses to open it.
    CHECK_THROWS_WITH(bpf::Module::open_memory(bpf_objects::recent_link_main()), Contains("linked_combine"));

    bpf::Linker empty;
    CHECK_THROWS_WITH(empty.finish(), Contains("no object was added"));

    bpf::Linker linker;
    CHECK_THROWS_WITH(linker.add_file("/nonexistent/x.bpf.o"), Contains("no such file"));
    const std::vector<std::byte> junk(100, std::byte{0x42});
    CHECK_THROWS_WITH(linker.add_memory(junk, "junk"), Contains("linking BPF object 'junk'"));
    // No ELF header libelf can read: libbpf 1.1's linker returns -errno for these, and with
    // errno 0 it goes on and faults instead of refusing them.
    bpf::Linker after;
    after.add_memory(bpf_objects::recent_link_main().bytes, "link_main");
    errno = 0;
    CHECK_THROWS_WITH(after.add_memory({}, "empty"), Contains("'empty': not an ELF file"));
    const std::vector<std::byte> zeros(64, std::byte{0});
    errno = 0;
    CHECK_THROWS_WITH(after.add_memory(zeros, "zeros"), Contains("'zeros': not an ELF file"));
    const std::string text = "not an object\n";
    errno = 0;
    CHECK_THROWS_WITH(after.add_memory(std::as_bytes(std::span(text)), "text"), Contains("'text': not an ELF file"));
    std::vector<std::byte> version0(bpf_objects::recent_link_lib().bytes.begin(),
                                    bpf_objects::recent_link_lib().bytes.end());
    version0.at(6) = std::byte{0};  // e_ident[EI_VERSION]
    errno = 0;
    CHECK_THROWS_WITH(after.add_memory(version0, "version0"), Contains("'version0': an ELF header libelf cannot read"));

    // The same definitions twice: a duplicate symbol.
    bpf::Linker twice;
    twice.add_memory(bpf_objects::recent_link_lib().bytes, "first");
    CHECK_THROWS_WITH(twice.add_memory(bpf_objects::recent_link_lib().bytes, "second"),
                      Contains("linking BPF object 'second'"));
}
