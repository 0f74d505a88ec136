// libbpfcpp-gen: writes a typed C++ skeleton (NAME.skel.hpp) of a compiled BPF object.
//
//   libbpfcpp-gen skeleton OBJECT.bpf.o [--name NAME] [--type TYPE]... [--no-embed] [-o OUT.hpp]
//   libbpfcpp-gen skeleton A.bpf.o B.bpf.o... --name NAME [--type TYPE]... [-o OUT.hpp]
//
// The header defines, in namespace NAME: C++ mirrors of the BTF types the object's maps
// and globals use (and of each --type), structs of its global sections, and
// NAME::Skeleton with its open phase NAME::OpenSkeleton (see docs/recipes.md). Several
// objects are linked into one first (bpf::Linker, libbpf's static linker, in memory), and
// the skeleton is of the linked object.
//
// How it is built: main.cpp reads the file (or links the files) and writes the output;
// generate.cpp runs
// read.cpp (libbpf opens the object; maps, programs and sections are listed) into a
// SkeletonModel (model.hpp), which emit.cpp writes from one template per part.
// types.cpp turns BTF types into C++ (and checks the type graph first); names.cpp is
// where every emitted name is made (gen::Scope).
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libbpfcpp/linker.hpp>

#include "generate.hpp"
#include "types.hpp"

namespace {

using gen::GenError;

constexpr const char* usage =
    "usage: libbpfcpp-gen skeleton OBJECT.bpf.o [--name NAME] [--type TYPE]... [--no-embed] [-o OUT.hpp]\n"
    "       libbpfcpp-gen skeleton A.bpf.o B.bpf.o... --name NAME [--type TYPE]... [-o OUT.hpp]\n"
    "\n"
    "Writes a C++ header with the object's maps, programs, global sections and BTF types,\n"
    "checked at compile time. NAME (the namespace) defaults to the file name without .bpf.o.\n"
    "Several objects are linked into one first (as `bpftool gen object` does: an extern in\n"
    "one resolves to a definition in another); the header embeds the linked object and\n"
    "NAME must be given.\n"
    "  --type TYPE   also define TYPE (\"foo\", \"struct foo\", \"enum foo\"), e.g. an event struct\n"
    "  --no-embed    do not embed the object; open it with Skeleton::open_file(path)\n"
    "  -o OUT.hpp    write there instead of standard output (\"-\": standard output); a regular\n"
    "                file is replaced whole, anything else (/dev/null, a FIFO) written in place\n";

struct Args : gen::Options {
    std::vector<std::string> inputs;
    std::string out;
};

std::vector<char> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw GenError(path + ": cannot read: " + std::strerror(errno));
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The bytes of the file behind `fd`, from its start.
std::vector<char> read_fd(int fd) {
    std::vector<char> bytes;
    char buf[65536];
    for (off_t at = 0;;) {
        const ssize_t n = ::pread(fd, buf, sizeof buf, at);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw GenError(std::string("reading the linked object: ") + std::strerror(errno));
        if (n == 0) return bytes;
        bytes.insert(bytes.end(), buf, buf + n);
        at += n;
    }
}

bool write_fd(int fd, const void* data, std::size_t size) {
    for (std::size_t done = 0; done < size;) {
        const ssize_t n = ::write(fd, static_cast<const char*>(data) + done, size - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return false;
        done += static_cast<std::size_t>(n);
    }
    return true;
}

// The objects linked into one, in memory: nothing is written to the file system, so no
// failure leaves a temporary file behind. The linker's error names the input it refused (a
// damaged object, a symbol two inputs define) with libbpf's reason.
//
// libbpf's linker trusts its inputs: a damaged object (a section header or symbol pointing
// outside the file) makes libbpf 1.1 fault where bpf_object__open refuses the same bytes.
// So the link runs in a child process, which tells the parent through a pipe which input it
// is adding and leaves the linked object (or its error) in a memfd: a crash there becomes
// an error naming that input.
std::vector<char> link_objects(const std::vector<std::string>& inputs) {
    const int result = ::memfd_create("libbpfcpp-gen-link", MFD_CLOEXEC);
    if (result < 0) throw GenError(std::string("linking: memfd_create: ") + std::strerror(errno));
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } result_closer{result};
    int progress[2];
    if (::pipe2(progress, O_CLOEXEC) != 0) throw GenError(std::string("linking: pipe: ") + std::strerror(errno));
    std::fflush(nullptr);  // what is buffered is written once, not once per process
    // What the child sends instead of an input's index when the linker refused one; its
    // error is then in the memfd. Anything else that ends the child is a crash.
    constexpr std::uint32_t refused = UINT32_MAX;
    const pid_t child = ::fork();
    if (child < 0) {
        const int err = errno;
        ::close(progress[0]);
        ::close(progress[1]);
        throw GenError(std::string("linking: fork: ") + std::strerror(err));
    }
    if (child == 0) {
        ::close(progress[0]);
        int status = 0;
        try {
            bpf::Linker linker;
            for (std::uint32_t i = 0; i < inputs.size(); ++i) {
                write_fd(progress[1], &i, sizeof i);
                linker.add_file(inputs[i]);
            }
            const auto done = static_cast<std::uint32_t>(inputs.size());
            write_fd(progress[1], &done, sizeof done);
            const std::vector<std::byte> linked = linker.finish();
            if (!write_fd(result, linked.data(), linked.size()))
                throw GenError(std::string("writing the linked object to memory: ") + std::strerror(errno));
        } catch (const std::exception& e) {
            const std::string why = e.what();
            write_fd(result, why.data(), why.size());
            write_fd(progress[1], &refused, sizeof refused);
            status = 1;
        }
        ::_exit(status);
    }
    ::close(progress[1]);
    std::uint32_t at = 0, last = 0;
    for (std::uint32_t i; ::read(progress[0], &i, sizeof i) == static_cast<ssize_t>(sizeof i);) {
        if (i != refused) at = i;
        last = i;
    }
    ::close(progress[0]);
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {}
    const bool exited = WIFEXITED(status);
    if (exited && WEXITSTATUS(status) == 0 && at == inputs.size()) return read_fd(result);
    if (exited && WEXITSTATUS(status) == 1 && last == refused) {
        const std::vector<char> why = read_fd(result);
        throw GenError(std::string(why.begin(), why.end()) + "\n(linking " + std::to_string(inputs.size()) +
                       " objects into one; fix or rebuild the object named above)");
    }
    // A fault (or a sanitizer's report of one, which exits instead).
    const std::string signal = exited ? "exit status " + std::to_string(WEXITSTATUS(status))
                                      : std::string(strsignal(WTERMSIG(status)));
    if (at < inputs.size())
        throw GenError(inputs[at] + ": libbpf's linker crashed on it (" + signal +
                       "): the object is damaged; rebuild it");
    throw GenError("libbpf's linker crashed (" + signal + ") finishing the link of " + std::to_string(inputs.size()) +
                   " objects; rebuild them, or link them one by one to find the damaged one");
}

// Writes `text` to `path`. A regular file (or a new one) is written whole or not at all:
// a temporary beside it renamed over it, so a failed run leaves no half header for the
// build. Anything else (/dev/null, a FIFO, a terminal) is written in place: renaming over
// it would replace the device node with a regular file.
void write_output(const std::string& path, const std::string& text) {
    auto fail = [&](const std::string& why) { throw GenError(path + ": cannot write: " + why); };
    auto write_all = [&](int fd) {
        for (std::size_t done = 0; done < text.size();) {
            const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return false;
            done += static_cast<std::size_t>(n);
        }
        return true;
    };
    struct stat st{};
    const bool exists = ::stat(path.c_str(), &st) == 0;
    if (!exists && errno != ENOENT) fail(std::strerror(errno));
    if (exists && S_ISDIR(st.st_mode)) fail("it is a directory; give the header's file name (-o DIR/NAME.skel.hpp)");
    if (exists && !S_ISREG(st.st_mode)) {
        const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) fail(std::strerror(errno));
        const bool ok = write_all(fd);
        const int err = errno;
        ::close(fd);
        if (!ok) fail(std::strerror(err));
        return;
    }
    // Through a symbolic link, the file it names is replaced, not the link.
    std::string target = path;
    if (exists) {
        char* real = ::realpath(path.c_str(), nullptr);
        if (real == nullptr) fail(std::strerror(errno));
        target = real;
        std::free(real);
    }
    std::string tmp = target + ".XXXXXX";
    const int fd = ::mkstemp(tmp.data());
    if (fd < 0) fail(std::strerror(errno));
    // mkstemp creates the file 0600; a header is as readable as any file the user creates.
    const mode_t mask = ::umask(0);
    ::umask(mask);
    bool ok = ::fchmod(fd, exists ? (st.st_mode & 07777) : (0666 & ~mask)) == 0 && write_all(fd);
    int err = ok ? 0 : errno;
    if (::close(fd) != 0 && ok) {
        ok = false;
        err = errno;
    }
    if (ok && std::rename(tmp.c_str(), target.c_str()) != 0) {
        ok = false;
        err = errno;
    }
    if (!ok) {
        ::unlink(tmp.c_str());
        fail(std::strerror(err));
    }
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> av(argv + 1, argv + argc);
    if (av.empty() || av[0] == "-h" || av[0] == "--help") {
        std::fputs(usage, av.empty() ? stderr : stdout);
        return av.empty() ? 2 : 0;
    }
    if (av[0] != "skeleton") {
        std::fprintf(stderr, "libbpfcpp-gen: unknown command '%s'\n\n%s", av[0].c_str(), usage);
        return 2;
    }
    Args args;
    for (std::size_t i = 1; i < av.size(); ++i) {
        const std::string& a = av[i];
        auto value = [&]() -> const std::string& {
            if (i + 1 >= av.size()) {
                std::fprintf(stderr, "libbpfcpp-gen: %s needs a value\n\n%s", a.c_str(), usage);
                std::exit(2);
            }
            return av[++i];
        };
        if (a == "--name") args.name = value();
        else if (a == "--type") args.types.push_back(value());
        else if (a == "--no-embed") args.embed = false;
        else if (a == "-o") args.out = value();
        else if (!a.empty() && a[0] == '-') {
            std::fprintf(stderr, "libbpfcpp-gen: unknown option '%s'\n\n%s", a.c_str(), usage);
            return 2;
        } else args.inputs.push_back(a);
    }
    if (args.inputs.empty()) {
        std::fputs(usage, stderr);
        return 2;
    }
    if (args.inputs.size() > 1 && args.name.empty()) {
        std::fprintf(stderr,
                     "libbpfcpp-gen: %zu objects are linked into one skeleton, which no single file name names: "
                     "give it one with --name NAME (its namespace and object name)\n",
                     args.inputs.size());
        return 2;
    }
    if (args.inputs.size() > 1 && !args.embed) {
        std::fprintf(stderr,
                     "libbpfcpp-gen: --no-embed with %zu objects: the linked object exists only inside the "
                     "header; drop --no-embed, or link them first (bpftool gen object OUT.bpf.o A.bpf.o B.bpf.o) "
                     "and give the linked file alone\n",
                     args.inputs.size());
        return 2;
    }
    try {
        std::vector<char> bytes;
        if (args.inputs.size() == 1) {
            args.object = args.inputs.front();
            bytes = read_file(args.object);
        } else {
            args.linked = args.inputs;
            args.object = "the link of";
            for (const std::string& in : args.inputs) args.object += (&in == &args.inputs.front() ? " " : " + ") + in;
            bytes = link_objects(args.inputs);
        }
        const gen::Output out = gen::generate(bytes, args);
        for (const std::string& w : out.warnings) std::fprintf(stderr, "libbpfcpp-gen: warning: %s\n", w.c_str());
        const std::string& text = out.text;
        if (args.out.empty() || args.out == "-") {
            std::fwrite(text.data(), 1, text.size(), stdout);
            return std::fflush(stdout) == 0 ? 0 : 1;
        }
        write_output(args.out, text);
    } catch (const GenError& e) {
        std::fprintf(stderr, "libbpfcpp-gen: %s\n", e.what());
        return 1;
    }
    return 0;
}
