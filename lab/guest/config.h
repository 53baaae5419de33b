/* Settings read from the kernel command line (QEMU's -append). */
#ifndef MIGLAB_CONFIG_H
#define MIGLAB_CONFIG_H

#include <stdint.h>

enum pattern { PATTERN_SEQ, PATTERN_RANDOM, PATTERN_HOTCOLD };
enum content { CONTENT_ZERO, CONTENT_TEXT, CONTENT_RANDOM };

struct config {
    uint64_t wss_bytes;      /* wss=256M     working-set size (K, M, G: binary suffixes) */
    uint64_t rate_bytes;     /* rate=100M    bytes of pages dirtied per second, 0 = flat out */
    enum pattern pattern;    /* pattern=seq|random|hotcold */
    uint64_t hot_bytes;      /* hot=32M      hotcold: the hot region, the first bytes of the set */
    uint32_t hot_pct;        /* hotpct=90    hotcold: % of writes that fall in the hot region */
    enum content content;    /* content=zero|text|random */
    uint32_t seed;           /* seed=1 */
    uint32_t report_us;      /* report=100ms period of the progress line (us, ms or s) */
    uint32_t flush_us;       /* flush=1ms    TLB flush period, 0 = never (shows the 7.2 bug) */
};

/* Fill *cfg with defaults, then apply the key=value words of cmdline.
 * Returns NULL on success, or the offending word. Words without '=' are ignored. */
const char *config_parse(const char *cmdline, struct config *cfg);

#endif
