/*
 * guards.c: cheap checks that turn a regex match into a finding or not —
 * placeholders and templates that look like secrets but are not, and the
 * binary-content sniff.
 */
#include "detect/detect.h"

#include <string.h>
#include <strings.h>

static int contains_ci(const char *s, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    for (size_t i = 0; i + m <= n; i++)
        if (!strncasecmp(s + i, needle, m)) return 1;
    return 0;
}

int fr_is_placeholder(const char *s, size_t n)
{
    if (n == 0) return 1;
    /* Template and variable references: ${VAR}, $(cmd), {{ secrets.X }}, <YOUR_TOKEN>. */
    if (memchr(s, '<', n) && memchr(s, '>', n)) return 1;
    if (n >= 2 && (memmem(s, n, "${", 2) || memmem(s, n, "$(", 2) || memmem(s, n, "{{", 2)))
        return 1;
    /* Masked values as CI systems print them. */
    if (memmem(s, n, "***", 3)) return 1;
    if (contains_ci(s, n, "xxxx")) return 1;
    /* A run of one character is never a credential. */
    size_t same = 1;
    for (size_t i = 1; i < n; i++)
        same += s[i] == s[0];
    if (same == n && n > 1) return 1;
    return 0;
}

int fr_is_binary(const unsigned char *data, size_t len)
{
    size_t n = len < 8192 ? len : 8192;
    return memchr(data, 0, n) != NULL;
}
