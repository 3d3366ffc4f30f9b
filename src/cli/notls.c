/*
 * notls.c: ferret never talks to a network through libgit2 (it reads
 * repositories on disk), yet git_libgit2_init of a libgit2 built with mbedTLS
 * (Debian's) parses the whole system CA bundle: about a tenth of a git hook's
 * CPU, and no libgit2 option turns it off before git_libgit2_init runs.
 *
 * This definition, in the executable, comes first in the dynamic linker's
 * lookup, so libgit2's call finds it instead of mbedTLS's and no certificate
 * is read. Should ferret ever make a TLS connection through libgit2, it would
 * have no trusted roots and every certificate check would fail: closed, never
 * open. A libgit2 built with OpenSSL or without TLS never calls it. The
 * chain's type is mbedTLS's; only its address passes through here.
 */
/* mbedtls/x509_crt.h: MBEDTLS_ERR_X509_FILE_IO_ERROR */
#define FR_MBEDTLS_FILE_IO_ERROR (-0x2900)

int mbedtls_x509_crt_parse_file(void *chain, const char *path);
int mbedtls_x509_crt_parse_file(void *chain, const char *path)
{
    (void)chain, (void)path;
    return FR_MBEDTLS_FILE_IO_ERROR;
}

int mbedtls_x509_crt_parse_path(void *chain, const char *path);
int mbedtls_x509_crt_parse_path(void *chain, const char *path)
{
    (void)chain, (void)path;
    return FR_MBEDTLS_FILE_IO_ERROR;
}
