// libbpfcpp: a header-only C++20 binding of libbpf. Include this one header.
#pragma once

#include "error.hpp"
#include "event_loop.hpp"
#include "link.hpp"
#include "log.hpp"
#include "map.hpp"
#include "module.hpp"
#include "perf_buffer.hpp"
#include "prog.hpp"
#include "ring_buffer.hpp"
#include "user_ring_buffer.hpp"
#include "version.hpp"
