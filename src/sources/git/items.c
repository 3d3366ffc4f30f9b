/*
 * items.c: what the walk submits besides blobs: problem items (a missing
 * object, a shallow boundary) and batched text items, many commit or tag
 * messages (or path and ref names) per item, each one a segment with its own
 * key and provenance.
 *
 *   no item ──(first text)──> item open: segments appended
 *      ^                            │
 *      └──(MSG_BATCH bytes, or gs_flush_text at the end: submitted)
 */
#include "sources/git/git_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gs_note_problem(walk *w, fr_content_status st, const char *what, const char *reason)
{
    fr_item *it = fr_item_new("git", what);
    free((char *)it->locs[0].repo);
    it->locs[0].repo = fr_xstrdup(w->path);
    it->status = st;
    it->reason = fr_xstrdup(reason);
    w->stats->incomplete = 1;
    if (fr_pipeline_submit(w->p, it)) w->stopped = 1;
}

/* Fills loc with the provenance of commit c (strings borrowed from bufs). */
void gs_commit_location(walk *w, uint32_t c, fr_location *loc, char hex[GIT_OID_HEXSZ + 1],
                        char ad[32], char cd[32])
{
    if (c == NONE) return; /* reached from a ref to a tree or blob: no commit */
    const commit_rec *r = &w->cv[c];
    git_oid_tostr(hex, GIT_OID_HEXSZ + 1, &r->oid);
    fr_time_iso(r->author_time, ad);
    fr_time_iso(r->committer_time, cd);
    loc->commit = hex;
    loc->author_name = fr_strtab_get(&w->strs, r->author_name);
    loc->author_email = fr_strtab_get(&w->strs, r->author_email);
    loc->author_date = ad;
    loc->committer_date = cd;
    loc->ref = r->ref != NONE ? fr_strtab_get(&w->strs, r->ref) : NULL;
}

/* ------------------------------------------------- segmented text items ---- */

static int load_text(const fr_item *it, fr_buf *out, uint64_t cap, fr_buf *why)
{
    (void)why;
    size_t n = strlen(it->load_arg);
    if (n > cap) return FR_ELIMIT;
    fr_buf_append(out, it->load_arg, n);
    return FR_OK;
}

void gs_flush_text(walk *w, fr_buf *buf, fr_item **item, size_t *lines)
{
    if (!*item) return;
    (*item)->load = load_text;
    (*item)->load_arg = fr_buf_steal(buf);
    (*item)->size = strlen((*item)->load_arg);
    if (fr_pipeline_submit(w->p, *item)) w->stopped = 1;
    *item = NULL;
    *lines = 0;
}

/* Appends text[0..n) as one segment (key, loc) of a batched item. The batch is
 * one text of many segments, so a NUL (no text, no line break) is written as a
 * space, and so is a line break in a one-line segment (a path: one per line):
 * the bytes around either are still scanned, at their own columns. */
void gs_add_text(walk *w, fr_buf *buf, fr_item **item, size_t *lines, const char *kind,
                 const char *key, const char *text, size_t n, int one_line, fr_location *loc)
{
    const fr_git_opts *o = w->opts;
    if (o && o->keep && !o->keep(o->keep_ctx, NULL, key)) return; /* another shard's */
    if (!*item) {
        *item = fr_item_new(kind, "<batch>");
        free((char *)(*item)->locs[0].repo);
        (*item)->locs[0].repo = fr_xstrdup(w->path);
        fr_buf_reset(buf);
    }
    fr_item_add_segment(*item, *lines + 1, key, loc);
    size_t at = buf->len;
    fr_buf_append(buf, text, n);
    for (char *q = buf->p + at; q < buf->p + buf->len; q++) {
        if (!*q || (one_line && (*q == '\n' || *q == '\r'))) *q = ' ';
        if (*q == '\n') (*lines)++;
    }
    if (!n || buf->p[buf->len - 1] != '\n') {
        fr_buf_append(buf, "\n", 1);
        (*lines)++;
    }
    if (buf->len >= MSG_BATCH) gs_flush_text(w, buf, item, lines);
}

void gs_add_message(walk *w, const char *key, const char *text, size_t n, fr_location *loc)
{
    loc->kind = "git-message";
    loc->repo = w->path;
    gs_add_text(w, &w->msgs, &w->msg_item, &w->msg_lines, "git-message", key, text, n, 0, loc);
    w->stats->messages++;
}
