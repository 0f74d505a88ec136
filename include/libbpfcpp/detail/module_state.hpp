// The heap-resident state of a bpf::Module; Map/Prog handles point here, so a Module
// can be moved without invalidating them.
#pragma once

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "../error.hpp"
#include "../link.hpp"
#include "../log.hpp"
#include "compiled.hpp"

namespace bpf::detail {

/// The end of a Resource's life, for a waiter that may outlive it (an asio operation
/// pending on an event buffer, see asio.hpp). Shared between the two: the resource ends
/// it when it goes away, the waiter checks ended() under guard() before each use, so a
/// resource cannot go away in the middle of a use (its end() waits for the guard), and
/// fd() (an eventfd, readable for good once ended) wakes a waiter sleeping on it.
class Lifetime {
public:
    Lifetime() : fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
        if (fd_ < 0) throw_errno(errno, "creating an eventfd for", "a buffer's lifetime");
    }
    ~Lifetime() { close(fd_); }
    Lifetime(const Lifetime&) = delete;
    Lifetime& operator=(const Lifetime&) = delete;

    [[nodiscard]] int fd() const noexcept { return fd_; }
    /// Read under guard(): once true, the resource is gone.
    [[nodiscard]] bool ended() const noexcept { return ended_; }

    /// Held by a waiter for as long as it uses the resource.
    [[nodiscard]] std::unique_lock<std::mutex> guard() {
        std::unique_lock lock(mutex_);
        user_.store(std::this_thread::get_id(), std::memory_order_relaxed);
        return lock;
    }
    /// Called by the waiter before it lets go of guard().
    void release(std::unique_lock<std::mutex>& lock) noexcept {
        user_.store(std::thread::id{}, std::memory_order_relaxed);
        lock.unlock();
    }

    void end(std::string_view owner) noexcept {
        if (user_.load(std::memory_order_relaxed) == std::this_thread::get_id()) {
            // Waiting for the guard would wait for ourselves.
            emit(LogLevel::Warn, cat({"libbpfcpp: '", owner,
                                      "' was destroyed by its own callback; destroy it after the operation completed\n"}));
            std::abort();
        }
        std::lock_guard lock(mutex_);
        if (ended_) return;
        ended_ = true;
        std::uint64_t one = 1;
        [[maybe_unused]] auto r = write(fd_, &one, sizeof one);
    }

private:
    int fd_;
    std::mutex mutex_;
    bool ended_ = false;  // under mutex_
    std::atomic<std::thread::id> user_{};
};

/// Something a Module owns besides links (event buffers, helper threads). Its destructor
/// must stop whatever it runs; it is destroyed before the links and the object.
class Resource {
public:
    virtual ~Resource() { retire(); }

    /// This resource's Lifetime, made on first use (from the thread that owns the resource).
    [[nodiscard]] std::shared_ptr<Lifetime> lifetime() {
        if (!lifetime_) lifetime_ = std::make_shared<Lifetime>();
        return lifetime_;
    }

    /// Ends the Lifetime before the resource is torn down: called by its owner before it
    /// destroys it (a derived class's members are gone by the time ~Resource runs).
    void retire() noexcept {
        if (lifetime_) lifetime_->end("event buffer");
    }

private:
    std::shared_ptr<Lifetime> lifetime_;
};

struct ModuleState {
    bpf_object* obj = nullptr;
    std::string name;
    std::optional<std::string> token_path;  // OpenOptions::bpf_token_path, for load errors
    bool loaded = false;
    bool prepared = false;  // Module::prepare() ran (maps created, programs not loaded)
    std::list<Link> links;  // std::list: the references handed out stay valid
    std::vector<std::unique_ptr<Resource>> resources;
    struct Mapping {
        bpf_map* map;
        void* addr;
        std::size_t size;
    };
    std::vector<Mapping> mmaps;  // global sections mapped after load

    ModuleState() = default;
    ModuleState(const ModuleState&) = delete;
    ModuleState& operator=(const ModuleState&) = delete;

    // Order: buffers and their threads first (they read maps), then links (programs stop
    // firing), then mappings, then the object (maps and programs).
    ~ModuleState();

    Link& keep(bpf_link* link, std::string description);
};

}  // namespace bpf::detail

#if LIBBPFCPP_DEFINITIONS
namespace bpf {

LIBBPFCPP_INLINE detail::ModuleState::~ModuleState() {
    for (auto& r : resources) r->retire();
    while (!resources.empty()) resources.pop_back();
    while (!links.empty()) links.pop_back();
    for (const auto& m : mmaps) munmap(m.addr, m.size);
    if (obj != nullptr) bpf_object__close(obj);
}

LIBBPFCPP_INLINE Link& detail::ModuleState::keep(bpf_link* link, std::string description) {
    return links.emplace_back(link, std::move(description));
}

}  // namespace bpf
#endif  // LIBBPFCPP_DEFINITIONS
