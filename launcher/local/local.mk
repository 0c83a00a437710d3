# launcher/local/: the local provider (this machine is the cluster: a
# private broker and krund daemons started on demand).
launcher_krun_SOURCES += \
	launcher/local/local.c launcher/local/local.h \
	launcher/local/localprovider.c \
	launcher/local/privatebroker.c launcher/local/privatebroker.h
