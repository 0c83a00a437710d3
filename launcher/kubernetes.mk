# launcher/: the Kubernetes provider (kubeconfig, API client, quantities,
# cluster map, worker pool) and its unit tests.
launcher_krun_SOURCES += \
	launcher/kubeconfig.c launcher/kubeconfig.h \
	launcher/kubeapi.c launcher/kubeapi.h \
	launcher/quantity.c launcher/quantity.h \
	launcher/kubenodes.c launcher/kubenodes.h \
	launcher/kubernetes.c launcher/kubernetes.h
launcher_krun_CFLAGS += $(CJSON_CFLAGS) $(CURL_CFLAGS)
# libcurl is not linked: kubeapi.c loads it with dlopen() when needed.
launcher_krun_LDADD += $(CJSON_LIBS)

KUBE_UNIT_TESTS = \
	launcher/test/kubeconfig.t \
	launcher/test/quantity.t \
	launcher/test/kubenodes.t
check_PROGRAMS += $(KUBE_UNIT_TESTS)
TESTS += $(KUBE_UNIT_TESTS)
launcher_test_kubeconfig_t_SOURCES = launcher/test/kubeconfig.c launcher/kubeconfig.c \
	launcher/yamlfile.c
launcher_test_kubeconfig_t_CFLAGS = $(AM_CFLAGS) $(YAML_CFLAGS) $(CJSON_CFLAGS)
launcher_test_kubeconfig_t_LDADD = runtime/libkrunrt.la tests/libtap.la $(YAML_LIBS) \
	$(CJSON_LIBS)
launcher_test_quantity_t_SOURCES = launcher/test/quantity.c launcher/quantity.c
launcher_test_quantity_t_LDADD = runtime/libkrunrt.la tests/libtap.la
launcher_test_kubenodes_t_SOURCES = launcher/test/kubenodes.c launcher/kubenodes.c \
	launcher/kubeapi.c launcher/kubeconfig.c launcher/yamlfile.c launcher/quantity.c
launcher_test_kubenodes_t_CFLAGS = $(AM_CFLAGS) $(YAML_CFLAGS) $(CJSON_CFLAGS) $(CURL_CFLAGS)
launcher_test_kubenodes_t_LDADD = runtime/libkrunrt.la tests/libtap.la $(YAML_LIBS) \
	$(CJSON_LIBS)
