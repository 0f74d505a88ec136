// Kernel features the tests need, in one table (features.cpp): each declared with the
// kernel release that introduced it and the configuration it needs, and decided by a
// probe of exactly that kind (load and attach a minimal program, create a map, open a
// perf event), never by assumption.
//
// On a kernel whose configuration is known (the qemu guests: LIBBPFCPP_TEST_KERNEL_CONFIG
// names the guest kernel's config file), a feature the kernel should have by its release
// and configuration but refuses is a test failure, not a skip, so a regression cannot hide
// as a skip. Elsewhere (a host kernel that is not ours) a refusal skips with the probe's
// reason.
#pragma once

#include <string>
#include <string_view>

namespace testing {

enum class Feature {
    Kprobes,          // kprobe/kretprobe programs attached through perf or tracefs
    Fentry,           // fentry/fexit (BPF trampolines)
    FmodRet,          // fmod_ret
    Lsm,              // BPF LSM programs, active at boot (lsm=...,bpf)
    TpBtf,            // tp_btf (BTF-enabled raw tracepoints)
    IterTask,         // iter/task
    IterMapElem,      // iter/bpf_map_elem with a map
    IterTaskParams,   // iter/task restricted to one process (bpf_iter_link_info.task)
    StructOps,        // struct_ops programs (BPF TCP congestion control)
    RingBuf,          // BPF_MAP_TYPE_RINGBUF
    UserRingBuf,      // BPF_MAP_TYPE_USER_RINGBUF
    BpfLoop,          // the bpf_loop() helper
    UprobeMulti,      // uprobe_multi links
    BpfCookie,        // bpf_get_attach_cookie() in uprobes, with a cookie given at attach
    HashLookupAndDelete,  // BPF_MAP_LOOKUP_AND_DELETE_ELEM on hash maps (not only queues)
    BloomFilter,      // BPF_MAP_TYPE_BLOOM_FILTER (and map_extra)
    XdpTestRunCtx,    // BPF_PROG_TEST_RUN of an XDP program with an xdp_md context in and out
    PerfLostCounter,  // PERF_FORMAT_LOST: a perf event's own count of lost samples
    Tcx,              // tcx links on an interface's ingress/egress
    Netkit,           // netkit devices and their links
    Netfilter,        // netfilter programs and links
    KprobeMulti,      // kprobe_multi links (fprobe)
    KprobeSession,    // kprobe session links
    BpfToken,         // BPF tokens from a bpffs delegated to a user namespace
    SchedExt,         // sched_ext schedulers (the 6.13 kfunc names), none running yet
};

/// What the probe of a feature found, and what the declaration expects.
struct FeatureStatus {
    bool available = false;
    std::string name;    // "fentry/fexit"
    std::string since;   // "5.5"
    std::string probe;   // what the probe did and saw, e.g. "loading fentry/bpf_fentry_test1: EPERM"
    /// On a known kernel: why the feature is expected (or not); empty elsewhere.
    std::string expectation;
    bool expected = false;  // known kernel, release and configuration say it must work
};

/// The probe's verdict on `f` (probed once per process).
const FeatureStatus& feature(Feature f);

/// "needs fentry/fexit (kernel >= 5.5): <what the probe saw>[ [expectation]]".
std::string skip_reason(const FeatureStatus& s);

/// True when this process runs on a kernel whose configuration is known (the guests).
bool kernel_known();

/// True when the running kernel's release (uname) is at least major.minor.
bool kernel_at_least(int major, int minor);

/// The running kernel's release, e.g. "6.1.0-27-cloud-amd64", for skip reasons.
std::string kernel_release_text();

/// For a test that needs `f`: true when it is available. Otherwise the current test case is
/// marked skipped with the probe's reason (false is returned), or, on a known kernel that
/// should have it, fails with the probe's reason (Catch2's FAIL, which ends the case).
bool require(Feature f);

/// For a test of the error path of a kernel *without* `f`: true when `f` is missing;
/// otherwise marks the case skipped ("this kernel has ...") and returns false.
bool require_missing(Feature f);

/// "fentry" -> Feature::Fentry, for scripts (the names of feature_name()); false if unknown.
bool feature_by_name(std::string_view name, Feature& out);
/// The short name scripts use ("kprobes", "fentry", ...).
std::string_view feature_name(Feature f);

/// One line per feature of the table: name, since, available, probe (for the summary).
std::string feature_report();

}  // namespace testing

/// Skips (or, on a known kernel that should have it, fails) the current test case unless
/// the kernel has the feature: `REQUIRE_FEATURE(Fentry);`
#define REQUIRE_FEATURE(f)                                        \
    do {                                                          \
        if (!::testing::require(::testing::Feature::f)) return;   \
    } while (0)

/// Skips the current test case unless the kernel lacks the feature (error-path tests).
#define REQUIRE_MISSING_FEATURE(f)                                        \
    do {                                                                  \
        if (!::testing::require_missing(::testing::Feature::f)) return;   \
    } while (0)
