// bpf::OpenOptions: how Module::open_file / open_memory open an object.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace bpf {

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

}  // namespace bpf
