/* Unit tests of kubeconfig loading: merging, contexts, every credential
 * type, in-cluster, and that secrets stay out of error messages. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "launcher/kubernetes/kubeconfig.h"
#include "tests/tap.h"
#include "tests/testdir.h"

static const char *dir; /* testdir.h */

/* base64 of "-----BEGIN CERTIFICATE-----\nCA\n" and of "CERT" / "KEY". */
#define CA_B64 "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCkNBCg=="
#define CERT_B64 "Q0VSVA=="
#define KEY_B64 "S0VZ"

static const char file_a[] =
    "apiVersion: v1\n"
    "kind: Config\n"
    "current-context: ctx-a\n"
    "clusters:\n"
    "- name: shared\n"
    "  cluster:\n"
    "    server: https://a.example:6443/\n"
    "    certificate-authority-data: " CA_B64
    "\n"
    "users:\n"
    "- name: alice\n"
    "  user:\n"
    "    token: secret-token-a\n"
    "contexts:\n"
    "- name: ctx-a\n"
    "  context: {cluster: shared, user: alice, namespace: hpc}\n";

static const char file_b[] =
    "current-context: ctx-b\n"
    "clusters:\n"
    "- name: shared\n"
    "  cluster:\n"
    "    server: https://b.example:6443\n"
    "- name: other\n"
    "  cluster:\n"
    "    server: https://other.example\n"
    "    insecure-skip-tls-verify: true\n"
    "users:\n"
    "- name: alice\n"
    "  user: {token: secret-token-b}\n"
    "- name: bob\n"
    "  user:\n"
    "    client-certificate: certs/bob.crt\n"
    "    client-key-data: " KEY_B64
    "\n"
    "contexts:\n"
    "- name: ctx-a\n"
    "  context: {cluster: other, user: bob}\n"
    "- name: ctx-b\n"
    "  context: {cluster: other, user: bob}\n"
    "- name: ctx-shared-bob\n"
    "  context: {cluster: shared, user: bob}\n";

static void test_single_file (void)
{
    struct krun_error error = {{0}};
    struct kubeconfig_credentials cred;
    struct kubeconfig *k =
        kubeconfig_load (testdir_write ("a.yaml", file_a), NULL, &error);
    size_t len;

    if (!ok (k != NULL, "single file loads (%s)", error.text))
        return;
    is_str (kubeconfig_server (k), "https://a.example:6443", "server, slash dropped");
    is_str (kubeconfig_namespace (k), "hpc", "namespace from the context");
    is_str (kubeconfig_context (k), "ctx-a", "current-context");
    const char *ca = kubeconfig_ca_pem (k, &len);
    ok (ca && len == 31 && strcmp (ca, "-----BEGIN CERTIFICATE-----\nCA\n") == 0,
        "certificate-authority-data decoded");
    ok (!kubeconfig_insecure (k), "TLS verified by default");
    ok (kubeconfig_credentials (k, &cred, &error) == 0 && cred.token &&
            strcmp (cred.token, "secret-token-a") == 0 && !cred.cert_pem,
        "static token");
    kubeconfig_destroy (k);
}

static void test_merge (void)
{
    struct krun_error error = {{0}};
    struct kubeconfig_credentials cred;
    char list[600];
    struct kubeconfig *k;
    size_t len;

    testdir_write ("a.yaml", file_a);
    testdir_write ("b.yaml", file_b);
    mkdir (testdir_path ("certs"), 0700);
    testdir_write ("certs/bob.crt", "BOB CERT\n");
    snprintf (list, sizeof (list), "%s/missing.yaml::%s/a.yaml:%s/b.yaml", dir, dir,
              dir);
    setenv ("KUBECONFIG", list, 1);
    k = kubeconfig_load (NULL, NULL, &error);
    if (!ok (k != NULL, "KUBECONFIG list loads, missing file skipped (%s)", error.text))
        return;
    is_str (kubeconfig_context (k), "ctx-a", "current-context from the first file");
    is_str (kubeconfig_server (k), "https://a.example:6443",
            "first file to define cluster 'shared' wins");
    ok (kubeconfig_credentials (k, &cred, &error) == 0 && cred.token &&
            strcmp (cred.token, "secret-token-a") == 0,
        "first file to define user 'alice' wins");
    kubeconfig_destroy (k);

    k = kubeconfig_load (NULL, "ctx-shared-bob", &error);
    if (!ok (k != NULL, "--context from the second file (%s)", error.text))
        return;
    is_str (kubeconfig_server (k), "https://a.example:6443",
            "its cluster still comes from the first file");
    is_str (kubeconfig_namespace (k), "default", "no namespace: default");
    ok (kubeconfig_credentials (k, &cred, &error) == 0 && !cred.token &&
            cred.cert_len == 9 && memcmp (cred.cert_pem, "BOB CERT\n", 9) == 0 &&
            cred.key_len == 3 && memcmp (cred.key_pem, "KEY", 3) == 0,
        "client-certificate file relative to its kubeconfig, client-key-data decoded");
    kubeconfig_destroy (k);

    k = kubeconfig_load (NULL, "ctx-b", &error);
    ok (k && kubeconfig_insecure (k) && kubeconfig_ca_pem (k, &len) == NULL,
        "insecure-skip-tls-verify, no CA");
    kubeconfig_destroy (k);

    errno = 0;
    k = kubeconfig_load (NULL, "nope", &error);
    ok (!k && errno == EINVAL && strstr (error.text, "no context 'nope'"),
        "unknown context refused: %s", error.text);
    unsetenv ("KUBECONFIG");
}

static void test_errors (void)
{
    struct krun_error error = {{0}};
    struct kubeconfig *k;

    k = kubeconfig_load (testdir_write ("bad.yaml", "users:\n- name: x\n  user: [\n"),
                         NULL, &error);
    ok (!k && errno == EINVAL && strstr (error.text, "bad.yaml:"),
        "YAML syntax error names the file: %s", error.text);
    k = kubeconfig_load (
        testdir_write ("nouser.yaml",
                       "current-context: c\n"
                       "clusters: [{name: k, cluster: {server: https://x}}]\n"
                       "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
                       "users: [{name: v, user: {token: secret-xyz}}]\n"),
        NULL, &error);
    ok (!k && errno == EINVAL && strstr (error.text, "unknown user 'u'") &&
            !strstr (error.text, "secret-xyz"),
        "unknown user named, no secret: %s", error.text);
    k = kubeconfig_load (
        testdir_write ("nokey.yaml",
                       "current-context: c\n"
                       "clusters: [{name: k, cluster: {server: https://x}}]\n"
                       "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
                       "users: [{name: u, user: {client-certificate-data: "
                       "Q0VSVA==}}]\n"),
        NULL, &error);
    ok (!k && errno == EINVAL && strstr (error.text, "go together"),
        "certificate without key refused: %s", error.text);
    k = kubeconfig_load (testdir_path ("does-not-exist"), NULL, &error);
    ok (!k && errno == ENOENT, "explicit missing file: %s", error.text);

    /* 100,000 nested brackets: refused before libyaml loads them (it took
     * seconds), naming file and line. */
    size_t depth = 100000;
    char *deep = malloc (16 + 2 * depth), *p = deep;
    p += sprintf (p, "users:\n- ");
    memset (p, '[', depth);
    memset (p + depth, ']', depth);
    strcpy (p + 2 * depth, "\n");
    errno = 0;
    k = kubeconfig_load (testdir_write ("deep.yaml", deep), NULL, &error);
    ok (!k && errno == EINVAL &&
            strstr (error.text, "deep.yaml:2: nested more than 64"),
        "deep nesting refused: %s", error.text);
    free (deep);
}

static void test_token_file (void)
{
    struct krun_error error = {{0}};
    struct kubeconfig_credentials cred;
    struct kubeconfig *k;

    testdir_write ("tok", "first-token\n");
    k = kubeconfig_load (
        testdir_write ("tf.yaml",
                       "current-context: c\n"
                       "clusters: [{name: k, cluster: {server: https://x}}]\n"
                       "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
                       "users: [{name: u, user: {tokenFile: tok}}]\n"),
        NULL, &error);
    if (!ok (k != NULL, "tokenFile config loads (%s)", error.text))
        return;
    ok (kubeconfig_credentials (k, &cred, &error) == 0 && cred.token &&
            strcmp (cred.token, "first-token") == 0,
        "tokenFile read, relative to the kubeconfig, newline trimmed");
    testdir_write ("tok", "rotated-token");
    ok (kubeconfig_credentials (k, &cred, &error) == 0 && cred.token &&
            strcmp (cred.token, "rotated-token") == 0,
        "tokenFile re-read: rotated token seen");
    unlink (testdir_path ("tok"));
    ok (kubeconfig_credentials (k, &cred, &error) < 0 && errno == ENOENT &&
            strstr (error.text, "/tok"),
        "missing token file named: %s", error.text);
    kubeconfig_destroy (k);
}

static struct kubeconfig *exec_config (const char *name, const char *status_json)
{
    char script[1024], yaml[1024];
    struct krun_error error = {{0}};
    struct kubeconfig *k;

    /* The plugin counts its runs in a file, checks its argument, env and
     * KUBERNETES_EXEC_INFO, and prints an ExecCredential. */
    snprintf (
        script, sizeof (script),
        "#!/bin/sh\n"
        "echo run >>\"$COUNT_FILE\"\n"
        "[ \"$1\" = --flag ] || exit 3\n"
        "case \"$KUBERNETES_EXEC_INFO\" in *ExecCredential*) ;; *) exit 4;; esac\n"
        "echo '{\"apiVersion\":\"client.authentication.k8s.io/v1\","
        "\"kind\":\"ExecCredential\",\"status\":%s}'\n",
        status_json);
    testdir_write (name, script);
    chmod (testdir_path (name), 0700);
    snprintf (yaml, sizeof (yaml),
              "current-context: c\n"
              "clusters: [{name: k, cluster: {server: https://x}}]\n"
              "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
              "users:\n"
              "- name: u\n"
              "  user:\n"
              "    exec:\n"
              "      apiVersion: client.authentication.k8s.io/v1\n"
              "      command: ./%s\n"
              "      args: [--flag]\n"
              "      env: [{name: COUNT_FILE, value: %s/count-%s}]\n",
              name, dir, name);
    k = kubeconfig_load (testdir_write ("exec.yaml", yaml), NULL, &error);
    if (!k)
        diag ("exec config: %s", error.text);
    return k;
}

static int count_runs (const char *name)
{
    char path[300], line[64];
    int n = 0;
    FILE *f;

    snprintf (path, sizeof (path), "%s/count-%s", dir, name);
    if (!(f = fopen (path, "r")))
        return 0;
    while (fgets (line, sizeof (line), f))
        n++;
    fclose (f);
    return n;
}

static void test_exec (void)
{
    struct krun_error error = {{0}};
    struct kubeconfig_credentials cred;
    struct kubeconfig *k;
    char status[256], when[64];
    time_t later = time (NULL) + 3600;

    strftime (when, sizeof (when), "%Y-%m-%dT%H:%M:%SZ", gmtime (&later));
    snprintf (status, sizeof (status),
              "{\"token\":\"exec-token-1\",\"expirationTimestamp\":\"%s\"}", when);
    if (!ok ((k = exec_config ("plugin-cached", status)) != NULL, "exec config loads"))
        return;
    ok (kubeconfig_credentials (k, &cred, &error) == 0 && cred.token &&
            strcmp (cred.token, "exec-token-1") == 0,
        "exec plugin token (%s)", error.text);
    ok (kubeconfig_credentials (k, &cred, &error) == 0 && cred.token &&
            strcmp (cred.token, "exec-token-1") == 0,
        "second call served from the cache");
    is_int (count_runs ("plugin-cached"), 1, "plugin ran once before expiry");
    kubeconfig_forget_cached (k);
    ok (kubeconfig_credentials (k, &cred, &error) == 0, "runs again after forget");
    is_int (count_runs ("plugin-cached"), 2, "plugin ran again");
    kubeconfig_destroy (k);

    k = exec_config ("plugin-expired",
                     "{\"token\":\"exec-token-2\","
                     "\"expirationTimestamp\":\"2020-01-01T00:00:00.5+01:00\"}");
    ok (k && kubeconfig_credentials (k, &cred, &error) == 0 &&
            kubeconfig_credentials (k, &cred, &error) == 0,
        "expired credential still usable once");
    is_int (count_runs ("plugin-expired"), 2, "expired credential: plugin rerun");
    kubeconfig_destroy (k);

    k = exec_config ("plugin-cert",
                     "{\"clientCertificateData\":\"PEM CERT\","
                     "\"clientKeyData\":\"PEM KEY\"}");
    ok (k && kubeconfig_credentials (k, &cred, &error) == 0 && !cred.token &&
            cred.cert_pem && strcmp (cred.cert_pem, "PEM CERT") == 0 && cred.key_pem &&
            strcmp (cred.key_pem, "PEM KEY") == 0,
        "exec plugin client certificate and key");
    ok (kubeconfig_credentials (k, &cred, &error) == 0 &&
            count_runs ("plugin-cert") == 1,
        "no expiry: cached for the life of the process");
    kubeconfig_destroy (k);

    k = exec_config ("plugin-empty", "{\"nothing\":\"secret-output\"}");
    ok (k && kubeconfig_credentials (k, &cred, &error) < 0 &&
            strstr (error.text, "plugin-empty") &&
            !strstr (error.text, "secret-output"),
        "answer without credentials refused, output not echoed: %s", error.text);
    kubeconfig_destroy (k);

    testdir_write ("plugin-fail", "#!/bin/sh\necho leaked-secret; exit 7\n");
    chmod (testdir_path ("plugin-fail"), 0700);
    k = kubeconfig_load (
        testdir_write ("fail.yaml",
                       "current-context: c\n"
                       "clusters: [{name: k, cluster: {server: https://x}}]\n"
                       "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
                       "users: [{name: u, user: {exec: {command: ./plugin-fail}}}]\n"),
        NULL, &error);
    ok (k && kubeconfig_credentials (k, &cred, &error) < 0 &&
            strstr (error.text, "exit status 7") && !strstr (error.text, "leaked"),
        "failing plugin: exit status named: %s", error.text);
    kubeconfig_destroy (k);
}

static void test_in_cluster (void)
{
    struct krun_error error = {{0}};
    struct kubeconfig_credentials cred;
    struct kubeconfig *k;
    size_t len;

    mkdir (testdir_path ("sa"), 0700);
    testdir_write ("sa/token", "sa-token\n");
    testdir_write ("sa/ca.crt", "SA CA\n");
    testdir_write ("sa/namespace", "krun-ns\n");
    setenv ("KRUN_SERVICEACCOUNT_DIR", testdir_path ("sa"), 1);
    setenv ("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
    setenv ("KUBERNETES_SERVICE_PORT", "443", 1);
    k = kubeconfig_load (NULL, NULL, &error);
    if (!ok (k != NULL, "in-cluster loads (%s)", error.text))
        return;
    is_str (kubeconfig_server (k), "https://10.96.0.1:443", "in-cluster server");
    is_str (kubeconfig_namespace (k), "krun-ns", "in-cluster namespace");
    ok (kubeconfig_ca_pem (k, &len) && len == 6, "in-cluster CA");
    ok (kubeconfig_credentials (k, &cred, &error) == 0 && cred.token &&
            strcmp (cred.token, "sa-token") == 0,
        "service account token");
    kubeconfig_destroy (k);

    /* ~/.kube/config comes before the service account. */
    mkdir (testdir_path (".kube"), 0700);
    testdir_write (".kube/config", file_a);
    k = kubeconfig_load (NULL, NULL, &error);
    ok (k && strcmp (kubeconfig_context (k), "ctx-a") == 0,
        "~/.kube/config wins over in-cluster");
    kubeconfig_destroy (k);
    unlink (testdir_path (".kube/config"));

    setenv ("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
    k = kubeconfig_load (NULL, NULL, &error);
    ok (k && strcmp (kubeconfig_server (k), "https://[fd00::1]:443") == 0,
        "IPv6 service host bracketed");
    kubeconfig_destroy (k);

    unsetenv ("KUBERNETES_SERVICE_HOST");
    errno = 0;
    k = kubeconfig_load (NULL, NULL, &error);
    ok (!k && errno == ENOENT && strstr (error.text, "no Kubernetes credentials"),
        "nothing at all: ENOENT: %s", error.text);
}

int main (void)
{
    dir = testdir_create ("kubeconfig");
    setenv ("HOME", dir, 1);
    unsetenv ("KUBECONFIG");
    unsetenv ("KUBERNETES_SERVICE_HOST");
    plan (NO_PLAN);
    test_single_file ();
    test_merge ();
    test_errors ();
    test_token_file ();
    test_exec ();
    test_in_cluster ();
    testdir_remove ();
    done_testing ();
    return exit_status ();
}
