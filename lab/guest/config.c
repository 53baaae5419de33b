/* Kernel command-line parser: space-separated key=value words. */
#include "config.h"

#include <stddef.h>

static const struct config DEFAULTS = {
    .wss_bytes = 32ull << 20,
    .rate_bytes = 0,
    .pattern = PATTERN_SEQ,
    .hot_bytes = 0,
    .hot_pct = 90,
    .content = CONTENT_TEXT,
    .seed = 1,
    .report_us = 100000,
    .flush_us = 1000,
};

/* A word of the command line: [start, end) with the value after '='. */
struct word {
    const char *start;
    const char *value;
    const char *end;
};

static int word_is(const struct word *w, const char *key)
{
    const char *p = w->start;
    while (*key && p < w->value - 1 && *p == *key)
        p++, key++;
    return *key == '\0' && p == w->value - 1;
}

static int value_is(const struct word *w, const char *text)
{
    const char *p = w->value;
    while (*text && p < w->end && *p == *text)
        p++, text++;
    return *text == '\0' && p == w->end;
}

/* Parse leading decimal digits; *rest points past them. Returns 0 if there are none. */
static int parse_digits(const struct word *w, uint64_t *out, const char **rest)
{
    const char *p = w->value;
    uint64_t n = 0;
    while (p < w->end && *p >= '0' && *p <= '9')
        n = n * 10 + (uint64_t)(*p++ - '0');
    *out = n;
    *rest = p;
    return p != w->value;
}

static int suffix_is(const char *p, const char *end, const char *suffix)
{
    while (*suffix && p < end && *p == *suffix)
        p++, suffix++;
    return *suffix == '\0' && p == end;
}

/* Sizes take QEMU's binary suffixes: 64K, 256M, 1G (an optional trailing B or iB is allowed). */
static int parse_size(const struct word *w, uint64_t *out)
{
    static const char UNITS[] = "KMG";
    const char *p;
    if (!parse_digits(w, out, &p))
        return 0;
    if (p == w->end || suffix_is(p, w->end, "B"))
        return 1;
    for (int i = 0; UNITS[i]; i++) {
        if (*p == UNITS[i] &&
            (suffix_is(p + 1, w->end, "") || suffix_is(p + 1, w->end, "B") ||
             suffix_is(p + 1, w->end, "iB"))) {
            *out <<= 10 * (i + 1);
            return 1;
        }
    }
    return 0;
}

/* Durations: 500us, 100ms, 2s; a bare number is milliseconds. */
static int parse_duration_us(const struct word *w, uint32_t *out)
{
    uint64_t n;
    const char *p;
    if (!parse_digits(w, &n, &p))
        return 0;
    if (suffix_is(p, w->end, "us"))
        *out = (uint32_t)n;
    else if (suffix_is(p, w->end, "ms") || p == w->end)
        *out = (uint32_t)(n * 1000);
    else if (suffix_is(p, w->end, "s"))
        *out = (uint32_t)(n * 1000000);
    else
        return 0;
    return 1;
}

static int parse_pattern(const struct word *w, enum pattern *out)
{
    if (value_is(w, "seq"))
        *out = PATTERN_SEQ;
    else if (value_is(w, "random"))
        *out = PATTERN_RANDOM;
    else if (value_is(w, "hotcold"))
        *out = PATTERN_HOTCOLD;
    else
        return 0;
    return 1;
}

static int parse_content(const struct word *w, enum content *out)
{
    if (value_is(w, "zero"))
        *out = CONTENT_ZERO;
    else if (value_is(w, "text"))
        *out = CONTENT_TEXT;
    else if (value_is(w, "random"))
        *out = CONTENT_RANDOM;
    else
        return 0;
    return 1;
}

static int apply_word(const struct word *w, struct config *cfg)
{
    uint64_t n;
    if (word_is(w, "wss"))
        return parse_size(w, &cfg->wss_bytes) && cfg->wss_bytes >= 4096;
    if (word_is(w, "rate"))
        return parse_size(w, &cfg->rate_bytes);
    if (word_is(w, "pattern"))
        return parse_pattern(w, &cfg->pattern);
    if (word_is(w, "hot"))
        return parse_size(w, &cfg->hot_bytes) && cfg->hot_bytes % 4096 == 0;
    if (word_is(w, "hotpct")) {
        const char *rest;
        int ok = parse_digits(w, &n, &rest) && rest == w->end && n <= 100;
        cfg->hot_pct = (uint32_t)n;
        return ok;
    }
    if (word_is(w, "content"))
        return parse_content(w, &cfg->content);
    if (word_is(w, "report"))
        return parse_duration_us(w, &cfg->report_us) && cfg->report_us > 0;
    if (word_is(w, "flush"))
        return parse_duration_us(w, &cfg->flush_us);
    if (word_is(w, "seed")) {
        const char *rest;
        int ok = parse_digits(w, &n, &rest) && rest == w->end;
        cfg->seed = (uint32_t)n;
        return ok;
    }
    return 0;
}

const char *config_parse(const char *cmdline, struct config *cfg)
{
    *cfg = DEFAULTS;
    const char *p = cmdline;
    while (p && *p) {
        while (*p == ' ')
            p++;
        struct word w = {p, NULL, p};
        while (*w.end && *w.end != ' ') {
            if (*w.end == '=' && !w.value)
                w.value = w.end + 1;
            w.end++;
        }
        if (w.value && !apply_word(&w, cfg))
            return w.start;
        p = w.end;
    }
    return NULL;
}
