# launcher/slurm/: the Slurm provider (daemons started inside an allocation
# with srun) and its unit tests.
launcher_krun_SOURCES += \
	launcher/slurm/nodelist.c launcher/slurm/nodelist.h \
	launcher/slurm/allocation.c launcher/slurm/allocation.h \
	launcher/slurm/srunstep.c launcher/slurm/srunstep.h \
	launcher/slurm/slurmprovider.c

SLURM_UNIT_TESTS = launcher/slurm/test/nodelist.t launcher/slurm/test/allocation.t \
	launcher/slurm/test/srunstep.t
check_PROGRAMS += $(SLURM_UNIT_TESTS)
TESTS += $(SLURM_UNIT_TESTS)
launcher_slurm_test_nodelist_t_SOURCES = launcher/slurm/test/nodelist.c \
	launcher/slurm/nodelist.c
launcher_slurm_test_nodelist_t_LDADD = $(KRUNRT_LIBS) tests/libtap.la
launcher_slurm_test_allocation_t_SOURCES = launcher/slurm/test/allocation.c \
	launcher/slurm/allocation.c launcher/slurm/nodelist.c
launcher_slurm_test_allocation_t_LDADD = $(KRUNRT_LIBS) tests/libtap.la
launcher_slurm_test_srunstep_t_SOURCES = launcher/slurm/test/srunstep.c \
	launcher/slurm/srunstep.c launcher/spawn.c launcher/pidfile.c launcher/program.c
launcher_slurm_test_srunstep_t_LDADD = $(KRUNRT_LIBS) tests/libtap.la
