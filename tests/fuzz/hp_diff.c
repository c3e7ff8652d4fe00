/* Differential check of the HTTP/1.x parser against an earlier revision of it (tests/fuzz/hp_diff.sh
 * builds this twice, once per revision): prints what the parser reports for each input file, whole,
 * byte by byte and cut five pseudo-random ways, in both modes and with a HEAD expectation. */
#include "../unit/hp_driver.h"
#include <stdlib.h>
static char buf[1 << 20];
static struct hp_log lg;
static void run(enum rs_hp_mode mode, bool nb, const char *m, size_t len, const size_t *c, size_t n, bool names)
{
	lg.names = names;
	hp_run(mode, m, len, c, n, nb, &lg);
	fwrite(lg.text, 1, lg.len, stdout);
	putchar('\n');
}
int main(int argc, char **argv)
{
	for (int a = 1; a < argc; a++) {
		FILE *f = fopen(argv[a], "rb");
		if (!f) continue;
		size_t size = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		if (size < 2) continue;
		printf("== %s\n", argv[a]);
		for (int mm = 0; mm < 4; mm++) {
			enum rs_hp_mode mode = mm & 1 ? RS_HP_RESPONSE : RS_HP_REQUEST;
			bool nb = mm & 2;
			const char *m = buf + 2; size_t len = size - 2;
			static size_t cuts[1 << 16];
			run(mode, nb, m, len, NULL, 0, true);
			size_t n = 0;
			for (; n < len && n < (1 << 16); n++) cuts[n] = n + 1;
			run(mode, nb, m, len, cuts, n, true);
			for (unsigned seed = 1; seed < 6; seed++) {
				uint32_t x = seed * 2654435761u + (uint32_t)len; size_t at = 0; n = 0;
				while (n < (1 << 16) && at < len) {
					x = x * 1103515245u + 12345u;
					at += 1 + (x >> 16) % (seed * 7);
					if (at < len) cuts[n++] = at;
				}
				run(mode, nb, m, len, cuts, n, true);
			}
		}
	}
	return 0;
}
