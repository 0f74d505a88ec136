// libbpfcpp-gen: writes a typed C++ skeleton (NAME.skel.hpp) of a compiled BPF object.
//
//   libbpfcpp-gen skeleton OBJECT.bpf.o [--name NAME] [--type TYPE]... [--no-embed] [-o OUT.hpp]
//
// The header defines, in namespace NAME: C++ mirrors of the BTF types the object's maps
// and globals use (and of each --type), structs of its global sections, and
// NAME::Skeleton with its open phase NAME::OpenSkeleton (see docs/recipes.md).
//
// How it is built: main.cpp reads the file and writes the output; generate.cpp runs
// read.cpp (libbpf opens the object; maps, programs and sections are listed) into a
// SkeletonModel (model.hpp), which emit.cpp writes from one template per part.
// types.cpp turns BTF types into C++ (and checks the type graph first); names.cpp is
// where every emitted name is made (gen::Scope).
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "generate.hpp"
#include "types.hpp"

namespace {

using gen::GenError;

constexpr const char* usage =
    "usage: libbpfcpp-gen skeleton OBJECT.bpf.o [--name NAME] [--type TYPE]... [--no-embed] [-o OUT.hpp]\n"
    "\n"
    "Writes a C++ header with the object's maps, programs, global sections and BTF types,\n"
    "checked at compile time. NAME (the namespace) defaults to the file name without .bpf.o.\n"
    "  --type TYPE   also define TYPE (\"foo\", \"struct foo\", \"enum foo\"), e.g. an event struct\n"
    "  --no-embed    do not embed the object; open it with Skeleton::open_file(path)\n"
    "  -o OUT.hpp    write there instead of standard output (\"-\": standard output); a regular\n"
    "                file is replaced whole, anything else (/dev/null, a FIFO) written in place\n";

struct Args : gen::Options {
    std::string out;
};

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
        } else if (args.object.empty()) args.object = a;
        else {
            std::fprintf(stderr, "libbpfcpp-gen: one object at a time ('%s' and '%s')\n", args.object.c_str(), a.c_str());
            return 2;
        }
    }
    if (args.object.empty()) {
        std::fputs(usage, stderr);
        return 2;
    }
    try {
        std::ifstream in(args.object, std::ios::binary);
        if (!in) throw GenError(args.object + ": cannot read: " + std::strerror(errno));
        const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
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
