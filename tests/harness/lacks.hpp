// A Catch matcher on bpf::Error::missing(): tests assert on what a call lacked, not on the
// sentence that says it.
#pragma once

#include <string>

#include <catch2/catch.hpp>
#include <libbpfcpp/error.hpp>

namespace testing {

class LacksMatcher : public Catch::MatcherBase<bpf::Error> {
public:
    LacksMatcher(std::string feature, bpf::Missing::Component in, std::string release)
        : feature_(std::move(feature)), in_(in), release_(std::move(release)) {}

    bool match(const bpf::Error& e) const override {
        return e.missing() && e.missing()->feature == feature_ && e.missing()->in == in_ &&
               e.missing()->release == release_;
    }

    std::string describe() const override {
        return std::string("lacks ") + feature_ + " of " + (in_ == bpf::Missing::Libbpf ? "libbpf" : "the kernel") +
               (release_.empty() ? std::string() : " " + release_);
    }

private:
    std::string feature_;
    bpf::Missing::Component in_;
    std::string release_;
};

/// `CHECK_THROWS_MATCHES(call(), bpf::Error, testing::lacks_libbpf("tcx", "1.3"))`
inline LacksMatcher lacks_libbpf(std::string feature, std::string release) {
    return {std::move(feature), bpf::Missing::Libbpf, std::move(release)};
}

/// `CHECK_THROWS_MATCHES(call(), bpf::Error, testing::lacks_kernel("kprobes"))`
inline LacksMatcher lacks_kernel(std::string feature, std::string release = {}) {
    return {std::move(feature), bpf::Missing::Kernel, std::move(release)};
}

}  // namespace testing
