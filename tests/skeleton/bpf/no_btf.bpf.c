/* Compiled without -g: an object with no BTF, which the skeleton generator must refuse. */
__attribute__((section("tracepoint/syscalls/sys_enter_getppid"), used)) int on_getppid(void *ctx)
{
    return 0;
}

char LICENSE[] __attribute__((section("license"), used)) = "GPL";
