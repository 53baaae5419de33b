/* Dirtying the working set, one write pass over a page per touch.
 *
 * Every page carries a header {magic, index, version}; the version table in guest RAM holds
 * the version last written to each page. Before a page is rewritten its header is checked
 * against the table, so a page whose last write QEMU failed to migrate (a lost dirty page)
 * is caught the next time the walk reaches it. Zero pages have no header and are only
 * checked to be still zero.
 *
 * Content: zero pages stay zero (one word written per touch); text pages keep a compressible
 * body written once and change only their header; random pages get fresh random bytes in
 * full on every touch, so neither XBZRLE nor compression can shrink them.
 */
#include "workset.h"

#define HEADER_MAGIC 0x4D49474Cu /* "MIGL" */

struct page_header {
    uint32_t magic;
    uint32_t index;
    uint32_t version;
};

static const char TEXT[] = "miglab: the quick brown fox jumps over the lazy dog 0123456789. ";

static uint32_t xorshift32(uint32_t *state)
{
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    return x;
}

static uint64_t align_page(uint64_t n)
{
    return (n + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
}

static uint64_t version_table_bytes(uint32_t npages)
{
    return align_page((uint64_t)npages * sizeof(uint32_t));
}

uint64_t workset_footprint(const struct config *cfg)
{
    uint32_t npages = (uint32_t)(cfg->wss_bytes / PAGE_SIZE);
    return version_table_bytes(npages) + (uint64_t)npages * PAGE_SIZE;
}

static void fill_text(uint32_t *words)
{
    const uint32_t *text = (const uint32_t *)TEXT;
    const uint32_t text_words = (sizeof(TEXT) - 1) / 4;
    for (uint32_t i = 0; i < PAGE_SIZE / 4; i++)
        words[i] = text[i % text_words];
}

static void fill_random(uint32_t *words, uint32_t *rng)
{
    for (uint32_t i = 0; i < PAGE_SIZE / 4; i++)
        words[i] = xorshift32(rng);
}

/* Write version `version` of page `index`: the body for the content kind, then the header. */
static void write_page(struct workset *ws, uint32_t index, uint32_t version, int with_body)
{
    volatile uint32_t *words = (volatile uint32_t *)(ws->pages + (uint64_t)index * PAGE_SIZE);
    if (ws->content == CONTENT_ZERO) {
        words[0] = 0;
        return;
    }
    if (with_body && ws->content == CONTENT_TEXT)
        fill_text((uint32_t *)words);
    else if (with_body || ws->content == CONTENT_RANDOM)
        fill_random((uint32_t *)words, &ws->rng);
    volatile struct page_header *h = (volatile struct page_header *)words;
    h->magic = HEADER_MAGIC;
    h->index = index;
    h->version = version;
}

/* Does page `index` hold what the table says? On mismatch fill *bad. */
static int page_is_intact(const struct workset *ws, uint32_t index, struct corruption *bad)
{
    const volatile struct page_header *h =
        (const volatile struct page_header *)(ws->pages + (uint64_t)index * PAGE_SIZE);
    uint32_t want = ws->content == CONTENT_ZERO ? 0 : ws->version[index];
    uint32_t got = ws->content == CONTENT_ZERO ? h->magic : h->version;
    int intact = ws->content == CONTENT_ZERO
                     ? got == 0
                     : h->magic == HEADER_MAGIC && h->index == index && got == want;
    if (!intact) {
        bad->page = index;
        bad->want = want;
        bad->got = got;
    }
    return intact;
}

void workset_init(struct workset *ws, const struct config *cfg, uint8_t *start)
{
    ws->npages = (uint32_t)(cfg->wss_bytes / PAGE_SIZE);
    ws->version = (uint32_t *)start;
    ws->pages = start + version_table_bytes(ws->npages);
    ws->pattern = cfg->pattern;
    ws->hot_pages = (uint32_t)(cfg->hot_bytes / PAGE_SIZE);
    if (ws->hot_pages >= ws->npages)
        ws->hot_pages = ws->npages - 1;
    ws->hot_pct = cfg->hot_pct;
    ws->content = cfg->content;
    ws->cursor = 0;
    ws->touched_in_pass = 0;
    ws->rng = cfg->seed ? cfg->seed : 1;
    ws->passes = 0;
    for (uint32_t i = 0; i < ws->npages; i++) {
        ws->version[i] = 0;
        write_page(ws, i, 0, 1);
    }
}

static uint32_t next_page(struct workset *ws)
{
    if (ws->pattern == PATTERN_RANDOM)
        return xorshift32(&ws->rng) % ws->npages;
    if (ws->pattern == PATTERN_HOTCOLD) {
        /* two uniform classes: hot_pct % of the writes on the hot pages, the rest on the others */
        if (ws->hot_pages && xorshift32(&ws->rng) % 100 < ws->hot_pct)
            return xorshift32(&ws->rng) % ws->hot_pages;
        return ws->hot_pages + xorshift32(&ws->rng) % (ws->npages - ws->hot_pages);
    }
    uint32_t index = ws->cursor;
    ws->cursor = index + 1 == ws->npages ? 0 : index + 1;
    return index;
}

int workset_touch_next(struct workset *ws, struct corruption *bad)
{
    uint32_t index = next_page(ws);
    int intact = page_is_intact(ws, index, bad);
    uint32_t version = ws->version[index] + 1;
    write_page(ws, index, version, 0);
    ws->version[index] = version;
    if (++ws->touched_in_pass == ws->npages) {
        ws->touched_in_pass = 0;
        ws->passes++;
    }
    return !intact;
}
