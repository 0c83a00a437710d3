# launcher/kubernetes/: the Kubernetes provider (kubeconfig, API client, quantities,
# cluster map, worker pool) and its unit tests.
launcher_krun_SOURCES += \
	launcher/kubernetes/kubeconfig.c launcher/kubernetes/kubeconfig.h \
	launcher/kubernetes/kubeexec.c launcher/kubernetes/kubeexec.h \
	launcher/kubernetes/kubeapi.c launcher/kubernetes/kubeapi.h \
	launcher/kubernetes/quantity.c launcher/kubernetes/quantity.h \
	launcher/kubernetes/kubenodes.c launcher/kubernetes/kubenodes.h \
	launcher/kubernetes/kubernetes.c launcher/kubernetes/kubernetes.h \
	launcher/kubernetes/kubeprovider.c \
	launcher/kubernetes/podspec.c launcher/kubernetes/podspec.h \
	launcher/kubernetes/podwatch.c launcher/kubernetes/podwatch.h
launcher_krun_CFLAGS += $(CJSON_CFLAGS) $(CURL_CFLAGS)
# libcurl is not linked: kubeapi.c loads it with dlopen() when needed.
launcher_krun_LDADD += $(CJSON_LIBS)

KUBE_UNIT_TESTS = \
	launcher/kubernetes/test/kubeconfig.t \
	launcher/kubernetes/test/quantity.t \
	launcher/kubernetes/test/kubenodes.t
check_PROGRAMS += $(KUBE_UNIT_TESTS)
TESTS += $(KUBE_UNIT_TESTS)
launcher_kubernetes_test_kubeconfig_t_SOURCES = launcher/kubernetes/test/kubeconfig.c launcher/kubernetes/kubeconfig.c \
	launcher/kubernetes/kubeexec.c launcher/yamlfile.c
launcher_kubernetes_test_kubeconfig_t_CFLAGS = $(AM_CFLAGS) $(YAML_CFLAGS) $(CJSON_CFLAGS)
launcher_kubernetes_test_kubeconfig_t_LDADD = $(KRUNRT_LIBS) tests/libtap.la $(YAML_LIBS) \
	$(CJSON_LIBS)
launcher_kubernetes_test_quantity_t_SOURCES = launcher/kubernetes/test/quantity.c launcher/kubernetes/quantity.c
launcher_kubernetes_test_quantity_t_LDADD = $(KRUNRT_LIBS) tests/libtap.la
launcher_kubernetes_test_kubenodes_t_SOURCES = launcher/kubernetes/test/kubenodes.c launcher/kubernetes/kubenodes.c \
	launcher/kubernetes/kubeapi.c launcher/kubernetes/kubeconfig.c \
	launcher/kubernetes/kubeexec.c launcher/yamlfile.c launcher/kubernetes/quantity.c
launcher_kubernetes_test_kubenodes_t_CFLAGS = $(AM_CFLAGS) $(YAML_CFLAGS) $(CJSON_CFLAGS) $(CURL_CFLAGS)
launcher_kubernetes_test_kubenodes_t_LDADD = $(KRUNRT_LIBS) tests/libtap.la $(YAML_LIBS) \
	$(CJSON_LIBS)
