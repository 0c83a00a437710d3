# launcher/ssh/: the ssh provider (hosts reached with the system's OpenSSH
# client) and its unit tests.
launcher_krun_SOURCES += \
	launcher/ssh/hostfile.c launcher/ssh/hostfile.h \
	launcher/ssh/sshexec.c launcher/ssh/sshexec.h \
	launcher/ssh/sshdaemons.c launcher/ssh/sshdaemons.h \
	launcher/ssh/sshprovider.c

SSH_UNIT_TESTS = launcher/ssh/test/hostfile.t launcher/ssh/test/sshexec.t
check_PROGRAMS += $(SSH_UNIT_TESTS)
TESTS += $(SSH_UNIT_TESTS)
launcher_ssh_test_hostfile_t_SOURCES = launcher/ssh/test/hostfile.c \
	launcher/ssh/hostfile.c
launcher_ssh_test_hostfile_t_LDADD = $(KRUNRT_LIBS) tests/libtap.la
launcher_ssh_test_sshexec_t_SOURCES = launcher/ssh/test/sshexec.c \
	launcher/ssh/sshexec.c
launcher_ssh_test_sshexec_t_LDADD = $(KRUNRT_LIBS) tests/libtap.la
