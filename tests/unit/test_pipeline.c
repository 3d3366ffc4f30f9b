/* Unit tests for what the pipeline scans and how archives are read: the text
 * view of content that is not plain text (fr_text_view), the archive reader's
 * limits and its behaviour on interrupt. */
#include "check.h"
#include "detect/detect.h"
#include "sources/archive.h"
#include "util/limits.h"
#include "util/util.h"

#include <stdlib.h>

#define VIEW(lit, out) fr_text_view((const unsigned char *)(lit), sizeof(lit) - 1, (out))

static void test_text_view(void)
{
    fr_buf v = {0};
    /* Plain text, including invalid UTF-8, tabs, form feeds and ESC: as it is. */
    CHECK(VIEW("abc\xff\t\f\x1b[31mred\r\n", &v) == 0);
    CHECK(VIEW("", &v) == 0);
    /* A NUL anywhere: same length, NULs and control bytes as spaces, text kept. */
    CHECK(VIEW("key = tok_abcdefghij\0\x01 secret follows here\n", &v) == 1);
    CHECK(v.len == 43);
    CHECK_STR(v.p, "key = tok_abcdefghij   secret follows here\n");
    /* Short runs between non-text bytes are binary noise; newlines always stay. */
    CHECK(VIEW("\x01"
               "ab\n\x02xyz\x7f"
               "long enough run\x80\x90",
               &v) == 1);
    CHECK_STR(v.p, "   \n     long enough run  ");
    /* Valid UTF-8 is text inside a view; a NUL ends a run but not the line. */
    CHECK(VIEW("caf\xc3\xa9 au lait\0\nnext line text", &v) == 1);
    CHECK_STR(v.p, "caf\xc3\xa9 au lait \nnext line text");
    /* UTF-16LE with a BOM and BE by its NUL pattern: transcoded, lines kept. */
    CHECK(VIEW("\xff\xfe"
               "a\0=\0\xe9\0\n\0\x3d\xd8\x00\xde",
               &v) == 1);
    CHECK_STR(v.p, "a=\xc3\xa9\n\xf0\x9f\x98\x80");
    CHECK(VIEW("\0t\0o\0k\0e\0n\0 \0i\0s\0\n\0h\0e\0r\0e", &v) == 1);
    CHECK_STR(v.p, "token is\nhere");
    /* A binary that only looks half like UTF-16 is viewed byte by byte. */
    CHECK(VIEW("\0\0\0\0\0\0\0\0\0\0printable run here", &v) == 1);
    CHECK_STR(v.p, "          printable run here");
    fr_buf_release(&v);
}

int main(void)
{
    test_text_view();
    return check_done("test_pipeline");
}
