/*
 * masking.c: the set of known secrets' prints for one pipeline, the search of
 * log texts, and the end-of-sweep pass over the regions kept from logs
 * searched before later secrets were learnt (see masking.h). Owns the set and
 * the kept copies; the kept total is capped (FR_MASK_KEEP_MAX).
 */
#include "pipeline/masking.h"

#include "detect/mask.h"
#include "util/limits.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fr_mask_pending {
    unsigned char *bytes; /* copies of the regions' bytes */
    size_t nbytes, bcap;
    fr_mask_region *r;
    size_t *boff; /* where each region's bytes are in bytes */
    size_t nr, rcap;
    uint64_t gen; /* the set's generation the log was searched against */
    fr_item *it;  /* places, once kept */
    char *key;
};

struct fr_masking {
    fr_mask_set *set;
    pthread_mutex_t mu;
    fr_mask_pending **kept;
    size_t nkept, kcap, kept_bytes;
    size_t unchecked;       /* logs not kept: the cap was reached ... */
    uint64_t unchecked_gen; /* ... the oldest generation one was searched against */
};

static int load_print(void *ctx, const char *rule_id, const char *sha, const char *preview,
                      int64_t len, int64_t rk, const char *tag)
{
    fr_masking *mk = ctx;
    fr_mask_print p = {.len = (uint32_t)len, .rk = (uint64_t)rk};
    if (len < 0 || len > UINT32_MAX || rk < 0 || !tag || strlen(tag) != 64) return 0;
    memcpy(p.tag, tag, 65);
    fr_mask_set_add(mk->set, &p, rule_id, sha, preview);
    return 0;
}

int fr_masking_start(fr_masking **out, fr_store *s)
{
    *out = NULL;
    const char *off = getenv("FERRET_NO_MASK_BYPASS");
    if (!s || (off && *off && strcmp(off, "0"))) return FR_OK;
    unsigned char key[32];
    int rc = fr_store_mask_key(s, key);
    if (rc) return rc;
    fr_masking *mk = fr_xcalloc(1, sizeof *mk);
    mk->set = fr_mask_set_new(key);
    pthread_mutex_init(&mk->mu, NULL);
    if ((rc = fr_store_each_print(s, load_print, mk))) {
        fr_masking_free(mk);
        return rc;
    }
    *out = mk;
    return FR_OK;
}

void fr_masking_pending_free(fr_mask_pending *pd)
{
    if (!pd) return;
    free(pd->bytes);
    free(pd->r);
    free(pd->boff);
    fr_item_free(pd->it);
    free(pd->key);
    free(pd);
}

void fr_masking_free(fr_masking *mk)
{
    if (!mk) return;
    for (size_t i = 0; i < mk->nkept; i++)
        fr_masking_pending_free(mk->kept[i]);
    free(mk->kept);
    fr_mask_set_free(mk->set);
    pthread_mutex_destroy(&mk->mu);
    free(mk);
}

void fr_masking_learn(fr_masking *mk, fr_store_match *m, const char *s, size_t n)
{
    if (n < FR_MASK_MIN_LEN) return;
    fr_mask_print p;
    fr_mask_print_of(mk->set, s, n, &p);
    m->print_len = p.len;
    m->print_rk = p.rk;
    memcpy(m->print_tag, p.tag, sizeof m->print_tag);
    fr_mask_set_add(mk->set, &p, m->rule_id, m->secret_sha256, m->preview);
}

/* Whether a plaintext match of the same secret (one of the first nplain of m)
 * covers the hit's span: the rules found the secret there as it is, so the
 * window is the plaintext (a palindrome reversed, a percent-decoded run whose
 * escapes lie outside the secret), not a bypass. */
static int plaintext_there(const fr_mask_hit *h, const fr_store_match *m, size_t nplain)
{
    for (size_t i = 0; i < nplain; i++)
        if (!m[i].transform && m[i].offset < h->off + h->len &&
            h->off < m[i].offset + m[i].length && !strcmp(m[i].secret_sha256, h->secret_sha256))
            return 1;
    return 0;
}

static void append_hits(const fr_mask_hit *h, size_t nh, fr_store_match **m, size_t *nm)
{
    if (!nh) return;
    size_t nplain = *nm;
    *m = fr_xrealloc(*m, (*nm + nh) * sizeof **m);
    for (size_t i = 0; i < nh; i++) {
        if (plaintext_there(&h[i], *m, nplain)) continue;
        fr_store_match *o = &(*m)[(*nm)++];
        *o = (fr_store_match){.rule_id = h[i].rule_id,
                              .preview = fr_xstrdup(h[i].preview),
                              .offset = h[i].off,
                              .line = h[i].line,
                              .column = h[i].col,
                              .length = h[i].len,
                              .transform = fr_mask_transform_name(h[i].transform)};
        snprintf(o->secret_sha256, sizeof o->secret_sha256, "%s", h[i].secret_sha256);
    }
}

void fr_masking_search(fr_masking *mk, const unsigned char *t, size_t n, fr_store_match **m,
                       size_t *nm, fr_mask_pending **pd)
{
    fr_mask_region *r = NULL;
    size_t nr = 0, rcap = 0;
    fr_mask_regions(t, n, &r, &nr, &rcap);
    fr_mask_hit *h = NULL;
    size_t nh = 0, hcap = 0;
    uint64_t gen = fr_mask_match(mk->set, r, nr, 0, &h, &nh, &hcap);
    append_hits(h, nh, m, nm);
    free(h);
    if (!nr) {
        free(r);
        return;
    }
    fr_mask_pending *p = *pd;
    if (!p) {
        p = *pd = fr_xcalloc(1, sizeof *p);
        p->gen = gen;
    }
    if (gen < p->gen) p->gen = gen;
    /* Each array grows once per search: a large log has hundreds of
     * thousands of regions (48 + 8 bytes each besides their bytes). The
     * first search's region array becomes the pending one instead of being
     * copied (a second array as large as the first, at the same time). */
    size_t add = 0;
    for (size_t i = 0; i < nr; i++)
        add += r[i].len;
    if (p->nbytes + add > p->bcap) {
        p->bcap = p->nbytes + add > p->bcap + p->bcap / 2 ? p->nbytes + add : p->bcap + p->bcap / 2;
        p->bytes = fr_xrealloc(p->bytes, p->bcap);
    }
    if (!p->r) {
        p->r = r;
        p->rcap = rcap;
        r = NULL;
    } else if (p->nr + nr > p->rcap) {
        p->rcap = p->nr + nr > p->rcap + p->rcap / 2 ? p->nr + nr : p->rcap + p->rcap / 2;
        p->r = fr_xrealloc(p->r, p->rcap * sizeof *p->r);
    }
    p->boff = fr_xrealloc(p->boff, p->rcap * sizeof *p->boff);
    const fr_mask_region *src = r ? r : p->r;
    for (size_t i = 0; i < nr; i++) {
        memcpy(p->bytes + p->nbytes, src[i].src, src[i].len);
        p->r[p->nr] = src[i];
        p->boff[p->nr++] = p->nbytes;
        p->nbytes += src[i].len;
    }
    free(r);
}

/* What a pending log holds in memory, arrays shrunk to their use first. */
static size_t pending_shrink(fr_mask_pending *pd)
{
    if (pd->nr && pd->rcap > pd->nr) {
        pd->r = fr_xrealloc(pd->r, pd->nr * sizeof *pd->r);
        pd->boff = fr_xrealloc(pd->boff, pd->nr * sizeof *pd->boff);
        pd->rcap = pd->nr;
    }
    if (pd->nbytes && pd->bcap > pd->nbytes) {
        pd->bytes = fr_xrealloc(pd->bytes, pd->nbytes);
        pd->bcap = pd->nbytes;
    }
    return pd->nbytes + pd->nr * (sizeof *pd->r + sizeof *pd->boff);
}

void fr_masking_keep(fr_masking *mk, fr_mask_pending *pd, const char *content_key,
                     const fr_location *locs, size_t nlocs)
{
    if (!pd) return;
    size_t cost = pending_shrink(pd); /* the regions count, not only their bytes */
    pthread_mutex_lock(&mk->mu);
    int room = mk->kept_bytes + cost <= FR_MASK_KEEP_MAX;
    if (room) {
        mk->kept_bytes += cost;
        if (mk->nkept == mk->kcap) {
            mk->kcap = mk->kcap ? 2 * mk->kcap : 64;
            mk->kept = fr_xrealloc(mk->kept, mk->kcap * sizeof *mk->kept);
        }
        mk->kept[mk->nkept++] = pd;
    } else {
        if (!mk->unchecked++ || pd->gen < mk->unchecked_gen) mk->unchecked_gen = pd->gen;
    }
    pthread_mutex_unlock(&mk->mu);
    if (!room) {
        fr_masking_pending_free(pd);
        return;
    }
    pd->it = fr_xcalloc(1, sizeof *pd->it);
    for (size_t i = 0; i < nlocs; i++)
        fr_item_add_location(pd->it, &locs[i]);
    pd->it->known = 1;
    pd->key = fr_xstrdup(content_key);
}

size_t fr_masking_finish(fr_masking *mk, fr_masking_emit_fn emit, void *ctx, size_t *unchecked)
{
    uint64_t now = fr_mask_set_generation(mk->set);
    size_t searched = 0;
    *unchecked = 0;
    for (size_t i = 0; i < mk->nkept; i++) {
        fr_mask_pending *pd = mk->kept[i];
        if (pd->gen >= now || !pd->it) continue;
        for (size_t k = 0; k < pd->nr; k++)
            pd->r[k].src = pd->bytes + pd->boff[k];
        fr_mask_hit *h = NULL;
        size_t nh = 0, hcap = 0;
        fr_mask_match(mk->set, pd->r, pd->nr, pd->gen, &h, &nh, &hcap);
        searched++;
        if (nh) {
            fr_store_match *m = NULL;
            size_t nm = 0;
            append_hits(h, nh, &m, &nm);
            emit(ctx, pd->it, pd->key, m, nm);
            pd->it = NULL;
            pd->key = NULL;
        }
        free(h);
    }
    if (mk->unchecked && mk->unchecked_gen < now) *unchecked = mk->unchecked;
    return searched;
}
