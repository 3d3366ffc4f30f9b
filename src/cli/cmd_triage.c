/*
 * cmd_triage.c: 'ferret triage'. Sets a finding's status (open, accepted,
 * false-positive, revoked) with who and when, and moves statuses in and out of
 * a JSON file a team can keep in a repository. The file holds finding ids
 * only (keyed: nothing in it tells a secret), so it can be shared like code.
 */
#include "cli/cli.h"
#include "store/store.h"
#include "util/util.h"

#include <getopt.h>
#include <jansson.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TRIAGE_FILE_FORMAT  "ferret-triage"
#define TRIAGE_FILE_VERSION 1

static void usage(FILE *out)
{
    fputs("usage: ferret triage [options] ID... --status STATUS [--comment TEXT]\n"
          "       ferret triage [options] --export FILE\n"
          "       ferret triage [options] --import FILE\n"
          "  --db FILE          findings database (default ferret.db)\n"
          "  --key FILE         the store's secret key (default FILE.key beside the DB)\n"
          "  --status STATUS    open, accepted, false-positive or revoked\n"
          "  --comment TEXT     why (kept with the status and in its history)\n"
          "  --by NAME          who decided (default $FERRET_USER, else the login name)\n"
          "  --export FILE      write every status to FILE as JSON ('-': stdout)\n"
          "  --import FILE      apply the statuses in FILE (a newer status wins)\n"
          "IDs are the 'id' of 'ferret report' (a unique prefix of 4 or more will do).\n"
          "A revoked secret seen again in a new commit is reopened by the next scan.\n"
          "exit codes: 0 done, 2 error\n",
          out);
}

static const char *default_who(void)
{
    const char *u = getenv("FERRET_USER");
    if (u && *u) return u;
    u = getenv("USER");
    if (u && *u) return u;
    struct passwd *pw = getpwuid(getuid());
    return pw && pw->pw_name ? pw->pw_name : "unknown";
}

static int add_row(const fr_triage_row *t, void *ctx)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(t->fid));
    json_object_set_new(o, "status", json_string(t->status));
    if (t->comment) json_object_set_new(o, "comment", json_string(t->comment));
    if (t->who) json_object_set_new(o, "by", json_string(t->who));
    if (t->at) json_object_set_new(o, "at", json_string(t->at));
    /* a comment that is not UTF-8 cannot be a JSON string: left out, not lost silently */
    if (t->comment && !json_object_get(o, "comment"))
        json_object_set_new(o, "comment", json_string("(not UTF-8)"));
    json_array_append_new(ctx, o);
    return FR_OK;
}

static int do_export(fr_store *st, const char *path)
{
    json_t *rows = json_array();
    int rc = fr_store_each_triage(st, add_row, rows);
    if (rc) {
        json_decref(rows);
        return rc;
    }
    json_t *doc = json_pack("{s:s,s:i,s:o}", "format", TRIAGE_FILE_FORMAT, "format_version",
                            TRIAGE_FILE_VERSION, "statuses", rows);
    FILE *out = strcmp(path, "-") ? fopen(path, "w") : stdout;
    if (!out) {
        json_decref(doc);
        fr_error_set("%s: cannot write", path);
        return FR_ERR;
    }
    rc = json_dumpf(doc, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER) ? FR_ERR : FR_OK;
    fputc('\n', out);
    size_t n = json_array_size(rows);
    json_decref(doc);
    if ((out != stdout ? fclose(out) : fflush(out)) != 0 || rc) {
        fr_error_set("%s: write failed", path);
        return FR_ERR;
    }
    fprintf(stderr, "ferret: exported %zu status%s\n", n, n == 1 ? "" : "es");
    return FR_OK;
}

static int do_import(fr_store *st, const char *path)
{
    json_error_t err;
    json_t *doc = strcmp(path, "-") ? json_load_file(path, 0, &err) : json_loadf(stdin, 0, &err);
    if (!doc) {
        fr_error_set("%s:%d: %s", path, err.line, err.text);
        return FR_ECORRUPT;
    }
    json_t *rows = json_object_get(doc, "statuses");
    const char *fmt = json_string_value(json_object_get(doc, "format"));
    json_int_t ver = json_integer_value(json_object_get(doc, "format_version"));
    if (!fmt || strcmp(fmt, TRIAGE_FILE_FORMAT) || !json_is_array(rows)) {
        json_decref(doc);
        fr_error_set("%s: not a ferret triage file (no \"format\": \"" TRIAGE_FILE_FORMAT
                     "\" and \"statuses\")",
                     path);
        return FR_ECORRUPT;
    }
    if (ver > TRIAGE_FILE_VERSION) {
        json_decref(doc);
        fr_error_set("%s: format version %lld, this ferret reads version %d", path, (long long)ver,
                     TRIAGE_FILE_VERSION);
        return FR_ECORRUPT;
    }
    size_t i, applied = 0, kept = 0;
    json_t *r;
    int rc = FR_OK;
    json_array_foreach(rows, i, r)
    {
        const char *id = json_string_value(json_object_get(r, "id"));
        const char *status = json_string_value(json_object_get(r, "status"));
        const char *at = json_string_value(json_object_get(r, "at"));
        if (!id || !status || !at) {
            fr_error_set("%s: status %zu: needs \"id\", \"status\" and \"at\"", path, i + 1);
            rc = FR_ECORRUPT;
            break;
        }
        const char *who = json_string_value(json_object_get(r, "by"));
        int changed = 0;
        rc = fr_store_triage_set(st, id, status, json_string_value(json_object_get(r, "comment")),
                                 who ? who : "unknown", at, 1, 1, &changed, NULL);
        if (rc) {
            fr_error_set("%s: status %zu: %s", path, i + 1, fr_error());
            break;
        }
        changed ? applied++ : kept++;
    }
    json_decref(doc);
    if (rc == FR_OK)
        fprintf(stderr, "ferret: imported %zu status%s (%zu already as new or newer)\n", applied,
                applied == 1 ? "" : "es", kept);
    return rc;
}

int fr_cmd_triage(int argc, char **argv)
{
    enum { O_KEY = 256 };
    static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
                                         {"status", required_argument, NULL, 's'},
                                         {"comment", required_argument, NULL, 'm'},
                                         {"by", required_argument, NULL, 'b'},
                                         {"export", required_argument, NULL, 'e'},
                                         {"import", required_argument, NULL, 'i'},
                                         {"key", required_argument, NULL, O_KEY},
                                         {"help", no_argument, NULL, 'h'},
                                         {0}};
    const char *db = "ferret.db", *status = NULL, *comment = NULL, *by = NULL, *exp = NULL,
               *imp = NULL, *key = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:s:m:b:e:i:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            db = optarg;
            break;
        case 's':
            status = optarg;
            break;
        case 'm':
            comment = optarg;
            break;
        case 'b':
            by = optarg;
            break;
        case 'e':
            exp = optarg;
            break;
        case 'i':
            imp = optarg;
            break;
        case O_KEY:
            key = optarg;
            break;
        case 'h':
            usage(stdout);
            return FR_EXIT_CLEAN;
        default:
            usage(stderr);
            return FR_EXIT_ERROR;
        }
    }
    int nids = argc - optind;
    if ((exp != NULL) + (imp != NULL) + (nids > 0 || status) != 1) {
        fr_cli_error("give finding ids with --status, or --export FILE, or --import FILE");
        usage(stderr);
        return FR_EXIT_ERROR;
    }
    if (nids > 0 && !fr_triage_status_valid(status)) {
        fr_cli_error("--status: %s (open, accepted, false-positive or revoked)",
                     status ? status : "missing");
        return FR_EXIT_ERROR;
    }
    if (status && nids == 0) {
        fr_cli_error("--status: which findings? (give their ids)");
        return FR_EXIT_ERROR;
    }
    fr_store *st = NULL;
    fr_store_opts so = {.readonly = exp != NULL, .key_path = key};
    if (fr_store_open(&st, db, &so)) {
        fr_cli_error("%s", fr_error());
        return FR_EXIT_ERROR;
    }
    int rc = FR_OK;
    if (exp) {
        rc = do_export(st, exp);
    } else if (imp) {
        rc = do_import(st, imp);
    } else {
        for (int i = optind; rc == FR_OK && i < argc; i++) {
            int changed;
            char full[13];
            rc = fr_store_triage_set(st, argv[i], status, comment, by ? by : default_who(), NULL, 0,
                                     0, &changed, full);
            if (rc == FR_OK) printf("%s %s\n", full, status);
        }
    }
    if (rc) fr_cli_error("%s", fr_error());
    fr_store_close(st);
    return rc ? FR_EXIT_ERROR : FR_EXIT_CLEAN;
}
