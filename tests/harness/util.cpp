// Utilities of the test harness that need the OS: paths, offsets, bpffs, child processes.
#include <fcntl.h>
#include <linux/limits.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include "harness.hpp"

namespace testing {

double time_scale() {
    static const double scale = [] {
        const char* v = std::getenv("LIBBPFCPP_TEST_TIME_SCALE");
        if (v == nullptr || *v == '\0') return 1.0;
        char* end = nullptr;
        const double s = std::strtod(v, &end);
        if (end == v || *end != '\0' || !std::isfinite(s)) {
            std::fprintf(stderr, "LIBBPFCPP_TEST_TIME_SCALE='%s' is not a number; using 1\n", v);
            return 1.0;
        }
        return std::max(s, 1.0);
    }();
    return scale;
}

StderrCapture::StderrCapture() {
    std::fflush(stderr);
    char path[] = "/tmp/libbpfcpp-stderr-XXXXXX";
    file_ = mkstemp(path);
    if (file_ < 0) throw std::runtime_error("mkstemp failed");
    unlink(path);
    saved_ = dup(STDERR_FILENO);
    if (saved_ < 0 || dup2(file_, STDERR_FILENO) < 0) throw std::runtime_error("redirecting stderr failed");
}

StderrCapture::~StderrCapture() {
    std::fflush(stderr);
    dup2(saved_, STDERR_FILENO);
    close(saved_);
    close(file_);
}

std::string StderrCapture::text() const {
    std::fflush(stderr);
    std::string out;
    char buf[4096];
    ssize_t n;
    off_t at = 0;
    while ((n = pread(file_, buf, sizeof buf, at)) > 0) {
        out.append(buf, static_cast<size_t>(n));
        at += n;
    }
    return out;
}

std::string self_exe() {
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n < 0) throw std::runtime_error("readlink /proc/self/exe failed");
    return std::string(buf, static_cast<size_t>(n));
}

std::uint64_t file_offset_of(const void* addr) {
    const auto a = reinterpret_cast<std::uintptr_t>(addr);
    FILE* f = std::fopen("/proc/self/maps", "r");
    if (f == nullptr) throw std::runtime_error("cannot open /proc/self/maps");
    char line[1024];
    while (std::fgets(line, sizeof line, f) != nullptr) {
        std::uintptr_t start = 0, end = 0;
        std::uint64_t off = 0;
        char perms[8] = {};
        if (std::sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %7s %" SCNx64, &start, &end, perms, &off) != 4) continue;
        if (a >= start && a < end && perms[2] == 'x') {
            std::fclose(f);
            return a - start + off;
        }
    }
    std::fclose(f);
    throw std::runtime_error("address not in an executable mapping");
}

TempBpffs::TempBpffs() {
    char tmpl[] = "/tmp/libbpfcpp-bpffs-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
    if (mount("bpf", path_.c_str(), "bpf", 0, nullptr) != 0) {
        int err = errno;
        rmdir(path_.c_str());
        throw std::runtime_error(std::string("mounting bpffs failed: ") + std::strerror(err));
    }
}

TempBpffs::~TempBpffs() {
    umount2(path_.c_str(), MNT_DETACH);
    rmdir(path_.c_str());
}

std::string in_child(void (*fn)(std::string& out)) {
    int fds[2];
    if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
    pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        close(fds[0]);
        std::string out;
        try {
            fn(out);
        } catch (const std::exception& e) {
            out = std::string("unexpected exception: ") + e.what();
        }
        const char* p = out.data();
        size_t left = out.size();
        while (left > 0) {
            ssize_t w = write(fds[1], p, left);
            if (w <= 0) break;
            p += w;
            left -= static_cast<size_t>(w);
        }
        _exit(0);
    }
    close(fds[1]);
    std::string result;
    char buf[4096];
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof buf)) > 0) result.append(buf, static_cast<size_t>(n));
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return result;
}

}  // namespace testing
