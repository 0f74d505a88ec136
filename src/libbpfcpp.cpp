// libbpfcpp-compiled.a: the bodies of the functions the headers mark LIBBPFCPP_INLINE,
// compiled once, for tools built with -DLIBBPFCPP_COMPILED_LIB (docs/compile-time.md).
// Every header is included so that every such function is defined here.
#define LIBBPFCPP_BUILDING_LIB

#include <libbpfcpp/libbpfcpp.hpp>

namespace bpf {
// The members of the maps' common operations that are not templates themselves.
template class MapOps<Map>;
template class MapOps<StandaloneMap>;
}  // namespace bpf

namespace bpf::detail {

// The symbol compiled-mode tools refer to (detail/compiled.hpp): its name carries this
// library's version and the libbpf headers it was compiled with.
const int LIBBPFCPP_COMPILED_CHECK = 1;

// The version in the symbol's name is the one version.hpp states.
#define LIBBPFCPP_STR_(x) #x
#define LIBBPFCPP_STR(x) LIBBPFCPP_STR_(x)
static_assert(bpf::version == LIBBPFCPP_STR(LIBBPFCPP_VERSION_MAJOR) "." LIBBPFCPP_STR(
                                  LIBBPFCPP_VERSION_MINOR) "." LIBBPFCPP_STR(LIBBPFCPP_VERSION_PATCH),
              "detail/compiled.hpp and version.hpp state different versions");

}  // namespace bpf::detail
