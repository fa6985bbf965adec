/*
 * pyk8s sandbox ("pause") process: PID 1 of every pod sandbox.
 *
 * It holds the pod's namespaces open and does nothing else:
 *   - SIGINT and SIGTERM end it with status 0 (how the runtime stops a sandbox);
 *   - SIGCHLD reaps every exited child, so processes re-parented to it when a
 *     shared PID namespace is used never linger as zombies;
 *   - every other signal that can be blocked is blocked, so a stray signal
 *     (SIGHUP, SIGUSR1, ...) sent from the host cannot take the pod down;
 *   - otherwise it sleeps in pause() forever.
 * `pause -v` prints the version and exits.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAUSE_VERSION "3.10-pyk8s"

static void on_stop(int sig)
{
	(void)sig;
	_exit(0);
}

static void on_child(int sig)
{
	(void)sig;
	/* Several children may exit behind one SIGCHLD: reap until none is left. */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

static int install(int sig, void (*handler)(int), int flags)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sa.sa_flags = flags;
	sigfillset(&sa.sa_mask); /* handlers run with every other signal held */
	return sigaction(sig, &sa, NULL);
}

int main(int argc, char **argv)
{
	sigset_t blocked;

	if (argc > 1 && strcmp(argv[1], "-v") == 0) {
		printf("pause %s\n", PAUSE_VERSION);
		return 0;
	}
	if (getpid() != 1)
		fprintf(stderr, "pause: warning: not running as PID 1\n");

	if (install(SIGINT, on_stop, 0) || install(SIGTERM, on_stop, 0) ||
	    install(SIGCHLD, on_child, SA_NOCLDSTOP | SA_RESTART)) {
		perror("pause: sigaction");
		return 1;
	}

	sigfillset(&blocked);
	sigdelset(&blocked, SIGINT);
	sigdelset(&blocked, SIGTERM);
	sigdelset(&blocked, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &blocked, NULL)) {
		perror("pause: sigprocmask");
		return 1;
	}

	for (;;)
		pause();
	return 1; /* not reached */
}
