// The table of kernel features the tests need, and their probes (see features.hpp).
// The probes use libbpf directly, not libbpfcpp: what decides a skip must not depend on
// the code under test.
#include "features.hpp"

#include <fcntl.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/utsname.h>
#include <net/if.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <libbpfcpp/detail/probe_programs.hpp>
#include <libbpfcpp/sched_ext.hpp>
#include <libbpfcpp/version.hpp>

#include "probes.bpf.hpp"

#include "harness.hpp"

#if !defined(LIBBPFCPP_FEATURES_NO_CATCH)
#include <catch2/catch.hpp>
#endif

namespace testing {
namespace {

struct Declaration {
    Feature feature;
    const char* short_name;  // for scripts: tests/harness/feature_probe.cpp
    const char* name;
    int since_major, since_minor;
    /// Kernel options it needs (=y or =m); on a known kernel a missing one means "not
    /// expected", never a failure.
    std::vector<const char*> config;
    std::function<std::string()> probe;  // "" when available, else what it saw
    /// Further condition of the expectation on a known kernel, beyond release and config
    /// ("" = expected); e.g. the BPF LSM must be in the boot's LSM list.
    std::function<std::string()> expected_also;
};

std::string errno_text(int err) { return std::string(std::strerror(err)) + " (errno " + std::to_string(err) + ")"; }

/// libbpf's messages during a probe: kept for the probe's reason, not printed.
std::string& probe_log() {
    static std::string log;
    return log;
}

int capture_print(enum libbpf_print_level level, const char* fmt, va_list args) {
    if (level == LIBBPF_DEBUG) return 0;
    char buf[1024];
    int n = std::vsnprintf(buf, sizeof buf, fmt, args);
    probe_log() += buf;
    return n;
}

/// The last line of libbpf's output that is not the verifier log's frame or its closing
/// statistics, for the reason: the verifier's own complaint ("unknown func bpf_loop#181").
std::string last_libbpf_line() {
    std::istringstream in(probe_log());
    std::string line, last;
    while (std::getline(in, line)) {
        if (line.empty() || line.find("-- BEGIN PROG LOAD LOG --") != std::string::npos ||
            line.find("-- END PROG LOAD LOG --") != std::string::npos || line.find("failed to load") != std::string::npos ||
            line.find("ulimit -l") != std::string::npos || line.rfind("processed ", 0) == 0 ||
            line.rfind("verification time", 0) == 0 || line.rfind("stack depth", 0) == 0)
            continue;
        last = line;
    }
    return last;
}

using Attach = std::function<std::string(bpf_object*, bpf_program*)>;
using Prepare = std::function<void(bpf_program*)>;

/// Opens the probes object with only `prog` to load, runs `prepare` on it, loads it and
/// runs `attach` on it.
std::string load_and_attach(const char* prog, const Attach& attach, const Prepare& prepare = {}) {
    probe_log().clear();
    libbpf_print_fn_t old = libbpf_set_print(capture_print);
    std::string result;
    const auto obj_bytes = bpf_objects::probes();
    LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = "libbpfcpp_probes");
    bpf_object* obj = bpf_object__open_mem(obj_bytes.bytes.data(), obj_bytes.bytes.size(), &oo);
    if (obj == nullptr) {
        result = "opening the probe object failed: " + errno_text(errno);
    } else {
        bpf_program* target = nullptr;
        bpf_program* p = nullptr;
        bpf_object__for_each_program(p, obj) {
            const bool it = std::strcmp(bpf_program__name(p), prog) == 0;
            bpf_program__set_autoload(p, it);
            if (it) target = p;
        }
        const std::string sec = target != nullptr ? bpf_program__section_name(target) : prog;
        if (target != nullptr && prepare) prepare(target);
        if (target == nullptr) {
            result = std::string("no program '") + prog + "' in the probe object";
        } else if (int err = bpf_object__load(obj); err != 0) {
            const std::string why = last_libbpf_line();
            result = "loading " + sec + ": " + errno_text(-err) + (why.empty() ? "" : "; " + why);
        } else if (attach) {
            std::string why = attach(obj, target);
            if (!why.empty()) result = "attaching " + sec + ": " + why;
        }
        bpf_object__close(obj);
    }
    libbpf_set_print(old);
    return result;
}

/// Attaches by the section name and detaches at once.
std::string auto_attach(bpf_object*, bpf_program* p) {
    bpf_link* l = bpf_program__attach(p);
    if (l == nullptr) return errno_text(errno);
    bpf_link__destroy(l);
    return {};
}

/// Attaches an iterator with `opts`, creates one iteration and reads it to the end.
std::string run_iter(bpf_program* p, const bpf_iter_attach_opts* opts) {
    bpf_link* l = bpf_program__attach_iter(p, opts);
    if (l == nullptr) return errno_text(errno);
    std::string result;
    int fd = bpf_iter_create(bpf_link__fd(l));
    if (fd < 0) {
        result = "creating an iteration: " + errno_text(errno);
    } else {
        char buf[256];
        ssize_t n;
        while ((n = read(fd, buf, sizeof buf)) > 0) {
        }
        if (n < 0) result = "reading the iteration: " + errno_text(errno);
        close(fd);
    }
    bpf_link__destroy(l);
    return result;
}

std::string read_file(const char* path) {
    std::ifstream f(path);
    std::stringstream s;
    s << f.rdbuf();
    std::string text = s.str();
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    return text;
}

/// The active LSMs ("lockdown,capability,...,bpf"), from securityfs; mounted on a private
/// directory for the read when the machine has not mounted it.
std::string active_lsms() {
    std::string lsms = read_file("/sys/kernel/security/lsm");
    if (!lsms.empty()) return lsms;
    char dir[] = "/tmp/libbpfcpp-securityfs-XXXXXX";
    if (mkdtemp(dir) == nullptr) return {};
    if (mount("securityfs", dir, "securityfs", 0, nullptr) == 0) {
        lsms = read_file((std::string(dir) + "/lsm").c_str());
        umount2(dir, MNT_DETACH);
    }
    rmdir(dir);
    return lsms;
}

bool lsm_list_has_bpf(const std::string& list) { return ("," + list + ",").find(",bpf,") != std::string::npos; }

std::string probe_kprobes() {
    const bool pmu = access("/sys/bus/event_source/devices/kprobe/type", F_OK) == 0;
    const bool tracefs = access("/sys/kernel/tracing/kprobe_events", F_OK) == 0 ||
                         access("/sys/kernel/debug/tracing/kprobe_events", F_OK) == 0;
    if (!pmu && !tracefs)
        return "no kprobe PMU (/sys/bus/event_source/devices/kprobe) and no kprobe_events in tracefs "
               "(CONFIG_KPROBES is off)";
    return load_and_attach("probe_kprobe", [](bpf_object*, bpf_program* p) -> std::string {
        bpf_link* l = bpf_program__attach_kprobe(p, false, "do_nanosleep");
        if (l == nullptr) return "kprobe on do_nanosleep: " + errno_text(errno);
        bpf_link__destroy(l);
        return {};
    });
}

/// Runs `f` on a thread of its own in a fresh network namespace (gone when it returns),
/// so that a probe's hooks never see the machine's traffic.
std::string in_private_netns(const std::function<std::string()>& f) {
    std::string result;
    std::thread t([&] {
        if (unshare(CLONE_NEWNET) != 0) {
            result = "unshare(CLONE_NEWNET): " + errno_text(errno);
            return;
        }
        result = f();
    });
    t.join();
    return result;
}

// The library's own probe pieces (libbpfcpp/detail/probe_programs.hpp), which its attach
// plans (fallback.hpp) decide with too.
using bpf::detail::tiny_prog;

/// Loads a tiny program and creates a link of `attach` to `target` with it.
std::string tiny_link(const char* what, bpf_prog_type type, bpf_attach_type attach, int target,
                      const bpf_link_create_opts* opts = nullptr) {
    return bpf::detail::tiny_link_refusal(what, type, attach, target, type == BPF_PROG_TYPE_SCHED_CLS ? -1 : 1, opts);
}

std::string probe_tcx() {
    return in_private_netns([] {
        // the loopback device of the fresh namespace
        return tiny_link("tcx", BPF_PROG_TYPE_SCHED_CLS, static_cast<bpf_attach_type>(46), 1);
    });
}

std::string probe_netkit() {
    return in_private_netns([] {
        if (int err = create_netkit("nkprobe0", "nkprobe1"); err != 0)
            return "creating a netkit device over rtnetlink: " + errno_text(err) +
                   (err == EOPNOTSUPP ? " (CONFIG_NETKIT is off)" : "");
        return tiny_link("netkit", BPF_PROG_TYPE_SCHED_CLS, static_cast<bpf_attach_type>(54),
                         static_cast<int>(if_nametoindex("nkprobe0")));
    });
}

std::string probe_netfilter() {
    return in_private_netns([] {
        // link_create.netfilter: pf, hooknum, priority, flags after target_fd, attach_type,
        // flags; libbpf before 1.3 has no field for them, so the syscall is made here.
        const int prog = tiny_prog(static_cast<bpf_prog_type>(32), static_cast<bpf_attach_type>(45), 1);
        if (prog < 0) return "loading a netfilter program: " + errno_text(-prog);
        union bpf_attr attr;
        std::memset(&attr, 0, sizeof attr);
        attr.link_create.prog_fd = static_cast<__u32>(prog);
        attr.link_create.attach_type = static_cast<bpf_attach_type>(45);
        const __u32 nf[4] = {2 /* NFPROTO_IPV4 */, 1 /* NF_INET_LOCAL_IN */, static_cast<__u32>(-128), 0};
        static_assert(sizeof attr.link_create >= 16 + sizeof nf);
        std::memcpy(reinterpret_cast<char*>(&attr.link_create) + 16, nf, sizeof nf);
        const long link = syscall(SYS_bpf, BPF_LINK_CREATE, &attr, sizeof attr);
        const int err = errno;
        close(prog);
        if (link < 0) return "creating a netfilter link: " + errno_text(err);
        close(static_cast<int>(link));
        return std::string();
    });
}

/// A kprobe_multi link (or, with `session`, a kprobe session) on do_nanosleep, by name
/// (the kernel resolves it).
std::string probe_kprobe_multi(bool session) {
    const bool pmu = access("/sys/bus/event_source/devices/kprobe/type", F_OK) == 0;
    if (!pmu && access("/sys/kernel/tracing/kprobe_events", F_OK) != 0 &&
        access("/sys/kernel/debug/tracing/kprobe_events", F_OK) != 0)
        return "no kprobes in this kernel (CONFIG_KPROBES is off)";
    const auto attach = static_cast<bpf_attach_type>(session ? 56 : BPF_TRACE_KPROBE_MULTI);
    const int prog = tiny_prog(BPF_PROG_TYPE_KPROBE, attach, 0);
    if (prog < 0)
        return std::string("loading a ") + (session ? "kprobe session" : "kprobe_multi") + " program: " +
               errno_text(-prog);
    const char* syms[] = {"do_nanosleep"};
#if !LIBBPFCPP_LIBBPF_AT_LEAST(1, 5)
    if (session) {
        close(prog);
        return "built with libbpf " + bpf::libbpf_compiled_version() + ", which cannot create kprobe session links (libbpf >= 1.5)";
    }
#endif
    LIBBPF_OPTS(bpf_link_create_opts, o);
    o.kprobe_multi.cnt = 1;
    o.kprobe_multi.syms = syms;
    const int link = bpf_link_create(prog, 0, attach, &o);
    const int err = errno;
    close(prog);
    if (link < 0)
        return std::string("creating a ") + (session ? "kprobe session" : "kprobe_multi") +
               " link on do_nanosleep: " + errno_text(err);
    close(link);
    return {};
}

std::string probe_perf_lost_counter() {
    perf_event_attr attr{};
    attr.size = sizeof attr;
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_BPF_OUTPUT;
    attr.sample_type = PERF_SAMPLE_RAW;
    attr.read_format = PERF_FORMAT_LOST;
    int fd = static_cast<int>(syscall(SYS_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC));
    if (fd < 0) return "perf_event_open with read_format PERF_FORMAT_LOST: " + errno_text(errno);
    std::uint64_t values[2] = {};
    ssize_t n = read(fd, values, sizeof values);
    close(fd);
    if (n != static_cast<ssize_t>(sizeof values))
        return "reading a PERF_FORMAT_LOST event gave " + std::to_string(n) + " bytes, not 16";
    return {};
}

std::string probe_hash_lookup_and_delete() {
    int fd = bpf_map_create(BPF_MAP_TYPE_HASH, "probe_take", 4, 8, 1, nullptr);
    if (fd < 0) return "creating a hash map: " + errno_text(errno);
    std::uint32_t key = 1;
    std::uint64_t value = 7, out = 0;
    std::string why;
    if (bpf_map_update_elem(fd, &key, &value, BPF_ANY) != 0)
        why = "adding an entry: " + errno_text(errno);
    else if (bpf_map_lookup_and_delete_elem(fd, &key, &out) != 0)
        why = "lookup-and-delete on a hash map: " + errno_text(errno);
    else if (out != value)
        why = "lookup-and-delete returned " + std::to_string(out) + ", not " + std::to_string(value);
    close(fd);
    return why;
}

/// In a forked child that entered a user and mount namespace: takes the mount the
/// parent made of its bpffs context, creates a token from it and loads an XDP program
/// with the token. Raw syscalls: the headers of libbpf 1.1 and of Linux 6.1 know
/// neither BPF_TOKEN_CREATE nor the token fields.
std::string bpf_token_probe_child(int sock) {
    if (std::string why = enter_user_namespace(); !why.empty()) return why;
    const long ctx = syscall(SYS_fsopen, "bpf", 1 /* FSOPEN_CLOEXEC */);
    if (ctx < 0) return "fsopen(\"bpf\") in a user namespace: " + errno_text(errno);
    if (!send_fd(sock, static_cast<int>(ctx))) return "sending the bpffs context: " + errno_text(errno);
    close(static_cast<int>(ctx));
    const int mnt = receive_fd(sock);
    if (mnt < 0) return {};  // the parent says why
    const int dir = openat(mnt, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) return "opening the delegated bpffs: " + errno_text(errno);
    alignas(8) unsigned char attr[160] = {};
    const std::uint32_t token_create[2] = {0 /* flags */, static_cast<std::uint32_t>(dir)};
    std::memcpy(attr, token_create, sizeof token_create);
    const long token = syscall(SYS_bpf, 36 /* BPF_TOKEN_CREATE */, attr, sizeof attr);
    if (token < 0) {
        const int err = errno;
        return "BPF_TOKEN_CREATE from a delegated bpffs: " + errno_text(err) +
               (err == EINVAL ? " (a kernel without BPF tokens)" : "");
    }
    const bpf_insn insns[] = {
        {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 2 /* XDP_PASS */},
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
    };
    union bpf_attr load;
    std::memset(&load, 0, sizeof load);
    load.prog_type = BPF_PROG_TYPE_XDP;
    load.expected_attach_type = BPF_XDP;
    load.insn_cnt = 2;
    load.insns = reinterpret_cast<std::uintptr_t>(insns);
    load.license = reinterpret_cast<std::uintptr_t>("GPL");
    load.prog_flags = 1U << 16;  // BPF_F_TOKEN_FD
    alignas(8) unsigned char buf[256] = {};
    std::memcpy(buf, &load, std::min(sizeof load, sizeof buf));
    const std::int32_t token_fd = static_cast<std::int32_t>(token);
    std::memcpy(buf + 144, &token_fd, sizeof token_fd);  // prog_token_fd (the 6.9 ABI)
    const long prog = syscall(SYS_bpf, BPF_PROG_LOAD, buf, 148);
    if (prog < 0) return "loading an XDP program with the token: " + errno_text(errno);
    close(static_cast<int>(prog));
    return {};
}

/// A child enters a user namespace and opens a bpffs context; this process, privileged,
/// delegates everything on it and creates the mount; the child makes a token of it and
/// loads a program with the token.
std::string probe_bpf_token() {
    int sock[2], result[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sock) != 0) return "socketpair: " + errno_text(errno);
    if (pipe2(result, O_CLOEXEC) != 0) {
        close(sock[0]);
        close(sock[1]);
        return "pipe: " + errno_text(errno);
    }
    const pid_t pid = fork();
    if (pid < 0) return "fork: " + errno_text(errno);
    if (pid == 0) {
        close(sock[0]);
        close(result[0]);
        const std::string why = bpf_token_probe_child(sock[1]);
        if (!why.empty() && write(result[1], why.data(), why.size()) < 0) _exit(2);
        _exit(0);
    }
    close(sock[1]);
    close(result[1]);
    std::string parent_why;
    if (const int ctx = receive_fd(sock[0]); ctx >= 0) {
        for (const char* key : {"delegate_cmds", "delegate_maps", "delegate_progs", "delegate_attachs"})
            if (parent_why.empty() && syscall(SYS_fsconfig, ctx, 1 /* FSCONFIG_SET_STRING */, key, "any", 0) != 0)
                parent_why = std::string("setting ") + key + "=any: " + errno_text(errno);
        if (parent_why.empty() && syscall(SYS_fsconfig, ctx, 6 /* FSCONFIG_CMD_CREATE */, nullptr, nullptr, 0) != 0) {
            const int err = errno;
            parent_why = "creating a bpffs for a user namespace: " + errno_text(err) +
                         (err == EPERM ? " (a kernel that mounts no bpffs for user namespaces)" : "");
        }
        if (parent_why.empty()) {
            const long mnt = syscall(SYS_fsmount, ctx, 1 /* FSMOUNT_CLOEXEC */, 0);
            if (mnt < 0) {
                parent_why = "fsmount of the delegated bpffs: " + errno_text(errno);
            } else {
                send_fd(sock[0], static_cast<int>(mnt));
                close(static_cast<int>(mnt));
            }
        }
        close(ctx);
    }
    close(sock[0]);  // a child still waiting for the mount gets none
    const std::string child_why = read_to_end(result[0]);
    close(result[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (!parent_why.empty()) return parent_why;
    if (!child_why.empty()) return child_why;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return "the probe's child failed";
    return {};
}

std::string probe_map_type(bpf_map_type t) {
    int ret = libbpf_probe_bpf_map_type(t, nullptr);
    if (ret == 1) return {};
    return std::string("creating a ") + libbpf_bpf_map_type_str(t) + " map: " +
           (ret == 0 ? "refused" : errno_text(-ret));
}

const std::vector<Declaration>& table() {
    static const std::vector<Declaration> t = {
        {Feature::Kprobes, "kprobes", "kprobes", 4, 1, {"CONFIG_KPROBES", "CONFIG_KPROBE_EVENTS"}, probe_kprobes, {}},
        {Feature::Fentry, "fentry", "fentry/fexit", 5, 5, {"CONFIG_BPF_JIT", "CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS"},
         [] {
             std::string why = load_and_attach("probe_fentry", auto_attach);
             return why.empty() ? load_and_attach("probe_fexit", auto_attach) : why;
         },
         {}},
        {Feature::FmodRet, "fmod_ret", "fmod_ret", 5, 7, {"CONFIG_BPF_JIT", "CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS"},
         [] { return load_and_attach("probe_fmod_ret", auto_attach); }, {}},
        {Feature::Lsm, "lsm", "BPF LSM", 5, 7, {"CONFIG_BPF_LSM"},
         [] {
             // Without securityfs the list is unreadable: the program's attach decides.
             const std::string lsms = active_lsms();
             if (!lsms.empty() && !lsm_list_has_bpf(lsms))
                 return "the BPF LSM is not active (active LSMs: '" + lsms + "'; it needs lsm=...,bpf at boot)";
             std::string why = load_and_attach("probe_lsm", auto_attach);
             if (!why.empty() && lsms.empty()) why += " (the active LSMs are unknown: securityfs cannot be mounted)";
             return why;
         },
         [] {
             const std::string lsms = active_lsms();
             return lsm_list_has_bpf(lsms) ? std::string()
                                           : "the BPF LSM is not in this boot's LSM list ('" + lsms + "')";
         }},
        {Feature::TpBtf, "tp_btf", "tp_btf", 5, 5, {"CONFIG_DEBUG_INFO_BTF"},
         [] { return load_and_attach("probe_tp_btf", auto_attach); }, {}},
        {Feature::IterTask, "iter_task", "iter/task", 5, 8, {"CONFIG_DEBUG_INFO_BTF"},
         [] { return load_and_attach("probe_iter_task", [](bpf_object*, bpf_program* p) { return run_iter(p, nullptr); }); },
         {}},
        {Feature::IterMapElem, "iter_map_elem", "iter/bpf_map_elem", 5, 9, {"CONFIG_DEBUG_INFO_BTF"},
         [] {
             return load_and_attach("probe_iter_map_elem", [](bpf_object* obj, bpf_program* p) {
                 union bpf_iter_link_info info {};
                 info.map.map_fd = static_cast<__u32>(bpf_map__fd(bpf_object__find_map_by_name(obj, "probe_kv")));
                 LIBBPF_OPTS(bpf_iter_attach_opts, o, .link_info = &info, .link_info_len = sizeof info);
                 return run_iter(p, &o);
             });
         },
         {}},
        {Feature::IterTaskParams, "iter_task_params", "iter/task for one process", 6, 1, {"CONFIG_DEBUG_INFO_BTF"},
         [] {
             return load_and_attach("probe_iter_task", [](bpf_object*, bpf_program* p) {
                 union bpf_iter_link_info info {};
                 info.task.pid = static_cast<__u32>(getpid());
                 LIBBPF_OPTS(bpf_iter_attach_opts, o, .link_info = &info, .link_info_len = sizeof info);
                 return run_iter(p, &o);
             });
         },
         {}},
        {Feature::StructOps, "struct_ops", "struct_ops", 5, 6, {"CONFIG_BPF_JIT", "CONFIG_DEBUG_INFO_BTF"},
         [] {
             int ret = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_STRUCT_OPS, nullptr);
             if (ret == 1) return std::string();
             return "loading a struct_ops program: " + (ret == 0 ? std::string("refused") : errno_text(-ret));
         },
         {}},
        {Feature::RingBuf, "ringbuf", "ring buffer maps", 5, 8, {}, [] { return probe_map_type(BPF_MAP_TYPE_RINGBUF); }, {}},
        {Feature::UserRingBuf, "user_ringbuf", "user ring buffer maps", 6, 1, {},
         [] { return probe_map_type(BPF_MAP_TYPE_USER_RINGBUF); }, {}},
        {Feature::BpfLoop, "bpf_loop", "the bpf_loop() helper", 5, 17, {},
         [] { return load_and_attach("probe_bpf_loop", nullptr); }, {}},
        {Feature::UprobeMulti, "uprobe_multi", "uprobe_multi links", 6, 6, {"CONFIG_UPROBES"},
         [] {
#if LIBBPFCPP_LIBBPF_AT_LEAST(1, 3)
             return load_and_attach("probe_uprobe_multi", [](bpf_object*, bpf_program* p) -> std::string {
                 LIBBPF_OPTS(bpf_uprobe_multi_opts, o);
                 bpf_link* l = bpf_program__attach_uprobe_multi(p, getpid(), self_exe().c_str(), "main", &o);
                 if (l == nullptr) return errno_text(errno);
                 bpf_link__destroy(l);
                 return {};
             }, [](bpf_program* p) { bpf_program__set_expected_attach_type(p, static_cast<bpf_attach_type>(48)); });  // BPF_TRACE_UPROBE_MULTI
#else
             return "built with libbpf " + bpf::libbpf_compiled_version() + ", which has no uprobe_multi (libbpf >= 1.3)";
#endif
         },
         [] {
#if LIBBPFCPP_LIBBPF_AT_LEAST(1, 3)
             return std::string();
#else
             return std::string("libbpf < 1.3 has no uprobe_multi");
#endif
         }},
        {Feature::Tcx, "tcx", "tcx links", 6, 6, {"CONFIG_NET_XGRESS"}, probe_tcx, {}},
        {Feature::Netkit, "netkit", "netkit devices", 6, 7, {"CONFIG_NETKIT"}, probe_netkit, {}},
        {Feature::Netfilter, "netfilter", "netfilter links", 6, 4, {"CONFIG_NETFILTER_BPF_LINK"}, probe_netfilter,
         {}},
        {Feature::KprobeMulti, "kprobe_multi", "kprobe_multi links", 5, 18, {"CONFIG_KPROBES", "CONFIG_FPROBE"},
         [] { return probe_kprobe_multi(false); }, {}},
        {Feature::KprobeSession, "kprobe_session", "kprobe session links", 6, 10, {"CONFIG_KPROBES", "CONFIG_FPROBE"},
         [] { return probe_kprobe_multi(true); },
         [] {
#if LIBBPFCPP_LIBBPF_AT_LEAST(1, 5)
             return std::string();
#else
             return std::string("libbpf < 1.5 cannot create kprobe session links");
#endif
         }},
        {Feature::BpfCookie, "bpf_cookie", "BPF cookies (bpf_get_attach_cookie)", 5, 15, {"CONFIG_UPROBES"},
         [] {
             return load_and_attach("probe_cookie", [](bpf_object*, bpf_program* p) -> std::string {
                 LIBBPF_OPTS(bpf_uprobe_opts, o, .bpf_cookie = 1, .func_name = "main");
                 bpf_link* l = bpf_program__attach_uprobe_opts(p, getpid(), self_exe().c_str(), 0, &o);
                 if (l == nullptr) return "uprobe on main with a cookie: " + errno_text(errno);
                 bpf_link__destroy(l);
                 return {};
             });
         },
         {}},
        {Feature::HashLookupAndDelete, "hash_lookup_and_delete", "lookup-and-delete on hash maps", 5, 14, {},
         probe_hash_lookup_and_delete, {}},
        {Feature::BloomFilter, "bloom_filter", "bloom filter maps", 5, 16, {},
         [] { return probe_map_type(BPF_MAP_TYPE_BLOOM_FILTER); }, {}},
        {Feature::XdpTestRunCtx, "xdp_test_run_ctx", "an xdp_md context in XDP test runs", 5, 13, {},
         [] {
             return load_and_attach("probe_xdp", [](bpf_object*, bpf_program* p) -> std::string {
                 unsigned char frame[64] = {};
                 xdp_md in{}, out{};
                 in.data_end = sizeof frame;
                 LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = sizeof frame, .ctx_in = &in,
                             .ctx_out = &out, .ctx_size_in = sizeof in, .ctx_size_out = sizeof out);
                 if (bpf_prog_test_run_opts(bpf_program__fd(p), &o) != 0)
                     return "test run with an xdp_md context: " + errno_text(errno);
                 return {};
             });
         },
         {}},
        {Feature::BpfToken, "bpf_token", "BPF tokens (a bpffs delegated to a user namespace)", 6, 9,
         {"CONFIG_BPF_SYSCALL", "CONFIG_USER_NS"}, probe_bpf_token,
         [] {
             const std::string max = read_file("/proc/sys/user/max_user_namespaces");
             return max == "0" ? std::string("user namespaces are disabled (user.max_user_namespaces = 0)")
                               : std::string();
         }},
        {Feature::PerfLostCounter, "perf_lost_counter", "PERF_FORMAT_LOST", 6, 0, {"CONFIG_PERF_EVENTS"},
         probe_perf_lost_counter, {}},
        {Feature::SchedExt, "sched_ext", "sched_ext schedulers", 6, 13, {"CONFIG_SCHED_CLASS_EXT"},
         [] { return bpf::scx::probe().reason; }, {}},
    };
    return t;
}

const Declaration& declaration(Feature f) {
    for (const auto& d : table())
        if (d.feature == f) return d;
    std::fprintf(stderr, "features.cpp: feature %d is not declared\n", static_cast<int>(f));
    std::abort();
}

struct KernelRelease {
    int major = 0, minor = 0;
    std::string text;
};

KernelRelease kernel_release() {
    utsname u{};
    uname(&u);
    KernelRelease r;
    r.text = u.release;
    std::sscanf(u.release, "%d.%d", &r.major, &r.minor);
    return r;
}

/// The options of the known kernel's configuration: name -> value ("y", "m", "\"...\"").
const std::map<std::string, std::string>* known_config() {
    static const std::map<std::string, std::string>* config = []() -> const std::map<std::string, std::string>* {
        const char* path = std::getenv("LIBBPFCPP_TEST_KERNEL_CONFIG");
        if (path == nullptr || *path == '\0') return nullptr;
        std::ifstream f(path);
        if (!f) {
            std::fprintf(stderr, "LIBBPFCPP_TEST_KERNEL_CONFIG=%s cannot be read\n", path);
            std::exit(2);
        }
        auto* m = new std::map<std::string, std::string>;
        std::string line;
        while (std::getline(f, line)) {
            auto eq = line.find('=');
            if (line.rfind("CONFIG_", 0) == 0 && eq != std::string::npos) (*m)[line.substr(0, eq)] = line.substr(eq + 1);
        }
        return m;
    }();
    return config;
}

FeatureStatus decide(const Declaration& d) {
    FeatureStatus s;
    s.name = d.name;
    s.since = std::to_string(d.since_major) + "." + std::to_string(d.since_minor);
    const std::string why = d.probe();
    s.available = why.empty();
    s.probe = s.available ? "probe succeeded" : why;
    if (const auto* config = known_config()) {
        const KernelRelease k = kernel_release();
        std::vector<std::string> reasons;
        if (k.major < d.since_major || (k.major == d.since_major && k.minor < d.since_minor))
            reasons.push_back("kernel " + k.text + " is older than " + s.since);
        for (const char* opt : d.config) {
            auto it = config->find(opt);
            if (it == config->end() || (it->second != "y" && it->second != "m"))
                reasons.push_back(std::string(opt) + " is not set");
        }
        if (d.expected_also) {
            std::string also = d.expected_also();
            if (!also.empty()) reasons.push_back(also);
        }
        s.expected = reasons.empty();
        if (s.expected) {
            s.expectation = "expected: kernel " + k.text + " >= " + s.since + " with its configuration";
        } else {
            s.expectation = "not expected:";
            for (const auto& r : reasons) s.expectation += " " + r + ";";
            s.expectation.pop_back();
        }
    }
    return s;
}

}  // namespace

std::string skip_reason(const FeatureStatus& s) {
    std::string r = "needs " + s.name + " (kernel >= " + s.since + "): " + s.probe;
    if (!s.expectation.empty()) r += " [" + s.expectation + "]";
    return r;
}

const FeatureStatus& feature(Feature f) {
    static std::mutex mu;
    static std::map<Feature, FeatureStatus> cache;
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache.find(f);
    if (it == cache.end()) it = cache.emplace(f, decide(declaration(f))).first;
    return it->second;
}

bool kernel_known() { return known_config() != nullptr; }

bool kernel_at_least(int major, int minor) {
    const KernelRelease k = kernel_release();
    return k.major > major || (k.major == major && k.minor >= minor);
}

std::string kernel_release_text() { return kernel_release().text; }

#if !defined(LIBBPFCPP_FEATURES_NO_CATCH)
bool require(Feature f) {
    const FeatureStatus& s = feature(f);
    if (s.available) return true;
    if (s.expected) FAIL("this kernel should have " << s.name << " but refuses it: " << s.probe << " [" << s.expectation << "]");
    skip(skip_reason(s));
    return false;
}

bool require_missing(Feature f) {
    const FeatureStatus& s = feature(f);
    if (!s.available) return true;
    skip("needs a kernel without " + s.name + "; this one has it (" + s.probe + ")");
    return false;
}
#endif

bool feature_by_name(std::string_view name, Feature& out) {
    for (const auto& d : table()) {
        if (name == d.short_name) {
            out = d.feature;
            return true;
        }
    }
    return false;
}

std::string_view feature_name(Feature f) { return declaration(f).short_name; }

std::string feature_report() {
    std::string out;
    for (const auto& d : table()) {
        const FeatureStatus& s = feature(d.feature);
        out += std::string(d.short_name) + ": " + (s.available ? "available" : "missing") + " (since " + s.since +
               "): " + s.probe;
        if (!s.expectation.empty()) out += " [" + s.expectation + "]";
        out += "\n";
    }
    return out;
}

}  // namespace testing
