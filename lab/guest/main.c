/* miglab guest: dirties a working set at a paced rate and reports on COM1.
 *
 * Serial protocol (one line each, fields are key=value, numbers in decimal):
 *   MIGLAB ready wss=<bytes> rate=<bytes/s> pattern=<seq|random> content=<zero|text|random>
 *                seed=<n> report_us=<n> flush_us=<n> tsc_khz=<n> mem_kb=<n>
 *   MIGLAB t_ms=<guest ms since ready> seq=<report number> pages=<pages written>
 *          pass=<walks completed> corrupt=<corrupt pages found>
 *   MIGLAB corrupt page=<index> want=<version> got=<version>     (first 20 only)
 *   MIGLAB error <what>                                           (then the guest spins)
 *
 * Pacing: time is cut into 1 ms slices of the guest clock. Each slice grants rate/1000 bytes
 * of page writes; budget a slice could not use is dropped (only the fraction of a page is
 * carried), and when the vCPU comes back after missing a whole slice (throttled by
 * auto-converge, descheduled) the missed time is dropped too. So the guest never catches up
 * in bursts: a vCPU that runs half the time dirties about half as much.
 *
 * Everything the reports are built from lives in guest RAM (this file's statics, the version
 * table), so a migrated guest continues its counters exactly where the source stopped.
 */
#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "config.h"
#include "io.h"
#include "serial.h"
#include "workset.h"

#define MB_BOOT_MAGIC 0x2BADB002u
#define MB_INFO_MEM (1u << 0)
#define MB_INFO_CMDLINE (1u << 2)
#define MAX_CORRUPT_LINES 20
#define MILLI 1000u

struct multiboot_info {
    uint32_t flags;
    uint32_t mem_lower_kb;
    uint32_t mem_upper_kb;
    uint32_t boot_device;
    uint32_t cmdline;
};

/* Rate pacing in 1 ms slices; credit is in milli-bytes so rate/1000 needs no rounding. */
struct pacer {
    uint64_t slice_ticks;
    uint64_t slice_end;
    uint64_t credit;
    uint64_t grant; /* credit added per slice: rate in bytes/s = milli-bytes per ms */
    int unlimited;
};

struct progress {
    uint64_t t0;
    uint64_t ticks_per_ms;
    uint64_t next_report;
    uint64_t report_ticks;
    uint64_t next_flush;
    uint64_t flush_ticks; /* 0: never flush */
    uint64_t seq;
    uint64_t pages;
    uint64_t corrupt;
};

extern uint8_t _end[];

static struct config cfg;
static struct workset ws;
static struct pacer pacer;
static struct progress progress;

static void die(const char *what)
{
    serial_puts("MIGLAB error ");
    serial_puts(what);
    serial_puts("\n");
    for (;;)
        ;
}

static const char *const PATTERN_NAMES[] = {"seq", "random", "hotcold"};
static const char *const CONTENT_NAMES[] = {"zero", "text", "random"};

static void say_ready(uint64_t mem_kb)
{
    serial_puts("MIGLAB ready");
    serial_field("wss", cfg.wss_bytes);
    serial_field("rate", cfg.rate_bytes);
    serial_puts(" pattern=");
    serial_puts(PATTERN_NAMES[cfg.pattern]);
    serial_field("hot", cfg.hot_bytes);
    serial_field("hotpct", cfg.hot_pct);
    serial_puts(" content=");
    serial_puts(CONTENT_NAMES[cfg.content]);
    serial_field("seed", cfg.seed);
    serial_field("report_us", cfg.report_us);
    serial_field("flush_us", cfg.flush_us);
    serial_field("tsc_khz", progress.ticks_per_ms);
    serial_field("mem_kb", mem_kb);
    serial_puts("\n");
}

static void report(uint64_t now)
{
    progress.seq++;
    serial_puts("MIGLAB");
    serial_field("t_ms", (now - progress.t0) / progress.ticks_per_ms);
    serial_field("seq", progress.seq);
    serial_field("pages", progress.pages);
    serial_field("pass", ws.passes);
    serial_field("corrupt", progress.corrupt);
    serial_puts("\n");
    progress.next_report += progress.report_ticks;
    if (progress.next_report <= now) /* fell behind a whole period: do not burst reports */
        progress.next_report = now + progress.report_ticks;
}

static void report_corruption(const struct corruption *bad)
{
    if (++progress.corrupt > MAX_CORRUPT_LINES)
        return;
    serial_puts("MIGLAB corrupt");
    serial_field("page", bad->page);
    serial_field("want", bad->want);
    serial_field("got", bad->got);
    serial_puts("\n");
}

static void pacer_start(uint64_t now)
{
    pacer.slice_ticks = progress.ticks_per_ms;
    pacer.slice_end = now;
    pacer.credit = 0;
    pacer.grant = cfg.rate_bytes;
    pacer.unlimited = cfg.rate_bytes == 0;
}

/* Open the next slice: drop unused budget and any whole slices the vCPU missed. */
static void pacer_new_slice(uint64_t now)
{
    const uint64_t page_cost = (uint64_t)PAGE_SIZE * MILLI;
    if (now - pacer.slice_end >= pacer.slice_ticks)
        pacer.slice_end = now;
    pacer.slice_end += pacer.slice_ticks;
    if (pacer.credit >= page_cost)
        pacer.credit = page_cost - 1;
    pacer.credit += pacer.grant;
}

static int pacer_take_page(void)
{
    const uint64_t page_cost = (uint64_t)PAGE_SIZE * MILLI;
    if (pacer.unlimited)
        return 1;
    if (pacer.credit < page_cost)
        return 0;
    pacer.credit -= page_cost;
    return 1;
}

static void touch_one_page(void)
{
    struct corruption bad;
    if (workset_touch_next(&ws, &bad))
        report_corruption(&bad);
    progress.pages++;
}

static void maybe_flush_tlb(uint64_t now)
{
    if (!progress.flush_ticks || now < progress.next_flush)
        return;
    flush_tlb();
    progress.next_flush = now + progress.flush_ticks;
}

static void run(void)
{
    uint64_t now = rdtsc();
    progress.t0 = now;
    progress.report_ticks = progress.ticks_per_ms * cfg.report_us / 1000;
    progress.next_report = now + progress.report_ticks;
    progress.flush_ticks = progress.ticks_per_ms * cfg.flush_us / 1000;
    progress.next_flush = now + progress.flush_ticks;
    pacer_start(now);
    for (;;) {
        now = rdtsc();
        maybe_flush_tlb(now);
        if (now >= progress.next_report)
            report(now);
        if (now >= pacer.slice_end)
            pacer_new_slice(now);
        else if (pacer_take_page())
            touch_one_page();
    }
}

/* Place the working set after the kernel image and check that it fits in RAM. */
static uint8_t *place_workset(uint64_t ram_end)
{
    uint64_t start = ((uintptr_t)_end + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
    if (start + workset_footprint(&cfg) > ram_end)
        die("wss does not fit in guest RAM");
    return (uint8_t *)(uintptr_t)start;
}

void kmain(uint32_t magic, const struct multiboot_info *mbi)
{
    serial_init();
    if (magic != MB_BOOT_MAGIC || !(mbi->flags & MB_INFO_MEM))
        die("not booted by a multiboot loader with a memory map");
    const char *cmdline = (mbi->flags & MB_INFO_CMDLINE) ? (const char *)mbi->cmdline : "";
    const char *bad = config_parse(cmdline, &cfg);
    if (bad)
        die(bad);
    uint64_t ram_end = (1ull << 20) + (uint64_t)mbi->mem_upper_kb * 1024;
    progress.ticks_per_ms = clock_calibrate();
    workset_init(&ws, &cfg, place_workset(ram_end));
    say_ready(ram_end / 1024);
    run();
}
