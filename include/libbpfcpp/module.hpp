// bpf::Module: a BPF object file opened, configured, loaded and attached (wraps bpf_object).
#pragma once

#include "detail/cxx20.hpp"  // first: a clear error below C++20

#include "detail/compiled.hpp"

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "callbacks.hpp"
#include "detail/load_checks.hpp"
#include "detail/load_errors.hpp"
#include "detail/module_state.hpp"
#include "detail/needs_libbpf.hpp"
#include "detail/object_checks.hpp"
#include "detail/token_checks.hpp"
#include "embedded.hpp"
#include "error.hpp"
#include "link.hpp"
#include "log.hpp"
#include "map.hpp"
#include "prog.hpp"
// Every attach family, so that mod.program(...).attach_*() compiles with this header alone.
#include "cgroup.hpp"
#include "iter.hpp"
#include "kprobe.hpp"
#include "kprobe_multi.hpp"
#include "netfilter.hpp"
#include "netkit.hpp"
#include "struct_ops.hpp"
#include "tc.hpp"
#include "tcx.hpp"
#include "tracepoint.hpp"
#include "trampoline.hpp"
#include "uprobe.hpp"
#include "xdp.hpp"
#include "version.hpp"

namespace bpf {

// The event buffers a Module makes and owns; each is defined by its own header
// (ring_buffer.hpp, perf_buffer.hpp, user_ring_buffer.hpp), which a tool includes only
// when it uses that buffer.
class RingBuffer;
struct RingBufferOptions;
class PerfBuffer;
struct PerfBufferOptions;
class UserRingBuffer;
class Module;

namespace detail {
/// Made from any Module: the parameter of the builders below, which the buffer headers'
/// builders (taking Module&) outrank wherever those headers were included.
struct BufferHeaderMissing {
    BufferHeaderMissing(const Module&) noexcept {}  // NOLINT: converts on purpose
};
template <class...>
inline constexpr bool header_missing = false;
}  // namespace detail

// Chosen by Module::ring_buffer() & co. only when the buffer's header is missing: they
// stop the compile with its name.
template <class... Args>
RingBuffer& build_ring_buffer(detail::BufferHeaderMissing, Args&&...) {
    static_assert(detail::header_missing<Args...>,
                  "Module::ring_buffer() needs #include <libbpfcpp/ring_buffer.hpp> "
                  "(module.hpp only declares bpf::RingBuffer and bpf::RingBufferOptions)");
    std::terminate();  // not compiled in a program that builds: the assertion fails first
}
template <class... Args>
PerfBuffer& build_perf_buffer(detail::BufferHeaderMissing, Args&&...) {
    static_assert(detail::header_missing<Args...>,
                  "Module::perf_buffer() needs #include <libbpfcpp/perf_buffer.hpp> "
                  "(module.hpp only declares bpf::PerfBuffer and bpf::PerfBufferOptions)");
    std::terminate();  // not compiled in a program that builds: the assertion fails first
}
template <class... Args>
UserRingBuffer& build_user_ring_buffer(detail::BufferHeaderMissing, Args&&...) {
    static_assert(detail::header_missing<Args...>,
                  "Module::user_ring_buffer() needs #include <libbpfcpp/user_ring_buffer.hpp> "
                  "(bpf::UserRingBuffer is only declared by module.hpp)");
    std::terminate();  // not compiled in a program that builds: the assertion fails first
}

/// Options of Module::open_file / open_memory (bpf_object_open_opts).
///
/// ```cpp
/// bpf::OpenOptions o;
/// o.btf_path = "/boot/vmlinux-6.1.btf";   // a kernel without /sys/kernel/btf/vmlinux
/// auto mod = bpf::Module::open_file("tool.bpf.o", o);
/// ```
struct OpenOptions {
    std::string object_name;    ///< overrides the name taken from the file name
    std::string btf_path;       ///< BTF for CO-RE relocations instead of /sys/kernel/btf/vmlinux
    std::string kconfig;        ///< extra "CONFIG_X=y" lines for __kconfig externs
    std::string pin_root_path;  ///< where maps with LIBBPF_PIN_BY_NAME are pinned (default /sys/fs/bpf)
    std::uint32_t kernel_log_level = 0;  ///< verifier log level for every program (1, 2, 4)
    /// The bpffs whose delegation the load uses, through a BPF token (libbpf >= 1.4, kernel
    /// >= 6.9; for a process in a user namespace). Unset: libbpf's default (the path in
    /// LIBBPF_BPF_TOKEN_PATH, else /sys/fs/bpf when it delegates anything); "": no token.
    /// A path with libbpf < 1.4 throws at open. See <libbpfcpp/token.hpp>.
    std::optional<std::string> bpf_token_path;
};

namespace detail {

/// Where a global variable lives: which internal map and where in its value.
/// The BTF string at `offset`, or "" where the object's BTF has none there (a corrupt
/// object: libbpf returns NULL, which a string_view must not be made from).
inline std::string_view btf_name(const btf* b, std::uint32_t offset) noexcept {
    const char* name = btf__name_by_offset(b, offset);
    return name == nullptr ? std::string_view() : std::string_view(name);
}

struct GlobalLocation {
    bpf_map* map = nullptr;
    std::size_t offset = 0;
    std::size_t size = 0;
    std::string section;
};

/// True for the global sections the kernel freezes at load (BPF_F_RDONLY_PROG and
/// map_freeze()), which user space can then only map read-only.
inline bool frozen_section(std::string_view section) noexcept {
    return section.rfind(".rodata", 0) == 0 || section == ".kconfig";
}

}  // namespace detail

/// A BPF object: open it, configure its maps and programs, load it, attach, exchange data.
/// Move-only; destroying it stops its buffers, detaches its links and frees its maps and
/// programs, in that order.
///
/// ```cpp
/// auto mod = bpf::Module::open_file("tcpconnect.bpf.o");
/// mod.map("events").set_max_entries(8192);
/// mod.set_global("target_pid", pid_t{42});
/// mod.load();
/// mod.program("tcp_connect").attach_kprobe("tcp_connect");
/// ```
class Module {
public:
    /// Opens a BPF ELF object file (libbpfgo's NewModuleFromFile(Args)).
    static Module open_file(const std::string& path, const OpenOptions& options = {});

    /// Opens a BPF ELF object held in memory, e.g. embedded in the executable
    /// (libbpfgo's NewModuleFromBuffer). The bytes are only read during this call.
    static Module open_memory(std::span<const std::byte> object, const OpenOptions& options = {});

    /// Opens an object embedded in the executable; its name is the object's unless
    /// `options.object_name` says otherwise.
    static Module open_memory(const EmbeddedObject& object, OpenOptions options = {}) {
        if (options.object_name.empty()) options.object_name = object.name;
        return open_memory(object.bytes, options);
    }

    /// Moves the object and everything it owns; the source becomes empty.
    Module(Module&&) noexcept = default;
    /// Releases what this module owns, then takes over the other's.
    Module& operator=(Module&&) noexcept = default;
    Module(const Module&) = delete;
    Module& operator=(const Module&) = delete;
    ~Module() = default;

    /// The object's name (file name without ".o", or OpenOptions::object_name).
    [[nodiscard]] std::string_view name() const { return state().name; }
    /// True after load() (even a failed one: libbpf refuses a second load).
    [[nodiscard]] bool loaded() const { return state().loaded; }
    /// The raw libbpf object, for what is not wrapped.
    [[nodiscard]] bpf_object* get() const { return state().obj; }
    /// The fd of the object's BTF in the kernel, or -1.
    [[nodiscard]] int btf_fd() const { return bpf_object__btf_fd(state().obj); }
    /// The fd of the BPF token the load used (OpenOptions::bpf_token_path), or -1: none,
    /// not loaded yet, or libbpf < 1.4.
    [[nodiscard]] int token_fd() const {
#if LIBBPFCPP_LIBBPF_AT_LEAST(1, 4)
        return bpf_object__token_fd(state().obj);
#else
        return -1;
#endif
    }

    /// Creates the maps and loads the programs into the kernel (libbpfgo's BPFLoadObject).
    /// A program the verifier rejects throws an Error carrying that program's verifier log.
    void load();

    /// The first half of load() (bpf_object__prepare, libbpf 1.6): creates the maps, so
    /// they have fds to fill or to share before any program is loaded, while programs can
    /// still be configured; load() then loads the programs. Needs libbpf >= 1.6.
    void prepare();
    /// True after prepare() (even a failed one).
    [[nodiscard]] bool prepared() const { return state().prepared; }

private:
    // "map 'x' not found in object 'o'; maps in this object: a, b": one copy of the
    // message for map() and program(), out of their way.
    [[noreturn]] void throw_not_found(std::string_view kind, std::string_view name, std::string_view names) const;

    // The name of `m`, which must be a map of this module (not of another Module).
    [[nodiscard]] std::string name_of_own(const Map& m, std::string_view what) const;

public:
    // ---- maps and programs ------------------------------------------------------------
    /// The map called `name` (libbpfgo's GetMap); throws listing the maps that exist.
    [[nodiscard]] Map map(std::string_view name) const;
    /// The map called `name`, or nullopt (no exception) when there is none.
    [[nodiscard]] std::optional<Map> find_map(std::string_view name) const;
    /// Every map of the object, global-variable sections included (libbpfgo's NextMap).
    [[nodiscard]] std::vector<Map> maps() const;

    /// The program called `name` (libbpfgo's GetProgram); throws listing those that exist.
    [[nodiscard]] Prog program(std::string_view name) const;
    /// The program called `name`, or nullopt when there is none.
    [[nodiscard]] std::optional<Prog> find_program(std::string_view name) const;
    /// Every program of the object (libbpfgo's NextProgram).
    [[nodiscard]] std::vector<Prog> programs() const;

    // ---- attach -----------------------------------------------------------------------
    /// Attaches every loaded program whose section says where (libbpfgo's AttachPrograms).
    /// Programs with autoload or autoattach off are left alone; a program whose section
    /// names no attach point (a bare SEC("uprobe"), SEC("xdp"), ...) is passed over, and
    /// each one passed over is reported to the logger at LogLevel::Info. Any other failure
    /// throws, e.g. a kprobe on a kernel without kprobes. All or nothing: on failure the
    /// links made by this call are destroyed again.
    ///
    /// ```cpp
    /// mod.program("on_exec_kprobe").set_autoattach(false);   // attached by hand, or not at all
    /// mod.attach_all();
    /// ```
    void attach_all();

    /// Destroys every link this module holds (libbpfgo's DetachPrograms).
    void detach_all() noexcept { state().links.clear(); }

    // ---- event buffers ----------------------------------------------------------------
    // Each buffer is built by its own header (ring_buffer.hpp, perf_buffer.hpp,
    // user_ring_buffer.hpp: build_ring_buffer(), ...), found by argument-dependent lookup
    // where these members are called; the Module owns what it built. The callback's shape
    // is a constraint of the member, so a wrong one is reported at the caller's line.

    /// A consumer of the ring buffer map `map` calling `on_event` with each record, as
    /// `std::span<const std::byte>` or `const Event&` (libbpfgo's InitRingBuf). The Module
    /// owns it (stopped and freed before the links and maps); add() more rings to it.
    /// A per-CPU map named "<map>_drops" (RINGBUF_DROPS in libbpfcpp/bpf/ringbuf_drops.h)
    /// becomes the ring's drop counter, read by RingBuffer::drops(). `options` trade
    /// latency for fewer wake-ups under load (RingBufferOptions::min_wakeup_interval).
    /// Needs `#include <libbpfcpp/ring_buffer.hpp>`.
    ///
    /// ```cpp
    /// auto& rb = mod.ring_buffer("events", [](const Event& e) { print(e); });
    /// rb.poll(std::chrono::milliseconds(100));
    /// ```
    template <RingEventCallback OnEvent, class Options = RingBufferOptions>
        requires std::is_same_v<Options, RingBufferOptions>
    RingBuffer& ring_buffer(std::string_view map_name, OnEvent&& on_event, const Options& options) {
        return build_ring_buffer(*this, map_name, std::forward<OnEvent>(on_event), options);
    }
    /// ring_buffer() with the default RingBufferOptions.
    template <RingEventCallback OnEvent>
    RingBuffer& ring_buffer(std::string_view map_name, OnEvent&& on_event) {
        return build_ring_buffer(*this, map_name, std::forward<OnEvent>(on_event));
    }
    /// A ring buffer consumer without a callback, read with events<T>() (default options
    /// when none are given).
    template <class Options = RingBufferOptions>
        requires std::is_same_v<Options, RingBufferOptions>
    RingBuffer& ring_buffer(std::string_view map_name, const Options& options = {}) {
        return build_ring_buffer(*this, map_name, options);
    }

    /// A consumer of the perf event array `map` (libbpfgo's InitPerfBuf): `on_event`
    /// takes `(int cpu, std::span<const std::byte>)` or `(int cpu, const Event&)` (or
    /// either without the cpu), `on_lost` takes `(int cpu, std::uint64_t count)` or is
    /// nullptr; `pages` per CPU, a power of two. The Module owns it. Needs
    /// `#include <libbpfcpp/perf_buffer.hpp>`.
    ///
    /// ```cpp
    /// auto& pb = mod.perf_buffer("events", on_event, on_lost, 64);
    /// pb.start();
    /// ```
    template <PerfEventCallback OnEvent, PerfLostCallback OnLost = std::nullptr_t>
    PerfBuffer& perf_buffer(std::string_view map_name, OnEvent&& on_event, OnLost&& on_lost = nullptr,
                            std::size_t pages = 64) {
        return build_perf_buffer(*this, map_name, std::forward<OnEvent>(on_event), std::forward<OnLost>(on_lost),
                                 pages);
    }
    /// perf_buffer() with all options (wake-up batching).
    template <PerfEventCallback OnEvent, PerfLostCallback OnLost, class Options = PerfBufferOptions>
        requires std::is_same_v<Options, PerfBufferOptions>
    PerfBuffer& perf_buffer(std::string_view map_name, OnEvent&& on_event, OnLost&& on_lost, const Options& options) {
        return build_perf_buffer(*this, map_name, std::forward<OnEvent>(on_event), std::forward<OnLost>(on_lost),
                                 options);
    }
    /// A perf buffer consumer without a callback, read with events<T>() (default options
    /// when none are given).
    template <class Options = PerfBufferOptions>
        requires std::is_same_v<Options, PerfBufferOptions>
    PerfBuffer& perf_buffer(std::string_view map_name, const Options& options = {}) {
        return build_perf_buffer(*this, map_name, nullptr, nullptr, options);
    }

    /// ring_buffer() and perf_buffer() on a Map of this module instead of a name, e.g. a
    /// skeleton's member, so that the compiler checks the name:
    ///
    /// ```cpp
    /// auto& rb = skel.module().ring_buffer(skel.maps.events, [](const Event& e) { print(e); });
    /// ```
    template <RingEventCallback OnEvent>
    RingBuffer& ring_buffer(const Map& m, OnEvent&& on_event) {
        return ring_buffer(name_of_own(m, "creating a ring buffer on map"), std::forward<OnEvent>(on_event));
    }
    /// ring_buffer() with options on a Map of this module.
    template <RingEventCallback OnEvent, class Options = RingBufferOptions>
        requires std::is_same_v<Options, RingBufferOptions>
    RingBuffer& ring_buffer(const Map& m, OnEvent&& on_event, const Options& options) {
        return ring_buffer(name_of_own(m, "creating a ring buffer on map"), std::forward<OnEvent>(on_event), options);
    }
    /// A ring buffer consumer of a Map of this module without a callback (events<T>()).
    template <class Options = RingBufferOptions>
        requires std::is_same_v<Options, RingBufferOptions>
    RingBuffer& ring_buffer(const Map& m, const Options& options = {}) {
        return ring_buffer(name_of_own(m, "creating a ring buffer on map"), options);
    }
    /// perf_buffer() on a Map of this module (see ring_buffer(const Map&, ...)).
    template <PerfEventCallback OnEvent, PerfLostCallback OnLost = std::nullptr_t>
    PerfBuffer& perf_buffer(const Map& m, OnEvent&& on_event, OnLost&& on_lost = nullptr, std::size_t pages = 64) {
        return perf_buffer(name_of_own(m, "creating a perf buffer on map"), std::forward<OnEvent>(on_event),
                           std::forward<OnLost>(on_lost), pages);
    }

    /// A producer into the user ring buffer map `map` (BPF_MAP_TYPE_USER_RINGBUF). Needs
    /// `#include <libbpfcpp/user_ring_buffer.hpp>`.
    ///
    /// ```cpp
    /// auto& urb = mod.user_ring_buffer("commands");
    /// urb.send(Command{...});
    /// ```
    template <class Name = std::string_view>  // a template: the builder is found where it is called
    UserRingBuffer& user_ring_buffer(std::type_identity_t<Name> map_name) {
        return build_user_ring_buffer(*this, map_name);
    }

    /// Frees an event buffer of this module before the module goes (libbpfgo's
    /// RingBuffer.Close / PerfBuffer.Close / UserRingBuffer.Close); `buffer` is a dangling
    /// reference afterwards. A running background loop is stopped first, and an events()
    /// loop in progress on another thread is ended (after the events it already took) and
    /// waited for. Rethrows what a callback threw on the background thread, like stop(),
    /// once the buffer is freed. Throws, freeing nothing, when called from the buffer's own
    /// callback or from inside a loop over its events() on this thread, or for a buffer
    /// this module does not own (e.g. one closed already).
    ///
    /// ```cpp
    /// auto& rb = mod.ring_buffer("events", on_event);
    /// rb.start();
    /// ...
    /// mod.close(rb);   // the ring's memory and epoll set are gone; the module lives on
    /// ```
    template <class Buffer>
        requires(std::is_same_v<Buffer, RingBuffer> || std::is_same_v<Buffer, PerfBuffer> ||
                 std::is_same_v<Buffer, UserRingBuffer>)
    void close(Buffer& buffer) {
        auto& res = state().resources;
        auto it = std::find_if(res.begin(), res.end(), [&](const auto& r) { return r.get() == &buffer; });
        if (it == res.end())
            throw Error(ENOENT, detail::describe("closing an event buffer of object", state().name,
                                                 "this module does not own it (closed already, or made by another "
                                                 "module)"));
        std::exception_ptr error;
        if constexpr (!std::is_same_v<Buffer, UserRingBuffer>) error = buffer.prepare_close();
        (*it)->retire();
        res.erase(it);
        if (error) std::rethrow_exception(error);
    }

    // ---- global variables -------------------------------------------------------------
    /// Sets a global variable of .rodata/.data/.bss (libbpfgo's InitGlobalVariable).
    /// Before load any section; after load only writable, mmapable ones (.data/.bss).
    template <MapData T>
    void set_global(std::string_view name, const T& value) {
        set_global_bytes(name, std::as_bytes(std::span(&value, 1)));
    }

    /// Reads a global variable (before load: its initial value; after: the live value).
    template <MapData T>
    [[nodiscard]] T global(std::string_view name) const {
        auto loc = locate_global(name, sizeof(T), "reading global");
        const std::byte* bytes = section_bytes(loc, false);
        if (bytes == nullptr)
            throw Error(EINVAL, detail::describe("reading global", name,
                                                 "section " + loc.section + " has no data; the object file is "
                                                 "damaged, rebuild it"));
        T out;
        std::memcpy(&out, bytes + loc.offset, sizeof(T));
        return out;
    }

    /// set_global() with raw bytes; their size must be the variable's.
    void set_global_bytes(std::string_view name, std::span<const std::byte> value);

    /// The memory of the global section `section` (".rodata", ".data", ".bss", ".data.NAME",
    /// ".rodata.NAME"): before load libbpf's copy, whose contents become the section's
    /// initial value; after load the kernel's map, mapped once. Writable: after load a
    /// section the kernel froze (.rodata*, .kconfig; mapped read-only) is refused with
    /// EPERM; read those through the const overload. Generated skeletons give their typed
    /// section views from here.
    [[nodiscard]] std::span<std::byte> section_memory(std::string_view section);
    /// The memory of `section`, read-only (any section, before and after load).
    [[nodiscard]] std::span<const std::byte> section_memory(std::string_view section) const;

    /// The names of all global variables, for discovery and error messages.
    [[nodiscard]] std::vector<std::string> global_names() const;

    /// The module's internal state; used by the event buffer types.
    [[nodiscard]] detail::ModuleState& state() const {
        if (!state_) throw Error(EBADF, "use of a moved-from bpf::Module");
        return *state_;
    }

private:

    explicit Module(std::unique_ptr<detail::ModuleState> s) noexcept : state_(std::move(s)) {}

    // Opens with `open(opts, source)`: a function pointer rather than a template, so that
    // the body is compiled once in compiled mode.
    using OpenFn = bpf_object* (*)(const bpf_object_open_opts*, const void* source);
    static Module open_with(const std::string& label, const OpenOptions& o, OpenFn open, const void* source);

    template <class Fn>
    bool for_each_global(Fn&& fn) const {
        const btf* b = bpf_object__btf(state().obj);
        if (b == nullptr) return false;
        bpf_map* m = nullptr;
        while ((m = bpf_object__next_map(state().obj, m)) != nullptr) {
            if (!bpf_map__is_internal(m)) continue;
            const btf_type* sec = btf__type_by_id(b, bpf_map__btf_value_type_id(m));
            if (sec == nullptr || !btf_is_datasec(sec)) continue;
            const btf_var_secinfo* vs = btf_var_secinfos(sec);
            for (unsigned i = 0; i < btf_vlen(sec); ++i) {
                const btf_type* var = btf__type_by_id(b, vs[i].type);
                if (var == nullptr || !btf_is_var(var)) continue;
                detail::GlobalLocation loc{m, vs[i].offset, vs[i].size,
                                           std::string(detail::btf_name(b, sec->name_off))};
                if (fn(loc, detail::btf_name(b, var->name_off))) return true;
            }
        }
        return false;
    }

    detail::GlobalLocation locate_global(std::string_view name, std::size_t size, std::string_view op) const;

    /// The live bytes of a loaded global section, mapped once and kept until destruction.
    std::byte* section_bytes(const detail::GlobalLocation& loc, bool writable) const;
    // section_memory() of either constness.
    std::span<std::byte> section_span(std::string_view section, bool writable) const;

    std::unique_ptr<detail::ModuleState> state_;
};

namespace detail {
/// Hands `buffer` to `mod`, which frees it before its links and maps; the buffer headers'
/// builders end with it.
template <class Buffer>
Buffer& own_buffer(Module& mod, std::unique_ptr<Buffer> buffer) {
    Buffer& ref = *buffer;
    mod.state().resources.push_back(std::move(buffer));
    return ref;
}
}  // namespace detail

}  // namespace bpf

#if LIBBPFCPP_DEFINITIONS
namespace bpf {

LIBBPFCPP_INLINE Module Module::open_file(const std::string& path, const OpenOptions& options) {
    detail::install_print_router();
    if (access(path.c_str(), R_OK) != 0) {
        int err = errno;
        throw Error(err, detail::describe("opening BPF object", path,
                                          err == ENOENT ? "no such file" : detail::explain_errno(err)));
    }
    // libbpf opens a directory or a device without complaint and loses the fd when
    // the ELF parser then fails: only regular files get that far.
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) detail::throw_errno(errno, "opening BPF object", path);
    if (!S_ISREG(st.st_mode))
        throw Error(S_ISDIR(st.st_mode) ? EISDIR : EINVAL,
                    detail::describe("opening BPF object", path,
                                     S_ISDIR(st.st_mode) ? "it is a directory; give the path of a .bpf.o file"
                                                         : "not a regular file; give the path of a .bpf.o file"));
    detail::refuse_corrupt_file(path);  // what the linked libbpf would crash on
    return open_with(path, options, [](const bpf_object_open_opts* o, const void* file) {
        return bpf_object__open_file(static_cast<const std::string*>(file)->c_str(), o);
    }, &path);
}

LIBBPFCPP_INLINE Module Module::open_memory(std::span<const std::byte> object, const OpenOptions& options) {
    detail::install_print_router();
    std::string label = options.object_name.empty() ? "<memory, " + std::to_string(object.size()) + " bytes>"
                                                    : options.object_name;
    detail::refuse_corrupt_object(object, label);  // what the linked libbpf would crash on
    return open_with(label, options, [](const bpf_object_open_opts* o, const void* bytes) {
        const auto* span = static_cast<const std::span<const std::byte>*>(bytes);
        return bpf_object__open_mem(span->data(), span->size(), o);
    }, &object);
}

LIBBPFCPP_INLINE void Module::prepare() {
    auto& s = state();
    if (s.loaded) throw Error(EALREADY, detail::describe("preparing object", s.name, "already loaded"));
    if (s.prepared)
        throw Error(EALREADY, detail::describe("preparing object", s.name, "already prepared; call load() next"));
#if LIBBPFCPP_LIBBPF_AT_LEAST(1, 6)
    detail::check_map_types(s.obj, s.name);
    detail::check_fd_headroom(s.obj, s.name);
    detail::check_pin_paths(s.obj, s.name);
    detail::check_struct_ops_types(s.obj, s.name);
    detail::LogCapture capture(detail::LogCapture::UnlessThrown);
    const int ret = bpf_object__prepare(s.obj);
    s.prepared = true;
    if (ret == 0) return;
    s.loaded = true;  // libbpf refuses to go on with an object whose preparation failed
    int err = detail::positive_errno(ret);
    if (detail::is_libbpf_errno(err)) err = EINVAL;
    detail::throw_load_error(s.obj, s.name, s.token_path, err, capture.text(), nullptr);
#else
    detail::libbpf_too_old("preparing object", s.name, "Module::prepare() (bpf_object__prepare)", "object preparation", 1, 6,
                           "call load(), which creates the maps and loads the programs in one step");
#endif
}

LIBBPFCPP_INLINE void Module::load() {
    auto& s = state();
    if (s.loaded) throw Error(EALREADY, detail::describe("loading object", s.name, "already loaded"));
    if (!s.prepared) {  // prepare() checked these already, and the maps exist now
        detail::check_map_types(s.obj, s.name);  // set_type() may have been given anything
        detail::check_fd_headroom(s.obj, s.name);
        detail::check_pin_paths(s.obj, s.name);
        detail::check_struct_ops_sections(s.obj, s.name);
        detail::check_struct_ops_types(s.obj, s.name);
    }
    detail::ProgramLogs logs(s.obj);
    detail::LogCapture capture(detail::LogCapture::UnlessThrown);
    const int ret = bpf_object__load(s.obj);
    s.loaded = true;  // even after a failure: libbpf refuses a second load of the same object
    if (ret == 0) {
        logs.print_requested();
        return;
    }
    int err = detail::positive_errno(ret);
    if (detail::is_libbpf_errno(err)) err = EINVAL;
    if (err == EMFILE || err == ENFILE) detail::fd_exhaustion_seen().store(true, std::memory_order_relaxed);
    detail::throw_load_error(s.obj, s.name, s.token_path, err, capture.text(), &logs);
}

LIBBPFCPP_INLINE void Module::throw_not_found(std::string_view kind, std::string_view name,
                                              std::string_view names) const {
    std::string message(kind);
    message.append(" '").append(detail::printable_name(name)).append("' not found in object '");
    message.append(state().name).append("'; ").append(kind).append("s in this object: ");
    message.append(names.empty() ? std::string_view("(none)") : names);
    throw Error(ENOENT, std::move(message));
}

LIBBPFCPP_INLINE std::string Module::name_of_own(const Map& m, std::string_view what) const {
    const std::string name(m.name());
    if (m.get() == nullptr || bpf_object__find_map_by_name(state().obj, name.c_str()) != m.get())
        throw Error(EINVAL, detail::describe(std::string(what), name,
                                             "the map belongs to another module (object '" + state().name +
                                                 "' has no such map)"));
    return name;
}

LIBBPFCPP_INLINE Map Module::map(std::string_view name) const {
    if (auto m = find_map(name)) return *m;
    std::string names;
    for (bpf_map* m = nullptr; (m = bpf_object__next_map(state().obj, m)) != nullptr;)
        names.append(names.empty() ? "" : ", ").append(bpf_map__name(m));
    throw_not_found("map", name, names);
}

LIBBPFCPP_INLINE std::optional<Map> Module::find_map(std::string_view name) const {
    if (!detail::is_c_name(name)) return std::nullopt;
    bpf_map* m = bpf_object__find_map_by_name(state().obj, std::string(name).c_str());
    if (m == nullptr) return std::nullopt;
    return Map(m, &state());
}

LIBBPFCPP_INLINE std::vector<Map> Module::maps() const {
    std::vector<Map> out;
    bpf_map* m = nullptr;
    while ((m = bpf_object__next_map(state().obj, m)) != nullptr) out.emplace_back(m, &state());
    return out;
}

LIBBPFCPP_INLINE Prog Module::program(std::string_view name) const {
    if (auto p = find_program(name)) return *p;
    std::string names;
    for (bpf_program* p = nullptr; (p = bpf_object__next_program(state().obj, p)) != nullptr;)
        names.append(names.empty() ? "" : ", ").append(bpf_program__name(p));
    throw_not_found("program", name, names);
}

LIBBPFCPP_INLINE std::optional<Prog> Module::find_program(std::string_view name) const {
    if (!detail::is_c_name(name)) return std::nullopt;
    bpf_program* p = bpf_object__find_program_by_name(state().obj, std::string(name).c_str());
    if (p == nullptr) return std::nullopt;
    return Prog(p, state_.get());
}

LIBBPFCPP_INLINE std::vector<Prog> Module::programs() const {
    std::vector<Prog> out;
    bpf_program* p = nullptr;
    while ((p = bpf_object__next_program(state().obj, p)) != nullptr) out.emplace_back(p, state_.get());
    return out;
}

LIBBPFCPP_INLINE void Module::attach_all() {
    auto& s = state();
    const std::size_t before = s.links.size();
    std::vector<std::string> passed_over;
    try {
        for (Prog p : programs()) {
            if (!p.autoload() || !p.autoattach()) continue;
            if (p.section_names_attach_point()) {
                p.attach();
                continue;
            }
            // libbpf may still know how (sections newer than this library's table).
            try {
                p.attach();
            } catch (const Error& e) {
                if (e.error_number() != EOPNOTSUPP) throw;
                passed_over.push_back("program '" + std::string(p.name()) + "' (section '" +
                                      std::string(p.section()) + "')");
            }
        }
    } catch (...) {
        while (s.links.size() > before) s.links.pop_back();
        throw;
    }
    for (const auto& what : passed_over)
        detail::emit(LogLevel::Info, "libbpfcpp: attach_all() passed over " + what +
                                         ": its section names no attach point; attach it with an "
                                         "explicit attach_* call\n");
}

LIBBPFCPP_INLINE void Module::set_global_bytes(std::string_view name, std::span<const std::byte> value) {
    auto& s = state();
    auto loc = locate_global(name, value.size(), "setting global");
    if (!s.loaded) {
        // libbpf's copy of the section is written in place, as bpftool's skeletons
        // do (it is libbpf's writable mapping; older headers declare it const): a
        // copy of the whole section would cost its size, which a .bss can declare in
        // gigabytes without a byte of it in the file.
        std::size_t size = 0;
        auto* cur = static_cast<std::byte*>(const_cast<void*>(bpf_map__initial_value(loc.map, &size)));
        if (cur == nullptr || loc.offset + value.size() > size)
            throw Error(EINVAL, detail::describe("setting global", name,
                                                 "section " + loc.section + " has no initial value of " +
                                                     "that size; the object file is damaged, rebuild it"));
        std::memcpy(cur + loc.offset, value.data(), value.size());
        return;
    }
    std::memcpy(section_bytes(loc, true) + loc.offset, value.data(), value.size());
}

LIBBPFCPP_INLINE std::span<std::byte> Module::section_memory(std::string_view section) {
    return section_span(section, true);
}

LIBBPFCPP_INLINE std::span<const std::byte> Module::section_memory(std::string_view section) const {
    return section_span(section, false);
}

LIBBPFCPP_INLINE std::span<std::byte> Module::section_span(std::string_view section, bool writable) const {
    const btf* b = bpf_object__btf(state().obj);
    bpf_map* m = nullptr;
    while (b != nullptr && (m = bpf_object__next_map(state().obj, m)) != nullptr) {
        if (!bpf_map__is_internal(m)) continue;
        const btf_type* sec = btf__type_by_id(b, bpf_map__btf_value_type_id(m));
        if (sec == nullptr || !btf_is_datasec(sec) || detail::btf_name(b, sec->name_off) != section)
            continue;
        const detail::GlobalLocation loc{m, 0, bpf_map__value_size(m), std::string(section)};
        if (writable && state().loaded && detail::frozen_section(section))
            throw Error(EPERM, detail::describe("writing global section", section,
                                                "the kernel mapped it read-only at load; read it through a "
                                                "const Module (std::as_const(mod).section_memory()), and set "
                                                "its values before Module::load()"));
        return {section_bytes(loc, writable), bpf_map__value_size(m)};
    }
    throw Error(ENOENT, detail::describe("accessing global section", section,
                                         "no such section in object '" + state().name + "'"));
}

LIBBPFCPP_INLINE std::vector<std::string> Module::global_names() const {
    std::vector<std::string> out;
    for_each_global([&](const detail::GlobalLocation&, std::string_view n) {
        out.emplace_back(n);
        return false;
    });
    return out;
}

LIBBPFCPP_INLINE Module Module::open_with(const std::string& label, const OpenOptions& o, OpenFn open,
                                          const void* source) {
    LIBBPF_OPTS(bpf_object_open_opts, opts);
    opts.object_name = o.object_name.empty() ? nullptr : o.object_name.c_str();
    opts.btf_custom_path = o.btf_path.empty() ? nullptr : o.btf_path.c_str();
    opts.kconfig = o.kconfig.empty() ? nullptr : o.kconfig.c_str();
    opts.pin_root_path = o.pin_root_path.empty() ? nullptr : o.pin_root_path.c_str();
    opts.kernel_log_level = o.kernel_log_level;
#if LIBBPFCPP_LIBBPF_AT_LEAST(1, 4)
    if (o.bpf_token_path) opts.bpf_token_path = o.bpf_token_path->c_str();
#else
    // "" asks for what libbpf before 1.4 does anyway: no token.
    if (o.bpf_token_path && !o.bpf_token_path->empty())
        detail::libbpf_too_old("opening BPF object", label, "OpenOptions::bpf_token_path (BPF tokens)", "BPF tokens", 1, 4,
                               "run the loader with the capabilities BPF needs instead");
#endif
    if (!o.btf_path.empty() && access(o.btf_path.c_str(), R_OK) != 0)
        throw Error(errno, detail::describe("opening BPF object", label,
                                            "cannot read BTF file '" + o.btf_path + "'"));
    detail::LogCapture capture(detail::LogCapture::UnlessThrown);
    bpf_object* obj = open(&opts, source);
    // libbpf 1.1 turns some malformed objects into a negative number outside the
    // errno range and returns it as the pointer; no user-space object lives there.
    if (sizeof(void*) == 8 && static_cast<std::intptr_t>(reinterpret_cast<std::uintptr_t>(obj)) < 0) {
        obj = nullptr;
        errno = EINVAL;
    }
    if (obj == nullptr) {
        int err = errno != 0 ? errno : EINVAL;
        std::string why = detail::libbpf_warnings(capture.text(), 2);
        const bool malformed = detail::is_libbpf_errno(err) || err == EINVAL || err == ENOEXEC ||
                               err == EPROTO || err == ENOTSUP;
        std::string cause = malformed ? "not a valid BPF ELF object" : detail::explain_errno(err);
        // libbpf >= 1.4 takes a placeholder descriptor per map when it opens the object.
        if (err == EMFILE || err == ENFILE)
            cause = "too many open files (libbpf holds a descriptor per map from open on); raise "
                    "RLIMIT_NOFILE (ulimit -n, or setrlimit()) or close descriptors, then open again";
        if (!why.empty()) cause += " (" + why + ")";
        throw Error(detail::is_libbpf_errno(err) ? EINVAL : err,
                    detail::describe("opening BPF object", label, cause));
    }
    auto s = std::make_unique<detail::ModuleState>();
    s->obj = obj;
    s->name = bpf_object__name(obj);
    s->token_path = o.bpf_token_path;
    return Module(std::move(s));
}

LIBBPFCPP_INLINE detail::GlobalLocation Module::locate_global(std::string_view name, std::size_t size,
        std::string_view op) const {
    detail::GlobalLocation found;
    bool ok = for_each_global([&](const detail::GlobalLocation& loc, std::string_view n) {
        if (n != name) return false;
        found = loc;
        return true;
    });
    if (!ok) {
        std::string names;
        for (const auto& n : global_names()) names += (names.empty() ? "" : ", ") + n;
        throw Error(ENOENT, detail::describe(op, name,
                                             "no such global variable in object '" + state().name +
                                                 "'; globals: " + (names.empty() ? "(none)" : names)));
    }
    if (size != found.size)
        throw Error(EINVAL, detail::describe(op, name,
                                             "the variable is " + std::to_string(found.size) + " bytes in " +
                                                 found.section + ", the C++ type is " + std::to_string(size)));
    // The offset comes from the object's BTF, which a damaged or hostile file can set
    // to anything: check it against the section before any byte is copied.
    const std::size_t section_size = bpf_map__value_size(found.map);
    if (found.offset > section_size || found.size > section_size - found.offset)
        throw Error(EINVAL, detail::describe(op, name,
                                             "the object's BTF places the variable at bytes " +
                                                 std::to_string(found.offset) + ".." +
                                                 std::to_string(std::size_t{found.offset} + found.size) +
                                                 " of " + found.section + ", which is " +
                                                 std::to_string(section_size) +
                                                 " bytes long; the object file is damaged, rebuild it"));
    return found;
}

LIBBPFCPP_INLINE std::byte* Module::section_bytes(const detail::GlobalLocation& loc, bool writable) const {
    auto& s = state();
    if (!s.loaded) {
        std::size_t size = 0;
        // Before load the initial value is libbpf's own copy; read-only here.
        return const_cast<std::byte*>(static_cast<const std::byte*>(bpf_map__initial_value(loc.map, &size)));
    }
    const bool frozen = detail::frozen_section(loc.section);
    if (writable && frozen)
        throw Error(EPERM, detail::describe("setting global in", loc.section,
                                            "the section is read-only once loaded; set it before Module::load()"));
    if ((bpf_map__map_flags(loc.map) & BPF_F_MMAPABLE) == 0)
        throw Error(EOPNOTSUPP, detail::describe("accessing global section", loc.section,
                                                 "the section is not mmapable on this kernel"));
    const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    const std::size_t len = (bpf_map__value_size(loc.map) + page - 1) / page * page;
    const int prot = frozen ? PROT_READ : PROT_READ | PROT_WRITE;
    for (const auto& m : s.mmaps)
        if (m.map == loc.map) return static_cast<std::byte*>(m.addr);
    void* addr = mmap(nullptr, len, prot, MAP_SHARED, bpf_map__fd(loc.map), 0);
    if (addr == MAP_FAILED) detail::throw_errno(errno, "mapping global section", loc.section);
    s.mmaps.push_back({loc.map, addr, len});
    return static_cast<std::byte*>(addr);
}

}  // namespace bpf
#endif  // LIBBPFCPP_DEFINITIONS
