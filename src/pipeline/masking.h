/*
 * masking: the pipeline's side of masking-bypass detection (detect/mask.h).
 * Private to src/pipeline/.
 *
 * What is known. At start the set holds the prints of every finding of the
 * store (table mask_prints: length, keyed rolling hash and keyed HMAC tag per
 * finding; written with the finding by the store). During the sweep every
 * worker adds the print of each secret it finds (not indicators), before it
 * searches the same item, so a later item — or the same log — printing that
 * secret transformed is caught.
 *
 * The order problem. A log may print a secret's base64 before the plaintext
 * turns up elsewhere later in the same sweep (another archive, another
 * worker). Every searched log therefore keeps its candidate regions (a copy
 * of the bytes of its word runs and one-character-line runs, not the whole
 * log) with the set's generation it was searched against, its content key
 * and its (redacted) locations. At the end of the sweep, after the workers
 * have stopped and before the writer does, each kept log is searched again
 * for the entries added after its generation only, and its new hits are
 * recorded as known content with matches. The copies are capped at
 * FR_MASK_KEEP_MAX bytes per sweep; logs searched beyond the cap are not
 * re-checked and the sweep warns how many.
 *
 * Threads: learn, search and keep from any worker; start and finish on the
 * pipeline's thread, finish after the workers were joined.
 */
#ifndef FERRET_MASKING_H
#define FERRET_MASKING_H

#include "pipeline/pipeline.h"

typedef struct fr_masking fr_masking;
typedef struct fr_mask_pending fr_mask_pending;

/* *out: NULL when the feature is off (FERRET_NO_MASK_BYPASS=1 in the
 * environment, a benchmark's switch) or the store cannot give a key. Loads
 * the store's prints. */
int fr_masking_start(fr_masking **out, fr_store *s);
/* Frees mk; hits' strings borrowed from it die with it. */
void fr_masking_free(fr_masking *mk);

/* A plaintext secret s[0..n) found as match m: fills m's print fields and
 * adds it to the set (nothing for secrets shorter than FR_MASK_MIN_LEN). */
void fr_masking_learn(fr_masking *mk, fr_store_match *m, const char *s, size_t n);

/* Searches the normalised log text t[0..n): hits are appended to *m (grown;
 * *nm entries, transform set, rule id borrowed from mk) and the regions are
 * added to *pd (created on first need) for the end-of-sweep pass. */
void fr_masking_search(fr_masking *mk, const unsigned char *t, size_t n, fr_store_match **m,
                       size_t *nm, fr_mask_pending **pd);
/* Hands pd to mk with the content's key and places (copied), once they are
 * final (paths redacted). NULL pd: nothing. */
void fr_masking_keep(fr_masking *mk, fr_mask_pending *pd, const char *content_key,
                     const fr_location *locs, size_t nlocs);
void fr_masking_pending_free(fr_mask_pending *pd);

/* The end-of-sweep pass: for each kept log with hits of entries learnt after
 * it was searched, emit gets a known item (its places; key) and the matches
 * (ownership of all three passes). Returns how many kept logs were searched
 * again; *unchecked: logs the cap left out that were searched before the
 * newest entry (0 when none could have missed anything). */
typedef void (*fr_masking_emit_fn)(void *ctx, fr_item *it, char *content_key, fr_store_match *m,
                                   size_t nm);
size_t fr_masking_finish(fr_masking *mk, fr_masking_emit_fn emit, void *ctx, size_t *unchecked);

#endif
