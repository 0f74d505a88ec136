// libbpfcpp: a header-only C++20 binding of libbpf. Include this one header.
#pragma once

#include "error.hpp"
#include "link.hpp"
#include "log.hpp"
#include "map.hpp"
#include "module.hpp"
#include "prog.hpp"
#include "version.hpp"
