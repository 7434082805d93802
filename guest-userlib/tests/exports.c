// SPDX-License-Identifier: MIT
/*
 * exports.c - every name in exports.txt resolves in the built
 * libcuda.so.1, both with dlsym and with cuGetProcAddress.
 *
 * usage: exports LIBRARY EXPORTS_TXT
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "tap.h"

typedef int (*getproc_fn)(const char *, void **, int, unsigned long long, int *);

static const char *lib_path, *list_path;

TEST(every_exported_name_resolves_with_dlsym_and_cuGetProcAddress)
{
	void *lib = dlopen(lib_path, RTLD_NOW | RTLD_LOCAL);
	getproc_fn getproc;
	char name[256];
	int n = 0, bad = 0;
	FILE *f;

	CHECK(lib != NULL);
	getproc = (getproc_fn)dlsym(lib, "cuGetProcAddress_v2");
	CHECK(getproc != NULL);
	f = fopen(list_path, "r");
	CHECK(f != NULL);
	while (fscanf(f, "%255s", name) == 1) {
		void *d = dlsym(lib, name), *p = NULL;
		int st = -1;

		n++;
		if (!d) {
			printf("# dlsym(%s) failed\n", name);
			bad++;
			continue;
		}
		if (getproc(name, &p, 13000, 0, &st) != 0 || !p) {
			printf("# cuGetProcAddress(%s) failed\n", name);
			bad++;
		}
	}
	fclose(f);
	printf("# %d names checked\n", n);
	CHECK(n > 600);
	CHECK_EQ(bad, 0);
}

int main(int argc, char **argv)
{
	static const struct tap_test t[] = {
		TAP_ENTRY(every_exported_name_resolves_with_dlsym_and_cuGetProcAddress),
	};

	if (argc != 3) {
		fprintf(stderr, "usage: exports LIBRARY EXPORTS_TXT\n");
		return 2;
	}
	lib_path = argv[1];
	list_path = argv[2];
	return tap_run(t, 1);
}
