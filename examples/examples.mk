# examples/examples.mk - workloads (fib, vm, synth) in a convenience library
# linked by the CLI and the tests, and the embedding example (owner: workloads).
noinst_LTLIBRARIES += libspwexamples.la
libspwexamples_la_SOURCES = examples/workloads.c examples/fib.c examples/vm.c \
	examples/synth.c
noinst_HEADERS += examples/workloads.h examples/wl_internal.h

check_PROGRAMS += tests/test_workloads
TESTS += tests/test_workloads
tests_test_workloads_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)

# The embedding example links the installed-style library (exported SPW_API
# names only) and proves and verifies a small two-table AIR.
check_PROGRAMS += examples/embed
TESTS += examples/embed
examples_embed_SOURCES = examples/embed.c
examples_embed_LDADD = libspillway.la
CLEANFILES += examples/embed$(EXEEXT)

# make installcheck: build examples/embed.c against the installed library
# through its pkg-config file, and run it.
installcheck-local:
	$(CC) $(CFLAGS) -o embed-installcheck$(EXEEXT) $(srcdir)/examples/embed.c \
		-I$(DESTDIR)$(includedir) -L$(DESTDIR)$(libdir) \
		$$(PKG_CONFIG_PATH=$(DESTDIR)$(libdir)/pkgconfig pkg-config --cflags --libs spillway) \
		-Wl,-rpath,$(DESTDIR)$(libdir) && \
	LD_LIBRARY_PATH=$(DESTDIR)$(libdir) ./embed-installcheck$(EXEEXT); \
	rc=$$?; rm -f embed-installcheck$(EXEEXT); exit $$rc
