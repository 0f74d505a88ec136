/* The traced program of the uprobe_latency test: after a line on stdin, calls work_ms()
 * COUNT times, each sleeping MS milliseconds. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

__attribute__((noinline)) void work_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
    __asm__ volatile("" ::: "memory"); /* keep the call a real call */
}

int main(int argc, char **argv)
{
    char line[16];

    if (argc != 3) {
        fprintf(stderr, "usage: latency_target COUNT MS (starts after a line on stdin)\n");
        return 2;
    }
    if (fgets(line, sizeof line, stdin) == NULL)
        return 1;
    for (int i = 0; i < atoi(argv[1]); i++)
        work_ms(atoi(argv[2]));
    return 0;
}
