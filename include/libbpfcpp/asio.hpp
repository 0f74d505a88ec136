// bpf::asio: RingBuffer, PerfBuffer and EventLoop as asio I/O objects (standalone asio >= 1.22).
#pragma once

#include "detail/cxx20.hpp"  // first: a clear error below C++20

#if !__has_include(<asio/version.hpp>)
#error "libbpfcpp/asio.hpp needs standalone asio 1.22 or newer (Debian/Ubuntu: apt-get install libasio-dev)"
#endif

#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/compose.hpp>
#include <asio/error.hpp>
#include <asio/execution_context.hpp>
#include <asio/any_io_executor.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/post.hpp>
#include <asio/version.hpp>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "callbacks.hpp"
#include "detail/module_state.hpp"
#include "error.hpp"
#include "event_loop.hpp"
#include "perf_buffer.hpp"
#include "ring_buffer.hpp"

static_assert(ASIO_VERSION >= 102200,
              "libbpfcpp/asio.hpp needs standalone asio 1.22 or newer (per-operation cancellation and "
              "async_compose's cancellation state)");

/// asio adaptors: wait for a buffer's records in an io_context and deliver them.
namespace bpf::asio {

/// Options of a source.
struct SourceOptions {
    /// The most records one operation delivers, so one busy buffer cannot starve the
    /// io_context: the next operation takes the rest without waiting. Not applied to an
    /// EventLoop source (its poll delivers each ready buffer's records, at most one ring's
    /// worth per buffer).
    std::size_t max_events = 256;
    /// How often the kernel's loss counts are read (ring buffer drops: a map lookup per
    /// ring; perf buffer lost records: a read() per CPU). 0: at every completion.
    std::chrono::milliseconds loss_interval{100};
};

/// What one async_consume() did.
struct Delivery {
    std::size_t events = 0;  ///< records delivered to the buffer's callbacks
    std::uint64_t lost = 0;  ///< records the kernel dropped since the previous report
    bool more = false;       ///< max_events stopped it: records are waiting, the next operation takes them at once
};

/// What one async_receive() got.
template <class T>
struct Received {
    std::vector<T> events;   ///< the records, oldest first
    std::uint64_t lost = 0;  ///< as Delivery::lost
    bool more = false;       ///< as Delivery::more
};

/// A typed callback that collects records for async_receive():
///
/// ```cpp
/// bpf::asio::Collector<Event> collected;
/// auto& rb = mod.ring_buffer("events", collected.callback());
/// bpf::asio::RingSource src(io.get_executor(), rb);
/// bpf::asio::Received<Event> got = co_await src.async_receive(collected, asio::use_awaitable);
/// ```
template <EventType T>
class Collector {
public:
    /// The callback to give Module::ring_buffer()/perf_buffer(). It shares the storage, so
    /// it stays valid when the Collector is moved or gone.
    [[nodiscard]] auto callback() const {
        return [items = items_](const T& e) { items->push_back(e); };
    }
    /// Takes what was collected.
    [[nodiscard]] std::vector<T> take() { return std::exchange(*items_, std::vector<T>{}); }

private:
    std::shared_ptr<std::vector<T>> items_ = std::make_shared<std::vector<T>>();
};

namespace detail {

/// How a source reads each kind of buffer.
template <class Buffer>
struct SourceTraits;

template <>
struct SourceTraits<RingBuffer> {
    static constexpr bool bounded = true;
    static int consume(RingBuffer& b, std::size_t max) { return b.consume_n(max); }
    static int consume_woken(RingBuffer& b, std::size_t max) { return b.consume_n(max); }
    static std::uint64_t lost(const RingBuffer& b) { return b.drops(); }
};

template <>
struct SourceTraits<PerfBuffer> {
    static constexpr bool bounded = true;
    static int consume(PerfBuffer& b, std::size_t max) { return b.consume_n(max); }
    static int consume_woken(PerfBuffer& b, std::size_t max) { return b.consume_n(max); }
    static std::uint64_t lost(const PerfBuffer& b) { return b.lost(); }
};

template <>
struct SourceTraits<EventLoop> {
    static constexpr bool bounded = false;
    static int consume(EventLoop& l, std::size_t) { return l.consume(); }
    // poll(0) also clears a stop() of the loop, which would keep its fd readable.
    static int consume_woken(EventLoop& l, std::size_t) { return l.poll(std::chrono::milliseconds(0)); }
    static std::uint64_t lost(const EventLoop&) { return 0; }
};

/// A source's state, shared by the source and its pending operation: the operation may
/// outlive the source object (which only cancels it).
template <class Buffer>
struct SourceState {
    ::asio::posix::stream_descriptor desc;  // a duplicate of the buffer's epoll fd
    Buffer* buffer;
    std::shared_ptr<bpf::detail::Lifetime> life;  // null for an EventLoop (the user owns it)
    SourceOptions options;
    bool pending = false;    // an operation is in progress
    bool cancelled = false;  // cancel() while the operation was not waiting on desc
    bool early = false;      // the check after arming the wait consumed: the wait was cancelled for it
    std::exception_ptr early_error;
    std::optional<Delivery> early_result;  // nullopt with early: the buffer is gone
    std::uint64_t lost_reported = 0;
    std::chrono::steady_clock::time_point next_loss_check{};

    SourceState(const ::asio::any_io_executor& ex, int epoll_fd, Buffer& b, std::shared_ptr<bpf::detail::Lifetime> l,
                const SourceOptions& o)
        : desc(ex), buffer(&b), life(std::move(l)), options(o) {
        desc.assign(epoll_fd);
        if (options.max_events == 0) options.max_events = 1;
    }

    // Delivers up to the bound (woken: after the wait reported readiness); nullopt when
    // the buffer is gone. The buffer cannot go away in the middle: its Module's
    // destructor waits for the guard.
    std::optional<Delivery> consume(bool woken) {
        std::unique_lock<std::mutex> lock;
        if (life) {
            lock = life->guard();
            if (life->ended()) {
                life->release(lock);
                return std::nullopt;
            }
        }
        struct Release {
            bpf::detail::Lifetime* life;
            std::unique_lock<std::mutex>* lock;
            ~Release() {
                if (life != nullptr) life->release(*lock);
            }
        } release{life.get(), &lock};
        using Tr = SourceTraits<Buffer>;
        const std::size_t max = options.max_events;
        const int n = woken ? Tr::consume_woken(*buffer, max) : Tr::consume(*buffer, max);
        Delivery d;
        d.events = static_cast<std::size_t>(n);
        d.more = Tr::bounded && d.events >= max;
        const auto now = std::chrono::steady_clock::now();
        if (now >= next_loss_check) {
            next_loss_check = now + options.loss_interval;
            const std::uint64_t total = Tr::lost(*buffer);
            if (total > lost_reported) d.lost = total - lost_reported;
            lost_reported = total;
        }
        return d;
    }
};

/// The operation: arm the wait, then look at the buffer (records left by the previous
/// operation's bound, or one whose wake-up came before the arming: a ring buffer signals
/// once per catch-up, a perf buffer once per kernel wake-up); records there cancel the
/// wait and complete the operation with them, else it sleeps until the fd is readable.
/// Arming first costs nothing when the buffer is empty, where posting the look would cost
/// the io_context a pass through its reactor on every operation. Records found during the
/// initiation are delivered to the buffer's callbacks then; the completion always comes
/// from the io_context. A buffer callback's exception leaves io_context::run() (as any
/// handler's does); the operation stays pending and goes on when run() is called again.
template <class Buffer, class Finish>
class ConsumeOp {
public:
    ConsumeOp(std::shared_ptr<SourceState<Buffer>> st, Finish finish) : st_(std::move(st)), finish_(std::move(finish)) {}

    template <class Self>
    void operator()(Self& self, std::error_code ec = {}) {
        SourceState<Buffer>& s = *st_;
        switch (phase_) {
            case Phase::start:
                if (s.pending) {
                    phase_ = Phase::refused;
                    ::asio::post(s.desc.get_executor(), std::move(self));
                    return;
                }
                s.pending = true;
                s.cancelled = false;
                self.reset_cancellation_state(::asio::enable_total_cancellation());
                arm(self);
                return;
            case Phase::refused:
                // Not ours to finish: the pending operation owns the state's flags.
                self.complete(::asio::error::already_started, decltype(finish_(Delivery{})){});
                return;
            case Phase::check:
                if (s.cancelled || self.get_cancellation_state().cancelled() != ::asio::cancellation_type::none) {
                    finish(self, ::asio::error::operation_aborted, {});
                    return;
                }
                deliver(self, false);
                return;
            case Phase::waiting:
                if (std::exchange(s.early, false)) {
                    if (auto e = std::exchange(s.early_error, nullptr)) {
                        // The look after arming threw: the exception leaves run() now, and
                        // the operation looks again when run() is called again.
                        phase_ = Phase::check;
                        ::asio::post(s.desc.get_executor(), std::move(self));
                        std::rethrow_exception(e);
                    }
                    auto r = std::exchange(s.early_result, std::nullopt);
                    finish(self, r ? std::error_code{} : ::asio::error::eof, r.value_or(Delivery{}));
                    return;
                }
                if (ec == ::asio::error::operation_aborted || s.cancelled) {
                    finish(self, ::asio::error::operation_aborted, {});
                    return;
                }
                if (ec) {
                    finish(self, ec, {});
                    return;
                }
                deliver(self, true);
                return;
        }
    }

private:
    enum class Phase { start, refused, check, waiting };

    // Consumes (from a handler); completes when there were records or the buffer is
    // gone, else waits again.
    template <class Self>
    void deliver(Self& self, bool woken) {
        SourceState<Buffer>& s = *st_;
        std::optional<Delivery> r;
        try {
            r = s.consume(woken);
        } catch (...) {
            auto e = std::current_exception();
            phase_ = Phase::check;
            ::asio::post(s.desc.get_executor(), std::move(self));
            std::rethrow_exception(e);
        }
        if (!r) {
            finish(self, ::asio::error::eof, {});
            return;
        }
        if (r->events > 0 || r->lost > 0) {
            finish(self, {}, *r);
            return;
        }
        arm(self);
    }

    template <class Self>
    void arm(Self& self) {
        SourceState<Buffer>& s = *st_;
        phase_ = Phase::waiting;
        s.early = false;
        s.early_error = nullptr;
        s.early_result.reset();
        s.desc.async_wait(::asio::posix::descriptor_base::wait_read, std::move(self));
        // `self` is gone: from here on only the shared state.
        std::optional<Delivery> r;
        try {
            r = s.consume(false);
        } catch (...) {
            s.early = true;
            s.early_error = std::current_exception();
            s.desc.cancel();
            return;
        }
        if (!r || r->events > 0 || r->lost > 0) {
            s.early = true;
            s.early_result = r;
            s.desc.cancel();
        }
    }

    template <class Self>
    void finish(Self& self, std::error_code ec, const Delivery& d) {
        st_->pending = false;
        self.complete(ec, finish_(d));
    }

    std::shared_ptr<SourceState<Buffer>> st_;
    Finish finish_;
    Phase phase_ = Phase::start;
};

struct DeliveryAsIs {
    Delivery operator()(const Delivery& d) const { return d; }
};

template <class T>
struct TakeCollected {
    Collector<T> collector;
    Received<T> operator()(const Delivery& d) { return Received<T>{collector.take(), d.lost, d.more}; }
};

}  // namespace detail

/// A RingBuffer, PerfBuffer or EventLoop as an asio I/O object (RingSource, PerfSource,
/// LoopSource). Its operations take any completion token: callbacks, `use_awaitable`,
/// `use_future`, `experimental::deferred`, `as_tuple`...
///
/// ```cpp
/// auto& rb = mod.ring_buffer("events", [](const Event& e) { print(e); });
/// bpf::asio::RingSource src(co_await asio::this_coro::executor, rb);
/// for (;;) {
///     bpf::asio::Delivery d = co_await src.async_consume(asio::use_awaitable);
///     if (d.lost > 0) warn(d.lost, "events dropped");
/// }
/// ```
///
/// One operation at a time (a second one completes with `error::already_started`).
/// Cancelling (cancel(), or the operation's cancellation slot with any cancellation
/// type) completes it with `error::operation_aborted` and consumes nothing. Records the
/// operation consumed before are never discarded: they went to the callbacks, or are in
/// the Collector. The buffer is read on the io_context's thread; it must not run its
/// own start() loop meanwhile.
///
/// Lifetimes: the buffer may be closed or its Module destroyed while an operation is
/// pending, from any thread: the operation completes with `error::eof` (the buffer is
/// never touched after its end; a Module destroyed while the operation reads waits for
/// the read to finish). The io_context may be destroyed with an operation pending: its
/// handler is destroyed without being called (asio's rule), the buffer is left as it was.
/// Like any asio I/O object, the source itself goes before its io_context (a coroutine's
/// local source does); destroying it cancels its operation. An EventLoop source needs the
/// EventLoop to outlive it (the EventLoop has no Module to tell it otherwise).
template <class Buffer>
class basic_source {
public:
    /// The executor the source's operations complete on.
    using executor_type = ::asio::any_io_executor;

    /// A source reading `buffer` on `ex`.
    basic_source(const executor_type& ex, Buffer& buffer, const SourceOptions& options = {}) {
        std::shared_ptr<bpf::detail::Lifetime> life;
        int buffer_fd = -1;
        if constexpr (std::is_same_v<Buffer, EventLoop>) {
            buffer_fd = buffer.fd();
        } else {
            if (buffer.running())
                throw Error(EBUSY, bpf::detail::describe("serving", buffer.name(), "its start() loop runs; stop() it first"));
            buffer_fd = buffer.epoll_fd();
            life = buffer.lifetime();
            // The Lifetime's fd joins the buffer's own epoll set, as a wake-up: the set then
            // also reports the buffer's end, so the io_context waits on that one set (a set
            // of our own around it would add a level of epoll to every wake-up). It is
            // readable only once the buffer is retired, when nothing reads the set but us.
            epoll_event ev{};
            ev.events = EPOLLIN;
            ev.data.u64 = bpf::detail::Epoll::wake_tag;
            if (epoll_ctl(buffer_fd, EPOLL_CTL_ADD, life->fd(), &ev) != 0 && errno != EEXIST)
                bpf::detail::throw_errno(errno, "adding to the epoll set of", buffer.name());
        }
        // Our own descriptor of the set: it stays open (and the Lifetime's fd in it) when
        // the buffer closes its own.
        const int fd = fcntl(buffer_fd, F_DUPFD_CLOEXEC, 0);
        if (fd < 0) bpf::detail::throw_errno(errno, "duplicating the epoll fd of an asio source for", name_of(buffer));
        try {
            st_ = std::make_shared<detail::SourceState<Buffer>>(ex, fd, buffer, std::move(life), options);
        } catch (...) {
            if (!st_) close(fd);
            throw;
        }
    }
    /// A source reading `buffer` on `ctx` (an io_context).
    template <class Context>
        requires std::is_convertible_v<Context&, ::asio::execution_context&>
    basic_source(Context& ctx, Buffer& buffer, const SourceOptions& options = {})
        : basic_source(executor_type(ctx.get_executor()), buffer, options) {}

    /// Takes over `o`'s buffer and pending operation; `o` is left empty.
    basic_source(basic_source&&) noexcept = default;
    /// Cancels this source's pending operation, then takes over `o`'s.
    basic_source& operator=(basic_source&& o) noexcept {
        if (this != &o) {
            cancel();
            st_ = std::move(o.st_);
        }
        return *this;
    }
    basic_source(const basic_source&) = delete;
    basic_source& operator=(const basic_source&) = delete;
    ~basic_source() { cancel(); }

    /// The executor given at construction.
    [[nodiscard]] executor_type get_executor() const noexcept { return st_->desc.get_executor(); }

    /// Waits until the buffer has records, delivers up to max_events of them to its
    /// callbacks, and completes with `void(std::error_code, Delivery)`.
    template <class Token>
    auto async_consume(Token&& token) {
        return ::asio::async_compose<Token, void(std::error_code, Delivery)>(
            detail::ConsumeOp<Buffer, detail::DeliveryAsIs>(st_, {}), token, st_->desc);
    }

    /// async_consume() into a Collector (the buffer's callback), completing with
    /// `void(std::error_code, Received<T>)`: the typed batch.
    template <class T, class Token>
    auto async_receive(Collector<T>& collector, Token&& token) {
        return ::asio::async_compose<Token, void(std::error_code, Received<T>)>(
            detail::ConsumeOp<Buffer, detail::TakeCollected<T>>(st_, {collector}), token, st_->desc);
    }

    /// Completes the pending operation with `error::operation_aborted`. Like any asio
    /// I/O object's, call it on the executor's thread (from another thread:
    /// `asio::post(src.get_executor(), [&] { src.cancel(); })`).
    void cancel() {
        if (!st_) return;
        if (st_->pending) st_->cancelled = true;
        std::error_code ignored;
        st_->desc.cancel(ignored);
    }

    /// The kernel's loss count as last read (see SourceOptions::loss_interval).
    [[nodiscard]] std::uint64_t lost() const noexcept { return st_->lost_reported; }

    /// The buffer this source reads.
    [[nodiscard]] Buffer& buffer() const noexcept { return *st_->buffer; }

private:
    static std::string name_of(const Buffer& b) {
        if constexpr (std::is_same_v<Buffer, EventLoop>) {
            return "event loop";
        } else {
            return b.name();
        }
    }
    std::shared_ptr<detail::SourceState<Buffer>> st_;
};

/// A RingBuffer as an asio I/O object.
using RingSource = basic_source<RingBuffer>;
/// A PerfBuffer as an asio I/O object.
using PerfSource = basic_source<PerfBuffer>;
/// An EventLoop as an asio I/O object (each operation polls every ready buffer once).
using LoopSource = basic_source<EventLoop>;

}  // namespace bpf::asio
