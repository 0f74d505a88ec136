// Below C++20 every libbpfcpp header stops with one message; C++23 is taken as it is
// (the packages add no -std= of their own).
#include <libbpfcpp/libbpfcpp.hpp>

#ifdef ACCEPTED
static_assert(__cplusplus > 202002L, "the accepted variant is compiled as C++23");
#endif
