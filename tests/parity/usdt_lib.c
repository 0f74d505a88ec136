/* A shared library with a USDT probe, for attach_usdt() by bare library name. */
#include <sys/sdt.h>

__attribute__((noinline, used, visibility("default"))) void parity_lib_fire(long a, long b)
{
    DTRACE_PROBE2(parity, tick, a, b);
    __asm__ volatile("" ::: "memory");
}
