/* ASan mode of the integration tests: Debian's curl deadlocks at start under a preloaded libasan
 * (glibc's setlocale lock), so this stand-in, first in PATH, swaps the sanitized preload list for
 * the plain shim and runs /usr/bin/curl. Linked statically so no preload touches it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	(void)argc;
	const char *plain = getenv("RS_PLAIN_SHIM");
	const char *pre = getenv("LD_PRELOAD");
	if (pre != NULL && strstr(pre, "libasan") != NULL) {
		if (plain == NULL || plain[0] == '\0') {
			fputs("curl_unsan: RS_PLAIN_SHIM is not set\n", stderr);
			return 127;
		}
		/* Other entries (a test's own preloads) stay; the sanitizer runtimes and the sanitized
		 * shim (the entries from libasan on, as lib.sh puts them) become the plain shim. */
		static char out[8192];
		size_t n = (size_t)(strstr(pre, "libasan") - pre);
		while (n > 0 && pre[n - 1] != ':' && pre[n - 1] != ' ')
			n--;
		if (n + strlen(plain) + 1 > sizeof out) {
			fputs("curl_unsan: LD_PRELOAD too long\n", stderr);
			return 127;
		}
		memcpy(out, pre, n);
		strcpy(out + n, plain);
		setenv("LD_PRELOAD", out, 1);
	}
	argv[0] = "curl";
	execv("/usr/bin/curl", argv);
	perror("curl_unsan: /usr/bin/curl");
	return 127;
}
