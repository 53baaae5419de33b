/* The working set: the pages the guest dirties, and the record that proves they survive. */
#ifndef MIGLAB_WORKSET_H
#define MIGLAB_WORKSET_H

#include <stdint.h>

#include "config.h"

#define PAGE_SIZE 4096u

struct workset {
    uint8_t *pages;          /* first page of the working set */
    uint32_t npages;
    uint32_t *version;       /* version[i]: the version last written into page i */
    enum pattern pattern;
    uint32_t hot_pages;      /* hotcold: pages [0, hot_pages) are the hot region */
    uint32_t hot_pct;        /* hotcold: % of writes into it; the rest fall on the others */
    enum content content;
    uint32_t cursor;         /* next page of a sequential walk */
    uint32_t touched_in_pass;
    uint32_t rng;            /* xorshift32 state */
    uint64_t passes;         /* completed walks (random pattern: every npages touches) */
};

/* A page whose content is not what the guest last wrote there. */
struct corruption {
    uint32_t page;
    uint32_t want;
    uint32_t got;
};

/* Bytes of memory the working set needs from `start` on (version table plus pages). */
uint64_t workset_footprint(const struct config *cfg);
/* Lay the working set out from `start` (4 KiB aligned) and write every page's first version. */
void workset_init(struct workset *ws, const struct config *cfg, uint8_t *start);
/* Check, then rewrite the next page of the walk. Returns 1 and fills *bad if the check failed. */
int workset_touch_next(struct workset *ws, struct corruption *bad);

#endif
