/* The traced program of the usdt test: after a line on stdin, fires the USDT probe
 * libbpfcpp_example:tick COUNT times with the arguments (i, i * i). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/sdt.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    char line[16];

    if (argc != 2) {
        fprintf(stderr, "usage: usdt_target COUNT (starts after a line on stdin)\n");
        return 2;
    }
    if (fgets(line, sizeof line, stdin) == NULL)
        return 1;
    for (long i = 1; i <= atol(argv[1]); i++) {
        long square = i * i;
        DTRACE_PROBE2(libbpfcpp_example, tick, i, square);
        usleep(1000);
    }
    return 0;
}
