// libbpfcpp: a header-only C++20 binding of libbpf. This header includes all the others;
// a tool that includes only those it uses compiles faster (README: "Which header to include").
#pragma once

#include "detail/cxx20.hpp"  // first: a clear error below C++20

#include "callbacks.hpp"
#include "error.hpp"
#include "event_loop.hpp"
#include "fallback.hpp"
#include "iter.hpp"
#include "kernel_objects.hpp"
#include "kprobe_multi.hpp"
#include "link.hpp"
#include "link_info.hpp"
#include "log.hpp"
#include "map.hpp"
#include "map_ops.hpp"
#include "module.hpp"
#include "mprog.hpp"
#include "netfilter.hpp"
#include "netkit.hpp"
#include "perf_buffer.hpp"
#include "probe.hpp"
#include "prog.hpp"
#include "ring_buffer.hpp"
#include "skeleton.hpp"
#include "standalone_map.hpp"
#include "tc.hpp"
#include "tcx.hpp"
#include "token.hpp"
#include "typed_map.hpp"
#include "user_ring_buffer.hpp"
#include "version.hpp"
