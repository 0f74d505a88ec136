// bpf::Module: a BPF object file opened, configured, loaded and attached (wraps bpf_object).
#pragma once

#include "detail/cxx20.hpp"  // first: a clear error below C++20

#include "detail/compiled.hpp"

#include <cerrno>
#include <cstddef>
#include <exception>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <bpf/libbpf.h>

#include "callbacks.hpp"
#include "detail/globals.hpp"
#include "detail/load_checks.hpp"
#include "detail/load_errors.hpp"
#include "detail/module_state.hpp"
#include "detail/needs_libbpf.hpp"
#include "detail/object_open.hpp"
#include "detail/owned_buffers.hpp"
#include "embedded.hpp"
#include "error.hpp"
#include "link.hpp"
#include "log.hpp"
#include "map.hpp"
#include "open_options.hpp"
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
#include "test_run.hpp"
#include "tracepoint.hpp"
#include "trampoline.hpp"
#include "uprobe.hpp"
#include "xdp.hpp"
#include "version.hpp"

namespace bpf {

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
    static Module open_file(const std::string& path, const OpenOptions& options = {}) {
        return Module(detail::open_object_file(path, options));
    }

    /// Opens a BPF ELF object held in memory, e.g. embedded in the executable
    /// (libbpfgo's NewModuleFromBuffer). The bytes are only read during this call.
    static Module open_memory(std::span<const std::byte> object, const OpenOptions& options = {}) {
        return Module(detail::open_object_memory(object, options));
    }

    /// Opens an object embedded in the executable; its name is the object's unless
    /// `options.object_name` says otherwise.
    static Module open_memory(const EmbeddedObject& object, const OpenOptions& options = {}) {
        return Module(detail::open_object_memory(object.bytes, options, object.name));
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
    // message for map() and program() (`maps` false), the names read from libbpf's lists
    // rather than from maps() or programs(), whose vectors of handles every skeleton
    // would otherwise compile for an error path.
    [[noreturn, gnu::cold]] void throw_not_found(std::string_view kind, std::string_view name, bool maps) const;

    // The name of `m`, which must be a map of this module (not of another Module).
    [[nodiscard]] std::string name_of_own(const Map& m, std::string_view what) const;

public:
    // ---- maps and programs ------------------------------------------------------------
    /// The map called `name` (libbpfgo's GetMap); throws listing the maps that exist.
    [[nodiscard]] Map map(std::string_view name) const;
    /// The map called `name`, or nullopt (no exception) when there is none.
    [[nodiscard]] std::optional<Map> find_map(std::string_view name) const {
        return find<Map, bpf_map>(name);
    }
    /// Every map of the object, global-variable sections included (libbpfgo's NextMap).
    [[nodiscard]] std::vector<Map> maps() const {
        return all<Map, bpf_map>([](const bpf_object* o, bpf_map* m) { return bpf_object__next_map(o, m); });
    }

    /// The program called `name` (libbpfgo's GetProgram); throws listing those that exist.
    [[nodiscard]] Prog program(std::string_view name) const;
    /// The program called `name`, or nullopt when there is none.
    [[nodiscard]] std::optional<Prog> find_program(std::string_view name) const {
        return find<Prog, bpf_program>(name);
    }
    /// Every program of the object (libbpfgo's NextProgram).
    [[nodiscard]] std::vector<Prog> programs() const {
        return all<Prog, bpf_program>(bpf_object__next_program);
    }

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
        auto& s = state();
        const auto it = detail::owned_resource(s, static_cast<const detail::Resource*>(&buffer));
        std::exception_ptr error;
        if constexpr (!std::is_same_v<Buffer, UserRingBuffer>) error = buffer.prepare_close();
        detail::free_resource(s, it, error);
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
        T out;
        detail::read_global(state(), name, &out, sizeof(T));
        return out;
    }

    /// set_global() with raw bytes; their size must be the variable's.
    void set_global_bytes(std::string_view name, std::span<const std::byte> value) {
        detail::set_global_bytes(state(), name, value);
    }

    /// The memory of the global section `section` (".rodata", ".data", ".bss", ".data.NAME",
    /// ".rodata.NAME"): before load libbpf's copy, whose contents become the section's
    /// initial value; after load the kernel's map, mapped once. Writable: after load a
    /// section the kernel froze (.rodata*, .kconfig; mapped read-only) is refused with
    /// EPERM; read those through the const overload. Generated skeletons give their typed
    /// section views from here.
    [[nodiscard]] std::span<std::byte> section_memory(std::string_view section) {
        return detail::section_span(state(), section, true);
    }
    /// The memory of `section`, read-only (any section, before and after load).
    [[nodiscard]] std::span<const std::byte> section_memory(std::string_view section) const {
        return detail::section_span(state(), section, false);
    }

    /// The names of all global variables, for discovery and error messages.
    [[nodiscard]] std::vector<std::string> global_names() const { return detail::global_names(state()); }

    /// The module's internal state; used by the event buffer types.
    [[nodiscard]] detail::ModuleState& state() const {
        if (!state_) detail::throw_moved_from("bpf::Module");
        return *state_;
    }

private:
    explicit Module(std::unique_ptr<detail::ModuleState> s) noexcept : state_(std::move(s)) {}

    // find_map()/find_program() and maps()/programs(): one shape for both kinds.
    template <class Handle, class Raw>
    std::optional<Handle> find(std::string_view name) const {
        Raw* r = static_cast<Raw*>(detail::find_by_name(state().obj, name, std::is_same_v<Raw, bpf_map>));
        if (r == nullptr) return std::nullopt;
        return Handle(r, &state());
    }
    template <class Handle, class Raw, class Next>
    std::vector<Handle> all(Next next) const {
        std::vector<Handle> out;
        for (Raw* r = nullptr; (r = next(state().obj, r)) != nullptr;) out.emplace_back(r, &state());
        return out;
    }

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

LIBBPFCPP_INLINE void Module::prepare() {
    auto& s = state();
    if (s.loaded) detail::throw_error(EALREADY, "preparing object", s.name, {"already loaded"});
    if (s.prepared)
        detail::throw_error(EALREADY, "preparing object", s.name, {"already prepared; call load() next"});
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
    detail::throw_load_error(s.obj, s.name, s.token_path, ret, capture.text(), nullptr);
#else
    detail::libbpf_too_old("preparing object", s.name, "Module::prepare() (bpf_object__prepare)", "object preparation", 1, 6,
                           "call load(), which creates the maps and loads the programs in one step");
#endif
}

LIBBPFCPP_INLINE void Module::load() {
    auto& s = state();
    if (s.loaded) detail::throw_error(EALREADY, "loading object", s.name, {"already loaded"});
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
    detail::throw_load_error(s.obj, s.name, s.token_path, ret, capture.text(), &logs);
}

LIBBPFCPP_INLINE void Module::throw_not_found(std::string_view kind, std::string_view name, bool maps) const {
    const bpf_object* obj = state().obj;
    std::string names;
    auto add = [&](const char* n) { names.append(names.empty() ? "" : ", ").append(n); };
    if (maps)
        for (bpf_map* m = nullptr; (m = bpf_object__next_map(obj, m)) != nullptr;) add(bpf_map__name(m));
    else
        for (bpf_program* p = nullptr; (p = bpf_object__next_program(obj, p)) != nullptr;) add(bpf_program__name(p));
    throw Error(ENOENT, detail::cat({kind, " '", detail::printable_name(name), "' not found in object '", state().name,
                                     "'; ", kind, "s in this object: ", names.empty() ? "(none)" : names}));
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
    throw_not_found("map", name, true);
}

LIBBPFCPP_INLINE Prog Module::program(std::string_view name) const {
    if (auto p = find_program(name)) return *p;
    throw_not_found("program", name, false);
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

}  // namespace bpf
#endif  // LIBBPFCPP_DEFINITIONS
