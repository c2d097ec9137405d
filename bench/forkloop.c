/*
 * forkloop N: forks N children one after the other, each exiting at once,
 * and waits for each; prints "us_per_run=X". What the served mode pays
 * per connection before the child does anything (bench/profile), built
 * with libc alone and with libsystemd mapped as v6fwd has it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int
main(int argc, char *argv[])
{
	struct timespec a, b;
	int i, n = argc > 1 ? atoi(argv[1]) : 1000;
	pid_t pid;

	if (n < 1)
		return 2;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < n; i++) {
		if ((pid = fork()) < 0) {
			perror("forkloop: fork");
			return 1;
		}
		if (pid == 0)
			_exit(0);
		if (waitpid(pid, NULL, 0) < 0) {
			perror("forkloop: waitpid");
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("us_per_run=%.1f\n", ((double)(b.tv_sec - a.tv_sec) * 1e9 +
	    (double)(b.tv_nsec - a.tv_nsec)) / 1e3 / n);
	return 0;
}
