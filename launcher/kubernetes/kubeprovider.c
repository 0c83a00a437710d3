/* kubeprovider.c - the Kubernetes provider's operations (provider.h): one
 * warm krund pod per usable node (kubernetes.h), created once the tasks are
 * queued so that the first pod up starts working. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "kubernetes.h"
#include "provider.h"

struct kube_provider {
    const struct config *cfg;
    struct kubernetes *kube;
    bool quiet;
    const char *worker_url; /* the broker URL the pods use (borrowed) */
};

static void *kube_create (const struct config *cfg, bool quiet, struct krun_error *errp)
{
    struct kube_provider *kp = calloc (1, sizeof (*kp));

    if (!kp) {
        errprintf_errno (errp, "kubernetes provider");
        return NULL;
    }
    kp->cfg = cfg;
    kp->quiet = quiet;
    if (!(kp->kube = kubernetes_create (cfg, errp))) {
        free (kp);
        return NULL;
    }
    return kp;
}

static void kube_destroy (void *impl)
{
    struct kube_provider *kp = impl;

    if (kp) {
        int saved_errno = errno;
        kubernetes_destroy (kp->kube);
        free (kp);
        errno = saved_errno;
    }
}

static int kube_survey (void *impl, struct krun_error *errp)
{
    return kubernetes_survey (((struct kube_provider *)impl)->kube, errp);
}

/* The Kubernetes provider puts this file into the pool's Secret: the
 * workers then hold the key this launcher signs with. */
static const char *kube_key_file (void *impl)
{
    return ((struct kube_provider *)impl)->cfg->kube_signing_key_file;
}

static const char *kube_pool_name (void *impl)
{
    return kubernetes_pool (((struct kube_provider *)impl)->kube);
}

/* The program is staged (sent through the broker) unless told not to
 * (kubernetes.stage, --no-stage); an absolute path names one in the image. */
static enum provider_program kube_program (void *impl)
{
    return ((struct kube_provider *)impl)->cfg->kube_stage ? PROVIDER_PROGRAM_STAGED
                                                           : PROVIDER_PROGRAM_IMAGE;
}

/* The map is what the pods will have, known before they run. */
static struct cpumap *kube_cpumap (void *impl, const struct presence *p,
                                   struct krun_error *errp)
{
    struct cpumap *map = kubernetes_cpumap (((struct kube_provider *)impl)->kube, errp);

    (void)p;
    if (map && cpumap_slot_count (map) == 0) {
        cpumap_destroy (map);
        errno = ENODEV;
        errprintf (
            errp,
            "no usable Kubernetes node (all cordoned, tainted or full; see `krun "
            "status`)");
        return NULL;
    }
    return map;
}

/* Replace and create pods; wait only if no daemon answers at all, and only
 * for the first pod: the others join the job as they come up. */
static int kube_on_published (void *arg, const struct presence *p,
                              struct krun_error *errp)
{
    struct kube_provider *kp = arg;
    int created = kubernetes_provision (kp->kube, kp->worker_url, p, errp);

    if (created < 0)
        return -1;
    if (created > 0 && !kp->quiet)
        fprintf (stderr, "krun: created %d worker pod%s in namespace %s\n", created,
                 created == 1 ? "" : "s", kubernetes_namespace (kp->kube));
    if (presence_count (p) == 0 &&
        kubernetes_wait (kp->kube, 1, kp->cfg->kube_pod_timeout, errp) < 0)
        return -1;
    return 0;
}

static int kube_prepare_job (void *impl, struct job_options *jo, const char *url,
                             struct krun_error *errp)
{
    struct kube_provider *kp = impl;
    const struct config *cfg = kp->cfg;

    (void)errp;
    kp->worker_url = cfg->kube_worker_amqp_url ? cfg->kube_worker_amqp_url : url;
    jo->cwd = cfg->kube_workdir;
    /* The pod's work dir is nobody's: the staged files are what the tasks
     * expect to find where they run. */
    jo->staged_cwd = jo->nstaged > 0;
    jo->on_published = kube_on_published;
    jo->on_published_arg = kp;
    /* A node without a running pod yet gets the pod's start time. */
    jo->cold_join_timeout_ms =
        cfg->kube_pod_timeout > INT_MAX / 1000 ? INT_MAX : cfg->kube_pod_timeout * 1000;
    return 0;
}

/* How many nodes of map answer in p. */
static int count_answering (const struct cpumap *map, const struct presence *p)
{
    int answering = 0;

    for (int i = 0; i < cpumap_node_count (map); i++)
        answering += presence_find (p, cpumap_node_name (map, i)) != NULL;
    return answering;
}

/* Wait until the daemon of every node of map answers, at most
 * start_timeout; *pp is replaced by the newest presence. */
static int wait_daemons (struct kube_provider *kp, const struct cpumap *map,
                         const struct provider_broker *b, struct presence **pp,
                         struct krun_error *errp)
{
    const struct config *cfg = kp->cfg;
    int64_t deadline = clock_mono_ms () + (int64_t)cfg->start_timeout * 1000;
    int turns = 0, answering;

    while ((answering = count_answering (map, *pp)) < cpumap_node_count (map)) {
        /* A pod that ended (restartPolicy Never) will not answer: say why it
         * ended, in krund's words, instead of waiting for the deadline. */
        char failed[700] = "worker pod failed: ";
        size_t len = strlen (failed);
        if (++turns % 10 == 0 &&
            kubernetes_failed (kp->kube, failed + len, sizeof (failed) - len, errp) > 0)
            return errprintf (errp, "%s", failed);
        if (clock_mono_ms () > deadline) {
            errno = ETIMEDOUT;
            return errprintf (
                errp,
                "%d of %d worker daemons answer after %d s (pods run; see "
                "`krun status` and the pods' logs)",
                answering, cpumap_node_count (map), cfg->start_timeout);
        }
        usleep (100 * 1000);
        presence_destroy (*pp);
        if (!(*pp = provider_query (cfg, b, errp)))
            return -1;
    }
    return 0;
}

/* Provision the pool and wait until every pod runs and its daemon answers. */
static int kube_up (void *impl, const struct provider_broker *b,
                    struct krun_error *errp)
{
    struct kube_provider *kp = impl;
    const struct config *cfg = kp->cfg;
    struct presence *p = provider_query (cfg, b, errp);
    struct cpumap *map = p ? kubernetes_cpumap (kp->kube, errp) : NULL;
    int created = -1;

    if (!map)
        goto done;
    created = kubernetes_provision (
        kp->kube, cfg->kube_worker_amqp_url ? cfg->kube_worker_amqp_url : b->url, p,
        errp);
    if (created < 0 ||
        kubernetes_wait (kp->kube, -1, cfg->kube_pod_timeout, errp) < 0 ||
        wait_daemons (kp, map, b, &p, errp) < 0) {
        created = -1;
        goto done;
    }
    if (!kp->quiet)
        fprintf (stderr, "krun: pool %s: %d worker pod%s (%d created), %d slots\n",
                 kubernetes_pool (kp->kube), cpumap_node_count (map),
                 cpumap_node_count (map) == 1 ? "" : "s", created,
                 cpumap_slot_count (map));
done:
    cpumap_destroy (map);
    presence_destroy (p);
    return created < 0 ? -1 : 0;
}

static int kube_status (void *impl, const struct presence *p, FILE *out,
                        struct krun_error *errp)
{
    return kubernetes_status (((struct kube_provider *)impl)->kube, p, out, errp);
}

static int kube_down (void *impl, const char *state_dir, struct krun_error *errp)
{
    struct kube_provider *kp = impl;
    int n = kubernetes_down (kp->kube, kp->cfg->start_timeout, errp);

    (void)state_dir;
    if (n < 0)
        return -1;
    printf ("krun: deleted %d worker pod%s of pool %s\n", n, n == 1 ? "" : "s",
            kubernetes_pool (kp->kube));
    return 0;
}

const struct provider_ops kubernetes_provider_ops = {
    .name = "kubernetes",
    .create = kube_create,
    .destroy = kube_destroy,
    .survey = kube_survey,
    .key_file = kube_key_file,
    .pool_name = kube_pool_name,
    .program = kube_program,
    .cpumap = kube_cpumap,
    .prepare_job = kube_prepare_job,
    .up = kube_up,
    .status = kube_status,
    .down = kube_down,
};
